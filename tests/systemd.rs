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
        admin_commands, backup_restore, cache_down,
        deployment::StandIns,
        email, media_unwritable, migration_killed, plugins, postgresql, printing,
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
        // One fixed place under target/, replaced by each test run: nothing accumulates (a
        // static is never dropped, so a temporary directory would be left behind).
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("systemd-template");
        let _ = std::fs::remove_dir_all(&dir);
        scenarios::cold_start(&ctx.flake_dir, env, &stand_ins, &defaults, &dir)
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

/// Runs one template scenario on defaults-sqlite and prints its report.
macro_rules! template_scenario {
    ($name:ident, $scenario:path) => {
        #[tokio::test]
        async fn $name() {
            let (ctx, env) = require!(systemd_env().await);
            let _one = ONE_AT_A_TIME.lock().await;
            let (_, template) = cold(&ctx, &env).await;
            let defaults = plan(&ctx, "defaults-sqlite").await;
            let stand_ins = stand_ins(&ctx, &env).await;
            let report = $scenario(&ctx.flake_dir, &env, &stand_ins, &defaults, &template)
                .await
                .unwrap_or_else(|e| panic!("{e:#}"));
            println!("{}", report.render());
            eprintln!("{}", report.render());
        }
    };
}

template_scenario!(
    restart_of_the_target_restarts_the_server_and_keeps_data,
    scenarios::restart
);
template_scenario!(
    worker_killed_with_sigkill_is_restarted_by_systemd_and_completes_the_task_enqueued_meanwhile,
    scenarios::worker_killed
);
template_scenario!(
    every_running_service_scores_at_most_1_5_live_and_as_offline,
    scenarios::security_live
);
template_scenario!(
    the_sandboxed_worker_prints_a_part_label_and_a_stock_item_report_as_pdfs_showing_the_part,
    printing::printing
);
template_scenario!(
    media_directory_not_writable_stops_setup_naming_it_and_inventree_comes_up_once_it_is_given_back,
    media_unwritable::media_unwritable
);
template_scenario!(
    admin_commands_run_as_the_service_user_in_its_sandbox_and_refuse_non_root_callers,
    admin_commands::admin_commands
);

#[tokio::test]
async fn installed_units_are_the_rendered_ones_byte_for_byte_and_load_without_drop_ins() {
    let (ctx, env) = require!(systemd_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let stand_ins = stand_ins(&ctx, &env).await;
    for fixture in ["defaults-sqlite", "backups", "users"] {
        let plan = plan(&ctx, fixture).await;
        let report = scenarios::units_as_rendered(&ctx.flake_dir, &env, &stand_ins, &plan)
            .await
            .unwrap_or_else(|e| panic!("{fixture}: {e:#}"));
        println!("{}", report.render());
        eprintln!("{}", report.render());
    }
}

#[tokio::test]
async fn no_credential_content_reaches_unit_files_environment_config_or_journal() {
    let (ctx, env) = require!(systemd_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let (_, template) = cold(&ctx, &env).await;
    let stand_ins = stand_ins(&ctx, &env).await;
    let users = plan(&ctx, "users").await;
    let report = scenarios::no_secret_leaks(&ctx.flake_dir, &env, &stand_ins, &users, &template)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    println!("{}", report.render());
    eprintln!("{}", report.render());
}
template_scenario!(
    setup_failing_at_start_recovers_by_itself_once_the_cause_is_gone,
    scenarios::setup_recovers
);

#[tokio::test]
async fn backup_service_archives_database_and_media_and_inventree_restore_brings_part_stock_and_attachment_back_also_on_a_fresh_machine(
) {
    let (ctx, env) = require!(systemd_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let (_, template) = cold(&ctx, &env).await;
    let stand_ins = stand_ins(&ctx, &env).await;
    let backups = plan(&ctx, "backups").await;
    let report =
        backup_restore::backup_and_restore(&ctx.flake_dir, &env, &stand_ins, &backups, &template)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
    println!("{}", report.render());
    eprintln!("{}", report.render());
}

#[tokio::test]
async fn postgresql_fixture_migrates_through_a_bound_socket_and_keeps_data_across_a_restart() {
    let (ctx, env) = require!(systemd_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    if let Some(why) = inventree_harness::host::scenarios::postgres_unavailable(&env.host).await {
        eprintln!("skipped: {why}");
        return;
    }
    let stand_ins = stand_ins(&ctx, &env).await;
    let plan = plan(&ctx, "postgresql-local").await;
    let report = postgresql::postgresql(&ctx.flake_dir, &env, &stand_ins, &plan)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    println!("{}", report.render());
    eprintln!("{}", report.render());
}

#[tokio::test]
async fn setup_killed_with_sigkill_during_the_first_migration_completes_it_without_a_human() {
    let (ctx, env) = require!(systemd_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let stand_ins = stand_ins(&ctx, &env).await;
    let defaults = plan(&ctx, "defaults-sqlite").await;
    let report = migration_killed::migration_killed(&ctx.flake_dir, &env, &stand_ins, &defaults)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    println!("{}", report.render());
    eprintln!("{}", report.render());
}

#[tokio::test]
async fn sandboxed_setup_migrates_a_declared_plugin_and_the_server_serves_its_api() {
    let (ctx, env) = require!(systemd_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let (_, template) = cold(&ctx, &env).await;
    let stand_ins = stand_ins(&ctx, &env).await;
    let plan = plan(&ctx, "plugins").await;
    let report = plugins::plugins(&ctx.flake_dir, &env, &stand_ins, &plan, &template)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    println!("{}", report.render());
    eprintln!("{}", report.render());
}

#[tokio::test]
async fn the_sandboxed_worker_delivers_mail_with_the_credential_and_system_health_is_true() {
    let (ctx, env) = require!(systemd_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let (_, template) = cold(&ctx, &env).await;
    let stand_ins = stand_ins(&ctx, &env).await;
    let plan = plan(&ctx, "email").await;
    let report = email::email(&ctx.flake_dir, &env, &stand_ins, &plan, &template)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    println!("{}", report.render());
    eprintln!("{}", report.render());
}

#[tokio::test]
async fn a_killed_redis_leaves_the_api_answering_and_neither_its_return_nor_its_restart_restarts_inventree(
) {
    let (ctx, env) = require!(systemd_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let (_, template) = cold(&ctx, &env).await;
    let stand_ins = stand_ins(&ctx, &env).await;
    let plan = plan(&ctx, "redis-cache").await;
    let report = cache_down::cache_down(&ctx.flake_dir, &env, &stand_ins, &plan, &template)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    println!("{}", report.render());
    eprintln!("{}", report.render());
}
