//! The chromedriver process: started on a free loopback port through [`crate::process`], in its
//! own process group, so that it and every Chromium process it starts are stopped together,
//! whatever happens to the check.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::process::{self, Running, Spec};
use crate::util::{free_port, tail_of_file};

/// How long chromedriver and Chromium get to exit on SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// A running chromedriver; dropping it kills its whole process group (Chromium included)
/// without waiting; [`ChromeDriver::stop`] is the orderly way.
pub struct ChromeDriver {
    process: Running,
    url: String,
    log: PathBuf,
}

impl ChromeDriver {
    /// Start `binary` on a free loopback port, logging to `log`, and wait (at most `deadline`)
    /// until it reports ready.
    pub async fn start(binary: &Path, log: &Path, deadline: Duration) -> Result<Self> {
        let port = free_port().context("finding a free loopback port for chromedriver")?;
        // A fresh log per run (chromedriver writes it too, through --log-path).
        std::fs::write(log, "")
            .with_context(|| format!("creating chromedriver's log {}", log.display()))?;
        let spec = Spec::new(binary)
            .name("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!("--log-path={}", log.display()))
            .log(log);
        let mut driver = ChromeDriver {
            process: process::start(&spec)?,
            url: format!("http://127.0.0.1:{port}"),
            log: log.to_path_buf(),
        };
        driver.wait_ready(deadline).await?;
        Ok(driver)
    }

    /// The WebDriver endpoint, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn wait_ready(&mut self, deadline: Duration) -> Result<()> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .context("building the HTTP client")?;
        let start = Instant::now();
        let status_url = format!("{}/status", self.url);
        loop {
            if let Some(status) = self.process.exited() {
                bail!(
                    "chromedriver exited ({status}) before it was ready; its log {}:\n{}",
                    self.log.display(),
                    tail_of_file(&self.log, 20)
                );
            }
            if let Ok(resp) = http.get(&status_url).send().await {
                if let Ok(v) = resp.json::<serde_json::Value>().await {
                    if v["value"]["ready"].as_bool() == Some(true) {
                        return Ok(());
                    }
                }
            }
            if start.elapsed() > deadline {
                bail!(
                    "chromedriver did not answer {status_url} within {}s; its log {}:\n{}",
                    deadline.as_secs(),
                    self.log.display(),
                    tail_of_file(&self.log, 20)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM to the process group, SIGKILL after a grace period; errors name survivors.
    pub async fn stop(&mut self) -> Result<()> {
        self.process.stop(STOP_GRACE).await
    }
}
