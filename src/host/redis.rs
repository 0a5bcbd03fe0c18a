//! A throw-away Redis for the cache fixture: `redis-server` on 127.0.0.1 (a free port), with the
//! password the fixture's credential holds, nothing persisted, its own process group; killed on
//! drop. What `services.redis.servers.inventree` is to the module.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;

use crate::process::{self, Running, Spec};

pub struct RedisServer {
    pub port: u16,
    password: String,
    dir: PathBuf,
    program: PathBuf,
    running: Option<Running>,
}

/// `redis-server`, or why there is none.
pub fn find() -> anyhow::Result<PathBuf> {
    which::which("redis-server").map_err(|_| {
        anyhow::anyhow!("no redis-server on PATH: install Debian's `redis-server` package")
    })
}

impl RedisServer {
    /// Starts it and waits until it accepts connections.
    pub async fn start(dir: &Path, port: u16, password: &str) -> anyhow::Result<RedisServer> {
        let mut server = RedisServer {
            port,
            password: password.to_string(),
            dir: dir.to_path_buf(),
            program: find()?,
            running: None,
        };
        server.start_again().await?;
        Ok(server)
    }

    /// Starts it (again, after `kill`) on the same port.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let spec = Spec::new(&self.program)
            .name("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--requirepass",
                &self.password,
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--dir", &self.dir.display().to_string()])
            .log(self.dir.join("redis.log"));
        self.running = Some(process::start(&spec)?);
        anyhow::ensure!(
            crate::util::accepts_within(self.port, Duration::from_secs(30)).await,
            "redis-server on port {} did not accept connections within 30 s:\n{}",
            self.port,
            crate::util::tail_of_file(&self.dir.join("redis.log"), 20)
        );
        Ok(())
    }

    /// SIGKILL, as a crash would end it.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut running) = self.running.take() {
            running.kill().await.context("killing redis-server")?;
        }
        Ok(())
    }
}
