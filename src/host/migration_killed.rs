//! `kill -9` in the middle of the first migration (host tier twin of the systemd tier's
//! scenario): setup's whole process group is killed with SIGKILL while `migrate` runs on an empty
//! SQLite database. The next setup — what the units' restarts start — must migrate what is left
//! (Django applies each migration in its own transaction on SQLite, so nothing is half applied)
//! and InvenTree must become healthy, with no repair by hand.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::{
    instance::Instance,
    plan::HostPlan,
    prerequisites::HostEnv,
    scenarios::{expect_line, healthy, teardown, ScenarioReport},
};
use crate::process;

/// Applied migrations after which setup is killed: past the first apps, far from the end.
const KILL_AFTER: u64 = 100;
/// The first setup migrates an empty database in about 70 s here.
const MIGRATE_BUDGET: Duration = Duration::from_secs(600);

/// Python that prints how many migrations a SQLite database records as applied (0 before the
/// table exists), opened read-only. Shared with the systemd tier, which runs it in its container.
pub const APPLIED_MIGRATIONS_PY: &str = "import sqlite3, sys\n\
    db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True, timeout=10)\n\
    t = db.execute(\"select count(*) from sqlite_master where name = 'django_migrations'\").fetchone()[0]\n\
    print(db.execute('select count(*) from django_migrations').fetchone()[0] if t else 0)";

/// Applied migrations of the instance's database (0 while the file does not exist yet).
async fn applied_migrations(host: &HostEnv, instance: &Instance) -> anyhow::Result<u64> {
    let db = instance
        .sqlite_file()
        .context("the scenario needs a SQLite fixture")?;
    if !db.exists() {
        return Ok(0);
    }
    let spec = process::Spec::new(&host.python)
        .name("count-migrations")
        .args(["-c", APPLIED_MIGRATIONS_PY])
        .arg(db.display().to_string());
    let done = process::run(&spec, Duration::from_secs(30)).await?;
    anyhow::ensure!(
        done.success,
        "counting migrations in {}: {}",
        db.display(),
        done.output
    );
    done.stdout
        .trim()
        .parse()
        .with_context(|| format!("counting migrations in {}: {:?}", db.display(), done.stdout))
}

/// Starts setup on the empty database and kills its group once `KILL_AFTER` migrations are in;
/// returns how many were applied at the kill.
async fn kill_setup_mid_migration(host: &HostEnv, instance: &Instance) -> anyhow::Result<u64> {
    let spec = instance.spec("setup-killed", &instance.layout.setup_argv);
    let mut setup = crate::process::isolated::start(&spec)?;
    let started = Instant::now();
    loop {
        if let Some(status) = setup.exited() {
            anyhow::bail!(
                "setup ended ({status}) before {KILL_AFTER} migrations were seen applied: nothing to kill:\n{}",
                crate::util::tail(&setup.output(), 30)
            );
        }
        let applied = applied_migrations(host, instance).await.unwrap_or(0);
        if applied >= KILL_AFTER {
            setup.kill().await?;
            return Ok(applied);
        }
        anyhow::ensure!(
            started.elapsed() < MIGRATE_BUDGET,
            "setup applied only {applied} migrations in {MIGRATE_BUDGET:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub async fn migration_killed(host: &HostEnv, plan: &HostPlan) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("migration killed");
    let mut instance = Instance::create(host, plan)?;
    let before = kill_setup_mid_migration(host, &instance).await?;
    let killed = Instant::now();
    let at_kill = applied_migrations(host, &instance).await?;
    report.check(format!(
        "setup's process group killed with SIGKILL in the middle of `migrate` ({before} migrations applied when seen, {at_kill} once it was dead)"
    ));

    let second = instance.setup_ok().await?;
    expect_line(
        &second.output,
        "migrations: running",
        "setup after the kill",
    )?;
    expect_line(
        &second.output,
        "migrations: applied",
        "setup after the kill",
    )?;
    let after = applied_migrations(host, &instance).await?;
    anyhow::ensure!(
        after > at_kill,
        "the setup after the kill applied nothing ({at_kill} → {after} migrations)"
    );
    let credentials = instance.probe_credentials().await?;
    instance.start()?;
    healthy(&mut instance, &credentials).await?;
    report.figure(
        "kill -9 to healthy (a new setup, then the start)",
        killed.elapsed(),
    );
    report.figure("the setup after the kill", second.elapsed);
    report.check(format!(
        "the next setup migrated the rest ({at_kill} → {after} migrations applied) and InvenTree is healthy"
    ));
    teardown(&mut instance, &mut report).await?;
    Ok(report)
}
