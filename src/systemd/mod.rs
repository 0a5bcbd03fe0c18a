//! The systemd tier: the units exactly as NixOS renders them, installed in a container booted
//! with a real systemd (`systemd-nspawn`), started, probed from the host, restarted, broken on
//! purpose, and powered off with nothing left running.
//!
//! `prerequisites` checks what the tier needs, `python` merges the container's Python,
//! `store` builds the stand-in `/nix/store` (the only change to what NixOS would run),
//! `container` boots and enters a container (`host_lock`: one at a time per machine), `install`
//! puts a plan's units, accounts, tmpfiles and credentials in place (and compares unit files
//! directive by directive; `redis` is the stand-in for a local Redis the units want),
//! `deployment` ties them together for one fixture, `scenarios` holds the checks with their
//! figures (and the steps they share); `backup_restore`, `printing`, `email`, `admin_commands`,
//! `postgresql`, `migration_killed`, `media_unwritable`, `plugins` and `cache_down` more of them.

pub mod admin_commands;
pub mod backup_restore;
pub mod cache_down;
pub mod container;
pub mod deployment;
pub mod email;
pub mod host_lock;
pub mod install;
pub mod media_unwritable;
pub mod migration_killed;
pub mod plugins;
pub mod postgresql;
pub mod prerequisites;
pub mod printing;
pub mod python;
pub mod redis;
pub mod scenarios;
pub mod store;
pub mod timeline;

pub use prerequisites::{systemd_prerequisites, SystemdEnv};

use std::time::Instant;

use crate::{
    context::Context,
    host::{plan, scenarios::ScenarioReport},
    tiers::{Tier, TierOutcome, TierRunner},
};

/// `check`'s entry for the systemd tier: every scenario, one after the other.
pub fn tier_runner() -> TierRunner {
    TierRunner {
        tier: Tier::Systemd,
        prerequisites: |ctx| {
            Box::pin(async move { systemd_prerequisites(ctx).await.map(|env| env.described) })
        },
        run: |ctx| Box::pin(async move { TierOutcome::from(run_all(ctx).await) }),
    }
}

/// Runs every scenario (each on its own container); returns a one-line summary.
pub async fn run_all(ctx: &Context) -> anyhow::Result<String> {
    use anyhow::Context as _;
    let started = Instant::now();
    let env = systemd_prerequisites(ctx)
        .await
        .map_err(|skip| anyhow::anyhow!("{skip}"))?;
    let (plans, origin) = plan::load(ctx, plan::FIXTURES).await?;
    eprintln!("   {origin}");
    let find = |name: &str| {
        plans
            .iter()
            .find(|p| p.fixture == name)
            .with_context(|| format!("no plan for {name}"))
    };
    let (defaults, users, backups) = (find("defaults-sqlite")?, find("users")?, find("backups")?);
    let postgresql_local = find("postgresql-local")?;
    let stand_ins = deployment::StandIns::prepare(&ctx.flake_dir, &env).await?;
    let dir = &ctx.flake_dir;
    let mut reports: Vec<ScenarioReport> = Vec::new();
    let mut show = |report: ScenarioReport| {
        eprint!("{}", report.render());
        reports.push(report);
    };
    for plan in [defaults, backups, users] {
        show(scenarios::units_as_rendered(dir, &env, &stand_ins, plan).await?);
    }
    let template_dir = tempfile::Builder::new()
        .prefix("inventree-systemd-template.")
        .tempdir()?;
    let (cold, template) =
        scenarios::cold_start(dir, &env, &stand_ins, defaults, template_dir.path()).await?;
    show(cold);
    show(scenarios::restart(dir, &env, &stand_ins, defaults, &template).await?);
    show(scenarios::worker_killed(dir, &env, &stand_ins, defaults, &template).await?);
    show(scenarios::setup_recovers(dir, &env, &stand_ins, defaults, &template).await?);
    show(migration_killed::migration_killed(dir, &env, &stand_ins, defaults).await?);
    show(media_unwritable::media_unwritable(dir, &env, &stand_ins, defaults, &template).await?);
    show(scenarios::security_live(dir, &env, &stand_ins, defaults, &template).await?);
    show(printing::printing(dir, &env, &stand_ins, defaults, &template).await?);
    show(email::email(dir, &env, &stand_ins, find("email")?, &template).await?);
    show(plugins::plugins(dir, &env, &stand_ins, find("plugins")?, &template).await?);
    show(cache_down::cache_down(dir, &env, &stand_ins, find("redis-cache")?, &template).await?);
    show(admin_commands::admin_commands(dir, &env, &stand_ins, defaults, &template).await?);
    show(scenarios::no_secret_leaks(dir, &env, &stand_ins, users, &template).await?);
    show(backup_restore::backup_and_restore(dir, &env, &stand_ins, backups, &template).await?);
    match crate::host::scenarios::postgres_unavailable(&env.host).await {
        Some(why) => eprintln!("   postgresql skipped: {why}"),
        None => show(postgresql::postgresql(dir, &env, &stand_ins, postgresql_local).await?),
    }
    let figure = |prefix: &str| {
        reports
            .iter()
            .flat_map(|r| r.figures.iter())
            .find(|(name, _)| name.starts_with(prefix))
            .map(|(_, s)| format!("{s:.1} s"))
            .unwrap_or_else(|| "-".into())
    };
    Ok(format!(
        "{} scenarios passed; cold start {}, warm restart {}, setup recovery {}; {:.0} s in all",
        reports.len(),
        figure("cold start to healthy"),
        figure("warm restart to healthy"),
        figure("cause removed to healthy"),
        started.elapsed().as_secs_f64()
    ))
}
