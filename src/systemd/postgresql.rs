//! The PostgreSQL fixture under systemd: the database server is a throw-away PostgreSQL on the
//! host (`host::postgres`, as the host tier's scenario makes it), listening only on a socket
//! directory that is bound into the container where the fixture's `database.HOST` names it.
//! nixpkgs' `postgresql.target`, which the units require, is stood in for by an empty target
//! (the server it stands for is already running). Setup migrates the empty database through the
//! socket, the probe is healthy, and a part survives a restart of the target.

use std::{path::Path, time::Instant};

use anyhow::Context as _;

use super::{
    container::Bind,
    deployment::{Deployment, StandIns},
    prerequisites::SystemdEnv,
    scenarios::{
        healthy_now, make_part, part_exists, probe_credentials, wait_healthy, START_TIMEOUT,
    },
};
use crate::host::{plan::HostPlan, postgres::PgServer, scenarios::ScenarioReport};

/// What stands in for nixpkgs' `postgresql.target` in the container.
const POSTGRESQL_TARGET: &str = "[Unit]\n\
Description=PostgreSQL (stand-in: the server runs on the host, its socket directory is bound here)\n";

/// The fixture's database: socket directory, database name and role.
fn database(plan: &HostPlan) -> anyhow::Result<(String, String, String)> {
    let db = &plan.internal.settings["database"];
    let field = |k: &str| db[k].as_str().map(str::to_string);
    anyhow::ensure!(
        field("ENGINE").is_some_and(|e| e.contains("postgresql")),
        "fixture {} is not a PostgreSQL one: {db}",
        plan.fixture
    );
    let socket_dir = field("HOST").context("no database HOST (socket directory)")?;
    anyhow::ensure!(
        socket_dir.starts_with('/'),
        "database HOST {socket_dir} is not a socket directory"
    );
    let name = field("NAME").context("no database NAME")?;
    let user = field("USER").unwrap_or_else(|| name.clone());
    Ok((socket_dir, name, user))
}

pub async fn postgresql(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("postgresql");
    let (socket_inside, name, user) = database(plan)?;
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
        let result = started_and_kept(&d, &mut report).await;
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

/// Cold start on the empty database, then a part kept across a restart of the target.
async fn started_and_kept(d: &Deployment, report: &mut ScenarioReport) -> anyhow::Result<()> {
    let started = Instant::now();
    d.systemctl("start", &["inventree.target"], START_TIMEOUT)
        .await?;
    let setup_done = started.elapsed();
    let credentials = probe_credentials(d).await?;
    wait_healthy(d, &credentials).await?;
    report.figure("setup on the empty database (start job)", setup_done);
    report.figure("cold start to healthy", started.elapsed());
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
