//! Backups and restores under systemd: the backup timer's service archives the database and the
//! media together (server and worker stopped meanwhile, started again), the prune step keeps
//! `backup.keep` of each; after a part, its stock and its attachment are deleted,
//! `inventree-restore` brings all three back (the attachment's file too); and the archives copied
//! to a fresh machine (a new data directory, a new secret key) restore there as well.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::Context as _;

use super::{
    deployment::{Deployment, StandIns},
    prerequisites::SystemdEnv,
    scenarios::{
        api_client, deploy_from_template, healthy_now, probe_credentials, service_user, Template,
        START_TIMEOUT,
    },
};
use crate::{
    host::{
        plan::HostPlan,
        scenarios::ScenarioReport,
        upgrade_data::{attach, stock_item, ATTACHMENT_TEXT},
    },
    probe::{api::Part, client::ApiClient, Credentials},
};

/// What the scenario stores, deletes and expects back.
struct Data {
    part: u64,
    stock: u64,
    attachment: u64,
    /// The attachment's file under `media_root` (from the API's URL).
    attachment_file: String,
}

/// A part with a stock item and an uploaded attachment.
async fn make_data(client: &ApiClient) -> anyhow::Result<Data> {
    let part: Part = client
        .post(
            "/api/part/",
            &serde_json::json!({"name": "systemd-tier backup part", "description": "kept by backups", "component": true}),
        )
        .await
        .context("creating the part")?;
    let stock = stock_item(client, part.pk, 12).await?;
    let (attachment, attachment_file) = attach(client, part.pk).await?;
    Ok(Data {
        part: part.pk,
        stock,
        attachment,
        attachment_file,
    })
}

/// Which of the data the API still answers for, and whether the file is in media_root.
async fn data_present(
    client: &ApiClient,
    d: &Deployment,
    data: &Data,
) -> anyhow::Result<[bool; 4]> {
    let media = d.plan.internal.settings["media_root"]
        .as_str()
        .context("no media_root")?;
    let file = std::fs::read(
        d.container
            .path(&format!("{media}/{}", data.attachment_file)),
    )
    .map(|content| content == ATTACHMENT_TEXT)
    .unwrap_or(false);
    Ok([
        client
            .get::<serde_json::Value>(&format!("/api/part/{}/", data.part))
            .await
            .is_ok(),
        client
            .get::<serde_json::Value>(&format!("/api/stock/{}/", data.stock))
            .await
            .is_ok(),
        client
            .get::<serde_json::Value>(&format!("/api/attachment/{}/", data.attachment))
            .await
            .is_ok(),
        file,
    ])
}

/// Deletes the stock item, the attachment and the part (deactivated first, as InvenTree wants).
async fn delete_data(client: &ApiClient, data: &Data) -> anyhow::Result<()> {
    client
        .delete(&format!("/api/stock/{}/", data.stock))
        .await?;
    client
        .delete(&format!("/api/attachment/{}/", data.attachment))
        .await?;
    client
        .patch::<serde_json::Value, _>(
            &format!("/api/part/{}/", data.part),
            &serde_json::json!({"active": false}),
        )
        .await?;
    client.delete(&format!("/api/part/{}/", data.part)).await?;
    Ok(())
}

