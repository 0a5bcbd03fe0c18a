//! The media directory not writable by the service (an admin's chmod, a restore's modes): setup
//! fails naming it, before migrating or writing anything in it or in the database; server and
//! worker do not start on a half-usable instance. Once the admin gives it back, InvenTree comes
//! up by itself (the server's restarts pull setup in again).

use std::{path::Path, time::Duration};

use anyhow::Context as _;
use sha2::{Digest, Sha256};

use super::{
    deployment::{Deployment, StandIns},
    prerequisites::SystemdEnv,
    scenarios::{
        deploy_from_template, healthy_now, probe_credentials_when_up, service_user, wait_until,
        Template, START_TIMEOUT,
    },
};
use crate::host::{plan::HostPlan, scenarios::ScenarioReport};

const SETUP: &str = "inventree-setup.service";

fn digest(d: &Deployment, inside: &str) -> anyhow::Result<String> {
    let bytes = std::fs::read(d.container.path(inside))
        .with_context(|| format!("reading {inside} in the container"))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

pub async fn media_unwritable(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("media not writable");
    let d = deploy_from_template(flake_dir, env, stand_ins, plan, template).await?;
    let media = plan.internal.settings["media_root"]
        .as_str()
        .context("no media_root")?;
    let database = plan.internal.settings["database"]["NAME"]
        .as_str()
        .context("the scenario needs a SQLite fixture")?;
    let short = Duration::from_secs(30);
    // Read-only to its owner: systemd hands StateDirectory= back to the service user at every
    // start (ownership), but does not add permission bits.
    let user = service_user(plan);
    d.container
        .exec_ok(
            &[
                "install", "-d", "-o", &user, "-g", &user, "-m", "0555", media,
            ],
            short,
        )
        .await?;
    let before = digest(&d, database)?;
    d.container
        .exec_ok(
            &["systemctl", "start", "--no-block", "inventree.target"],
            short,
        )
        .await?;
    wait_until(&d, START_TIMEOUT, "setup to fail", || async {
        Ok(d.container.property(SETUP, "Result").await? == "exit-code")
    })
    .await?;
    let journal = d.container.journal(SETUP, 50).await;
    let expected = format!("media_root {media} is not writable by {user}");
    anyhow::ensure!(
        journal.contains(&expected),
        "setup's journal does not say {expected:?}:\n{journal}"
    );
    let server = d
        .ensure_not_active(
            "inventree-server.service",
            "the server runs without its media directory",
        )
        .await?;
    anyhow::ensure!(
        digest(&d, database)? == before,
        "the database changed although setup stopped"
    );
    report.check(format!(
        "media_root made read-only (chmod 0555): setup failed saying \"{expected}\"; server {server}; database unchanged"
    ));

    let fixed = std::time::Instant::now();
    d.container
        .exec_ok(&["chmod", "0750", media], short)
        .await?;
    let credentials = probe_credentials_when_up(&d).await?;
    healthy_now(&d, &credentials, "the media directory was given back").await?;
    report.figure(
        "media directory given back to healthy, nobody touching a unit",
        fixed.elapsed(),
    );
    report.check("InvenTree came up by itself once the directory was the service's again");
    d.shutdown().await?;
    Ok(report)
}
