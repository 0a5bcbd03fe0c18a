//! One fixture deployed in a container: the stand-ins prepared (merged Python, prepared source
//! tree, the stand-in store), the container booted with them bound, and the plan installed —
//! ready for `systemctl start inventree.target`.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;

use super::{
    container::{Bind, Container},
    host_lock::HostLock,
    install,
    prerequisites::SystemdEnv,
    python, redis, store,
};
use crate::{
    host::plan::HostPlan,
    prepared_src::{self, PreparedSrc},
};

/// The server's URL on the host's loopback (the container shares the host's network).
pub fn server_url(plan: &HostPlan) -> anyhow::Result<String> {
    let argv = plan.command("server")?;
    let bind = argv
        .iter()
        .position(|a| a == "--bind")
        .and_then(|i| argv.get(i + 1))
        .context("the server command has no --bind")?;
    anyhow::ensure!(
        bind.starts_with("127.0.0.1:"),
        "{}: the systemd tier reaches the server on loopback TCP; it binds {bind}",
        plan.fixture
    );
    Ok(format!("http://{bind}"))
}

/// What every deployment of a run shares (made once: both are cache entries).
#[derive(Debug, Clone)]
pub struct StandIns {
    pub python: PathBuf,
    pub src: PreparedSrc,
}

impl StandIns {
    pub async fn prepare(flake_dir: &Path, env: &SystemdEnv) -> anyhow::Result<Self> {
        let python = python::prepare(env)
            .await
            .context("preparing the container's Python")?;
        let src = prepared_src::prepare(flake_dir, &env.host.src, &env.host.python)
            .await
            .context("preparing the source tree like pkgs/src.nix")?;
        Ok(StandIns { python, src })
    }
}

pub struct Deployment {
    pub plan: HostPlan,
    pub container: Container,
    /// Credential name → the sentinel content installed.
    pub credentials: Vec<(String, String)>,
    /// Logs and the stand-in store; removed on drop.
    pub dir: tempfile::TempDir,
    /// This machine's one container at a time; declared last, so it is let go only after the
    /// container is gone.
    _host_lock: HostLock,
}

/// The modules whose C parts need the container's system libraries (SQLite, OpenSSL, libpq,
/// Pango through WeasyPrint): a rootfs without them fails here, naming the fix, rather than in
/// the middle of a migration.
const NATIVE_MODULES: &str =
    "import sqlite3, ssl, ctypes, lzma, bz2, psycopg, MySQLdb, weasyprint, PIL.Image, lxml.etree";

async fn check_libraries(
    container: &Container,
    plan_store: &std::collections::BTreeMap<String, store::StandIn>,
) -> anyhow::Result<()> {
    let python = plan_store
        .keys()
        .find(|p| store::name_of(p).starts_with("inventree-python-"))
        .context("no inventree-python in the store")?;
    let interpreter = format!("{python}/bin/python");
    container
        .exec_ok(&[&interpreter, "-c", NATIVE_MODULES], Duration::from_secs(60))
        .await
        .context("the container lacks system libraries InvenTree's Python needs: remake the rootfs with scripts/setup-dev (it installs them)")?;
    Ok(())
}

