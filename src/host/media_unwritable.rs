//! The media directory not writable (host tier twin of the systemd tier's scenario). The host
//! tier runs as root, whom modes do not stop, so the directory is made immutable (`chattr +i`:
//! the kernel refuses writes to it even to root, and `access(W_OK)` says so). Setup must fail
//! naming it, before migrating or writing anything in it or in the database, and the files
//! already in it must be untouched; once it is writable again, the next setup and start bring
//! InvenTree back with the data.

use std::{path::Path, time::Instant};

use anyhow::Context as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{
    instance::Instance,
    plan::HostPlan,
    prerequisites::HostEnv,
    scenarios::{healthy, healthy_from_template, teardown, token_client, ScenarioReport, Template},
    upgrade_data,
};
use crate::process::{self, Spec};

fn digest(file: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

/// `chattr <flag> <dir>` (`+i` or `-i`).
async fn chattr(flag: &str, dir: &Path) -> anyhow::Result<()> {
    let spec = Spec::new("chattr")
        .name("chattr")
        .arg(flag)
        .arg(dir.display().to_string());
    let done = process::run(&spec, std::time::Duration::from_secs(30)).await?;
    anyhow::ensure!(
        done.success,
        "chattr {flag} {} failed (the file system must support it): {}",
        dir.display(),
        done.output.trim()
    );
    Ok(())
}

pub async fn media_unwritable(
    host: &HostEnv,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("media not writable");
    let mut instance = Instance::create(host, plan)?;
    let credentials = healthy_from_template(&mut instance, template).await?;
    let client = token_client(&instance, &credentials).await?;
    let part: crate::probe::api::Part = client
        .post(
            "/api/part/",
            &json!({"name": "kept while media is unwritable", "description": "host tier"}),
        )
        .await
        .context("creating the part")?;
    let (attachment, file) = upgrade_data::attach(&client, part.pk).await?;
    instance.stop().await?;
    let media = std::path::PathBuf::from(
        instance.settings()["media_root"]
            .as_str()
            .context("no media_root")?,
    );
    let database = instance
        .sqlite_file()
        .context("the scenario needs SQLite")?;
    let before = digest(&database)?;
    chattr("+i", &media).await?;
    let refused = instance.setup().await;
    // Writable again whatever happened: the instance directory must stay removable.
    chattr("-i", &media).await?;
    let refused = refused?;
    let expected = format!("media_root {} is not writable by root", media.display());
    anyhow::ensure!(
        !refused.success && refused.output.contains(&expected),
        "setup with an unwritable media directory did not fail saying {expected:?} (exit {:?}):\n{}",
        refused.code,
        refused.output
    );
    anyhow::ensure!(
        digest(&database)? == before,
        "the refused setup changed the database"
    );
    anyhow::ensure!(
        std::fs::read(media.join(&file)).ok().as_deref() == Some(upgrade_data::ATTACHMENT_TEXT),
        "the attachment's file {file} changed or went away"
    );
    report.check(format!(
        "media_root made immutable (chattr +i): setup failed saying \"{expected}\"; database and the attachment's file unchanged"
    ));
    let given_back = Instant::now();
    instance.setup_ok().await?;
    instance.start()?;
    healthy(&mut instance, &credentials).await?;
    report.figure(
        "media directory given back to healthy (setup + start)",
        given_back.elapsed(),
    );
    let client = token_client(&instance, &credentials).await?;
    client
        .get::<serde_json::Value>(&format!("/api/attachment/{attachment}/"))
        .await
        .context("the attachment after the media directory came back")?;
    report.check(format!(
        "once writable again: setup and start brought InvenTree back healthy, with part {} and attachment {attachment}",
        part.pk
    ));
    teardown(&mut instance, &mut report).await?;
    Ok(report)
}
