//! One InvenTree instance on this host, run exactly as the units run it: the runtime program
//! (`python -m inventree_runtime <command…>`) with the plan's environment, setup to completion,
//! then server and worker as long-running process groups.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;

use super::{
    layout::{self, Layout},
    plan::HostPlan,
    prerequisites::HostEnv,
};
use crate::probe::{self, Credentials, ProbeOptions, ProbeReport};
use crate::process::{
    isolated::{self, Spec},
    Finished, Running,
};
use crate::util::{copy_file, free_port, tail};

/// Setup includes migrating an empty database (~1-2 min on 2 cores).
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(900);
/// Time SIGTERM has before SIGKILL (systemd's default is 90 s; gunicorn and qcluster stop fast).
pub const STOP_GRACE: Duration = Duration::from_secs(15);

/// The user the harness creates (through the admin command) when a fixture declares no
/// superuser with a password.
pub const PROBE_USER: &str = "harness-probe";

/// A migrated database and the secret key it belongs with: django-q signs queued tasks with
/// the key, and InvenTree fails to start (KeyError 'func' in `check_existing_task`) when the
/// queue holds tasks signed with another key — so a copy without its key would be a broken
/// data dir no admin has.
#[derive(Debug, Clone)]
pub struct Template {
    pub database: PathBuf,
    pub secret_key: Option<PathBuf>,
}

pub struct Instance {
    pub plan: HostPlan,
    pub layout: Layout,
    host: HostEnv,
    /// Removed on drop unless kept.
    dir: Option<tempfile::TempDir>,
    pub server: Option<Running>,
    pub cluster: Option<Running>,
    /// Directories after the runtime on PYTHONPATH: packages the Nix environment would hold
    /// beyond the host's interpreter (a plugin workspace's, see `plugin_site`).
    pub python_path: Vec<PathBuf>,
}

impl Instance {
    /// Lays the plan out in a fresh temporary directory.
    pub fn create(host: &HostEnv, plan: &HostPlan) -> anyhow::Result<Self> {
        Self::create_on_port(host, plan, None)
    }

