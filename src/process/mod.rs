//! The one way the harness runs a program. Every program gets its own process group (so one
//! signal reaches everything it forks), the parent-death signal SIGKILL (so nothing outlives a
//! killed harness), and kill-on-drop of its whole group (so a cancelled future or a panicking
//! test leaves nothing behind).
//!
//! - [`run`] runs a [`Spec`] to completion under a timeout; at the timeout the whole group is
//!   killed and the error says so with the tail of what it printed.
//! - [`start`] starts a long-running one; [`Running::stop`] sends SIGTERM to the group, SIGKILL
//!   after a grace, and verifies the group is gone.
//!
//! Built on tokio's `process_group` and `kill_on_drop` plus `killpg`/`prctl` from the `nix`
//! crate; why not `process-wrap`: see `docs/ARCHITECTURE.md`.

mod group;
pub mod isolated;
mod running;
mod spec;

use std::{
    process::ExitStatus,
    time::{Duration, Instant},
};

use nix::{sys::signal::Signal, unistd::Pid};

pub use group::{group_alive, group_members, process_alive, signal_group};
pub use running::Running;
use running::{Printed, Sink};
pub use spec::{shell_quote, Env, Output, Spec};

use crate::util::tail;

/// How many lines of output a timeout error quotes.
const TAIL_LINES: usize = 40;

/// Why a program did not run to an exit status.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("could not start {command}: {source}")]
    Start {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{name} did not finish within {} s and its process group was killed ({command}); \
         its last output:\n{tail}",
        .after.as_secs_f64()
    )]
    Timeout {
        name: String,
        command: String,
        after: Duration,
        tail: String,
    },
    #[error("waiting for {command}: {source}")]
    Wait {
        command: String,
        #[source]
        source: std::io::Error,
    },
}

/// A program that ran to an exit status (successful or not).
#[derive(Debug, Clone)]
pub struct Finished {
    /// The command line, shell-quoted.
    pub command: String,
    pub status: ExitStatus,
    pub success: bool,
    pub code: Option<i32>,
    /// Empty when the output went to a log file.
    pub stdout: String,
    pub stderr: String,
    /// Everything it printed: the part of the log file it wrote, else stdout then stderr.
    pub output: String,
    pub elapsed: Duration,
}

impl Finished {
    fn new(command: String, status: ExitStatus, printed: Printed, elapsed: Duration) -> Self {
        Finished {
            command,
            status,
            success: status.success(),
            code: status.code(),
            stdout: printed.stdout,
            stderr: printed.stderr,
            output: printed.output,
            elapsed,
        }
    }

    /// Itself when the program succeeded; else an error naming the command, its exit status
    /// and the tail of its output.
    pub fn require_success(self) -> anyhow::Result<Self> {
        anyhow::ensure!(
            self.success,
            "{} failed ({}); its last output:\n{}",
            self.command,
            self.status,
            tail(&self.output, TAIL_LINES)
        );
        Ok(self)
    }
}

/// Runs `spec` to completion under `timeout`. At the timeout, or when the returned future is
/// dropped, the whole group is killed; after a normal exit, whatever it left in its group too.
pub async fn run(spec: &Spec, timeout: Duration) -> Result<Finished, RunError> {
    let mut running = start(spec)?;
    let waited = tokio::time::timeout(timeout, running.child.wait()).await;
    match waited {
        Ok(Ok(status)) => {
            running.signal(Signal::SIGKILL);
            running.stopped = true;
            let printed = running.collect().await;
            Ok(Finished::new(
                running.command.clone(),
                status,
                printed,
                running.elapsed(),
            ))
        }
        Ok(Err(source)) => Err(RunError::Wait {
            command: running.command.clone(),
            source,
        }),
        Err(_) => {
            // kill() waits until the group is gone; survivors would only repeat the timeout.
            let _ = running.kill().await;
            let printed = running.collect().await;
            Err(RunError::Timeout {
                name: spec.name.clone(),
                command: running.command.clone(),
                after: timeout,
                tail: tail(&printed.output, TAIL_LINES),
            })
        }
    }
}

/// Starts `spec` in its own process group and returns at once.
pub fn start(spec: &Spec) -> Result<Running, RunError> {
    let command = spec.command_line();
    let offset = match &spec.output {
        Output::Log(path) => std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        _ => 0,
    };
    let started = Instant::now();
    let mut child = spec.command()?.spawn().map_err(|source| RunError::Start {
        command: command.clone(),
        source,
    })?;
    let pid = child
        .id()
        .and_then(|pid| i32::try_from(pid).ok())
        .ok_or_else(|| RunError::Start {
            command: command.clone(),
            source: std::io::Error::other("it exited before it could be tracked"),
        })?;
    let sink = Sink::attach(&mut child, &spec.output, offset, spec.stdin.clone());
    Ok(Running {
        name: spec.name.clone(),
        pgid: Pid::from_raw(pid),
        command,
        child,
        sink,
        started,
        stopped: false,
    })
}

#[cfg(test)]
mod tests;
