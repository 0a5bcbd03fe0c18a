//! The upgrade drill: an instance set up by the module's setup on an older InvenTree tree (with
//! the Python locked from that tree's own requirements) and filled through the API, then switched
//! to the newer tree as `nixos-rebuild switch` to a new package does (services stopped, data,
//! config and credentials kept) and set up again. The new setup migrates once; every record and
//! file is still there; declared and undeclared users are as their policy says; the probe is
//! healthy; the setup state records the new version; a second setup migrates nothing. Then the
//! downgrade guard: setup on the older tree again refuses, naming both versions, and leaves the
//! database as it was.

use std::{path::PathBuf, time::Instant};

use anyhow::Context as _;

use super::{
    instance::Instance,
    plan::HostPlan,
    postgres,
    prerequisites::UpgradeEnvs,
    scenarios::{self, expect_line, expect_no_migration, healthy, teardown, ScenarioReport},
    upgrade_data::{self, Stored},
};
use crate::probe::{client::ApiClient, Credentials};

/// The InvenTree version a setup state file records (`.setup-state.json` in the data dir).
fn recorded_version(instance: &Instance) -> anyhow::Result<String> {
    let file = instance.layout.data_dir.join(".setup-state.json");
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("reading the setup state {}", file.display()))?;
    let state: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    state["inventree_version"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("{} records no inventree_version", file.display()))
}

fn media_root(instance: &Instance) -> anyhow::Result<PathBuf> {
    instance.settings()["media_root"]
        .as_str()
        .map(PathBuf::from)
        .context("the rendered config has no media_root")
}

/// The whole drill on `plan` (a SQLite or a PostgreSQL fixture).
pub async fn upgrade_drill(envs: &UpgradeEnvs, plan: &HostPlan) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new(&format!("upgrade ({})", plan.fixture));
    let mut instance = Instance::create(&envs.from, plan)?;
    let mut pg = postgres::server_for(&instance).await?;
    let result = drill(envs, &mut instance, &mut report).await;
    let stopped = match pg.as_mut() {
        Some(pg) => pg.stop().await,
        None => Ok(()),
    };
    result?;
    stopped.context("stopping PostgreSQL")?;
    Ok(report)
}

async fn drill(
    envs: &UpgradeEnvs,
    instance: &mut Instance,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let (credentials, stored) = set_up_and_fill(instance, report).await?;
    let from_version = recorded_version(instance)?;
    instance.stop().await?;
    let upgraded = Instant::now();
    instance.switch_to(&envs.to)?;
    let setup = instance.setup_ok().await?;
    expect_line(
        &setup.output,
        "migrations: running",
        "setup on the newer tree",
    )?;
    expect_line(
        &setup.output,
        "inventree_version",
        "setup on the newer tree",
    )?;
    report.figure(
        "upgrade setup (migrations of the newer tree)",
        setup.elapsed,
    );
    instance.start()?;
    healthy(instance, &credentials).await?;
    report.figure(
        "services stopped to healthy on the newer tree",
        upgraded.elapsed(),
    );
    let to_version = recorded_version(instance)?;
    anyhow::ensure!(
        to_version != from_version,
        "the setup state still records {from_version} after the upgrade"
    );
    report.check(format!(
        "setup on the newer tree migrated ({}) and recorded {to_version} (was {from_version}); the probe is healthy",
        setup_reason(&setup.output)
    ));
    let client = ApiClient::new(&instance.url())?;
    let authed = scenarios::token_client(instance, &credentials).await?;
    for line in upgrade_data::find_again(&authed, &media_root(instance)?, &stored).await? {
        report.check(line);
    }
    users_after_upgrade(instance, &client, report).await?;
    teardown(instance, report).await?;
    let again = instance.setup_ok().await?;
    expect_no_migration(&again.output, "the setup after the upgrade")?;
    report.check("a second setup on the newer tree migrated nothing: migrations ran once");
    downgrade_refused(envs, instance, &from_version, &to_version, report).await
}

/// Setup (migrating the empty database) and start on the older tree; fills it through the API.
async fn set_up_and_fill(
    instance: &mut Instance,
    report: &mut ScenarioReport,
) -> anyhow::Result<(Credentials, Stored)> {
    let setup = instance.setup_ok().await?;
    expect_line(
        &setup.output,
        "migrations: running",
        "setup on the older tree",
    )?;
    report.figure(
        "setup of the empty database on the older tree",
        setup.elapsed,
    );
    let credentials = instance.probe_credentials().await?;
    instance.start()?;
    let client = logged_in_when_up(instance, &credentials).await?;
    let stored = match upgrade_data::store(&client, &media_root(instance)?).await {
        Ok(stored) => stored,
        Err(e) => anyhow::bail!(
            "{e:#}\nserver log:\n{}\nworker log:\n{}",
            scenarios::log_tail(instance, "server"),
            scenarios::log_tail(instance, "cluster")
        ),
    };
    upgrade_data::logs_in(
        &ApiClient::new(&instance.url())?,
        &upgrade_data::undeclared_credentials(),
    )
    .await
    .context("the undeclared user made on the older tree cannot log in there")?;
    report.check(format!(
        "older tree ({}): set up, API up and login taken, filled: category {}, part {} with an image and its thumbnails, stock item {} with {} tracking entries, attachment {}, a label and a report printed (rendered by its worker), undeclared user {} (logs in)",
        recorded_version(instance)?,
        stored.category,
        stored.part,
        stored.stock,
        stored.tracking_entries,
        stored.attachment,
        upgrade_data::UNDECLARED_USER
    ));
    Ok((credentials, stored))
}