/// The container shares the host's network: the fixture's port must be free, or the probe would
/// talk to whatever holds it. Other harness runs' containers are kept out by [`HostLock`]; a
/// container killed a moment ago may still be releasing the port: wait a little. The error names
/// the sockets on the port and who holds them.
///
/// One bind per attempt, and success returns at once: a second bind right after a successful one
/// failed in CI with nobody listening a moment later — most likely a thread of this process
/// forking a program (its child holds a copy of every descriptor until it execs) kept the first
/// test socket alive for that moment.
async fn port_is_free(plan: &HostPlan) -> anyhow::Result<()> {
    let url = server_url(plan)?;
    let bind = url.trim_start_matches("http://");
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut said = false;
    loop {
        let error = match std::net::TcpListener::bind(bind) {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            let port = bind.rsplit(':').next().and_then(|p| p.parse().ok());
            let sockets = port.map(crate::util::sockets_on).unwrap_or_default();
            anyhow::bail!(
                "{bind}, where {}'s server listens, is in use on this host ({error}) after 180 s: {}",
                plan.fixture,
                if sockets.is_empty() {
                    "no socket on it is left now (pgrep -af systemd-nspawn)".to_string()
                } else {
                    sockets.join(", ")
                }
            );
        }
        if !said {
            eprintln!(
                "systemd tier: {bind} still in use, waiting up to 180 s for it to be released"
            );
            said = true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A name nspawn accepts and that says whose container it is.
fn machine_name(fixture: &str) -> String {
    let clean: String = fixture
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("inventree-harness-{}-{clean}", std::process::id())
}

impl Deployment {
    /// Boots a container for `plan` and installs it (nothing started yet).
    pub async fn create(
        flake_dir: &Path,
        env: &SystemdEnv,
        stand_ins: &StandIns,
        plan: &HostPlan,
    ) -> anyhow::Result<Self> {
        Self::create_with_binds(flake_dir, env, stand_ins, plan, Vec::new()).await
    }

    /// As [`Deployment::create`], with more host directories bound into the container (a
    /// database server's socket directory).
    pub async fn create_with_binds(
        flake_dir: &Path,
        env: &SystemdEnv,
        stand_ins: &StandIns,
        plan: &HostPlan,
        extra_binds: Vec<Bind>,
    ) -> anyhow::Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let started = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix(&format!("inventree-systemd-{}.", plan.fixture))
            .tempdir()
            .context("creating the deployment's directory")?;
        let store_dir = dir.path().join("store");
        std::fs::create_dir_all(&store_dir)?;
        // Bound at /nix/store: the service user must be able to read it.
        std::fs::set_permissions(&store_dir, std::fs::Permissions::from_mode(0o755))?;
        let wrapper_nix = std::fs::read_to_string(flake_dir.join("pkgs/wrapper.nix"))
            .context("reading pkgs/wrapper.nix")?;
        let runtime = flake_dir.join("runtime");
        let sources = store::Sources {
            python: &stand_ins.python,
            src: &stand_ins.src.path,
            runtime: &runtime,
            wrapper_nix: &wrapper_nix,
        };
        let plan_store = store::plan_store(plan, &sources)?;
        let host_lock = HostLock::acquire(&format!("deploying {}", plan.fixture)).await?;
        port_is_free(plan).await?;
        let mut binds = vec![Bind {
            host: store_dir.clone(),
            container: "/nix/store".into(),
            read_only: true,
        }];
        binds.extend(extra_binds);
        for (host, container) in store::write_store(&store_dir, &plan_store)? {
            binds.push(Bind {
                host,
                container,
                read_only: true,
            });
        }
        let container =
            Container::boot(env, &machine_name(&plan.fixture), &binds, dir.path()).await?;
        check_libraries(&container, &plan_store).await?;
        let credentials = install::install(&container, plan)
            .await
            .with_context(|| format!("installing {}'s units in the container", plan.fixture))?;
        redis::install_if_needed(&container, plan).await?;
        install::reload(&container).await?;
        eprintln!(
            "systemd tier: {} deployed ({} units, {} store paths) in {:.1} s",
            plan.fixture,
            plan.system.units.len(),
            plan_store.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(Deployment {
            plan: plan.clone(),
            container,
            credentials,
            dir,
            _host_lock: host_lock,
        })
    }

    /// Fails saying `why` when `unit` is active (a unit that must not run yet); else its state.
    pub async fn ensure_not_active(&self, unit: &str, why: &str) -> anyhow::Result<String> {
        let state = self.container.property(unit, "ActiveState").await?;
        anyhow::ensure!(state != "active", "{why} ({unit} is {state})");
        Ok(state)
    }

    /// `systemctl <verb> <units…>`; on failure the error quotes each unit's journal.
    pub async fn systemctl(
        &self,
        verb: &str,
        units: &[&str],
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let mut argv = vec!["systemctl", verb];
        argv.extend(units);
        let done = self.container.exec(&argv, timeout).await?;
        if done.success {
            return Ok(());
        }
        anyhow::bail!(
            "`systemctl {verb} {}` failed (exit {:?}): {}{}",
            units.join(" "),
            done.code,
            done.output.trim(),
            self.journals().await
        )
    }

    /// The recent journal of every InvenTree unit, for error messages.
    pub async fn journals(&self) -> String {
        let mut out = String::new();
        for unit in self.inventree_units() {
            out.push_str(&format!(
                "\n--- journalctl -u {unit}\n{}",
                self.container.journal(&unit, 30).await
            ));
        }
        out
    }

    /// The InvenTree units of the plan, by full name.
    pub fn inventree_units(&self) -> Vec<String> {
        self.plan.system.units.keys().cloned().collect()
    }

    /// Powers the container off, verifying nothing is left.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.container.shutdown().await
    }
}
