//! Child processes of the host tier: each in its own process group, output to a log file,
//! stopped by signalling the whole group (gunicorn and qcluster fork workers), and verified gone.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use nix::{
    sys::signal::{killpg, Signal},
    unistd::Pid,
};

/// How to start one program.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cwd: PathBuf,
    pub log: PathBuf,
}

impl Spec {
    pub fn command_line(&self) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn command(&self) -> anyhow::Result<tokio::process::Command> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening the log {}", self.log.display()))?;
        let log_err = log.try_clone().context("duplicating the log handle")?;
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(&self.args)
            .env_clear()
            .envs(&self.env)
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Its own group, so stopping it reaches every worker it forked.
            .process_group(0)
            .kill_on_drop(true);
        // If the harness itself is killed (no Drop runs), the kernel kills the program.
        // SAFETY: pre_exec runs between fork and exec; prctl is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
            });
        }
        Ok(command)
    }
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct Finished {
    pub success: bool,
    pub code: Option<i32>,
    pub output: String,
    pub elapsed: Duration,
}

/// Runs `spec` to completion under `timeout` (the whole group is killed when it expires).
pub async fn run(spec: &Spec, timeout: Duration) -> anyhow::Result<Finished> {
    let started = Instant::now();
    let offset = std::fs::metadata(&spec.log).map(|m| m.len()).unwrap_or(0);
    let mut child = spec
        .command()?
        .spawn()
        .with_context(|| format!("starting {}: {}", spec.name, spec.command_line()))?;
    let pgid = child.id().map(|id| Pid::from_raw(id as i32));
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => status.with_context(|| format!("waiting for {}", spec.name))?,
        Err(_) => {
            if let Some(pgid) = pgid {
                let _ = killpg(pgid, Signal::SIGKILL);
            }
            let _ = child.wait().await;
            anyhow::bail!(
                "{} did not finish within {} s and was killed; its output:\n{}",
                spec.name,
                timeout.as_secs(),
                tail(&read_from(&spec.log, offset), 40)
            );
        }
    };
    // Anything it left behind in its group goes too.
    if let Some(pgid) = pgid {
        let _ = killpg(pgid, Signal::SIGKILL);
    }
    Ok(Finished {
        success: status.success(),
        code: status.code(),
        output: read_from(&spec.log, offset),
        elapsed: started.elapsed(),
    })
}

/// A long-running program (server, worker).
#[derive(Debug)]
pub struct Running {
    pub name: String,
    pub pgid: Pid,
    pub log: PathBuf,
    child: tokio::process::Child,
    stopped: bool,
}

pub fn start(spec: &Spec) -> anyhow::Result<Running> {
    let child = spec
        .command()?
        .spawn()
        .with_context(|| format!("starting {}: {}", spec.name, spec.command_line()))?;
    let pid = child
        .id()
        .with_context(|| format!("{} exited before it could be tracked", spec.name))?;
    Ok(Running {
        name: spec.name.clone(),
        pgid: Pid::from_raw(pid as i32),
        log: spec.log.clone(),
        child,
        stopped: false,
    })
}

impl Running {
    /// Whether the main process has exited (and how).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM to the group, SIGKILL after `grace`; then verifies no process of the group is
    /// left. Errors name what survived.
    pub async fn stop(&mut self, grace: Duration) -> anyhow::Result<()> {
        self.signal(Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline && group_alive(self.pgid) {
            let _ = self.child.try_wait();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.kill().await
    }

    /// SIGKILL to the whole group at once (a crash, not a shutdown), then verify.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.signal(Signal::SIGKILL);
        let _ = self.child.wait().await;
        self.stopped = true;
        let deadline = Instant::now() + Duration::from_secs(5);
        while group_alive(self.pgid) {
            if Instant::now() > deadline {
                anyhow::bail!(
                    "{}: processes of group {} survived SIGKILL: {:?}",
                    self.name,
                    self.pgid,
                    group_members(self.pgid)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    pub fn signal(&self, signal: Signal) {
        let _ = killpg(self.pgid, signal);
    }

    pub fn output(&self) -> String {
        read_from(&self.log, 0)
    }
}

impl Drop for Running {
    // A panicking test must not leave InvenTree running.
    fn drop(&mut self) {
        if !self.stopped {
            let _ = killpg(self.pgid, Signal::SIGKILL);
        }
    }
}

/// Is any process of the group still there? Zombies of our own children count as gone.
pub fn group_alive(pgid: Pid) -> bool {
    !group_members(pgid).is_empty()
}

/// Live (non-zombie) processes in the group, from /proc.
pub fn group_members(pgid: Pid) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        // No /proc: fall back to the signal-0 probe (zombies count as alive here).
        return match killpg(pgid, None) {
            Ok(()) => vec![pgid.as_raw()],
            Err(_) => vec![],
        };
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // Fields after the command (which may hold spaces) start after the last ')'.
            let Some(after) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
                return false;
            };
            let fields: Vec<&str> = after.split_whitespace().collect();
            // state = fields[0], ppid = fields[1], pgrp = fields[2]
            fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.as_raw().to_string()
        })
        .collect()
}

fn read_from(log: &Path, offset: u64) -> String {
    let bytes = std::fs::read(log).unwrap_or_default();
    let start = (offset as usize).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A loopback TCP port free right now.
pub fn free_port() -> anyhow::Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &Path, script: &str) -> Spec {
        Spec {
            name: "sh".into(),
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            env: BTreeMap::new(),
            cwd: dir.to_path_buf(),
            log: dir.join("log"),
        }
    }

    #[tokio::test]
    async fn run_captures_output_and_status() {
        let dir = tempfile::tempdir().unwrap();
        let done = run(
            &spec(dir.path(), "echo hello; exit 3"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert!(!done.success);
        assert_eq!(done.code, Some(3));
        assert_eq!(done.output.trim(), "hello");
    }

    #[tokio::test]
    async fn run_kills_the_whole_group_on_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let err = run(
            &spec(dir.path(), "sleep 30 & sleep 30"),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("did not finish within"), "{err}");
    }

    #[tokio::test]
    async fn stopping_reaches_forked_children_and_verifies_they_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        // A parent that ignores SIGTERM and a forked child: only SIGKILL to the group ends both.
        let mut running = start(&spec(dir.path(), "trap '' TERM; sleep 30 & wait")).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(group_members(running.pgid).len() >= 2);
        running.stop(Duration::from_millis(300)).await.unwrap();
        assert!(!group_alive(running.pgid));
    }
}
