//! One container: `systemd-nspawn --boot` of the tier's root file system with a real systemd as
//! its PID 1, its root a throw-away overlay (`--volatile=overlay`: the rootfs directory is never
//! written), the stand-in store bound at `/nix/store`, and the host's network (so the server in
//! it listens on the host's loopback, where the probe reaches it).
//!
//! Commands run inside through `nsenter -t <PID 1> -a` (the host runs no systemd, hence
//! `--register=no --keep-unit`). Files are read and written through `/proc/<PID 1>/root`.
//! Shutting down powers the container off (SIGTERM to nspawn) and verifies its PID 1 is gone;
//! dropping a container that was not shut down kills its PID 1, which ends every process of the
//! container's PID namespace.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{kill, Signal},
    unistd::Pid,
};

use super::prerequisites::SystemdEnv;
use crate::process::{
    isolated::{self, Spec},
    Finished, Running,
};

/// Booting a minimal Debian to `running` takes 1–3 s here.
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);
/// Power-off: systemd stops every unit (InvenTree's within their TimeoutStopSec).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(120);

/// A read-only (or writable) bind of a host directory into the container.
#[derive(Debug, Clone)]
pub struct Bind {
    pub host: PathBuf,
    pub container: String,
    pub read_only: bool,
}

pub struct Container {
    pub name: String,
    /// PID 1 of the container, as the host sees it.
    pub leader: Pid,
    nspawn: Option<Running>,
    nsenter: PathBuf,
    logs: PathBuf,
}

fn nspawn_args(env: &SystemdEnv, name: &str, binds: &[Bind]) -> Vec<String> {
    let mut args = vec![
        "--quiet".to_string(),
        format!("--directory={}", env.rootfs.display()),
        format!("--machine={name}"),
        "--register=no".into(),
        "--keep-unit".into(),
        "--boot".into(),
        "--volatile=overlay".into(),
        "--console=passive".into(),
    ];
    for bind in binds {
        let flag = if bind.read_only {
            "--bind-ro"
        } else {
            "--bind"
        };
        args.push(format!("{flag}={}:{}", bind.host.display(), bind.container));
    }
    args
}

/// The child of `parent` whose command is `systemd` (the container's PID 1).
fn find_leader(parent: Pid) -> Option<Pid> {
    let children =
        std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    children
        .split_whitespace()
        .filter_map(|pid| pid.parse::<i32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|comm| comm.trim() == "systemd")
                .unwrap_or(false)
        })
        .map(Pid::from_raw)
}

fn alive(pid: Pid) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