/// A token client once the server answers and takes the login. Not the probe: its worker check
/// follows a task id that InvenTree before 1.3 does not give (the drill's printing is the older
/// tree's worker evidence: the worker renders the label and the report).
async fn logged_in_when_up(
    instance: &mut Instance,
    credentials: &Credentials,
) -> anyhow::Result<ApiClient> {
    let deadline = Instant::now() + scenarios::HEALTHY_BUDGET;
    loop {
        instance.check_server_alive()?;
        match scenarios::token_client(instance, credentials).await {
            Ok(authed) => return Ok(authed),
            Err(e) if Instant::now() >= deadline => {
                return Err(e.context(format!(
                    "the older tree's server did not take the login within {} s",
                    scenarios::HEALTHY_BUDGET.as_secs()
                )))
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
        }
    }
}

/// What changed, as setup says it: `migrations: running (changed: …)`.
fn setup_reason(output: &str) -> &str {
    output
        .lines()
        .find(|l| l.starts_with("migrations: running"))
        .unwrap_or("migrations: running")
}

/// Declared users with a password still log in; the undeclared one is as the fixture's
/// `undeclaredUsers` says (kept: logs in; deactivated or deleted: refused).
async fn users_after_upgrade(
    instance: &Instance,
    client: &ApiClient,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let users = &instance.plan.internal.users;
    let mut logged_in = Vec::new();
    for (name, user) in users["users"].as_object().into_iter().flatten() {
        let (Some(credential), true) = (
            user["password_credential"].as_str(),
            user["is_active"].as_bool().unwrap_or(true),
        ) else {
            continue;
        };
        let password = instance
            .layout
            .credentials
            .get(credential)
            .with_context(|| format!("no credential {credential} for {name}"))?;
        let credentials = Credentials::Password {
            username: name.clone(),
            password: password.clone(),
        };
        upgrade_data::logs_in(client, &credentials)
            .await
            .with_context(|| format!("declared user {name} after the upgrade"))?;
        logged_in.push(name.as_str());
    }
    let policy = users["undeclared"].as_str().unwrap_or("keep");
    let undeclared = upgrade_data::logs_in(client, &upgrade_data::undeclared_credentials()).await;
    match (policy, &undeclared) {
        ("keep", Err(e)) => anyhow::bail!(
            "the undeclared user {} (policy keep) cannot log in after the upgrade: {e:#}",
            upgrade_data::UNDECLARED_USER
        ),
        ("keep", Ok(())) => {}
        (_, Ok(())) => anyhow::bail!(
            "the undeclared user {} still logs in after the upgrade, although undeclared users are to be {policy}d",
            upgrade_data::UNDECLARED_USER
        ),
        (_, Err(_)) => {}
    }
    report.check(format!(
        "after the upgrade: declared users with a password log in ({}); the undeclared user {} {} (undeclared users: {policy})",
        if logged_in.is_empty() { "none declared".to_string() } else { logged_in.join(", ") },
        upgrade_data::UNDECLARED_USER,
        if undeclared.is_ok() { "logs in" } else { "is refused" }
    ));
    Ok(())
}

/// Setup on the older tree again refuses, naming both versions; the database and the setup
/// state are as they were.
async fn downgrade_refused(
    envs: &UpgradeEnvs,
    instance: &mut Instance,
    from_version: &str,
    to_version: &str,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let sqlite = instance.sqlite_file();
    let before = sqlite.as_ref().map(std::fs::read).transpose()?;
    instance.switch_to(&envs.from)?;
    let refused = instance.setup().await?;
    anyhow::ensure!(
        !refused.success,
        "setup on the older tree ({from_version}) ran on a database migrated by {to_version}:\n{}",
        refused.output
    );
    let says = |v: &str| {
        refused
            .output
            .contains(v.split_whitespace().next().unwrap_or(v))
    };
    anyhow::ensure!(
        says(from_version) && says(to_version),
        "the refusal does not name both versions ({from_version}, {to_version}):\n{}",
        refused.output
    );
    anyhow::ensure!(
        !refused.output.contains("migrations: running"),
        "the refused setup migrated:\n{}",
        refused.output
    );
    let after = sqlite.as_ref().map(std::fs::read).transpose()?;
    anyhow::ensure!(before == after, "the refused setup changed the database");
    anyhow::ensure!(
        recorded_version(instance)? == to_version,
        "the refused setup changed the setup state"
    );
    report.check(format!(
        "downgrade refused: {}; database{} and setup state untouched",
        crate::util::tail(refused.output.trim(), 1),
        if sqlite.is_some() {
            " file byte for byte"
        } else {
            ""
        }
    ));
    instance.switch_to(&envs.to)
}
