//! The systemd tier's scenarios, each on a fresh container: what the units do under a real
//! systemd, with figures. Shared steps (deploying, probing from the host, the probe user) live
//! here; each scenario is one function returning its report.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;

use super::{
    deployment::{Deployment, StandIns},
    prerequisites::SystemdEnv,
};
use crate::{
    host::{plan::HostPlan, scenarios::ScenarioReport},
    probe::{self, Credentials, ProbeOptions, ProbeReport},
};

/// Setup migrates an empty database: minutes on two cores.
pub const START_TIMEOUT: Duration = Duration::from_secs(900);
/// From started units to a healthy probe.
const HEALTHY_BUDGET: Duration = Duration::from_secs(180);
const ADMIN_TIMEOUT: Duration = Duration::from_secs(180);
const PROBE_USER: &str = "harness-probe";

/// A migrated database from the cold start, for scenarios that are not about migrating.
#[derive(Debug, Clone)]
pub struct Template {
    pub database: PathBuf,
    pub secret_key: PathBuf,
    /// Keeps the files.
    pub _dir: std::sync::Arc<tempfile::TempDir>,
}

/// The server's URL on the host's loopback (the container shares the host's network).
pub fn url(plan: &HostPlan) -> anyhow::Result<String> {
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

/// Credentials for the probe: a declared superuser with a password, else a user made with the
/// module's own admin command `inventree-manage` (systemd-run with the service's sandbox and
/// credentials): `createsuperuser`, then the password set from a Django shell.
pub async fn probe_credentials(d: &Deployment) -> anyhow::Result<Credentials> {
    let users = d.plan.users()?;
    if let Some((name, user)) = users
        .users
        .iter()
        .find(|(_, u)| u.is_superuser && u.is_active && u.password_credential.is_some())
    {
        let credential = user.password_credential.as_deref().unwrap_or_default();
        let (_, password) = d
            .credentials
            .iter()
            .find(|(n, _)| n == credential)
            .with_context(|| format!("no credential {credential} was installed"))?;
        return Ok(Credentials::Password { username: name.clone(), password: password.clone() });
    }
    let password = format!("{PROBE_USER}-not-a-secret");
    let email = format!("--email={PROBE_USER}@localhost");
    let create = ["inventree-manage", "createsuperuser", "--noinput", "--username", PROBE_USER, &email];
    let done = d.container.exec(&create, ADMIN_TIMEOUT).await?;
    anyhow::ensure!(
        done.success || done.output.contains("already taken"),
        "inventree-manage createsuperuser failed:\n{}",
        crate::host::process::tail(&done.output, 30)
    );
    let set = format!(
        "from django.contrib.auth import get_user_model; u = get_user_model().objects.get(username='{PROBE_USER}'); u.set_password('{password}'); u.save()"
    );
    d.container
        .exec_ok(&["inventree-manage", "shell", "-c", &set], ADMIN_TIMEOUT)
        .await
        .context("setting the probe user's password with inventree-manage shell")?;
    Ok(Credentials::Password { username: PROBE_USER.into(), password })
}

/// Probes from the host until healthy or the budget is spent; fails with the journals.
pub async fn wait_healthy(d: &Deployment, credentials: &Credentials) -> anyhow::Result<ProbeReport> {
    let started = Instant::now();
    let url = url(&d.plan)?;
    loop {
        let left = HEALTHY_BUDGET.saturating_sub(started.elapsed());
        let mut options = ProbeOptions::new(url.clone());
        options.credentials = Some(credentials.clone());
        options.ready_timeout = left.max(Duration::from_secs(1));
        options.task_timeout = left.clamp(Duration::from_secs(1), Duration::from_secs(30));
        let report = probe::run(&options).await?;
        if report.verdict.is_healthy() {
            return Ok(report);
        }
        if started.elapsed() >= HEALTHY_BUDGET {
            anyhow::bail!(
                "{}: not healthy within {HEALTHY_BUDGET:?}:\n{}{}",
                d.plan.fixture,
                report.render_human(),
                d.journals().await
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Monotonic microseconds of a unit's timestamp property.
async fn timestamp(d: &Deployment, unit: &str, property: &str) -> anyhow::Result<u64> {
    let value = d.container.property(unit, property).await?;
    value
        .parse()
        .with_context(|| format!("{unit} {property} is {value:?}"))
}

/// Setup finished before server and worker started (Requires/After as NixOS renders them).
async fn check_order(d: &Deployment, report: &mut ScenarioReport) -> anyhow::Result<()> {
    let setup_done = timestamp(d, "inventree-setup.service", "ExecMainExitTimestampMonotonic").await?;
    for unit in ["inventree-server.service", "inventree-cluster.service"] {
        let started = timestamp(d, unit, "ExecMainStartTimestampMonotonic").await?;
        if setup_done == 0 || started < setup_done {
            let state = d.container.property(unit, "ActiveState").await.unwrap_or_default();
            anyhow::bail!(
                "{unit} (now {state}) started at {started} µs, setup finished at {setup_done} µs:\n{}",
                d.journals().await
            );
        }
        report.check(format!(
            "{unit} started {:.1} s after setup finished",
            (started - setup_done) as f64 / 1e6
        ));
    }
    Ok(())
}

/// `systemctl start inventree.target` on an empty machine: setup migrates, then server and
/// worker start; the probe from the host is healthy. Returns the migrated database as template.
pub async fn cold_start(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
) -> anyhow::Result<(ScenarioReport, Template)> {
    let mut report = ScenarioReport::new("cold start");
    let d = Deployment::create(flake_dir, env, stand_ins, plan).await?;
    let started = Instant::now();
    d.systemctl("start", &["inventree.target"], START_TIMEOUT).await?;
    report.figure("start job (setup with migrations)", started.elapsed());
    check_order(&d, &mut report).await?;
    let credentials = probe_credentials(&d).await?;
    let probe = wait_healthy(&d, &credentials).await?;
    report.figure("cold start to healthy", started.elapsed());
    report.check(format!(
        "probe from the host healthy (API {}, worker task round trip done)",
        url(plan)?
    ));
    report.figure(
        "task round trip",
        crate::host::scenarios::completed_round_trip(&probe)?,
    );
    let template = copy_template(&d).await?;
    d.shutdown().await?;
    Ok((report, template))
}

/// The SQLite database and secret key of a deployment, copied out (server and worker stopped so
/// the database is consistent).
async fn copy_template(d: &Deployment) -> anyhow::Result<Template> {
    d.systemctl("stop", &["inventree-server.service", "inventree-cluster.service"], START_TIMEOUT)
        .await?;
    let settings = &d.plan.internal.settings;
    let database = settings["database"]["NAME"].as_str().context("no database NAME")?;
    let key = d
        .plan
        .internal
        .environment
        .get("INVENTREE_SECRET_KEY_FILE")
        .context("no INVENTREE_SECRET_KEY_FILE")?;
    let dir = tempfile::Builder::new().prefix("inventree-systemd-template.").tempdir()?;
    let template = Template {
        database: dir.path().join("database.sqlite3"),
        secret_key: dir.path().join("secret_key.txt"),
        _dir: std::sync::Arc::new(dir),
    };
    for (inside, to) in [(database, &template.database), (key.as_str(), &template.secret_key)] {
        std::fs::copy(d.container.path(inside), to).with_context(|| format!("copying {inside} out of the container"))?;
    }
    Ok(template)
}
