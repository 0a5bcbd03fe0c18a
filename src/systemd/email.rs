//! Outgoing e-mail under systemd: the `email` fixture's units, with an SMTP sink on the host's
//! loopback at the port the fixture names (the container shares the host's network). The worker,
//! under its sandbox, delivers a test mail sent through the API, logged in with the password the
//! unit got through `LoadCredential=`; `/api/` says `system_health: true`.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::Context as _;

use super::{
    deployment::StandIns,
    prerequisites::SystemdEnv,
    scenarios::{api_client, healthy_now, probe_credentials, started_from_template, Template},
};
use crate::{
    host::{plan::HostPlan, scenarios::ScenarioReport},
    probe::api::ApiRoot,
    smtp_sink::SmtpSink,
};

const RECIPIENT: &str = "storekeeper@example.org";

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
    let d = started_from_template(flake_dir, env, stand_ins, plan, template).await?;
    let password = d
        .credentials
        .iter()
        .find(|(name, _)| name == "INVENTREE_EMAIL_PASSWORD")
        .map(|(_, content)| content.clone())
        .context("no INVENTREE_EMAIL_PASSWORD credential was installed")?;
    let credentials = probe_credentials(&d).await?;
    healthy_now(&d, &credentials, "the start").await?;
    let client = api_client(&d, &credentials).await?;
    let root: ApiRoot = client.get("/api/").await?;
    anyhow::ensure!(
        root.system_health == Some(true),
        "with email configured /api/ says system_health {:?} (email_configured {:?})",
        root.system_health,
        root.email_configured
    );
    let sent = Instant::now();
    client
        .post::<serde_json::Value, _>(
            "/api/admin/email/test/",
            &serde_json::json!({ "email": RECIPIENT }),
        )
        .await
        .context("sending a test mail through the API")?;
    let mail = match sink
        .wait_for(Duration::from_secs(120), |m| {
            m.to.iter().any(|to| to == RECIPIENT)
        })
        .await
    {
        Ok(mail) => mail,
        Err(e) => anyhow::bail!("{e:#}{}", d.journals().await),
    };
    report.figure("test mail from the API call to the sink", sent.elapsed());
    anyhow::ensure!(
        mail.auth == Some((username.clone(), password)),
        "the mail was sent with AUTH user {:?}, expected {username} with the credential's content",
        mail.auth.as_ref().map(|(user, _)| user)
    );
    report.check(format!(
        "system_health true; a test mail sent through the API was delivered by the sandboxed worker to {RECIPIENT} (subject {:?}), logged in as {username} with the LoadCredential= password",
        mail.header("subject").unwrap_or_default()
    ));
    d.shutdown().await?;
    Ok(report)
}