    /// As [`create`](Self::create), on a given loopback port (default: a free one).
    pub fn create_on_port(
        host: &HostEnv,
        plan: &HostPlan,
        port: Option<u16>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("inventree-host-{}.", plan.fixture))
            .tempdir()
            .context("creating the instance's temporary directory")?;
        let port = match port {
            Some(port) => port,
            None => free_port()?,
        };
        let layout = layout::lay_out(
            plan,
            dir.path(),
            &host.src,
            host.static_source.as_deref(),
            port,
        )
        .with_context(|| format!("laying out fixture {}", plan.fixture))?;
        Ok(Instance {
            plan: plan.clone(),
            layout,
            host: host.clone(),
            dir: Some(dir),
            server: None,
            cluster: None,
            python_path: Vec::new(),
        })
    }

    /// Points the instance at another InvenTree (tree and Python), as `nixos-rebuild switch` to
    /// another package does: data, config and credentials stay. Its services must be stopped.
    pub fn switch_to(&mut self, host: &HostEnv) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.server.is_none() && self.cluster.is_none(),
            "{}: stop the services before switching to another InvenTree",
            self.plan.fixture
        );
        let environment = &mut self.layout.environment;
        environment.insert("INVENTREE_SRC".into(), host.src.display().to_string());
        if environment.contains_key("INVENTREE_STATIC_SOURCE") {
            match &host.static_source {
                Some(dir) => {
                    environment.insert("INVENTREE_STATIC_SOURCE".into(), dir.display().to_string())
                }
                None => environment.remove("INVENTREE_STATIC_SOURCE"),
            };
        }
        self.host = host.clone();
        Ok(())
    }

    /// Keep the directory after the instance is dropped (for `inventree-harness host`).
    pub fn keep_dir(&mut self) -> PathBuf {
        match self.dir.take() {
            Some(dir) => dir.keep(),
            None => self.layout.root.clone(),
        }
    }

    pub fn url(&self) -> String {
        self.layout.url()
    }

    pub fn settings(&self) -> serde_json::Value {
        layout::relocate_json(&self.plan.internal.settings, &self.layout.root)
    }

    /// The process environment: the plan's (relocated) plus what a unit gets from systemd —
    /// a PATH, a HOME of its own (gunicorn puts its control socket there) — and the runtime on
    /// PYTHONPATH, as the Nix wrappers put it.
    fn process_env(&self) -> BTreeMap<String, String> {
        let mut env = self.layout.environment.clone();
        env.insert(
            "PATH".into(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
        );
        env.insert("HOME".into(), self.layout.home_dir.display().to_string());
        env.insert("LANG".into(), "C.UTF-8".into());
        let python_path: Vec<String> = std::iter::once(&self.host.runtime_dir)
            .chain(&self.python_path)
            .map(|dir| dir.display().to_string())
            .collect();
        env.insert("PYTHONPATH".into(), python_path.join(":"));
        // Bytecode goes to a cache of its own: the source tree stays untouched (read-only in
        // the store), and warm starts do not recompile.
        env.insert(
            "PYTHONPYCACHEPREFIX".into(),
            std::env::temp_dir()
                .join("inventree-harness-pycache")
                .display()
                .to_string(),
        );
        env
    }

    /// Writes `unit-environment.sh` in the instance directory: the environment the units run
    /// with here and the interpreter, as shell `export`s (paths only: credentials stay files), so
    /// a maintainer can run `"$INVENTREE_PYTHON" -m inventree_runtime manage …` (or a profiler
    /// around `server`) by hand. Returns its path.
    pub fn write_environment_file(&self) -> anyhow::Result<PathBuf> {
        let mut text =
            String::from("# source this file: the units' environment of this instance\n");
        let mut environment = self.process_env();
        environment.insert(
            "INVENTREE_PYTHON".into(),
            self.host.python.display().to_string(),
        );
        for (name, value) in &environment {
            text.push_str(&format!(
                "export {name}={}\n",
                crate::process::shell_quote(value)
            ));
        }
        let file = self.layout.root.join("unit-environment.sh");
        layout::write_mode(&file, &text, 0o600)?;
        Ok(file)
    }

    pub fn spec(&self, name: &str, runtime_args: &[String]) -> Spec {
        let mut args = vec!["-m".to_string(), "inventree_runtime".to_string()];
        args.extend(runtime_args.iter().cloned());
        Spec {
            name: name.to_string(),
            program: self.host.python.clone(),
            args,
            env: self.process_env(),
            cwd: self.layout.root.clone(),
            log: self.layout.logs_dir.join(format!("{name}.log")),
            parent_death_signal: nix::sys::signal::Signal::SIGKILL,
        }
    }

    /// The setup unit: runs to completion; the result says whether it succeeded.
    pub async fn setup(&self) -> anyhow::Result<Finished> {
        isolated::run(&self.spec("setup", &self.layout.setup_argv), SETUP_TIMEOUT).await
    }

    /// Setup that must succeed.
    pub async fn setup_ok(&self) -> anyhow::Result<Finished> {
        let done = self.setup().await?;
        if !done.success {
            anyhow::bail!(
                "{}: setup failed (exit {:?}):\n{}",
                self.plan.fixture,
                done.code,
                tail(&done.output, 40)
            );
        }
        Ok(done)
    }

    /// `inventree-manage …` with the service's environment.
    pub async fn manage(
        &self,
        args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> anyhow::Result<Finished> {
        let mut argv = vec!["manage".to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        let mut spec = self.spec("manage", &argv);
        for (k, v) in extra_env {
            spec.env.insert(k.to_string(), v.to_string());
        }
        isolated::run(&spec, Duration::from_secs(300)).await
    }

    pub fn start_server(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.server.is_none(), "server already running");
        self.server = Some(isolated::start(
            &self.spec("server", &self.layout.server_argv),
        )?);
        Ok(())
    }

    pub fn start_cluster(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.cluster.is_none(), "cluster already running");
        self.cluster = Some(isolated::start(
            &self.spec("cluster", &self.layout.cluster_argv),
        )?);
        Ok(())
    }

    /// Starts server and worker (after setup, as the units are ordered).
    pub fn start(&mut self) -> anyhow::Result<()> {
        self.start_server()?;
        self.start_cluster()
    }

    pub async fn stop_server(&mut self) -> anyhow::Result<()> {
        if let Some(mut server) = self.server.take() {
            server.stop(STOP_GRACE).await?;
        }
        Ok(())
    }

    pub async fn stop_cluster(&mut self) -> anyhow::Result<()> {
        if let Some(mut cluster) = self.cluster.take() {
            cluster.stop(STOP_GRACE).await?;
        }
        Ok(())
    }

    /// The worker dies (SIGKILL to its whole group, no shutdown).
    pub async fn kill_cluster(&mut self) -> anyhow::Result<()> {
        if let Some(mut cluster) = self.cluster.take() {
            cluster.kill().await?;
        }
        Ok(())
    }

    /// Stops everything and verifies nothing of it is left running.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let server = self.stop_server().await;
        let cluster = self.stop_cluster().await;
        server.and(cluster)
    }

    /// Fails with the server's log when the server process has exited.
    pub fn check_server_alive(&mut self) -> anyhow::Result<()> {
        if let Some(server) = self.server.as_mut() {
            if let Some(status) = server.exited() {
                anyhow::bail!(
                    "{}: the server exited ({status}):\n{}",
                    self.plan.fixture,
                    tail(&server.output(), 40)
                );
            }
        }
        Ok(())
    }

    /// Credentials the probe can use: a declared active superuser with a password, else the
    /// harness's own superuser, created with the admin command (`inventree-manage
    /// createsuperuser`) when it does not exist yet.
    pub async fn probe_credentials(&self) -> anyhow::Result<Credentials> {
        let declared = self.plan.users()?;
        if let Some((name, user)) = declared
            .users
            .iter()
            .find(|(_, u)| u.is_superuser && u.is_active && u.password_credential.is_some())
        {
            let credential = user.password_credential.as_deref().unwrap_or_default();
            let password = self
                .layout
                .credentials
                .get(credential)
                .with_context(|| format!("no credential {credential} was written"))?;
            return Ok(Credentials::Password {
                username: name.clone(),
                password: password.clone(),
            });
        }
        let password = layout::sentinel(PROBE_USER);
        let marker = self.layout.root.join(".probe-user-created");
        if !marker.exists() {
            let done = self
                .manage(
                    &[
                        "createsuperuser",
                        "--noinput",
                        "--username",
                        PROBE_USER,
                        "--email",
                        "harness-probe@localhost",
                    ],
                    &[("DJANGO_SUPERUSER_PASSWORD", &password)],
                )
                .await?;
            // A copied template already has the user: that is fine.
            if !done.success && !done.output.contains("already taken") {
                anyhow::bail!(
                    "creating the probe user failed:\n{}",
                    tail(&done.output, 20)
                );
            }
            std::fs::write(&marker, "").context("writing the probe-user marker")?;
        }
        Ok(Credentials::Password {
            username: PROBE_USER.into(),
            password,
        })
    }

    /// Probes until healthy or `budget` runs out; returns the last report.
    pub async fn wait_healthy(
        &mut self,
        credentials: &Credentials,
        budget: Duration,
    ) -> anyhow::Result<ProbeReport> {
        let started = Instant::now();
        loop {
            self.check_server_alive()?;
            let left = budget.saturating_sub(started.elapsed());
            let mut options = ProbeOptions::new(self.url());
            options.credentials = Some(credentials.clone());
            options.ready_timeout = left.max(Duration::from_secs(1));
            options.task_timeout = left.clamp(Duration::from_secs(1), Duration::from_secs(30));
            let report = probe::run(&options).await?;
            if report.verdict.is_healthy() || started.elapsed() >= budget {
                return Ok(report);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The secret key file the runtime generates (when it lies in the data dir).
    pub fn secret_key_file(&self) -> Option<PathBuf> {
        self.layout
            .environment
            .get("INVENTREE_SECRET_KEY_FILE")
            .map(PathBuf::from)
            .filter(|p| p.starts_with(&self.layout.data_dir))
    }

    /// Starts from a copy of a migrated template (database and its secret key), so a scenario
    /// that is not about migrating does not spend minutes on it.
    pub async fn copy_template(&self, template: &Template) -> anyhow::Result<()> {
        self.copy_database_from(&template.database).await?;
        if let (Some(key), Some(target)) = (&template.secret_key, self.secret_key_file()) {
            copy_file(key, &target)
                .await
                .context("copying the template's secret key")?;
        }
        Ok(())
    }

    /// Replaces the SQLite database with a copy of `template`.
    pub async fn copy_database_from(&self, template: &Path) -> anyhow::Result<()> {
        let target = self
            .layout
            .sqlite_file(&self.settings())
            .context("copying a template database: this fixture does not use SQLite")?;
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        copy_file(template, &target)
            .await
            .context("copying the template database")?;
        Ok(())
    }

    pub fn sqlite_file(&self) -> Option<PathBuf> {
        self.layout.sqlite_file(&self.settings())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // Running's own Drop kills each group; this only makes the order explicit.
        self.server.take();
        self.cluster.take();
    }
}