/// Archives in the container's `dir` whose names start with `prefix` (not their `.metadata`
/// sidecars).
fn files_in(d: &Deployment, dir: &str, prefix: &str) -> anyhow::Result<Vec<String>> {
    let path = d.container.path(dir);
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .with_context(|| format!("listing {dir} in the container"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && !n.ends_with(".metadata"))
        .collect();
    names.sort();
    Ok(names)
}

/// The backup timer's service writes a database and a media archive (with server and worker
/// stopped meanwhile and started again); after a part, its stock item and its attachment are
/// deleted, `inventree-restore` brings them back; the archives restore on a fresh machine too.
pub async fn backup_and_restore(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("backup and restore");
    let d = deploy_from_template(flake_dir, env, stand_ins, plan, template).await?;
    d.systemctl(
        "start",
        &["inventree.target", "inventree-backup.timer"],
        START_TIMEOUT,
    )
    .await?;
    let next = d
        .container
        .property("inventree-backup.timer", "NextElapseUSecRealtime")
        .await?;
    report.check(format!("inventree-backup.timer active, next elapse {next}"));
    let credentials = probe_credentials(&d).await?;
    healthy_now(&d, &credentials, "the start").await?;
    let data = make_data(&api_client(&d, &credentials).await?).await?;
    let backup_dir = plan.internal.settings["backup_dir"]
        .as_str()
        .context("no backup_dir")?;
    let (db, media) = run_backup(&d, backup_dir, &mut report).await?;
    healthy_now(&d, &credentials, "the backup").await?;

    let client = api_client(&d, &credentials).await?;
    delete_data(&client, &data).await?;
    let gone = data_present(&client, &d, &data).await?;
    anyhow::ensure!(
        gone == [false; 4],
        "part, stock item, attachment, file still there after deleting them: {gone:?}"
    );
    let restoring = Instant::now();
    let out = d
        .container
        .exec_ok(&["inventree-restore"], START_TIMEOUT)
        .await?;
    report.figure("inventree-restore", restoring.elapsed());
    let credentials = probe_credentials(&d).await?;
    healthy_now(&d, &credentials, "the restore").await?;
    let back = data_present(&api_client(&d, &credentials).await?, &d, &data).await?;
    anyhow::ensure!(
        back == [true; 4],
        "after the restore (part, stock item, attachment, file) = {back:?}:\n{out}"
    );
    report.check(format!(
        "part {}, stock item {}, attachment {} ({}) deleted; inventree-restore brought all back, the file's content too; its report: {}",
        data.part,
        data.stock,
        data.attachment,
        data.attachment_file,
        out.lines()
            .filter(|l| l.starts_with("inventree-restore:"))
            .collect::<Vec<_>>()
            .join(" / ")
    ));
    check_retention(&d, backup_dir, &mut report).await?;
    let archives = copy_out(&d, backup_dir, &[&db, &media]).await?;
    d.shutdown().await?;
    restore_on_a_fresh_machine(
        flake_dir,
        env,
        stand_ins,
        plan,
        template,
        &archives,
        &data,
        &mut report,
    )
    .await?;
    Ok(report)
}

/// Runs the backup service once: one database and one media archive, server and worker
/// running again afterwards. Returns the archives' names.
async fn run_backup(
    d: &Deployment,
    backup_dir: &str,
    report: &mut ScenarioReport,
) -> anyhow::Result<(String, String)> {
    let started = Instant::now();
    d.systemctl("start", &["inventree-backup.service"], START_TIMEOUT)
        .await?;
    report.figure("backup service run", started.elapsed());
    let mut db = files_in(d, backup_dir, "InvenTree-db-")?;
    let mut media = files_in(d, backup_dir, "InvenTree-media-")?;
    anyhow::ensure!(
        db.len() == 1 && media.len() == 1,
        "expected one database and one media archive, found {db:?} {media:?}"
    );
    for unit in ["inventree-server.service", "inventree-cluster.service"] {
        let state = d.container.property(unit, "ActiveState").await?;
        anyhow::ensure!(
            state == "active",
            "{unit} is {state} after the backup: it must be started again"
        );
    }
    report.check(format!(
        "backup wrote {} and {}; server and worker running again",
        db[0], media[0]
    ));
    Ok((db.remove(0), media.remove(0)))
}

/// The backup unit's prune step (ExecStartPost) keeps `backup.keep` archives of each kind, with
/// their `.metadata` sidecars, and removes older ones together with theirs.
async fn check_retention(
    d: &Deployment,
    backup_dir: &str,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let prune = d
        .plan
        .system
        .units
        .get("inventree-backup.service")
        .and_then(|unit| {
            unit.text
                .lines()
                .find_map(|l| l.strip_prefix("ExecStartPost="))
        })
        .map(|p| p.trim().to_string())
        .context("the backup unit has no ExecStartPost (prune) step")?;
    // backup.keep, as the prune script has it: `tail -z -n +<keep + 1>`.
    let keep: usize = d
        .plan
        .system
        .scripts
        .get(&prune)
        .and_then(|s| s.text.split("tail -z -n +").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<usize>().ok())
        .map(|n| n - 1)
        .context("cannot read backup.keep from the prune script")?;
    let existing = files_in(d, backup_dir, "InvenTree-db-")?.len();
    let fakes = keep + 2;
    let script = format!(
        "cd {backup_dir} && for i in $(seq 10 {}); do f=InvenTree-db-2000-01-01-0000$i.sqlite3.gz; \
         touch -d \"2000-01-01 00:00:$i\" $f $f.metadata; done",
        9 + fakes
    );
    d.container
        .exec_ok(&["sh", "-c", &script], Duration::from_secs(30))
        .await?;
    d.container
        .exec_ok(&[&prune], Duration::from_secs(60))
        .await?;
    let archives = files_in(d, backup_dir, "InvenTree-db-")?;
    let sidecars = std::fs::read_dir(d.container.path(backup_dir))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("InvenTree-db-"))
        .filter(|e| e.file_name().to_string_lossy().ends_with(".metadata"))
        .count();
    anyhow::ensure!(
        archives.len() == keep && sidecars == keep,
        "prune kept {} database archives and {sidecars} .metadata files of {} (keep = {keep}): {archives:?}",
        archives.len(),
        existing + fakes
    );
    report.check(format!(
        "retention: of {} database archives (each with its .metadata) prune kept the newest {keep}, sidecars with them",
        existing + fakes
    ));
    Ok(())
}

