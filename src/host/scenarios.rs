//! The host tier's scenarios. Each runs one fixture as the units would, checks one behaviour,
//! tears everything down (verifying no process is left) and returns its measured figures.
//! `tests/host.rs` runs each as its own test; `inventree-harness check` runs them all.
//!
//! Migrating an empty database takes a minute or more on two cores. Only the scenarios about
//! first starts (defaults, PostgreSQL) migrate from empty; the others start from a copy of a
//! database the same setup program migrated once (`migrated_template`), which does not weaken
//! them: they are about users, restarts and the worker, and their own setup still runs (and
//! still migrates, since the copied data dir's recorded state differs).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use serde::Deserialize;
use serde_json::json;

use super::{
    instance::Instance,
    layout,
    plan::{HostPlan, UsersDeclaration},
    postgres,
    prerequisites::HostEnv,
};
use crate::probe::{
    self,
    api::{Listing, TaskDetail},
    client::{ApiClient, ApiError, Auth},
    Credentials, ProbeOptions, Verdict, WorkerCheck,
};
use crate::process::{self, Spec};
use crate::util::copy_file;

/// Budget for a started instance to become healthy (server up, worker completing a task).
pub const HEALTHY_BUDGET: Duration = Duration::from_secs(120);
/// The worker-death probe's task deadline.
pub const DEAD_WORKER_DEADLINE: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Default)]
pub struct ScenarioReport {
    pub name: String,
    /// Measured durations, in seconds, by name.
    pub figures: Vec<(String, f64)>,
    /// What was checked, one line each.
    pub checked: Vec<String>,
    /// When the scenario started: its report says how long it took.
    pub started: Option<Instant>,
}

impl ScenarioReport {
    /// A scenario's report, begun: says on stderr that the scenario started (a tier's scenarios
    /// run for minutes; in tests libtest captures the line).
    pub fn new(name: &str) -> Self {
        eprintln!("   scenario {name}: started");
        ScenarioReport {
            name: name.into(),
            started: Some(Instant::now()),
            ..Default::default()
        }
    }

    pub fn figure(&mut self, name: &str, duration: Duration) {
        self.figures.push((name.into(), duration.as_secs_f64()));
    }

    pub fn check(&mut self, line: impl Into<String>) {
        self.checked.push(line.into());
    }

    pub fn render(&self) -> String {
        let mut out = match self.started {
            Some(started) => format!(
                "scenario {} ({:.1} s):\n",
                self.name,
                started.elapsed().as_secs_f64()
            ),
            None => format!("scenario {}:\n", self.name),
        };
        for line in &self.checked {
            out.push_str(&format!("  ok  {line}\n"));
        }
        for (name, seconds) in &self.figures {
            out.push_str(&format!("  fig {name}: {seconds:.1} s\n"));
        }
        out
    }
}

/// A migrated SQLite database made by running the fixture's setup once in its own instance,
/// kept (with the secret key that signed what it holds) in `keep_in`.
pub async fn migrated_template(
    host: &HostEnv,
    plan: &HostPlan,
    keep_in: &Path,
) -> anyhow::Result<Template> {
    let instance = Instance::create(host, plan)?;
    instance
        .setup_ok()
        .await
        .context("migrating the template database")?;
    let db = instance
        .sqlite_file()
        .context("the template fixture must use SQLite")?;
    let database = keep_in.join("template.sqlite3");
    copy_file(&db, &database)
        .await
        .context("keeping the template database")?;
    let secret_key = match instance.secret_key_file() {
        Some(key) if key.is_file() => {
            let kept = keep_in.join("secret_key.txt");
            copy_file(&key, &kept)
                .await
                .context("keeping the secret key")?;
            Some(kept)
        }
        _ => None,
    };
    Ok(Template {
        database,
        secret_key,
    })
}

/// Scenarios start from [`Template`]s; it lives with [`Instance::copy_template`].
pub use super::instance::Template;

fn api(instance: &Instance) -> anyhow::Result<ApiClient> {
    ApiClient::new(&instance.url())
}

pub(super) async fn token_client(
    instance: &Instance,
    credentials: &Credentials,
) -> anyhow::Result<ApiClient> {
    let (client, _) = probe::auth::authenticate(&api(instance)?, credentials, "host-tier")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(client)
}

