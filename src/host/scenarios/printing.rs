//! A part label and a stock item report print as PDFs showing the part.

use super::*;

/// printing: a part label and a stock item report printed through the API are rendered by the
/// worker into `media_root` as PDFs that show the part's name (fonts found through the unit's
/// `FONTCONFIG_FILE`). Figures: each document from request to complete.
pub async fn printing(
    host: &HostEnv,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("printing");
    let mut instance = Instance::create(host, plan)?;
    let credentials = healthy_from_template(&mut instance, template).await?;
    let client = token_client(&instance, &credentials).await?;
    let media_root = instance.settings()["media_root"]
        .as_str()
        .map(PathBuf::from)
        .context("the rendered config has no media_root")?;
    let printed = match crate::printing::print_label_and_report(&client, "host-tier").await {
        Ok(printed) => printed,
        Err(e) => anyhow::bail!(
            "{e:#}\nserver log:\n{}\nworker log:\n{}",
            log_tail(&instance, "server"),
            log_tail(&instance, "cluster")
        ),
    };
    for printed in printed {
        let file = crate::printing::check_pdf(&host.python, &media_root, &printed).await?;
        report.figure(&format!("{} rendered", printed.what), printed.elapsed);
        report.check(format!(
            "{} ({:?}) is a PDF in media_root ({}) showing {:?}",
            printed.what,
            printed.template,
            file.display(),
            printed.expected
        ));
    }
    teardown(&mut instance, &mut report).await?;
    Ok(report)
}
