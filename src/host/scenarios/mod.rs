//! The host tier's scenarios. Each runs one fixture as the units would, checks one behaviour,
//! tears everything down (verifying no process is left) and returns its measured figures.
//! `tests/host.rs` runs each as its own test; `inventree-harness check` runs them all.
//!
//! Migrating an empty database takes a minute or more on two cores. Only the scenarios about
//! first starts (defaults, PostgreSQL) migrate from empty; the others start from a copy of a
//! database the same setup program migrated once (`migrated_template`), which does not weaken
//! them: they are about users, restarts and the worker, and their own setup still runs (and
//! still migrates, since the copied data dir's recorded state differs).
//!
//! One file per scenario of this module; the helpers they share (an instance from the template,
//! healthy, teardown, the report) are here. Scenarios with a fixture of their own (email,
//! plugins, cache_down, …) are modules of `host`.

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

mod bad_input;
mod defaults;
mod printing;
mod restart;
mod users;
mod worker_death;

pub use bad_input::bad_input;
pub use defaults::defaults;
pub use printing::printing;
pub use restart::restart;
pub use users::users;
pub use worker_death::worker_death;

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