/// The API still reads and writes `when` (e.g. "while Redis was down"): the part list, then a
/// part created; returns how many parts were listed and the new part. Shared by the host and
/// systemd tiers' fault scenarios.
pub async fn parts_listed_and_one_created(
    client: &crate::probe::client::ApiClient,
    when: &str,
    tier: &str,
) -> anyhow::Result<(usize, probe::api::Part)> {
    let parts: probe::api::Listing<probe::api::Part> = client
        .get("/api/part/")
        .await
        .with_context(|| format!("GET /api/part/ {when}"))?;
    let part = client
        .post(
            "/api/part/",
            &json!({"name": format!("made {when}"), "description": tier}),
        )
        .await
        .with_context(|| format!("POST /api/part/ {when}"))?;
    Ok((parts.into_items().len(), part))
}

pub fn completed_round_trip(report: &probe::ProbeReport) -> anyhow::Result<Duration> {
    match &report.worker {
        WorkerCheck::Completed { round_trip_ms, .. } => Ok(Duration::from_millis(*round_trip_ms)),
        _ => anyhow::bail!("not healthy:\n{}", report.render_human()),
    }
}

pub(super) async fn healthy(
    instance: &mut Instance,
    credentials: &Credentials,
) -> anyhow::Result<(probe::ProbeReport, Duration)> {
    let started = Instant::now();
    let report = instance.wait_healthy(credentials, HEALTHY_BUDGET).await?;
    if !report.verdict.is_healthy() {
        anyhow::bail!(
            "{}: not healthy within {} s:\n{}\nserver log:\n{}\ncluster log:\n{}",
            instance.plan.fixture,
            HEALTHY_BUDGET.as_secs(),
            report.render_human(),
            log_tail(instance, "server"),
            log_tail(instance, "cluster")
        );
    }
    Ok((report, started.elapsed()))
}

pub(super) fn log_tail(instance: &Instance, name: &str) -> String {
    let text = std::fs::read_to_string(instance.layout.logs_dir.join(format!("{name}.log")))
        .unwrap_or_default();
    crate::util::tail(&text, 30)
}

/// From the migrated template to a healthy instance: the template copied in, setup, the probe's
/// credentials, server and worker started. Returns the credentials.
pub(super) async fn healthy_from_template(
    instance: &mut Instance,
    template: &Template,
) -> anyhow::Result<Credentials> {
    instance.copy_template(template).await?;
    instance.setup_ok().await?;
    let credentials = instance.probe_credentials().await?;
    instance.start()?;
    healthy(instance, &credentials).await?;
    Ok(credentials)
}

/// Stops everything and checks nothing is left of it.
pub(super) async fn teardown(
    instance: &mut Instance,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    instance.stop().await?;
    report.check("teardown: server and worker process groups stopped, no process left");
    Ok(())
}

pub(super) fn expect_line(output: &str, needle: &str, what: &str) -> anyhow::Result<()> {
    if output.lines().any(|l| l.contains(needle)) {
        Ok(())
    } else {
        anyhow::bail!(
            "{what}: expected a line containing {needle:?} in the setup output:\n{output}"
        )
    }
}

/// The setup output says migrations were not run: `migrations: skipped (…)`, or (when users
/// are declared, and the users step checks for unapplied migrations in the same Django process)
/// `migrations: state unchanged; …` without a later `unapplied`/`running` line.
pub fn expect_no_migration(output: &str, what: &str) -> anyhow::Result<()> {
    let lines: Vec<&str> = output
        .lines()
        .filter(|l| l.starts_with("migrations:"))
        .collect();
    let skipped = lines.iter().any(|l| {
        l.starts_with("migrations: skipped") || l.starts_with("migrations: state unchanged")
    });
    let ran = lines
        .iter()
        .any(|l| l.starts_with("migrations: running") || l.contains("unapplied;"));
    if skipped && !ran {
        Ok(())
    } else {
        anyhow::bail!("{what}: expected migrations to be skipped; setup said {lines:?}:\n{output}")
    }
}