/// Copies `names` out of the container's `dir` into a temporary directory of the host.
async fn copy_out(
    d: &Deployment,
    dir: &str,
    names: &[&String],
) -> anyhow::Result<tempfile::TempDir> {
    let out = tempfile::Builder::new()
        .prefix("inventree-systemd-archives.")
        .tempdir()?;
    for name in names {
        crate::util::copy_file(
            &d.container.path(&format!("{dir}/{name}")),
            &out.path().join(name.as_str()),
        )
        .await
        .with_context(|| format!("copying {dir}/{name} out of the container"))?;
    }
    Ok(out)
}

/// A fresh machine: the same configuration, its own new secret key, setup run once on an empty
/// database (the template, migrated, no data), the archives copied into `backup_dir` (owned by
/// the service user, 0600, as docs/nixos.md says), then `inventree-restore`.
#[allow(clippy::too_many_arguments)]
async fn restore_on_a_fresh_machine(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
    archives: &tempfile::TempDir,
    data: &Data,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let d = deploy_from_template(flake_dir, env, stand_ins, plan, template).await?;
    let key = plan.internal.environment["INVENTREE_SECRET_KEY_FILE"].as_str();
    let short = Duration::from_secs(30);
    d.container.exec_ok(&["rm", "-f", key], short).await?;
    d.systemctl("start", &["inventree.target"], START_TIMEOUT)
        .await?;
    let backup_dir = plan.internal.settings["backup_dir"]
        .as_str()
        .context("no backup_dir")?;
    let user = service_user(plan);
    for entry in std::fs::read_dir(archives.path())? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let staged = format!("/tmp/{name}");
        crate::util::copy_file(&entry.path(), &d.container.path(&staged)).await?;
        let inside = format!("{backup_dir}/{name}");
        d.container
            .exec_ok(
                &[
                    "install", "-o", &user, "-g", &user, "-m", "0600", &staged, &inside,
                ],
                short,
            )
            .await?;
    }
    let restoring = Instant::now();
    let out = d
        .container
        .exec_ok(&["inventree-restore"], START_TIMEOUT)
        .await?;
    report.figure("inventree-restore on a fresh machine", restoring.elapsed());
    let credentials: Credentials = probe_credentials(&d).await?;
    healthy_now(&d, &credentials, "the restore on a fresh machine").await?;
    let back = data_present(&api_client(&d, &credentials).await?, &d, data).await?;
    anyhow::ensure!(
        back == [true; 4],
        "on the fresh machine (part, stock item, attachment, file) = {back:?}:\n{out}"
    );
    let setup = d.container.journal("inventree-setup.service", 100).await;
    let queue = setup
        .lines()
        .filter_map(|l| l.split_once("queue: ").map(|(_, rest)| rest))
        .next_back()
        .unwrap_or("no queue line");
    report.check(format!(
        "fresh machine (new secret key, setup run once): the archives copied into {backup_dir}, inventree-restore brought part {}, stock item {} and attachment {} with its file; setup after the restore: queue: {queue}",
        data.part, data.stock, data.attachment
    ));
    d.shutdown().await
}
