//! The systemd tier's scenarios, each on a fresh container: what the units do under a real
//! systemd, with figures. Shared steps (deploying, probing from the host, the probe user) live
//! here; each scenario is one function returning its report.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;

use super::{
    deployment::{server_url as url, Deployment, StandIns},
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
pub(super) const ADMIN_TIMEOUT: Duration = Duration::from_secs(180);
const PROBE_USER: &str = "harness-probe";

/// A migrated database from the cold start, for scenarios that are not about migrating.
#[derive(Debug, Clone)]
pub struct Template {
    pub database: PathBuf,
    pub secret_key: PathBuf,
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
        return Ok(Credentials::Password {
            username: name.clone(),
            password: password.clone(),
        });
    }
    let password = format!("{PROBE_USER}-not-a-secret");
    let email = format!("--email={PROBE_USER}@localhost");
    let create = [
        "inventree-manage",
        "createsuperuser",
        "--noinput",
        "--username",
        PROBE_USER,
        &email,
    ];
    let done = d.container.exec(&create, ADMIN_TIMEOUT).await?;
    anyhow::ensure!(
        done.success || done.output.contains("already taken"),
        "inventree-manage createsuperuser failed:\n{}",
        crate::util::tail(&done.output, 30)
    );
    let set = format!(
        "from django.contrib.auth import get_user_model; u = get_user_model().objects.get(username='{PROBE_USER}'); u.set_password('{password}'); u.save()"
    );
    d.container
        .exec_ok(&["inventree-manage", "shell", "-c", &set], ADMIN_TIMEOUT)
        .await
        .context("setting the probe user's password with inventree-manage shell")?;
    Ok(Credentials::Password {
        username: PROBE_USER.into(),
        password,
    })
}

