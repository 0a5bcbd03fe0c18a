//! Running the non-nix programs a bump needs (`git ls-remote`, `scripts/lock-python-deps`): in
//! their own process group, output captured, the whole group killed at the timeout. (nix itself is
//! only ever started through `crate::nix::NixCommand`.)

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

#[derive(Debug, Clone)]
pub struct ProcessOutput {
    pub success: bool,
    pub status: String,
    pub stdout: String,
    pub stderr: String,
}

/// Run `argv` in `dir`; `Err` only when it could not be started or timed out (both named).
pub async fn run(argv: &[String], dir: &Path, timeout: Duration) -> Result<ProcessOutput, String> {
    let Some((program, args)) = argv.split_first() else {
        return Err("empty command".into());
    };
    let shown = argv.join(" ");
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("could not run `{shown}`: {e}"))?;
    // Killed when this function returns or its future is dropped (timeout, Ctrl-C): the program
    // and everything it started (lock-python-deps starts uv).
    let group = GroupGuard(child.id().map(|id| id as i32));
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let stdout_task = tokio::spawn(async move {
        let mut buf = String::new();
        if let Some(pipe) = out.as_mut() {
            let _ = pipe.read_to_string(&mut buf).await;
        }
        buf
    });
    let stderr_task = tokio::spawn(async move {
        let mut buf = String::new();
        if let Some(pipe) = err.as_mut() {
            let _ = pipe.read_to_string(&mut buf).await;
        }
        buf
    });
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => return Err(format!("waiting for `{shown}`: {e}")),
        Err(_) => {
            drop(group);
            let _ = child.wait().await;
            return Err(format!(
                "`{shown}` timed out after {}s; its process group was killed",
                timeout.as_secs()
            ));
        }
    };
    drop(group);
    Ok(ProcessOutput {
        success: status.success(),
        status: status.to_string(),
        stdout: stdout_task.await.unwrap_or_default(),
        stderr: stderr_task.await.unwrap_or_default(),
    })
}

struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn captures_output_and_status() {
        let argv = ["sh", "-c", "echo out; echo err >&2; exit 3"].map(String::from);
        let out = run(&argv, Path::new("."), Duration::from_secs(10))
            .await
            .unwrap();
        assert!(!out.success);
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("out\n", "err\n")
        );
    }

    #[tokio::test]
    async fn kills_the_group_at_the_timeout() {
        let argv = ["sh", "-c", "sleep 30 & sleep 30"].map(String::from);
        let started = std::time::Instant::now();
        let err = run(&argv, Path::new("."), Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(err.contains("timed out"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_dropped_run_kills_what_the_program_started() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let argv = ["sh".to_owned(), "-c".to_owned(), script];
        let dropped = tokio::time::timeout(
            Duration::from_millis(500),
            run(&argv, dir.path(), Duration::from_secs(60)),
        )
        .await;
        assert!(dropped.is_err(), "the run was still going when dropped");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true);
        assert!(!alive, "the background sleep {pid} survived");
    }
}
