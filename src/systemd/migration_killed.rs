//! `kill -9` in the middle of the first migration: setup (every process of its unit) is killed
//! with SIGKILL while `migrate` runs on an empty database. Nobody touches a unit afterwards: the
//! server's and worker's restarts pull setup in again (module/setup.nix), the new setup migrates
//! what is left (Django applies each migration in its own transaction on SQLite, so nothing is
//! half applied), and InvenTree becomes healthy.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use super::{
    deployment::{Deployment, StandIns},
    prerequisites::SystemdEnv,
    scenarios::{healthy_now, probe_credentials_when_up, wait_until, START_TIMEOUT},
    store,
};
use crate::host::{
    migration_killed::APPLIED_MIGRATIONS_PY, plan::HostPlan, scenarios::ScenarioReport,
};

const SETUP: &str = "inventree-setup.service";
/// Applied migrations after which setup is killed: past the first apps, far from the end.
const KILL_AFTER: u64 = 100;

pub async fn migration_killed(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("migration killed");
    let d = Deployment::create(flake_dir, env, stand_ins, plan).await?;
    d.container
        .exec_ok(
            &["systemctl", "start", "--no-block", "inventree.target"],
            Duration::from_secs(30),
        )
        .await?;
    // Killed once `migrate` has applied a good part of InvenTree's migrations (several hundred
    // on an empty database); until the database file exists the count reads as 0.
    let seen = std::sync::atomic::AtomicU64::new(0);
    wait_until(
        &d,
        START_TIMEOUT,
        "setup to be in the middle of migrate",
        || async {
            anyhow::ensure!(
                d.container.property(SETUP, "ActiveState").await? != "active",
                "setup completed before {KILL_AFTER} migrations were seen applied: nothing to kill"
            );
            let n = applied_migrations(&d).await.unwrap_or(0);
            seen.store(n, std::sync::atomic::Ordering::Relaxed);
            Ok(n >= KILL_AFTER)
        },
    )
    .await?;
    let before = seen.load(std::sync::atomic::Ordering::Relaxed);
    d.container
        .exec_ok(
            &["systemctl", "kill", "--signal=SIGKILL", SETUP],
            Duration::from_secs(10),
        )
        .await?;
    let killed = Instant::now();
    wait_until(&d, Duration::from_secs(30), "setup to die", || async {
        Ok(d.container.property(SETUP, "ActiveState").await? != "activating")
    })
    .await?;
    let result = d.container.property(SETUP, "Result").await?;
    anyhow::ensure!(
        result == "signal",
        "setup was not killed by the signal (Result={result})"
    );
    report.check(format!(
        "setup killed with SIGKILL in the middle of `migrate` ({before} migrations applied by then; Result={result})"
    ));

    let credentials = probe_credentials_when_up(&d).await?;
    healthy_now(&d, &credentials, "the killed migration").await?;
    report.figure(
        "kill -9 to healthy, nobody touching a unit",
        killed.elapsed(),
    );
    let after = applied_migrations(&d).await?;
    // The whole journal of setup: each migration is a line of it.
    let journal = d
        .container
        .exec_ok(
            &["journalctl", "--no-pager", "-o", "cat", "-u", SETUP],
            Duration::from_secs(60),
        )
        .await?;
    let runs = journal.matches("migrations: running").count();
    anyhow::ensure!(
        runs >= 2 && journal.contains("migrations: applied") && after > before,
        "expected a second setup to finish the migration ({runs} runs, {before} → {after} applied):\n{}",
        crate::util::tail(&journal, 40)
    );
    report.check(format!(
        "a new setup (pulled in by the server's restarts) migrated again and completed: {after} migrations applied, healthy"
    ));
    d.shutdown().await?;
    Ok(report)
}

/// How many migrations the SQLite database records as applied (0 before the table exists),
/// read inside the container, read-only, by the units' own Python. (Not from the host through
/// `/proc/<pid>/root`: SQLite resolves that link to the host's own root.)
async fn applied_migrations(d: &Deployment) -> anyhow::Result<u64> {
    use anyhow::Context as _;
    let database = d.plan.internal.settings["database"]["NAME"]
        .as_str()
        .context("the scenario needs a SQLite fixture")?;
    let python = d
        .plan
        .system
        .units
        .values()
        .flat_map(|unit| store::store_paths(&unit.text))
        .find(|path| store::name_of(path).starts_with("inventree-python-"))
        .map(|path| format!("{path}/bin/python"))
        .context("the units name no inventree-python")?;
    let out = d
        .container
        .exec_ok(
            &[&python, "-c", APPLIED_MIGRATIONS_PY, database],
            Duration::from_secs(60),
        )
        .await?;
    out.trim()
        .parse()
        .with_context(|| format!("counting migrations in {database}: {out:?}"))
}
