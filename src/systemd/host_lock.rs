//! One systemd-tier container per machine at a time. The containers share the host's network, so
//! two of them (two harness runs: a `cargo test` and a `check`, or a run left going in another
//! terminal) would bind the same fixture port, and one scenario would probe the other's server.
//! The in-process mutex of a test binary cannot see another process: an exclusive `flock` on a
//! file in the temporary directory can, and the kernel drops it when its holder exits, however it
//! exits.

use std::{
    fs::File,
    io::{Read as _, Seek as _, Write as _},
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use nix::{
    errno::Errno,
    fcntl::{Flock, FlockArg},
};

/// A whole systemd tier of another run takes about 15 minutes here: wait that long, and a bit.
const WAIT_LIMIT: Duration = Duration::from_secs(20 * 60);
const POLL: Duration = Duration::from_millis(500);
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// Held while a container of this process runs; dropping it lets the next one boot.
#[derive(Debug)]
pub struct HostLock {
    _lock: Flock<File>,
}

pub fn lock_path() -> PathBuf {
    std::env::temp_dir().join("inventree-harness-systemd.lock")
}

/// Who holds the lock, as its holder wrote it (or why that is unknown).
fn holder(path: &Path) -> String {
    let mut text = String::new();
    match File::open(path).and_then(|mut f| f.read_to_string(&mut text)) {
        Ok(_) if !text.trim().is_empty() => text.trim().to_string(),
        Ok(_) => "a process that has not written its name yet".into(),
        Err(e) => format!("unknown ({e})"),
    }
}

impl HostLock {
    /// Takes the machine's systemd-tier lock for `what`, waiting (with progress lines) while
    /// another process holds it; fails after [`WAIT_LIMIT`] naming the holder.
    pub async fn acquire(what: &str) -> anyhow::Result<Self> {
        Self::acquire_at(&lock_path(), what).await
    }

    async fn acquire_at(path: &Path, what: &str) -> anyhow::Result<Self> {
        let started = Instant::now();
        let mut reported = Instant::now();
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(path)
            .with_context(|| format!("opening the systemd tier's lock {}", path.display()))?;
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(mut lock) => {
                    lock.set_len(0)?;
                    lock.rewind()?;
                    write!(lock, "pid {} ({what})", std::process::id())?;
                    if started.elapsed() > POLL {
                        eprintln!(
                            "systemd tier: {what}: the machine's container lock was free after {:.0} s",
                            started.elapsed().as_secs_f64()
                        );
                    }
                    return Ok(HostLock { _lock: lock });
                }
                Err((unlocked, Errno::EWOULDBLOCK)) => file = unlocked,
                Err((_, errno)) => {
                    return Err(errno).with_context(|| format!("locking {}", path.display()))
                }
            }
            anyhow::ensure!(
                started.elapsed() < WAIT_LIMIT,
                "{what}: another harness run has held the systemd tier's container lock {} for over {} s: {}",
                path.display(),
                WAIT_LIMIT.as_secs(),
                holder(path)
            );
            if reported.elapsed() >= PROGRESS_EVERY {
                eprintln!(
                    "systemd tier: {what}: waiting {:.0} s for another harness run's container ({})",
                    started.elapsed().as_secs_f64(),
                    holder(path)
                );
                reported = Instant::now();
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_waits_until_the_first_lets_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lock");
        let first = HostLock::acquire_at(&path, "first")
            .await
            .expect("first lock");
        let second = tokio::spawn({
            let path = path.clone();
            async move { HostLock::acquire_at(&path, "second").await }
        });
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert!(!second.is_finished(), "the second took a held lock");
        assert!(holder(&path).contains("first"), "{}", holder(&path));
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("the second got the lock once the first let go")
            .expect("task")
            .expect("lock");
        assert!(holder(&path).contains("second"), "{}", holder(&path));
        drop(second);
    }
}
