//! Printing under the sandbox: a part label and a stock item report printed through the API of
//! the running units. The worker (`inventree-cluster.service`, MemoryDenyWriteExecute, the
//! syscall filter, PrivateUsers…) renders both with WeasyPrint, finding fonts only through the
//! unit's `FONTCONFIG_FILE`; the PDFs it writes to `media_root` must show the part.

use std::path::Path;

use anyhow::Context as _;

use super::{
    deployment::StandIns,
    prerequisites::SystemdEnv,
    scenarios::{api_client, healthy_from_template, Template},
};
use crate::{
    host::{plan::HostPlan, scenarios::ScenarioReport},
    printing,
};

pub async fn printing(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("printing");
    let (d, credentials) = healthy_from_template(flake_dir, env, stand_ins, plan, template).await?;
    let fonts = d
        .container
        .property("inventree-cluster.service", "Environment")
        .await?;
    let fonts = fonts
        .split_whitespace()
        .find_map(|v| v.strip_prefix("FONTCONFIG_FILE="))
        .map(str::to_string)
        .context("inventree-cluster.service has no FONTCONFIG_FILE in its environment")?;
    let media_root = plan.internal.settings["media_root"]
        .as_str()
        .context("the rendered config has no media_root")?;
    let client = api_client(&d, &credentials).await?;
    let printed = match printing::print_label_and_report(&client, "systemd-tier").await {
        Ok(printed) => printed,
        Err(e) => anyhow::bail!("{e:#}\n{}", d.journals().await),
    };
    for printed in printed {
        let file =
            printing::check_pdf(&env.host.python, &d.container.path(media_root), &printed).await?;
        report.figure(&format!("{} rendered", printed.what), printed.elapsed);
        report.check(format!(
            "{} ({:?}) rendered by the sandboxed worker (fonts: {fonts}) into {media_root}/{} ({} bytes), showing {:?}",
            printed.what,
            printed.template,
            printed.media_path,
            std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0),
            printed.expected
        ));
    }
    d.shutdown().await?;
    Ok(report)
}
