//! A warm restart keeps the data and does not migrate again.

use super::*;

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
