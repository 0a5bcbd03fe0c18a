//! Outgoing e-mail, host tier: the `email` fixture (an SMTP server with a login in
//! `config.email`, its password as the credential `INVENTREE_EMAIL_PASSWORD`) against a local
//! SMTP sink. InvenTree then says `system_health: true` (no INVE-W7), and a test mail sent through
//! the API (`POST /api/admin/email/test/`, as the admin UI sends one) is handed to the worker and
//! arrives, authenticated with the credential's content — which config.yaml never holds.

use anyhow::Context as _;

use super::{
    instance::Instance,
    plan::HostPlan,
    prerequisites::HostEnv,
    scenarios::{healthy_from_template, teardown, token_client, ScenarioReport, Template},
};
use crate::smtp_sink::{check_test_mail, SmtpSink, TEST_RECIPIENT};

pub async fn email(
    host: &HostEnv,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("email");
    let sink = SmtpSink::start().await?;
    // The fixture's SMTP server is this sink: the same config, on the sink's free port.
    let mut plan = plan.clone();
    let email = plan.internal.settings["email"]
        .as_object_mut()
        .with_context(|| format!("fixture {} configures no email", plan.fixture))?;
    email.insert("port".into(), sink.port.into());
    let username = email["username"].as_str().unwrap_or_default().to_string();
    let mut instance = Instance::create(host, &plan)?;
    let password = instance
        .layout
        .credentials
        .get("INVENTREE_EMAIL_PASSWORD")
        .cloned()
        .context("the fixture has no INVENTREE_EMAIL_PASSWORD credential")?;
    let credentials = healthy_from_template(&mut instance, template).await?;
    let config = std::fs::read_to_string(instance.layout.data_dir.join("config.yaml"))?;
    anyhow::ensure!(
        !config.contains(&password),
        "the SMTP password reached config.yaml"
    );
    let client = token_client(&instance, &credentials).await?;
    let (mail, elapsed) = check_test_mail(&client, &sink, &username, &password).await?;
    report.check("/api/ (as staff): email_configured true, system_health true (no INVE-W7)");
    report.figure("test mail from the API call to the sink", elapsed);
    anyhow::ensure!(
        mail.from == "inventree@example.org",
        "the mail came from {:?}, not the configured sender",
        mail.from
    );
    report.check(format!(
        "test mail delivered to {TEST_RECIPIENT} by the worker (subject {:?}, from {}), authenticated as {username} with the INVENTREE_EMAIL_PASSWORD credential; config.yaml holds no password",
        mail.header("subject").unwrap_or_default(),
        mail.from
    ));
    teardown(&mut instance, &mut report).await?;
    Ok(report)
}
