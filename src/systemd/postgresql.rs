//! The PostgreSQL fixture under systemd: the database server is a throw-away PostgreSQL on the
//! host (`host::postgres`, as the host tier's scenario makes it), listening only on a socket
//! directory that is bound into the container where the fixture's `database.HOST` names it.
//! nixpkgs' `postgresql.target`, which the units require, is stood in for by an empty target
//! (the server it stands for runs on the host). The server is down when the target starts: setup
//! waits, and once the server is up it migrates the empty database through the socket without
//! anyone touching a unit; the probe is healthy, and a part survives a restart of the target.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::Context as _;

use super::{
    container::Bind,
    deployment::{Deployment, StandIns},
    prerequisites::SystemdEnv,
    scenarios::{
        healthy_now, make_part, part_exists, probe_credentials, probe_credentials_when_up,
        wait_healthy, START_TIMEOUT,
    },
};
use crate::host::{
    plan::HostPlan,
    postgres::{FixtureDatabase, PgServer},
    scenarios::ScenarioReport,
};

/// What stands in for nixpkgs' `postgresql.target` in the container.
const POSTGRESQL_TARGET: &str = "[Unit]\n\
Description=PostgreSQL (stand-in: the server runs on the host, its socket directory is bound here)\n";

pub async fn postgresql(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("postgresql");
    let FixtureDatabase {
        socket_dir: socket_inside,
        name,
        user,
    } = FixtureDatabase::from_settings(&plan.internal.settings["database"], &plan.fixture)?;
    let base = tempfile::Builder::new()
        .prefix("inventree-systemd-pg.")
        .tempdir()
        .context("creating the PostgreSQL directory")?;
    let socket_dir = base.path().join("socket");
    let started = Instant::now();
    let mut pg = PgServer::start(&base.path().join("pg"), &socket_dir).await?;
    let result = async {
        pg.create_role_and_database(&user, &name).await?;
        report.figure("PostgreSQL initdb + start (host)", started.elapsed());
        let bind = Bind {
            host: socket_dir.clone(),
            container: socket_inside.clone(),
            read_only: false,
        };
        let d = Deployment::create_with_binds(flake_dir, env, stand_ins, plan, vec![bind]).await?;
        let target = d.container.path("/etc/systemd/system/postgresql.target");
        std::fs::write(&target, POSTGRESQL_TARGET)
            .with_context(|| format!("writing {}", target.display()))?;
        d.systemctl("daemon-reload", &[], START_TIMEOUT).await?;
        report.check(format!(
            "PostgreSQL on the host, role {user} owning database {name}; its socket directory bound at {socket_inside}"
        ));
        let result = async {
            recovers_from_database_down_at_start(&d, &mut pg, &mut report).await?;
            started_and_kept(&d, &mut report).await
        }
        .await;
        let shutdown = d.shutdown().await;
        result.and(shutdown)
    }
    .await;
    let stopped = pg.stop().await;
    result.with_context(|| format!("PostgreSQL's log:\n{}", crate::util::tail(&pg.log(), 20)))?;
    stopped.with_context(|| format!("stopping PostgreSQL:\n{}", pg.log()))?;
    report.check("PostgreSQL stopped");
    Ok(report)
}

/// How long the database stays down after `systemctl start inventree.target`.
const DOWN_FOR: Duration = Duration::from_secs(20);

/// The database server is down when the target starts: setup waits for it (`wait-for-db`), server
/// and worker wait for setup; `DOWN_FOR` later the server comes up and InvenTree follows
/// without anyone touching a unit. (Setup then migrates the empty database: the cold start.)
async fn recovers_from_database_down_at_start(
    d: &Deployment,
    pg: &mut PgServer,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    pg.stop().await.context("stopping PostgreSQL")?;
    let started = Instant::now();
    d.container
        .exec_ok(
            &["systemctl", "start", "--no-block", "inventree.target"],
            Duration::from_secs(30),
        )
        .await?;
    tokio::time::sleep(DOWN_FOR).await;
    let setup = d.container.journal("inventree-setup.service", 50).await;
    anyhow::ensure!(
        setup.contains("database: waiting"),
        "with the database down, setup does not say it waits for it:\n{setup}"
    );
    let server = d
        .ensure_not_active(
            "inventree-server.service",
            "the server runs although setup has not completed",
        )
        .await?;
    report.check(format!(
        "database down at start: setup waits for it (\"database: waiting …\"), the server is {server}"
    ));
    let up = Instant::now();
    pg.start_again()
        .await
        .context("starting PostgreSQL again")?;
    let credentials = probe_credentials_when_up(d).await?;
    wait_healthy(d, &credentials).await?;
    report.figure(
        "database up to healthy (setup migrating the empty database included)",
        up.elapsed(),
    );
    report.figure(
        "cold start to healthy (database down for the first 20 s)",
        started.elapsed(),
    );
    report.check("the database came up and InvenTree followed, nobody touching a unit");
    Ok(())
}

/// The migration on the empty database, then a part kept across a restart of the target.
async fn started_and_kept(d: &Deployment, report: &mut ScenarioReport) -> anyhow::Result<()> {
    let credentials = probe_credentials(d).await?;
    let journal = d.container.journal("inventree-setup.service", 200).await;
    anyhow::ensure!(
        journal.contains("migrations: applied"),
        "inventree-setup did not migrate the PostgreSQL database:\n{journal}"
    );
    let pk = make_part(d, &credentials, "systemd-tier PostgreSQL part").await?;
    report.check(format!(
        "setup migrated PostgreSQL through the socket; healthy; part {pk} stored"
    ));
    let restarted = Instant::now();
    d.systemctl("restart", &["inventree.target"], START_TIMEOUT)
        .await?;
    healthy_now(d, &credentials, "the restart").await?;
    report.figure("warm restart to healthy", restarted.elapsed());
    anyhow::ensure!(
        part_exists(d, &credentials, pk).await?,
        "part {pk} is gone after restarting inventree.target"
    );
    report.check(format!(
        "part {pk} kept across a restart of inventree.target"
    ));
    Ok(())
}
