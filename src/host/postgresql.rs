//! The PostgreSQL fixture end to end, starting with the database down (host tier; the systemd
//! tier's PostgreSQL scenario is its twin). A throw-away PostgreSQL is made with the fixture's
//! role and database, then stopped. Setup is started as its unit runs it — `wait-for-db`
//! (`ExecStartPre=`), then setup — and must wait, saying so, rather than fail; once PostgreSQL is
//! back, setup migrates the empty database, the API answers, the worker completes a task and a
//! part is stored, with nobody retrying anything by hand.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use serde_json::json;

use super::{
    instance::Instance,
    plan::HostPlan,
    postgres::{FixtureDatabase, PgServer},
    prerequisites::HostEnv,
    scenarios::{
        completed_round_trip, expect_line, healthy, teardown, token_client, ScenarioReport,
    },
};
use crate::probe;

/// How long the database stays down after `wait-for-db` starts (its own bound is 60 s).
const DOWN_FOR: Duration = Duration::from_secs(15);

pub async fn postgresql(host: &HostEnv, plan: &HostPlan) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("postgresql");
    let mut instance = Instance::create(host, plan)?;
    let FixtureDatabase {
        socket_dir,
        name,
        user,
    } = FixtureDatabase::from_settings(&instance.settings()["database"], &plan.fixture)?;
    let started = Instant::now();
    let mut pg = PgServer::start(
        &instance.layout.root.join("pg"),
        &PathBuf::from(&socket_dir),
    )
    .await?;
    pg.create_role_and_database(&user, &name).await?;
    report.figure("PostgreSQL initdb + start", started.elapsed());
    pg.stop().await?;
    report.check(format!(
        "throw-away PostgreSQL on {socket_dir} with role {user} owning database {name}, stopped before InvenTree starts"
    ));
    let result = async {
        wait_while_down(&mut instance, &mut pg, &mut report).await?;
        end_to_end(&mut instance, &mut report).await
    }
    .await;
    let stopped = pg.stop().await;
    result?;
    stopped.with_context(|| format!("stopping PostgreSQL:\n{}", pg.log()))?;
    report.check("PostgreSQL stopped");
    Ok(report)
}

/// `wait-for-db` started with the database down waits, saying so, and returns once it is up.
async fn wait_while_down(
    instance: &mut Instance,
    pg: &mut PgServer,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let wait_argv = instance.plan.command("wait-for-db")?.to_vec();
    let spec = instance.spec("wait-for-db", &wait_argv);
    let waiting = tokio::spawn(async move {
        crate::process::isolated::run(&spec, Duration::from_secs(120)).await
    });
    tokio::time::sleep(DOWN_FOR).await;
    anyhow::ensure!(
        !waiting.is_finished(),
        "wait-for-db ended while the database was down: setup would have failed instead of waiting"
    );
    pg.start_again().await?;
    let waited = waiting.await.context("the wait-for-db task")??;
    anyhow::ensure!(
        waited.success,
        "wait-for-db failed after the database came back (exit {:?}):\n{}",
        waited.code,
        waited.output
    );
    expect_line(
        &waited.output,
        "database: waiting",
        "wait-for-db with the database down",
    )?;
    report.check(format!(
        "PostgreSQL down at start: wait-for-db waited {:.0} s, saying so, and returned once it was back",
        waited.elapsed.as_secs_f64()
    ));
    Ok(())
}

/// Setup migrates the empty database; the API, the worker and a stored part; teardown.
async fn end_to_end(instance: &mut Instance, report: &mut ScenarioReport) -> anyhow::Result<()> {
    let setup = instance.setup_ok().await?;
    expect_line(&setup.output, "migrations: running", "first setup")?;
    let credentials = instance.probe_credentials().await?;
    let started = Instant::now();
    instance.start()?;
    let (probe_report, _) = healthy(instance, &credentials).await?;
    report.figure("setup from empty (migrations included)", setup.elapsed);
    report.figure(
        "cold start to healthy (setup + start)",
        setup.elapsed + started.elapsed(),
    );
    report.figure("task round trip", completed_round_trip(&probe_report)?);
    let client = token_client(instance, &credentials).await?;
    let part: probe::api::Part = client
        .post(
            "/api/part/",
            &json!({ "name": "host-tier-pg-part", "description": "stored in PostgreSQL" }),
        )
        .await?;
    report.check(format!(
        "setup migrated PostgreSQL; API ready; worker completed a task; part {} stored",
        part.pk
    ));
    teardown(instance, report).await
}
