//! The first start: setup migrates an empty SQLite database, the API answers, the worker
//! completes a task, the first web login holds.

use super::*;

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
            crate::host::web_login::session_login_holds(&instance.url(), username, password, 3)
                .await?;
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
