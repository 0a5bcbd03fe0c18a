//! Outgoing e-mail, host tier: the `email` fixture (an SMTP server with a login in
//! `config.email`, its password as the credential `INVENTREE_EMAIL_PASSWORD`) against a local
//! SMTP sink. InvenTree then says `system_health: true` (no INVE-W7), and a test mail sent through
//! the API (`POST /api/admin/email/test/`, as the admin UI sends one) is handed to the worker and
//! arrives, authenticated with the credential's content — which config.yaml never holds.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::{
    instance::Instance,
    plan::HostPlan,
    prerequisites::HostEnv,
    scenarios::{healthy, teardown, token_client, ScenarioReport, Template},
};
use crate::{probe::api::ApiRoot, smtp_sink::SmtpSink};

const RECIPIENT: &str = "storekeeper@example.org";
const DELIVERY_BUDGET: Duration = Duration::from_secs(120);

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
    instance.copy_template(template).await?;
    instance.setup_ok().await?;
    let config = std::fs::read_to_string(instance.layout.data_dir.join("config.yaml"))?;
    anyhow::ensure!(
        !config.contains(&password),
        "the SMTP password reached config.yaml"
    );
    let credentials = instance.probe_credentials().await?;
    instance.start()?;
    healthy(&mut instance, &credentials).await?;
    let client = token_client(&instance, &credentials).await?;
    let root: ApiRoot = client.get("/api/").await?;
    anyhow::ensure!(
        root.email_configured == Some(true) && root.system_health == Some(true),
        "with email configured /api/ says email_configured {:?}, system_health {:?}",
        root.email_configured,
        root.system_health
    );
    report.check("/api/ (as staff): email_configured true, system_health true (no INVE-W7)");

    let sent = Instant::now();
    client
        .post::<serde_json::Value, _>(
            "/api/admin/email/test/",
            &serde_json::json!({ "email": RECIPIENT }),
        )
        .await
        .context("sending a test mail through the API")?;
    let mail = sink
        .wait_for(DELIVERY_BUDGET, |m| m.to.iter().any(|to| to == RECIPIENT))
        .await?;
    report.figure("test mail from the API call to the sink", sent.elapsed());
    anyhow::ensure!(
        mail.auth == Some((username.clone(), password.clone())),
        "the mail was sent with AUTH {:?}, expected {username} and the credential's content",
        mail.auth.as_ref().map(|(user, _)| user)
    );
    let subject = mail.header("subject").unwrap_or_default().to_string();
    anyhow::ensure!(
        subject.contains("Test email from InvenTree") && mail.from == "inventree@example.org",
        "unexpected mail: from {:?}, subject {subject:?}",
        mail.from
    );
    report.check(format!(
        "test mail delivered to {RECIPIENT} by the worker (subject {subject:?}, from {}), authenticated as {username} with the INVENTREE_EMAIL_PASSWORD credential; config.yaml holds no password",
        mail.from
    ));
    teardown(&mut instance, &mut report).await?;
    Ok(report)
}
