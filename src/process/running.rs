//! A started program: its group, its output so far, and stopping it (politely, then not) with a
//! check that nothing of its group is left.

use std::{
    path::{Path, PathBuf},
    process::ExitStatus,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use nix::{sys::signal::Signal, unistd::Pid};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader},
    process::Child,
    task::JoinHandle,
};

use super::{
    group::{signal_group, wait_group_gone},
    Output,
};

/// How long SIGKILL may take to clear a group before the survivors are reported.
const KILL_LIMIT: Duration = Duration::from_secs(5);
/// How long output still arriving after the group is gone is awaited (a process outside the
/// group, e.g. a daemon that called setsid, may hold the pipes open).
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// A long-running program (server, worker, chromedriver). Dropping it kills its whole group
/// with SIGKILL without waiting (Drop may run on an async thread); [`Running::stop`] is the
/// orderly way, and waits.
#[derive(Debug)]
pub struct Running {
    pub name: String,
    pub pgid: Pid,
    pub(super) command: String,
    pub(super) child: Child,
    pub(super) sink: Sink,
    pub(super) started: Instant,
    pub(super) stopped: bool,
}

impl Running {
    /// Whether the main process has exited (and how); never waits.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The command line it was started with.
    pub fn command_line(&self) -> &str {
        &self.command
    }

    /// Its log file, when its output goes to one.
    pub fn log(&self) -> Option<&Path> {
        match &self.sink {
            Sink::Log { path, .. } => Some(path),
            Sink::Pipes { .. } => None,
        }
    }

    /// SIGTERM to the group, SIGKILL after `grace` if anything of it is left; then verifies no
    /// process of the group is alive. Errors name what survived.
    pub async fn stop(&mut self, grace: Duration) -> anyhow::Result<()> {
        self.signal(Signal::SIGTERM);
        // Survivors after the grace are what the SIGKILL below is for.
        let _ = wait_group_gone(self.pgid, grace).await;
        self.kill().await
    }

    /// SIGKILL to the whole group at once (a crash, not a shutdown), then verifies it is gone.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.signal(Signal::SIGKILL);
        self.stopped = true;
        let _ = self.child.wait().await;
        wait_group_gone(self.pgid, KILL_LIMIT)
            .await
            .map_err(|survivors| {
                anyhow::anyhow!(
                    "{}: processes {survivors:?} of its group {} survived SIGKILL ({})",
                    self.name,
                    self.pgid,
                    self.command
                )
            })
    }

    /// Sends `signal` to every process of the group.
    pub fn signal(&self, signal: Signal) {
        signal_group(self.pgid, signal);
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        self.sink.snapshot().output
    }

    /// Its output once the group is gone, waiting a little for pipes still being read.
    pub(super) async fn collect(&mut self) -> Printed {
        if let Sink::Pipes { readers, .. } = &mut self.sink {
            for reader in readers.drain(..) {
                let _ = tokio::time::timeout(DRAIN_LIMIT, reader).await;
            }
        }
        self.sink.snapshot()
    }

    pub(super) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

impl Drop for Running {
    // A panicking test or a cancelled future must not leave the program running. Non-blocking:
    // tokio reaps the killed child in the background.
    fn drop(&mut self) {
        if !self.stopped {
            self.signal(Signal::SIGKILL);
        }
    }
}

/// What a program printed.
#[derive(Debug, Clone, Default)]
pub(super) struct Printed {
    pub stdout: String,
    pub stderr: String,
    /// The log's part written by this run, or stdout then stderr.
    pub output: String,
}

/// Where a running program's output is collected.
#[derive(Debug)]
pub(super) enum Sink {
    Log {
        path: PathBuf,
        /// The log's length when the program started: what it printed comes after.
        offset: u64,
    },
    Pipes {
        stdout: Arc<Mutex<Vec<u8>>>,
        stderr: Arc<Mutex<Vec<u8>>>,
        readers: Vec<JoinHandle<()>>,
    },
}

impl Sink {
    /// Starts reading the child's pipes (or notes where its log starts) and feeds its stdin.
    pub(super) fn attach(
        child: &mut Child,
        output: &Output,
        offset: u64,
        stdin: Option<Vec<u8>>,
    ) -> Sink {
        if let (Some(mut pipe), Some(bytes)) = (child.stdin.take(), stdin) {
            tokio::spawn(async move {
                // A write error means the program exited early; its output says why.
                let _ = pipe.write_all(&bytes).await;
            });
        }
        let prefix = match output {
            Output::Log(path) => {
                return Sink::Log {
                    path: path.clone(),
                    offset,
                }
            }
            Output::Captured => None,
            Output::Streamed { prefix } => Some(prefix.clone()),
        };
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(pipe) = child.stdout.take() {
            readers.push(tokio::spawn(read_into(pipe, stdout.clone())));
        }
        if let Some(pipe) = child.stderr.take() {
            readers.push(match prefix {
                Some(prefix) => tokio::spawn(stream_into(pipe, stderr.clone(), prefix)),
                None => tokio::spawn(read_into(pipe, stderr.clone())),
            });
        }
        Sink::Pipes {
            stdout,
            stderr,
            readers,
        }
    }

    fn snapshot(&self) -> Printed {
        match self {
            Sink::Log { path, offset } => Printed {
                output: read_from(path, *offset),
                ..Printed::default()
            },
            Sink::Pipes { stdout, stderr, .. } => {
                let stdout = lossy(stdout);
                let stderr = lossy(stderr);
                Printed {
                    output: format!("{stdout}{stderr}"),
                    stdout,
                    stderr,
                }
            }
        }
    }
}

async fn read_into(mut pipe: impl AsyncRead + Unpin, into: Arc<Mutex<Vec<u8>>>) {
    let mut chunk = [0u8; 8192];
    while let Ok(n @ 1..) = pipe.read(&mut chunk).await {
        if let Ok(mut buffer) = into.lock() {
            buffer.extend_from_slice(&chunk[..n]);
        }
    }
}

async fn stream_into(pipe: impl AsyncRead + Unpin, into: Arc<Mutex<Vec<u8>>>, prefix: String) {
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    // Bytes, not `lines()`: a line that is not UTF-8 must not stop the reading (the program
    // would block on a full pipe).
    while let Ok(1..) = reader.read_until(b'\n', &mut line).await {
        eprintln!(
            "{prefix}{}",
            String::from_utf8_lossy(&line).trim_end_matches('\n')
        );
        if let Ok(mut buffer) = into.lock() {
            buffer.extend_from_slice(&line);
        }
        line.clear();
    }
}

fn lossy(buffer: &Mutex<Vec<u8>>) -> String {
    buffer
        .lock()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn read_from(log: &Path, offset: u64) -> String {
    let bytes = std::fs::read(log).unwrap_or_default();
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}