/// Probes from the host until healthy or the budget is spent; fails with the journals.
pub async fn wait_healthy(
    d: &Deployment,
    credentials: &Credentials,
) -> anyhow::Result<ProbeReport> {
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
    let setup_done = timestamp(
        d,
        "inventree-setup.service",
        "ExecMainExitTimestampMonotonic",
    )
    .await?;
    for unit in ["inventree-server.service", "inventree-cluster.service"] {
        let started = timestamp(d, unit, "ExecMainStartTimestampMonotonic").await?;
        if setup_done == 0 || started < setup_done {
            let state = d
                .container
                .property(unit, "ActiveState")
                .await
                .unwrap_or_default();
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
/// The template's files go to `template_dir`, which the caller keeps as long as it is used.
pub async fn cold_start(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template_dir: &Path,
) -> anyhow::Result<(ScenarioReport, Template)> {
    let mut report = ScenarioReport::new("cold start");
    let d = Deployment::create(flake_dir, env, stand_ins, plan).await?;
    let started = Instant::now();
    d.systemctl("start", &["inventree.target"], START_TIMEOUT)
        .await?;
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
    let template = copy_template(&d, template_dir).await?;
    d.shutdown().await?;
    Ok((report, template))
}

/// The SQLite database and secret key of a deployment, copied out (server and worker stopped so
/// the database is consistent).
async fn copy_template(d: &Deployment, dir: &Path) -> anyhow::Result<Template> {
    d.systemctl(
        "stop",
        &["inventree-server.service", "inventree-cluster.service"],
        START_TIMEOUT,
    )
    .await?;
    let settings = &d.plan.internal.settings;
    let database = settings["database"]["NAME"]
        .as_str()
        .context("no database NAME")?;
    let key = d
        .plan
        .internal
        .environment
        .get("INVENTREE_SECRET_KEY_FILE")
        .context("no INVENTREE_SECRET_KEY_FILE")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let template = Template {
        database: dir.join("database.sqlite3"),
        secret_key: dir.join("secret_key.txt"),
    };
    for (inside, to) in [
        (database, &template.database),
        (key.as_str(), &template.secret_key),
    ] {
        crate::util::copy_file(&d.container.path(inside), to)
            .await
            .with_context(|| format!("copying {inside} out of the container"))?;
    }
    Ok(template)
}

/// A fresh deployment whose data dir already holds the template's database and secret key
/// (owned by the service user, as setup would have left them). Nothing started yet.
pub async fn deploy_from_template(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<Deployment> {
    let d = Deployment::create(flake_dir, env, stand_ins, plan).await?;
    let user = service_user(plan);
    let database = plan.internal.settings["database"]["NAME"]
        .as_str()
        .context("the template scenarios need a SQLite fixture")?;
    let key = plan
        .internal
        .environment
        .get("INVENTREE_SECRET_KEY_FILE")
        .context("the template scenarios need a generated secret key")?;
    for (from, inside) in [
        (&template.database, database),
        (&template.secret_key, key.as_str()),
    ] {
        let staged = format!(
            "/tmp/{}",
            from.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("staged")
        );
        crate::util::copy_file(from, &d.container.path(&staged))
            .await
            .with_context(|| format!("staging {}", from.display()))?;
        d.container
            .exec_ok(
                &[
                    "install", "-D", "-o", &user, "-g", &user, "-m", "0600", &staged, inside,
                ],
                Duration::from_secs(30),
            )
            .await?;
    }
    Ok(d)
}

/// The service user (`services.inventree.user`): the system user the plan's accounts declare.
pub(super) fn service_user(plan: &HostPlan) -> String {
    plan.system.accounts["users"]
        .as_object()
        .and_then(|users| {
            users
                .keys()
                .find(|u| plan.system.accounts["users"][u.as_str()]["isSystemUser"] == true)
        })
        .cloned()
        .unwrap_or_else(|| "inventree".into())
}

/// As [`deploy_from_template`], with `inventree.target` started.
pub(super) async fn started_from_template(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<Deployment> {
    let d = deploy_from_template(flake_dir, env, stand_ins, plan, template).await?;
    d.systemctl("start", &["inventree.target"], START_TIMEOUT)
        .await?;
    Ok(d)
}

/// As [`started_from_template`], with the probe's credentials and a healthy probe.
pub(super) async fn healthy_from_template(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<(Deployment, Credentials)> {
    let d = started_from_template(flake_dir, env, stand_ins, plan, template).await?;
    let credentials = probe_credentials(&d).await?;
    healthy_now(&d, &credentials, "the start").await?;
    Ok((d, credentials))
}

/// Installed unit files are the rendered ones: the files on disk byte for byte, and what systemd
/// loaded (`systemctl cat`, no drop-ins) directive by directive, store hashes aside.
pub async fn units_as_rendered(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new(&format!("units as rendered ({})", plan.fixture));
    let d = Deployment::create(flake_dir, env, stand_ins, plan).await?;
    for (name, unit) in &plan.system.units {
        let on_disk =
            std::fs::read_to_string(d.container.path(&format!("/etc/systemd/system/{name}")))?;
        anyhow::ensure!(
            on_disk == unit.text,
            "{name}: the installed file differs from the rendered text"
        );
        let loaded = super::install::loaded_unit_file(&d.container, name).await?;
        let differences = super::install::directive_differences(&unit.text, &loaded);
        anyhow::ensure!(
            differences.is_empty(),
            "{name}: systemd loaded something else:\n{}",
            differences.join("\n")
        );
        let verify = d
            .container
            .exec(
                &["systemd-analyze", "verify", name],
                Duration::from_secs(60),
            )
            .await?;
        anyhow::ensure!(
            verify.success,
            "systemd-analyze verify {name}:\n{}",
            verify.output
        );
        report.check(format!(
            "{name}: installed byte for byte, loaded without drop-ins ({} directives equal), verified",
            unit.text.lines().filter(|l| l.contains('=')).count()
        ));
    }
    d.shutdown().await?;
    Ok(report)
}

/// Probes once, expecting health, and returns the report.
pub(super) async fn healthy_now(
    d: &Deployment,
    credentials: &Credentials,
    what: &str,
) -> anyhow::Result<ProbeReport> {
    wait_healthy(d, credentials)
        .await
        .with_context(|| format!("after {what}"))
}

/// An API client of the deployment's server with a token of `credentials`.
pub(super) async fn api_client(
    d: &Deployment,
    credentials: &Credentials,
) -> anyhow::Result<crate::probe::client::ApiClient> {
    let client = crate::probe::client::ApiClient::new(&url(&d.plan)?)?;
    let (client, _) = probe::auth::authenticate(&client, credentials, "systemd-tier")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(client)
}

/// A part made through the API: the data a restart must keep.
pub(super) async fn make_part(
    d: &Deployment,
    credentials: &Credentials,
    name: &str,
) -> anyhow::Result<u64> {
    let client = api_client(d, credentials).await?;
    let part: probe::api::Part = client
        .post(
            "/api/part/",
            &serde_json::json!({"name": name, "description": "made by the systemd tier", "component": true}),
        )
        .await?;
    Ok(part.pk)
}

pub(super) async fn part_exists(
    d: &Deployment,
    credentials: &Credentials,
    pk: u64,
) -> anyhow::Result<bool> {
    let client = api_client(d, credentials).await?;
    Ok(client
        .get::<probe::api::Part>(&format!("/api/part/{pk}/"))
        .await
        .is_ok())
}

/// `systemctl restart inventree.target` keeps the data; figures: warm start and warm restart.
pub async fn restart(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("restart");
    let d = deploy_from_template(flake_dir, env, stand_ins, plan, template).await?;
    let started = Instant::now();
    d.systemctl("start", &["inventree.target"], START_TIMEOUT)
        .await?;
    let credentials = probe_credentials(&d).await?;
    healthy_now(&d, &credentials, "the first start").await?;
    report.figure(
        "start from a migrated database to healthy (probe user made in between)",
        started.elapsed(),
    );
    let pk = make_part(&d, &credentials, "systemd-tier restart part").await?;
    let server_pid = d
        .container
        .property("inventree-server.service", "MainPID")
        .await?;
    let restarted = Instant::now();
    d.systemctl("restart", &["inventree.target"], START_TIMEOUT)
        .await?;
    healthy_now(&d, &credentials, "the restart").await?;
    report.figure("warm restart to healthy", restarted.elapsed());
    let timeline = super::timeline::restart_timeline(
        &d,
        &[
            "inventree-setup.service",
            "inventree-server.service",
            "inventree-cluster.service",
        ],
    )
    .await?;
    report.check(format!(
        "where the restart went (systemd's timestamps): {timeline}"
    ));
    let new_pid = d
        .container
        .property("inventree-server.service", "MainPID")
        .await?;
    anyhow::ensure!(
        new_pid != server_pid,
        "the server was not restarted (MainPID {server_pid} both times)"
    );
    anyhow::ensure!(
        part_exists(&d, &credentials, pk).await?,
        "part {pk} is gone after the restart"
    );
    report.check(format!("restart of inventree.target restarted the server (MainPID {server_pid} → {new_pid}); part {pk} kept"));
    d.shutdown().await?;
    Ok(report)
}

/// `kill -9` of the worker's main process: systemd restarts it (Restart=on-failure), and a task
/// enqueued while it was dead completes.
pub async fn worker_killed(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("worker killed");
    let (d, credentials) = healthy_from_template(flake_dir, env, stand_ins, plan, template).await?;
    let unit = "inventree-cluster.service";
    let pid = d.container.property(unit, "MainPID").await?;
    let restarts_before = d.container.property(unit, "NRestarts").await?;
    let killed = Instant::now();
    // SIGKILL to the main process only, as `kill -9 <MainPID>` would (the rootfs has no procps).
    let kill = [
        "systemctl",
        "kill",
        "--signal=SIGKILL",
        "--kill-who=main",
        unit,
    ];
    d.container.exec_ok(&kill, Duration::from_secs(10)).await?;
    // systemd notices the death within moments; the probe then enqueues its task while systemd
    // waits RestartSec before restarting the worker.
    let died = format!("{unit} to die after SIGKILL to {pid}");
    wait_until(&d, Duration::from_secs(10), &died, || async {
        Ok(d.container.property(unit, "ActiveState").await? != "active")
    })
    .await?;
    let state = d.container.property(unit, "ActiveState").await?;
    let mut options = ProbeOptions::new(url(&d.plan)?);
    options.credentials = Some(credentials.clone());
    options.task_timeout = Duration::from_secs(120);
    let probe = probe::run(&options).await?;
    anyhow::ensure!(
        probe.verdict.is_healthy(),
        "the task enqueued while the worker was dead did not complete:\n{}{}",
        probe.render_human(),
        d.journals().await
    );
    report.figure(
        "kill -9 to the pending task completed by the restarted worker",
        killed.elapsed(),
    );
    let new_pid = d.container.property(unit, "MainPID").await?;
    let restarts = d.container.property(unit, "NRestarts").await?;
    anyhow::ensure!(
        new_pid != pid && restarts != restarts_before,
        "{unit} was not restarted by systemd (MainPID {new_pid}, NRestarts {restarts})"
    );
    report.check(format!(
        "{unit} killed (MainPID {pid}, state right after: {state}); systemd restarted it (MainPID {new_pid}, NRestarts {restarts_before} → {restarts}); the task enqueued meanwhile completed"
    ));
    d.shutdown().await?;
    Ok(report)
}

/// `systemd-analyze security` of every running InvenTree service: at most the design's bar, and
/// the same figure as the eval tier's offline score of the rendered text.
pub async fn security_live(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    use crate::eval::security::{parse_exposures, score_units, MAX_EXPOSURE};
    let mut report = ScenarioReport::new("security of running units");
    let d = started_from_template(flake_dir, env, stand_ins, plan, template).await?;
    let services: Vec<(String, String)> = plan
        .system
        .units
        .iter()
        .filter(|(name, _)| name.ends_with(".service"))
        .map(|(name, unit)| (name.clone(), unit.text.clone()))
        .collect();
    let offline = score_units(&services).await?;
    for (name, _) in &services {
        let out = d
            .container
            .exec_ok(
                &["systemd-analyze", "security", "--no-pager", name],
                Duration::from_secs(60),
            )
            .await?;
        let live = parse_exposures(&out)
            .into_iter()
            .next()
            .with_context(|| format!("no score for {name}:\n{out}"))?;
        let off = offline
            .iter()
            .find(|e| &e.unit == name)
            .with_context(|| format!("no offline score for {name}"))?;
        anyhow::ensure!(
            live.score <= MAX_EXPOSURE,
            "{name}: live exposure {} > {MAX_EXPOSURE}",
            live.score
        );
        anyhow::ensure!(
            (live.score - off.score).abs() < 0.05,
            "{name}: live exposure {} differs from the offline score {}",
            live.score,
            off.score
        );
        let state = d.container.property(name, "ActiveState").await?;
        report.check(format!(
            "{name} ({state}): exposure {} {} live, {} offline",
            live.score, live.verdict, off.score
        ));
    }
    d.shutdown().await?;
    Ok(report)
}

/// No credential's content (sentinels) in unit files, unit environments, config.yaml or the
/// journal, after a start that used every credential.
pub async fn no_secret_leaks(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new(&format!("no secret leaks ({})", plan.fixture));
    let d = started_from_template(flake_dir, env, stand_ins, plan, template).await?;
    anyhow::ensure!(
        !d.credentials.is_empty(),
        "{} loads no credential: nothing to check",
        plan.fixture
    );
    let mut places = Vec::new();
    for name in d.inventree_units() {
        places.push((
            format!("unit file {name}"),
            std::fs::read_to_string(d.container.path(&format!("/etc/systemd/system/{name}")))?,
        ));
        places.push((
            format!("environment of {name}"),
            d.container.property(&name, "Environment").await?,
        ));
    }
    if let Some(config) = plan.internal.environment.get("INVENTREE_CONFIG_FILE") {
        places.push((
            "config.yaml".into(),
            std::fs::read_to_string(d.container.path(config))?,
        ));
    }
    places.push((
        "journal".into(),
        d.container
            .exec_ok(
                &["journalctl", "--no-pager", "-o", "cat"],
                Duration::from_secs(60),
            )
            .await?,
    ));
    for (credential, content) in &d.credentials {
        for (place, text) in &places {
            anyhow::ensure!(
                !text.contains(content.as_str()),
                "the content of credential {credential} appears in the {place}"
            );
        }
    }
    report.check(format!(
        "{} credentials ({}) absent from {} places (unit files, unit environments, config.yaml, the whole journal)",
        d.credentials.len(),
        d.credentials.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "),
        places.len()
    ));
    d.shutdown().await?;
    Ok(report)
}

/// Waits until `check` holds, polling; fails with `what` and the journals after `budget`.
pub(super) async fn wait_until<F, Fut>(
    d: &Deployment,
    budget: Duration,
    what: &str,
    mut check: F,
) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let started = Instant::now();
    loop {
        if check().await? {
            return Ok(started.elapsed());
        }
        if started.elapsed() > budget {
            anyhow::bail!("{what}: not within {budget:?}{}", d.journals().await);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Setup fails at start (the database cannot be opened: in its place there is a directory, as a
/// mount that is not there yet would leave it), server and worker wait for it; once the cause is
/// gone, InvenTree comes back without anyone touching a unit. (An unwritable database would not
/// do: `StateDirectory=` hands the whole data directory back to the service user at start.)
pub async fn setup_recovers(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("setup failure, then recovery");
    let d = deploy_from_template(flake_dir, env, stand_ins, plan, template).await?;
    let database = plan.internal.settings["database"]["NAME"]
        .as_str()
        .context("no database NAME")?;
    let aside = format!("{database}.aside");
    let short = Duration::from_secs(30);
    d.container
        .exec_ok(&["mv", database, &aside], short)
        .await?;
    d.container.exec_ok(&["mkdir", database], short).await?;
    d.systemctl("start", &["inventree.target"], START_TIMEOUT)
        .await
        .ok();
    let server = "inventree-server.service";
    wait_until(
        &d,
        START_TIMEOUT,
        "setup to fail and the server to wait for it",
        || async {
            let setup = d
                .container
                .property("inventree-setup.service", "Result")
                .await?;
            let restarts: u32 = d
                .container
                .property(server, "NRestarts")
                .await?
                .parse()
                .unwrap_or(0);
            Ok(setup != "success" && restarts >= 1)
        },
    )
    .await?;
    let setup_result = d
        .container
        .property("inventree-setup.service", "Result")
        .await?;
    let server_journal = d.container.journal(server, 50).await;
    anyhow::ensure!(
        server_journal.contains("setup has not completed"),
        "the server's journal does not say it waits for setup:\n{server_journal}"
    );
    report.check(format!(
        "setup failed with no database to open (result {setup_result}); the server refused to start before setup (\"setup has not completed …\") and retries"
    ));
    let fixed = Instant::now();
    d.container.exec_ok(&["rmdir", database], short).await?;
    d.container
        .exec_ok(&["mv", &aside, database], short)
        .await?;
    let credentials = probe_credentials_when_up(&d).await?;
    healthy_now(&d, &credentials, "the database was back").await?;
    report.figure(
        "cause removed to healthy, nobody touching a unit",
        fixed.elapsed(),
    );
    let restarts = d.container.property(server, "NRestarts").await?;
    report.check(format!(
        "InvenTree came back by itself (server restarts: {restarts})"
    ));
    d.shutdown().await?;
    Ok(report)
}

/// Probe credentials once setup has succeeded (the probe user needs a migrated database).
pub(super) async fn probe_credentials_when_up(d: &Deployment) -> anyhow::Result<Credentials> {
    wait_until(d, START_TIMEOUT, "setup to succeed", || async {
        Ok(d.container
            .property("inventree-setup.service", "ActiveState")
            .await?
            == "active")
    })
    .await?;
    probe_credentials(d).await
}
