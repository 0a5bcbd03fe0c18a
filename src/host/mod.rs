//! The host tier: InvenTree started exactly as the module configures it — same config.yaml,
//! environment, setup program, server and worker commands — as local processes on loopback,
//! then probed, restarted, broken on purpose, and torn down with nothing left running.
//!
//! `plan` gets what to run from the eval (or recorded plans), `layout` moves it under a
//! temporary directory, `instance` is one InvenTree (its programs run through
//! `crate::process::isolated`),
//! `postgres` a throw-away PostgreSQL server, `web_login` a login as the web UI does it,
//! `scenarios` the checks with their figures; `email`, `plugins`, `cache_down`,
//! `media_unwritable`, `migration_killed`, `postgresql` (the database down at start, then end
//! to end), `nginx_media` (uploads behind the module's nginx) `two_nodes` (two setups at once on
//! one PostgreSQL: the migration lock) and `nodes` (web and worker nodes sharing PostgreSQL,
//! Redis and media) more of them. `upgrade` (with `upgrade_data`, and `upgrade_tier` running it) is the upgrade tier's
//! drill from an older InvenTree tree to this one.

pub mod bench_nodes;
pub mod cache_down;
pub mod email;
pub mod instance;
pub mod layout;
pub mod load;
pub mod media_unwritable;
pub mod migration_killed;
pub mod nginx;
pub mod nginx_media;
pub mod nodes;
pub mod plan;
pub mod plugin_site;
pub mod plugins;
pub mod postgres;
pub mod postgresql;
pub mod prerequisites;
pub mod redis;
pub mod scenarios;
pub mod two_nodes;
pub mod upgrade;
pub mod upgrade_data;
pub mod upgrade_tier;
pub mod web_login;

pub use instance::Instance;
pub use plan::{HostPlan, PlanOrigin};
pub use prerequisites::{host_prerequisites, HostEnv};

use crate::{
    context::Context,
    tiers::{Tier, TierOutcome, TierRunner},
};

/// `check`'s entry for the host tier: every scenario, one after the other.
pub fn tier_runner() -> TierRunner {
    TierRunner {
        tier: Tier::Host,
        prerequisites: |ctx| {
            Box::pin(async move { host_prerequisites(ctx).await.map(|env| env.described) })
        },
        run: |ctx| Box::pin(run_tier(ctx)),
    }
}

async fn run_tier(ctx: &Context) -> TierOutcome {
    run_all(ctx).await.map(|(summary, _)| summary).into()
}

/// Prints a finished scenario's report right away (a tier runs for minutes), then keeps it.
fn show(reports: &mut Vec<scenarios::ScenarioReport>, report: scenarios::ScenarioReport) {
    eprint!("{}", report.render());
    reports.push(report);
}

/// The plan of `fixture` among those loaded.
fn plan_for<'a>(plans: &'a [HostPlan], fixture: &str) -> anyhow::Result<&'a HostPlan> {
    plans
        .iter()
        .find(|p| p.fixture == fixture)
        .ok_or_else(|| anyhow::anyhow!("no plan for {fixture}"))
}