/// defaults (SQLite, from an empty data dir): setup migrates, the API answers, the worker
/// completes a task, the first web login holds. Figures: cold start to healthy, setup, task
/// round trip.
pub async fn defaults(host: &HostEnv, plan: &HostPlan) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("defaults");
    let mut instance = Instance::create(host, plan)?;
    let setup = instance.setup_ok().await?;
    expect_line(&setup.output, "migrations: running", "first setup")?;
    expect_line(&setup.output, "config: installed", "first setup")?;
    report.check("setup on an empty data dir installed the config and migrated");
    let config = std::fs::read_to_string(instance.layout.data_dir.join("config.yaml"))?;
    let source = std::fs::read_to_string(&instance.layout.config_source)?;
    anyhow::ensure!(
        config == source,
        "installed config.yaml differs from the rendered one"
    );
    report.check("config.yaml in the data dir is the rendered config, byte for byte");
    let admin_started = Instant::now();
    let credentials = instance.probe_credentials().await?;
    let admin = admin_started.elapsed();
    let started = Instant::now();
    instance.start()?;
    let (probe_report, _) = healthy(&mut instance, &credentials).await?;
    let start_to_healthy = started.elapsed();
    report.check(format!(
        "API ready ({} {}), worker completed a real task",
        probe_report
            .server
            .as_ref()
            .map(|s| s.server.as_str())
            .unwrap_or("?"),
        probe_report
            .server
            .as_ref()
            .map(|s| s.version.as_str())
            .unwrap_or("?")
    ));
    // The prepared tree is patched as the package is: no "uncommon configuration" warning.
    let server_log =
        std::fs::read_to_string(instance.layout.logs_dir.join("server.log")).unwrap_or_default();
    for (what, text) in [
        ("setup", setup.output.as_str()),
        ("server", server_log.as_str()),
    ] {
        anyhow::ensure!(
            !text.contains("INVE-W10"),
            "the {what} log shows INVE-W10 (config directory in the source tree): is the tree prepared like pkgs/src.nix?"
        );
    }
    report
        .check("no INVE-W10 in the setup and server logs (the tree is prepared like pkgs/src.nix)");
    // The first session on a fresh database: InvenTree once ended it on the next request.
    if let Credentials::Password { username, password } = &credentials {
        let held =
            super::web_login::session_login_holds(&instance.url(), username, password, 3).await?;
        report.check(format!("first web login on the fresh database: {held}"));
    }
    report.figure("setup from empty (migrations included)", setup.elapsed);
    report.figure("server+worker start to healthy", start_to_healthy);
    report.figure(
        "cold start to healthy (setup + start; without the admin command)",
        setup.elapsed + start_to_healthy,
    );
    report.figure(
        "admin command createsuperuser (not part of the unit)",
        admin,
    );
    report.figure("task round trip", completed_round_trip(&probe_report)?);
    teardown(&mut instance, &mut report).await?;
    Ok(report)
}

/// restart: data survives and the second setup skips migrations; the warm restart is timed (a
/// figure of the report, not a bound).
pub async fn restart(
    host: &HostEnv,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("restart");
    let mut instance = Instance::create(host, plan)?;
    let credentials = healthy_from_template(&mut instance, template).await?;
    let client = token_client(&instance, &credentials).await?;
    let part: probe::api::Part = client
        .post(
            "/api/part/",
            &json!({ "name": "host-tier-restart-part", "description": "must survive a restart", "active": true }),
        )
        .await?;
    instance.stop().await?;
    report.check("first start healthy; part created; server and worker stopped");

    let started = Instant::now();
    let setup = instance.setup_ok().await?;
    expect_no_migration(&setup.output, "second setup")?;
    report.check("second setup skipped migrations");
    let server_started = Instant::now();
    instance.start()?;
    if let probe::readiness::Readiness::Ready(_) =
        probe::readiness::wait_ready(&api(&instance)?, HEALTHY_BUDGET, None).await
    {
        report.figure("server start to /api/ answering", server_started.elapsed());
    }
    let (probe_report, _) = healthy(&mut instance, &credentials).await?;
    report.figure("warm restart to healthy (setup + start)", started.elapsed());
    report.figure("warm setup", setup.elapsed);
    report.figure("server+worker start to healthy", server_started.elapsed());
    report.figure("task round trip", completed_round_trip(&probe_report)?);

    let client = token_client(&instance, &credentials).await?;
    let found: probe::api::Part = client
        .get(&format!("/api/part/{}/", part.pk))
        .await
        .context("the part created before the restart")?;
    anyhow::ensure!(
        found.name == "host-tier-restart-part",
        "part {} came back as {found:?}",
        part.pk
    );
    report.check(format!(
        "part {} created before the restart is there after it",
        part.pk
    ));
    teardown(&mut instance, &mut report).await?;
    Ok(report)
}

