//! Systemd tier: the units exactly as NixOS renders them, under a real systemd in a container
//! (`systemd-nspawn --boot` of a Debian root file system; see `src/systemd`). Each scenario is
//! one test on its own container; they skip (passing, with the reason) without root,
//! systemd-nspawn, a container rootfs or the host tier's prerequisites.
//!
//! The cold start is made once per run and its migrated database is the template the other
//! scenarios start from. Scenarios run one at a time: each starts a whole InvenTree, and the
//! fixtures bind the same loopback port.

use inventree_harness::{
    context::Context,
    host::{plan, HostPlan},
    require,
    systemd::{
        deployment::StandIns,
        scenarios::{self, Template},
        systemd_prerequisites, SystemdEnv,
    },
    tiers::{Skip, Tier},
};
use tokio::sync::{Mutex, OnceCell};

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());
static PLANS: OnceCell<Result<Vec<HostPlan>, String>> = OnceCell::const_new();
static STAND_INS: OnceCell<Result<StandIns, String>> = OnceCell::const_new();
static COLD: OnceCell<Result<(String, Template), String>> = OnceCell::const_new();

async fn systemd_env() -> Result<(Context, SystemdEnv), Skip> {
    let ctx = Context::for_tests().map_err(|e| Skip::new(Tier::Systemd, format!("{e:#}")))?;
    let env = systemd_prerequisites(&ctx).await?;
    Ok((ctx, env))
}

async fn plan(ctx: &Context, fixture: &str) -> HostPlan {
    let plans = PLANS
        .get_or_init(|| async {
            let loaded = plan::load(ctx, plan::FIXTURES).await;
            loaded
                .map(|(plans, origin)| {
                    eprintln!("systemd tier: {origin}");
                    plans
                })
                .map_err(|e| format!("{e:#}"))
        })
        .await
        .as_ref()
        .unwrap_or_else(|e| panic!("loading the plans: {e}"));
    plans
        .iter()
        .find(|p| p.fixture == fixture)
        .cloned()
        .unwrap_or_else(|| panic!("no plan for fixture {fixture}"))
}

async fn stand_ins(ctx: &Context, env: &SystemdEnv) -> StandIns {
    STAND_INS
        .get_or_init(|| async {
            StandIns::prepare(&ctx.flake_dir, env)
                .await
                .map_err(|e| format!("{e:#}"))
        })
        .await
        .clone()
        .unwrap_or_else(|e| panic!("preparing the stand-ins: {e}"))
}

/// The cold start of defaults-sqlite, run once: its report and the migrated template.
async fn cold(ctx: &Context, env: &SystemdEnv) -> (String, Template) {
    let defaults = plan(ctx, "defaults-sqlite").await;
    let stand_ins = stand_ins(ctx, env).await;
    COLD.get_or_init(|| async {
        scenarios::cold_start(&ctx.flake_dir, env, &stand_ins, &defaults)
            .await
            .map(|(report, template)| (report.render(), template))
            .map_err(|e| format!("{e:#}"))
    })
    .await
    .clone()
    .unwrap_or_else(|e| panic!("cold start of defaults-sqlite: {e}"))
}

#[tokio::test]
async fn target_start_runs_setup_before_server_and_worker_and_the_probe_is_healthy() {
    let (ctx, env) = require!(systemd_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let (report, _) = cold(&ctx, &env).await;
    println!("{report}");
    eprintln!("{report}");
}
