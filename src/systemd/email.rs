//! Outgoing e-mail under systemd: the `email` fixture's units, with an SMTP sink on the host's
//! loopback at the port the fixture names (the container shares the host's network). The worker,
//! under its sandbox, delivers a test mail sent through the API, logged in with the password the
//! unit got through `LoadCredential=`; `/api/` says `system_health: true`.

use std::path::Path;

use anyhow::Context as _;

use super::{
    deployment::StandIns,
    prerequisites::SystemdEnv,
    scenarios::{api_client, healthy_from_template, Template},
};
use crate::{
    host::{plan::HostPlan, scenarios::ScenarioReport},
    smtp_sink::{check_test_mail, SmtpSink, TEST_RECIPIENT},
};

pub async fn email(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("email");
    let email = &plan.internal.settings["email"];
    let port = email["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .with_context(|| format!("fixture {} configures no email port", plan.fixture))?;
    let username = email["username"].as_str().unwrap_or_default().to_string();
    let sink = SmtpSink::start_on(port).await?;
    let (d, credentials) = healthy_from_template(flake_dir, env, stand_ins, plan, template).await?;
    let password = d
        .credentials
        .iter()
        .find(|(name, _)| name == "INVENTREE_EMAIL_PASSWORD")
        .map(|(_, content)| content.clone())
        .context("no INVENTREE_EMAIL_PASSWORD credential was installed")?;
    let client = api_client(&d, &credentials).await?;
    let (mail, elapsed) = match check_test_mail(&client, &sink, &username, &password).await {
        Ok(delivered) => delivered,
        Err(e) => anyhow::bail!("{e:#}{}", d.journals().await),
    };
    report.figure("test mail from the API call to the sink", elapsed);
    report.check(format!(
        "system_health true; a test mail sent through the API was delivered by the sandboxed worker to {TEST_RECIPIENT} (subject {:?}), logged in as {username} with the LoadCredential= password",
        mail.header("subject").unwrap_or_default()
    ));
    d.shutdown().await?;
    Ok(report)
}