impl Container {
    /// Boots the container and waits until its systemd reports `running` (or `degraded`).
    pub async fn boot(
        env: &SystemdEnv,
        name: &str,
        binds: &[Bind],
        logs: &Path,
    ) -> anyhow::Result<Self> {
        let started = Instant::now();
        let spec = Spec {
            name: format!("nspawn-{name}"),
            program: env.nspawn.clone(),
            args: nspawn_args(env, name, binds),
            env: base_env(),
            cwd: logs.to_path_buf(),
            log: logs.join("nspawn.log"),
            // The harness killed outright: nspawn, on SIGTERM, powers its container off (with
            // SIGKILL it would die and leave the container running).
            parent_death_signal: Signal::SIGTERM,
        };
        let mut nspawn = isolated::start(&spec)?;
        let leader = loop {
            if let Some(leader) = find_leader(nspawn.pgid) {
                break leader;
            }
            if let Some(status) = nspawn.exited() {
                anyhow::bail!(
                    "{} exited ({status}) before its container booted:\n{}",
                    spec.command_line(),
                    crate::util::tail(&nspawn.output(), 30)
                );
            }
            anyhow::ensure!(
                started.elapsed() < BOOT_TIMEOUT,
                "no container PID 1 after {BOOT_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let container = Container {
            name: name.to_string(),
            leader,
            nspawn: Some(nspawn),
            nsenter: env.nsenter.clone(),
            logs: logs.to_path_buf(),
        };
        container.wait_booted(started).await?;
        eprintln!(
            "systemd tier: container {name} booted in {:.1} s (PID 1 is {leader} on the host)",
            started.elapsed().as_secs_f64()
        );
        Ok(container)
    }

    async fn wait_booted(&self, started: Instant) -> anyhow::Result<()> {
        loop {
            let state = self
                .exec(&["systemctl", "is-system-running"], Duration::from_secs(10))
                .await;
            let state = state
                .map(|f| f.output.trim().to_string())
                .unwrap_or_default();
            if state == "running" || state == "degraded" {
                return Ok(());
            }
            if started.elapsed() > BOOT_TIMEOUT {
                anyhow::bail!(
                    "container {} did not finish booting within {BOOT_TIMEOUT:?} (state {state:?})",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The container's root directory as the host sees it.
    pub fn root(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.leader))
    }

    /// A path inside the container, as the host sees it.
    pub fn path(&self, inside: &str) -> PathBuf {
        self.root().join(inside.trim_start_matches('/'))
    }

    /// Writes `content` to the file `inside` the container with `mode`, making its directories.
    pub fn write_file(&self, inside: &str, content: &str, mode: u32) -> anyhow::Result<()> {
        use anyhow::Context as _;
        use std::os::unix::fs::PermissionsExt;
        let path = self.path(inside);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, content)
            .with_context(|| format!("writing {inside} in the container"))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the mode of {inside}"))
    }

    /// Runs `argv` inside the container (all its namespaces) to completion.
    pub async fn exec(&self, argv: &[&str], timeout: Duration) -> anyhow::Result<Finished> {
        let mut args = vec![
            "-t".to_string(),
            self.leader.to_string(),
            "-a".into(),
            "--".into(),
        ];
        args.extend(argv.iter().map(|a| a.to_string()));
        let spec = Spec {
            name: format!("in-{}", self.name),
            program: self.nsenter.clone(),
            args,
            env: base_env(),
            cwd: self.logs.clone(),
            log: self.logs.join("commands.log"),
            parent_death_signal: Signal::SIGKILL,
        };
        isolated::run(&spec, timeout).await
    }

    /// Runs `argv` inside; fails with its output unless it succeeds. Returns its output.
    pub async fn exec_ok(&self, argv: &[&str], timeout: Duration) -> anyhow::Result<String> {
        let done = self.exec(argv, timeout).await?;
        anyhow::ensure!(
            done.success,
            "in container {}: `{}` failed (exit {:?}):\n{}",
            self.name,
            argv.join(" "),
            done.code,
            crate::util::tail(&done.output, 40)
        );
        Ok(done.output)
    }

    /// The last `lines` journal lines of `unit`.
    pub async fn journal(&self, unit: &str, lines: usize) -> String {
        let n = lines.to_string();
        match self
            .exec(
                &[
                    "journalctl",
                    "--no-pager",
                    "-o",
                    "short-monotonic",
                    "-n",
                    &n,
                    "-u",
                    unit,
                ],
                Duration::from_secs(30),
            )
            .await
        {
            Ok(done) => done.output,
            Err(e) => format!("(journalctl -u {unit} failed: {e:#})"),
        }
    }

    /// `systemctl show -p <property> --value <unit>`.
    pub async fn property(&self, unit: &str, property: &str) -> anyhow::Result<String> {
        let out = self
            .exec_ok(
                &["systemctl", "show", "-p", property, "--value", unit],
                Duration::from_secs(30),
            )
            .await?;
        Ok(out.trim().to_string())
    }

    /// Powers the container off and verifies nothing of it is left.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        if let Some(mut nspawn) = self.nspawn.take() {
            nspawn.stop(SHUTDOWN_GRACE).await?;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(self.leader) {
            if Instant::now() > deadline {
                let _ = kill(self.leader, Signal::SIGKILL);
                anyhow::bail!(
                    "container {}: PID 1 ({}) survived its nspawn; killed",
                    self.name,
                    self.leader
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!(
            "systemd tier: container {} powered off in {:.1} s",
            self.name,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if self.nspawn.is_some() {
            // Killing a PID namespace's init kills every process in it.
            let _ = kill(self.leader, Signal::SIGKILL);
        }
    }
}

fn base_env() -> BTreeMap<String, String> {
    [
        (
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ),
        ("LANG", "C.UTF-8"),
        ("SYSTEMD_COLORS", "0"),
        ("SYSTEMD_PAGER", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
