//! Plugins under systemd: the `plugins` fixture's units, with the container's Python holding the
//! fixture workspace's packages (as `pkgs/python.nix` adds them). Setup, under its sandbox,
//! activates the KiCad plugin and applies its migrations; the server lists it active and its own
//! API answers from its own tables — the same checks as the host tier's.

use std::path::Path;

use super::{
    deployment::StandIns,
    prerequisites::SystemdEnv,
    python,
    scenarios::{api_client, healthy_from_template, Template},
};
use crate::host::{
    plan::HostPlan,
    plugin_site,
    plugins::{
        check_declared_setting, check_kicad_library, check_listed_active, check_setup_activated,
        workspace, KICAD_SLUG,
    },
    scenarios::ScenarioReport,
};

pub async fn plugins(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("plugins");
    let site = plugin_site::prepare(&env.host.python, &workspace(flake_dir)).await?;
    let with_plugins = StandIns {
        python: python::with_plugins(&stand_ins.python, &site).await?,
        src: stand_ins.src.clone(),
    };
    let (d, credentials) =
        healthy_from_template(flake_dir, env, &with_plugins, plan, template).await?;
    let journal = d.container.journal("inventree-setup.service", 400).await;
    check_setup_activated(&journal, "inventree-setup's journal")?;
    report.check(format!(
        "inventree-setup (sandboxed) activated {KICAD_SLUG} and applied its migrations"
    ));
    let client = api_client(&d, &credentials).await?;
    let checked = async {
        check_listed_active(&client, &mut report).await?;
        check_declared_setting(&client, &mut report).await?;
        check_kicad_library(&client, &mut report).await
    };
    if let Err(e) = checked.await {
        anyhow::bail!("{e:#}{}", d.journals().await);
    }
    d.shutdown().await?;
    Ok(report)
}