/// Runs every scenario; returns a one-line summary and the reports.
pub async fn run_all(ctx: &Context) -> anyhow::Result<(String, Vec<scenarios::ScenarioReport>)> {
    let started = std::time::Instant::now();
    let env = host_prerequisites(ctx)
        .await
        .map_err(|skip| anyhow::anyhow!("{skip}"))?
        .prepared(&ctx.flake_dir)
        .await?;
    let (plans, origin) = plan::load(ctx, plan::FIXTURES).await?;
    eprintln!("   {origin}");
    let defaults = plan_for(&plans, "defaults-sqlite")?;
    let keep = tempfile::Builder::new()
        .prefix("inventree-host-template.")
        .tempdir()?;
    let mut reports = Vec::new();
    show(&mut reports, scenarios::defaults(&env, defaults).await?);
    let template = scenarios::migrated_template(&env, defaults, keep.path()).await?;
    from_template(ctx, &env, &plans, &template, &mut reports).await?;
    let users = plan_for(&plans, "users")?;
    show(&mut reports, scenarios::bad_input(&env, users).await?);
    show(
        &mut reports,
        migration_killed::migration_killed(&env, defaults).await?,
    );
    let postgres = match scenarios::postgres_unavailable(&env).await {
        Some(why) => format!("postgresql skipped: {why}"),
        None => {
            let postgresql_local = plan_for(&plans, "postgresql-local")?;
            show(
                &mut reports,
                postgresql::postgresql(&env, postgresql_local).await?,
            );
            show(
                &mut reports,
                two_nodes::two_nodes(&env, postgresql_local).await?,
            );
            if redis::find().is_ok() && nginx::find().is_ok() {
                let multi_node = plan_for(&plans, "multi-node")?;
                let vhost = plan_for(&plans, "nginx")?
                    .nginx
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("the nginx fixture renders no virtual host"))?;
                show(
                    &mut reports,
                    nodes::web_and_worker_nodes(&env, multi_node, vhost).await?,
                );
            }
            "postgresql and the multi-node scenarios passed".into()
        }
    };
    let summary = summary(&reports, &postgres, started.elapsed(), &origin);
    Ok((summary, reports))
}

/// The scenarios that start from the migrated template (none of them is about migrating).
async fn from_template(
    ctx: &Context,
    env: &HostEnv,
    plans: &[HostPlan],
    template: &scenarios::Template,
    reports: &mut Vec<scenarios::ScenarioReport>,
) -> anyhow::Result<()> {
    let defaults = plan_for(plans, "defaults-sqlite")?;
    show(reports, scenarios::restart(env, defaults, template).await?);
    show(
        reports,
        scenarios::worker_death(env, defaults, template).await?,
    );
    show(reports, scenarios::printing(env, defaults, template).await?);
    let email_plan = plan_for(plans, "email")?;
    show(reports, email::email(env, email_plan, template).await?);
    let workspace = plugins::workspace(&ctx.flake_dir);
    let plugins_plan = plan_for(plans, "plugins")?;
    show(
        reports,
        plugins::plugins(env, plugins_plan, template, &workspace).await?,
    );
    match redis::find() {
        Ok(_) => {
            let cache_plan = plan_for(plans, "redis-cache")?;
            show(
                reports,
                cache_down::cache_down(env, cache_plan, template).await?,
            );
        }
        Err(why) => eprintln!("   cache down skipped: {why}"),
    }
    match nginx::find() {
        Ok(_) => {
            let nginx_plan = plan_for(plans, "nginx")?;
            show(
                reports,
                nginx_media::media_behind_nginx(env, nginx_plan, template).await?,
            );
        }
        Err(why) => eprintln!("   media behind nginx skipped: {why}"),
    }
    let users = plan_for(plans, "users")?;
    show(reports, scenarios::users(env, users, template).await?);
    show(
        reports,
        media_unwritable::media_unwritable(env, defaults, template).await?,
    );
    Ok(())
}

/// `check`'s one line for the tier: scenarios passed, the headline figures, the time in all.
fn summary(
    reports: &[scenarios::ScenarioReport],
    postgres: &str,
    elapsed: std::time::Duration,
    origin: &PlanOrigin,
) -> String {
    let figure = |scenario: &str, prefix: &str| {
        reports
            .iter()
            .filter(|r| r.name == scenario)
            .flat_map(|r| r.figures.iter())
            .find(|(name, _)| name.starts_with(prefix))
            .map(|(_, s)| format!("{s:.1} s"))
            .unwrap_or_else(|| "-".into())
    };
    format!(
        "{} scenarios passed, {postgres}; cold start {}, warm restart {}, task round trip {}; {:.0} s in all ({})",
        reports.len(),
        figure("defaults", "cold start"),
        figure("restart", "warm restart"),
        figure("defaults", "task round trip"),
        elapsed.as_secs_f64(),
        match origin {
            PlanOrigin::Evaluated { .. } => "plans evaluated",
            PlanOrigin::Recorded { .. } => "plans recorded",
        }
    )
}