/// printing: a part label and a stock item report printed through the API are rendered by the
/// worker into `media_root` as PDFs that show the part's name (fonts found through the unit's
/// `FONTCONFIG_FILE`). Figures: each document from request to complete.
pub async fn printing(
    host: &HostEnv,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("printing");
    let mut instance = Instance::create(host, plan)?;
    let credentials = healthy_from_template(&mut instance, template).await?;
    let client = token_client(&instance, &credentials).await?;
    let media_root = instance.settings()["media_root"]
        .as_str()
        .map(PathBuf::from)
        .context("the rendered config has no media_root")?;
    let printed = match crate::printing::print_label_and_report(&client, "host-tier").await {
        Ok(printed) => printed,
        Err(e) => anyhow::bail!(
            "{e:#}\nserver log:\n{}\nworker log:\n{}",
            log_tail(&instance, "server"),
            log_tail(&instance, "cluster")
        ),
    };
    for printed in printed {
        let file = crate::printing::check_pdf(&host.python, &media_root, &printed).await?;
        report.figure(&format!("{} rendered", printed.what), printed.elapsed);
        report.check(format!(
            "{} ({:?}) is a PDF in media_root ({}) showing {:?}",
            printed.what,
            printed.template,
            file.display(),
            printed.expected
        ));
    }
    teardown(&mut instance, &mut report).await?;
    Ok(report)
}

/// worker death: the probe says unhealthy (naming the worker) within its deadline although
/// `/api/` claims the worker runs; a restarted worker completes the task left pending.
pub async fn worker_death(
    host: &HostEnv,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("worker death");
    let mut instance = Instance::create(host, plan)?;
    let credentials = healthy_from_template(&mut instance, template).await?;
    instance.kill_cluster().await?;
    report.check("worker killed (SIGKILL to its process group; nothing of it left)");

    let dead = probe_with_dead_worker(&instance, &credentials, &mut report).await?;
    let task_id = match &dead.worker {
        WorkerCheck::NotCompleted { task_id, .. } => task_id.clone(),
        other => anyhow::bail!("expected a task left pending, got {other:?}"),
    };
    let client = token_client(&instance, &credentials).await?;
    let restarted = Instant::now();
    instance.start_cluster()?;
    let deadline = restarted + Duration::from_secs(90);
    wait_task_completed(&client, &instance, &task_id, deadline).await?;
    report.figure(
        "worker restart to pending task completed",
        restarted.elapsed(),
    );
    report.check(format!(
        "restarted worker completed the pending task {task_id}"
    ));
    let (after, _) = healthy(&mut instance, &credentials).await?;
    report.figure(
        "task round trip after restart",
        completed_round_trip(&after)?,
    );
    teardown(&mut instance, &mut report).await?;
    Ok(report)
}

/// The probe with the worker dead: unhealthy within [`DEAD_WORKER_DEADLINE`], for a reason
/// naming the worker, while `/api/` (wrongly) claims `worker_running: true`. The probe's report.
async fn probe_with_dead_worker(
    instance: &Instance,
    credentials: &Credentials,
    report: &mut ScenarioReport,
) -> anyhow::Result<probe::ProbeReport> {
    let mut options = ProbeOptions::new(instance.url());
    options.credentials = Some(credentials.clone());
    options.task_timeout = DEAD_WORKER_DEADLINE;
    let started = Instant::now();
    let dead = probe::run(&options).await?;
    let took = started.elapsed();
    let reasons = match &dead.verdict {
        Verdict::Unhealthy { reasons } => reasons.clone(),
        other => anyhow::bail!(
            "with the worker dead the probe said {other:?}:\n{}",
            dead.render_human()
        ),
    };
    anyhow::ensure!(
        reasons.iter().any(|r| r.contains("worker")),
        "the reason must name the worker: {reasons:?}"
    );
    anyhow::ensure!(
        took <= DEAD_WORKER_DEADLINE + Duration::from_secs(10),
        "the probe took {took:?}, deadline {DEAD_WORKER_DEADLINE:?}"
    );
    let claimed = dead.server.as_ref().and_then(|s| s.worker_running);
    report.check(format!(
        "probe unhealthy in {:.1} s (deadline {} s): {} — /api/ worker_running: {:?}",
        took.as_secs_f64(),
        DEAD_WORKER_DEADLINE.as_secs(),
        reasons.join("; "),
        claimed
    ));
    anyhow::ensure!(
        claimed == Some(true),
        "expected /api/ to (wrongly) claim worker_running: true, got {claimed:?}"
    );
    report.check("/api/ claimed worker_running: true while the worker was dead");
    report.figure("probe verdict with a dead worker", took);
    Ok(dead)
}

