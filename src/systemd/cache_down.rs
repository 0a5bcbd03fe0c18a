//! The local Redis dies under the units (systemd tier, `redis-cache` fixture, the stand-in
//! `redis-inventree.service` of `redis`). The units `Want=` it: a Redis killed (it has no
//! `Restart=`, as NixOS renders it) leaves the server answering and both InvenTree services
//! running; started again, the worker completes tasks without a restart of its own; restarted as
//! a configuration change would, it takes neither InvenTree service down with it.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use super::{
    deployment::{Deployment, StandIns},
    prerequisites::SystemdEnv,
    redis,
    scenarios::{api_client, healthy_from_template, healthy_now, wait_until, Template},
};
use crate::host::{
    plan::HostPlan,
    scenarios::{parts_listed_and_one_created, ScenarioReport},
};

const SERVER: &str = "inventree-server.service";
const WORKER: &str = "inventree-cluster.service";

/// (`MainPID` of the server, of the worker): the same pair before and after means neither was
/// stopped, restarted or killed in between.
async fn main_pids(d: &Deployment) -> anyhow::Result<(String, String)> {
    Ok((
        d.container.property(SERVER, "MainPID").await?,
        d.container.property(WORKER, "MainPID").await?,
    ))
}

async fn ensure_untouched(
    d: &Deployment,
    before: &(String, String),
    after_what: &str,
) -> anyhow::Result<()> {
    let now = main_pids(d).await?;
    for unit in [SERVER, WORKER] {
        let state = d.container.property(unit, "ActiveState").await?;
        anyhow::ensure!(
            state == "active",
            "{unit} is {state} after {after_what}: the Redis it wants took it down{}",
            d.journals().await
        );
    }
    anyhow::ensure!(
        &now == before,
        "after {after_what}, the server and worker MainPIDs are {now:?}, were {before:?}: InvenTree was restarted with Redis"
    );
    Ok(())
}

pub async fn cache_down(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("Redis down (systemd)");
    anyhow::ensure!(
        redis::needed(plan),
        "fixture {} has no local Redis",
        plan.fixture
    );
    let (d, credentials) = healthy_from_template(flake_dir, env, stand_ins, plan, template).await?;
    let keys = redis::key_count(&d.container, plan).await?;
    anyhow::ensure!(
        keys > 0,
        "healthy, yet the local Redis holds no key: is the cache used?"
    );
    let (port, _) = redis::endpoint(plan)?;
    report.check(format!(
        "healthy with the cache and task broker on {} (127.0.0.1:{port}, password from INVENTREE_CACHE_PASSWORD): {keys} keys in it",
        redis::UNIT
    ));
    let before = main_pids(&d).await?;

    let killed = Instant::now();
    let kill = ["systemctl", "kill", "--signal=SIGKILL", redis::UNIT];
    d.container.exec_ok(&kill, Duration::from_secs(10)).await?;
    wait_until(
        &d,
        Duration::from_secs(10),
        "Redis to die after SIGKILL",
        || async { Ok(d.container.property(redis::UNIT, "ActiveState").await? != "active") },
    )
    .await?;
    let client = api_client(&d, &credentials).await?;
    let (listed, part) =
        parts_listed_and_one_created(&client, "while Redis was down", "systemd tier").await?;
    report.figure(
        "Redis killed to a part listed and one created",
        killed.elapsed(),
    );
    ensure_untouched(&d, &before, "Redis was killed").await?;
    report.check(format!(
        "Redis killed ({} {}): the API still answers ({} parts listed, part {} created); server and worker kept running, same MainPIDs",
        redis::UNIT,
        d.container.property(redis::UNIT, "ActiveState").await?,
        listed,
        part.pk
    ));

    let back = Instant::now();
    d.systemctl("start", &[redis::UNIT], Duration::from_secs(30))
        .await?;
    healthy_now(&d, &credentials, "Redis started again").await?;
    report.figure(
        "Redis started to healthy (a worker task included)",
        back.elapsed(),
    );
    ensure_untouched(&d, &before, "Redis was started again").await?;
    report.check("Redis started again: the worker completed the probe's task, no InvenTree service restarted");

    let restarted = Instant::now();
    d.systemctl("restart", &[redis::UNIT], Duration::from_secs(30))
        .await?;
    healthy_now(&d, &credentials, "a restart of Redis").await?;
    report.figure("Redis restarted to healthy", restarted.elapsed());
    ensure_untouched(&d, &before, "a restart of Redis").await?;
    report.check(format!(
        "`systemctl restart {}` (what a configuration change does): InvenTree kept answering with the same server and worker processes",
        redis::UNIT
    ));
    d.shutdown().await?;
    Ok(report)
}
