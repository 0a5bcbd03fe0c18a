//! The chromedriver process: started on a free loopback port in its own process group, so that
//! it and every Chromium process it starts are killed together, whatever happens to the check.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// A running chromedriver; dropping it kills its whole process group (Chromium included).
pub struct ChromeDriver {
    child: Child,
    url: String,
    log: PathBuf,
}

impl ChromeDriver {
    /// Start `binary` on a free loopback port, logging to `log`, and wait (at most `deadline`)
    /// until it reports ready.
    pub async fn start(binary: &Path, log: &Path, deadline: Duration) -> Result<Self> {
        let port = free_port().context("finding a free loopback port for chromedriver")?;
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("creating chromedriver's log {}", log.display()))?;
        let mut cmd = Command::new(binary);
        cmd.arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(
                log_file
                    .try_clone()
                    .context("duplicating the log file handle")?,
            )
            .stderr(log_file);
        // Own process group: Chromium inherits it, so one killpg ends everything.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut driver = ChromeDriver {
            child,
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
            if let Some(status) = self.child.try_wait().context("polling chromedriver")? {
                bail!(
                    "chromedriver exited ({status}) before it was ready; its log {}:\n{}",
                    self.log.display(),
                    tail(&self.log, 20)
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
                    tail(&self.log, 20)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kill the process group (TERM, then KILL after a grace period) and reap chromedriver.
    pub fn kill(&mut self) {
        let pgid = Pid::from_raw(self.child.id() as i32);
        let _ = killpg(pgid, Signal::SIGTERM);
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            if group_is_empty(pgid) {
                break;
            }
            let _ = self.child.try_wait();
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = killpg(pgid, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        self.kill();
    }
}

/// True when no process is left in the group (signal 0 probes without signalling).
fn group_is_empty(pgid: Pid) -> bool {
    matches!(killpg(pgid, None), Err(nix::errno::Errno::ESRCH))
}

fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The last `n` lines of a file, for error messages.
pub(crate) fn tail(path: &Path, n: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("(unreadable: {e})"),
    }
}