/// Poll background task `task_id` until it is complete, which must be by `deadline` and a
/// success.
async fn wait_task_completed(
    client: &ApiClient,
    instance: &Instance,
    task_id: &str,
    deadline: Instant,
) -> anyhow::Result<()> {
    loop {
        let detail: TaskDetail = client
            .get(&format!("/api/background-task/{task_id}/"))
            .await?;
        if detail.complete {
            anyhow::ensure!(
                detail.success,
                "the pending task {task_id} failed after the restart"
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "task {task_id} still not complete 90 s after the worker restarted:\n{}",
                log_tail(instance, "cluster")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_count_as_skipped_only_without_a_run() {
        assert!(expect_no_migration(
            "migrations: skipped (state unchanged and no unapplied migrations)",
            "x"
        )
        .is_ok());
        assert!(expect_no_migration("migrations: state unchanged; the users step checks for unapplied ones\nuser a: unchanged", "x").is_ok());
        assert!(expect_no_migration("migrations: state unchanged; the users step checks for unapplied ones\nmigrations: 3 unapplied; users not applied yet", "x").is_err());
        assert!(expect_no_migration("migrations: running (changed: config)", "x").is_err());
    }
}

#[derive(Debug, Deserialize)]
struct UserRow {
    pk: u64,
    username: String,
    #[serde(default)]
    is_active: bool,
}

/// Whether `user` with `password` is granted an API token: true for a key of InvenTree's shape,
/// false for a refusal (401/403), an error for anything else.
async fn can_get_token(instance: &Instance, user: &str, password: &str) -> anyhow::Result<bool> {
    let client = api(instance)?.with_auth(Auth::Basic {
        username: user.into(),
        password: password.into(),
    });
    match client
        .get::<probe::api::TokenResponse>("/api/user/token/?name=host-tier")
        .await
    {
        Ok(token) if probe::api::is_api_token_key(&token.token) => Ok(true),
        Ok(token) => anyhow::bail!(
            "{user} was answered something that is not an InvenTree API token key \
             (inv-<40 hex>-<YYYYMMDD>): {} characters starting {:?}",
            token.token.len(),
            token.token.chars().take(4).collect::<String>()
        ),
        Err(e) if e.status().is_some_and(|s| s == 401 || s == 403) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// users: every declared user with a password gets a token; a changed password file rotates the
/// password; an undeclared user created through the API survives (as the fixture's `undeclared`
/// policy says); a second setup run changes nothing.
pub async fn users(
    host: &HostEnv,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("users");
    let declared = plan.users()?;
    anyhow::ensure!(
        !declared.users.is_empty(),
        "fixture {} declares no users",
        plan.fixture
    );
    let mut instance = Instance::create(host, plan)?;
    instance.copy_template(template).await?;
    let setup = instance.setup_ok().await?;
    for name in declared.users.keys() {
        expect_line(
            &setup.output,
            &format!("user {name}: created"),
            "first setup",
        )?;
    }
    report.check(format!(
        "setup created every declared user ({})",
        declared.users.len()
    ));
    let credentials = instance.probe_credentials().await?;
    instance.start()?;
    healthy(&mut instance, &credentials).await?;

    let written = instance.layout.credentials.clone();
    check_declared_users_tokens(&instance, &declared, &written, &mut report).await?;

    // An undeclared user, created through the API by the admin.
    let admin = token_client(&instance, &credentials).await?;
    let created: UserRow = admin
        .post(
            "/api/user/",
            &json!({ "username": "undeclared-dave", "first_name": "Dave", "last_name": "Undeclared",
                     "email": "dave@example.org", "is_staff": false }),
        )
        .await
        .context("creating an undeclared user through the API")?;

    // Rotate one password file, as an admin would, and restart.
    let rotation = rotate_password_file(&mut instance, &declared, &written)?;
    instance.stop().await?;
    expect_second_setup(&instance, &declared, &rotation.user).await?;
    instance.start()?;
    healthy(&mut instance, &credentials).await?;
    check_rotated_password(&instance, &rotation, &mut report).await?;

    let admin = token_client(&instance, &credentials).await?;
    let lookup = admin
        .get::<UserRow>(&format!("/api/user/{}/", created.pk))
        .await;
    check_undeclared_policy(&declared.undeclared, lookup, &mut report)?;
    instance.stop().await?;

    expect_third_setup_changes_nothing(&instance, &mut report).await?;
    let listed: Listing<UserRow> = {
        instance.start_server()?;
        let client = token_client_when_ready(&mut instance, &credentials).await?;
        client.get("/api/user/?limit=100").await?
    };
    report.check(format!(
        "{} users in the database after all runs",
        listed.into_items().len()
    ));
    teardown(&mut instance, &mut report).await?;
    Ok(report)
}

/// Every active declared user with a password (`written`: credential → content) gets a token;
/// an inactive one is refused.
async fn check_declared_users_tokens(
    instance: &Instance,
    declared: &UsersDeclaration,
    written: &BTreeMap<String, String>,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let password_of = |credential: &str| written.get(credential).cloned();
    let mut with_token = Vec::new();
    for (name, user) in &declared.users {
        match (&user.password_credential, user.is_active) {
            (Some(credential), true) => {
                let password = password_of(credential).context("credential not written")?;
                anyhow::ensure!(
                    can_get_token(instance, name, &password).await?,
                    "declared user {name} got no token"
                );
                with_token.push(name.clone());
            }
            (Some(credential), false) => {
                let password = password_of(credential).context("credential not written")?;
                anyhow::ensure!(
                    !can_get_token(instance, name, &password).await?,
                    "inactive user {name} got a token"
                );
            }
            (None, _) => {}
        }
    }
    report.check(format!(
        "every active declared user with a password got a token: {}",
        with_token.join(", ")
    ));
    Ok(())
}

/// A password changed by rewriting its credential file.
struct Rotation {
    user: String,
    old_password: String,
    new_password: String,
}

/// Rewrite the password file of an active non-superuser, as an admin would (`written`: the
/// credential contents before).
fn rotate_password_file(
    instance: &mut Instance,
    declared: &UsersDeclaration,
    written: &BTreeMap<String, String>,
) -> anyhow::Result<Rotation> {
    let (user, credential) = declared
        .users
        .iter()
        .find_map(
            |(name, u)| match (&u.password_credential, u.is_active && !u.is_superuser) {
                (Some(c), true) => Some((name.clone(), c.clone())),
                _ => None,
            },
        )
        .context("the users fixture needs an active non-superuser with a password")?;
    let old_password = written.get(&credential).cloned().unwrap_or_default();
    let new_password = format!("{old_password}-rotated");
    layout::write_mode(
        &instance.layout.credential_path(&credential),
        &format!("{new_password}\n"),
        0o400,
    )?;
    instance
        .layout
        .credentials
        .insert(credential, new_password.clone());
    Ok(Rotation {
        user,
        old_password,
        new_password,
    })
}

/// The setup after the rotation updates the rotated user's password and applies the
/// `undeclared` policy to the user created through the API.
async fn expect_second_setup(
    instance: &Instance,
    declared: &UsersDeclaration,
    rotated_user: &str,
) -> anyhow::Result<()> {
    let second = instance.setup_ok().await?;
    expect_line(
        &second.output,
        &format!("user {rotated_user}: updated (password)"),
        "setup after rotation",
    )?;
    let undeclared_line = match declared.undeclared.as_str() {
        "keep" => None,
        "deactivate" => Some("user undeclared-dave: deactivated (undeclared)"),
        _ => Some("user undeclared-dave: deleted (undeclared)"),
    };
    if let Some(line) = undeclared_line {
        expect_line(&second.output, line, "setup with an undeclared user")?;
    }
    Ok(())
}

/// After the rotation the old password is refused and the new one accepted.
async fn check_rotated_password(
    instance: &Instance,
    rotation: &Rotation,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let Rotation {
        user,
        old_password,
        new_password,
    } = rotation;
    anyhow::ensure!(
        !can_get_token(instance, user, old_password).await?,
        "the old password of {user} still works after rotation"
    );
    anyhow::ensure!(
        can_get_token(instance, user, new_password).await?,
        "the new password of {user} does not work"
    );
    report.check(format!(
        "changing {user}'s password file rotated the password (old refused, new accepted)"
    ));
    Ok(())
}

/// The undeclared user as `policy` leaves it: kept and active, deactivated, or deleted.
fn check_undeclared_policy(
    policy: &str,
    lookup: Result<UserRow, ApiError>,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    match (policy, lookup) {
        ("keep", Ok(row)) if row.is_active => {
            report.check("undeclared user created through the API survived, untouched (undeclared = keep)")
        }
        ("deactivate", Ok(row)) if !row.is_active && row.username == "undeclared-dave" => report.check(
            "undeclared user created through the API survived, deactivated as the fixture says (undeclared = deactivate)",
        ),
        ("delete", Err(e)) if e.status().is_some_and(|s| s == 404) => {
            report.check("undeclared user deleted as the fixture says (undeclared = delete)")
        }
        (policy, other) => anyhow::bail!("undeclared user with policy {policy}: {other:?}"),
    }
    Ok(())
}

/// A further setup run with the same input changes nothing: no user, no migration, no config.
async fn expect_third_setup_changes_nothing(
    instance: &Instance,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let third = instance.setup_ok().await?;
    let changes: Vec<&str> = third
        .output
        .lines()
        .filter(|l| l.starts_with("user ") && !l.contains(": unchanged"))
        .collect();
    anyhow::ensure!(
        changes.is_empty(),
        "a setup run with the same input changed users: {changes:?}"
    );
    expect_no_migration(&third.output, "third setup")?;
    expect_line(&third.output, "config: unchanged", "third setup")?;
    report.check("a further setup run with the same input changed nothing (config, migrations, every user unchanged)");
    Ok(())
}

async fn token_client_when_ready(
    instance: &mut Instance,
    credentials: &Credentials,
) -> anyhow::Result<ApiClient> {
    let client = api(instance)?;
    match probe::readiness::wait_ready(&client, HEALTHY_BUDGET, None).await {
        probe::readiness::Readiness::Ready(_) => token_client(instance, credentials).await,
        other => anyhow::bail!("server not ready: {other:?}"),
    }
}

/// bad input: a missing or unreadable password file stops setup with a message naming the file,
/// before anything is written.
pub async fn bad_input(host: &HostEnv, plan: &HostPlan) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("bad input");
    let credential = plan
        .internal
        .credentials
        .keys()
        .next()
        .cloned()
        .context("the fixture has no credential to break")?;
    for breakage in ["missing", "unreadable (a directory)"] {
        let instance = Instance::create(host, plan)?;
        let file = instance.layout.credential_path(&credential);
        std::fs::remove_file(&file)?;
        if breakage.starts_with("unreadable") {
            // As root, mode 000 does not stop reading; a directory in its place does.
            std::fs::create_dir(&file)?;
        }
        let before = tree(&instance.layout.data_dir);
        let done = instance.setup().await?;
        anyhow::ensure!(
            !done.success,
            "setup succeeded with a {breakage} password file:\n{}",
            done.output
        );
        anyhow::ensure!(
            done.output.contains(&file.display().to_string()),
            "setup's message does not name {}:\n{}",
            file.display(),
            done.output
        );
        let after = tree(&instance.layout.data_dir);
        anyhow::ensure!(
            before == after,
            "setup wrote {:?} before failing",
            after.difference(&before).collect::<Vec<_>>()
        );
        let message = done
            .output
            .lines()
            .filter(|l| l.contains("error") || l.contains(&credential))
            .collect::<Vec<_>>()
            .join(" / ");
        report.check(format!(
            "{breakage} password file: setup failed naming it, data dir untouched — {message}"
        ));
    }
    Ok(report)
}

fn tree(dir: &Path) -> std::collections::BTreeSet<PathBuf> {
    fn walk(dir: &Path, out: &mut std::collections::BTreeSet<PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                out.insert(path.clone());
                if path.is_dir() {
                    walk(&path, out);
                }
            }
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(dir, &mut out);
    out
}

/// Why the PostgreSQL scenario cannot run here, if it cannot.
pub async fn postgres_unavailable(host: &HostEnv) -> Option<String> {
    if let Err(why) = postgres::find_bin_dir() {
        return Some(format!("{why:#}"));
    }
    let check = Spec::new(&host.python).args(["-c", "import psycopg"]);
    match process::run(&check, Duration::from_secs(60)).await {
        Ok(done) if done.success => None,
        _ => Some(format!(
            "Python {} has no PostgreSQL driver (psycopg)",
            host.python.display()
        )),
    }
}
