//! Upgrade tier: an instance set up by the module's setup on an older InvenTree tree (with the
//! Python locked from that tree's requirements), filled through the API, then upgraded to the
//! host tier's tree — records, files and logins checked, migrations run once, and setup on the
//! older tree again refused. Skips (passing, with the reason) without the host tier's
//! prerequisites and an older tree with its Python (INVENTREE_HARNESS_UPGRADE_FROM_SRC,
//! INVENTREE_HARNESS_UPGRADE_FROM_PYTHON, or `[upgrade]` in the user config file).

use inventree_harness::{
    context::Context,
    host::{plan, prerequisites::UpgradeEnvs, scenarios, upgrade, upgrade_tier, HostPlan},
    require,
    tiers::{Skip, Tier},
};
use tokio::sync::{Mutex, OnceCell};

/// One InvenTree at a time: two cores, and each instance forks several workers.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());
static ENVS: OnceCell<Result<UpgradeEnvs, String>> = OnceCell::const_new();

async fn envs() -> Result<(Context, UpgradeEnvs), Skip> {
    let ctx = Context::for_tests().map_err(|e| Skip::new(Tier::Upgrade, format!("{e:#}")))?;
    let found =
        inventree_harness::host::prerequisites::upgrade_prerequisites(&ctx, (None, None)).await?;
    let envs = ENVS
        .get_or_init(|| async {
            upgrade_tier::prepared(found, &ctx.flake_dir)
                .await
                .map_err(|e| format!("{e:#}"))
        })
        .await
        .clone()
        .unwrap_or_else(|e| panic!("preparing both trees like pkgs/src.nix: {e}"));
    Ok((ctx, envs))
}

async fn plan(ctx: &Context, fixture: &str) -> HostPlan {
    let (plans, origin) = plan::load(ctx, &[fixture])
        .await
        .unwrap_or_else(|e| panic!("loading the plan of {fixture}: {e:#}"));
    println!("upgrade tier: {origin}");
    plans
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no plan for fixture {fixture}"))
}

async fn drill(ctx: &Context, envs: &UpgradeEnvs, fixture: &str) {
    let _one = ONE_AT_A_TIME.lock().await;
    let plan = plan(ctx, fixture).await;
    let report = upgrade::upgrade_drill(envs, &plan)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    println!("{}", report.render());
    eprintln!("{}", report.render());
}

#[tokio::test]
async fn sqlite_instance_of_the_older_tree_upgrades_keeping_records_files_and_logins_and_refuses_the_way_back(
) {
    let (ctx, envs) = require!(envs().await);
    drill(&ctx, &envs, "users").await;
}

#[tokio::test]
async fn postgresql_instance_of_the_older_tree_upgrades_keeping_records_files_and_logins_and_refuses_the_way_back(
) {
    let (ctx, envs) = require!(envs().await);
    if let Some(why) = scenarios::postgres_unavailable(&envs.to).await {
        require!(Err::<(), _>(Skip::new(
            Tier::Upgrade,
            format!("no PostgreSQL server here: {why}")
        )));
    }
    drill(&ctx, &envs, "postgresql-local").await;
}
