//! Host tier: InvenTree run exactly as the module configures it, as local processes on loopback.
//! Each scenario is one test. They skip (passing, with the reason) without an InvenTree source
//! tree and a Python with its dependencies (`--inventree-src`/`--python` equivalents:
//! INVENTREE_HARNESS_SRC, INVENTREE_HARNESS_PYTHON, or `[host]` in the user config file).
//!
//! The plans (what the units run) come from evaluating the fixtures in one nix process when the
//! eval tier can run, else from the plans recorded under tests/data/host/; every test prints which.
//! Scenarios run one at a time (each starts a full InvenTree); the ones that are not about a
//! first start share one migrated template database (see `host::scenarios`).

use std::{path::PathBuf, time::Duration};

use inventree_harness::{
    context::Context,
    host::{self, plan, scenarios, HostEnv, HostPlan},
    printing,
    process::{self, Spec},
    require,
    tiers::{Skip, Tier},
};
use tokio::sync::{Mutex, OnceCell};

/// One InvenTree at a time: two cores, and each instance forks several workers.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());
static PLANS: OnceCell<Result<Vec<HostPlan>, String>> = OnceCell::const_new();
static TEMPLATE: OnceCell<Result<scenarios::Template, String>> = OnceCell::const_new();

async fn host_env() -> Result<(Context, HostEnv), Skip> {
    let ctx = Context::for_tests().map_err(|e| Skip::new(Tier::Host, format!("{e:#}")))?;
    let env = host::host_prerequisites(&ctx).await?;
    let env = env
        .prepared(&ctx.flake_dir)
        .await
        .unwrap_or_else(|e| panic!("preparing the tree like pkgs/src.nix: {e:#}"));
    Ok((ctx, env))
}

async fn plan(ctx: &Context, fixture: &str) -> HostPlan {
    let plans = PLANS
        .get_or_init(|| async {
            match plan::load(ctx, plan::FIXTURES).await {
                Ok((plans, origin)) => {
                    println!("host tier: {origin}");
                    eprintln!("host tier: {origin}");
                    Ok(plans)
                }
                Err(e) => Err(format!("{e:#}")),
            }
        })
        .await;
    let plans = plans
        .as_ref()
        .unwrap_or_else(|e| panic!("loading the plans: {e}"));
    plans
        .iter()
        .find(|p| p.fixture == fixture)
        .cloned()
        .unwrap_or_else(|| panic!("no plan for fixture {fixture}"))
}

async fn template(ctx: &Context, env: &HostEnv) -> scenarios::Template {
    let defaults = plan(ctx, "defaults-sqlite").await;
    TEMPLATE
        .get_or_init(|| async {
            // One fixed place under target/, replaced by each test run: nothing accumulates.
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("host-template");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            scenarios::migrated_template(env, &defaults, &dir)
                .await
                .map_err(|e| format!("{e:#}"))
        })
        .await
        .clone()
        .unwrap_or_else(|e| panic!("making the migrated template: {e}"))
}

fn show(report: &scenarios::ScenarioReport) {
    println!("{}", report.render());
    eprintln!("{}", report.render());
}

#[tokio::test]
async fn defaults_setup_migrates_api_answers_and_worker_completes_a_task() {
    let (ctx, env) = require!(host_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let plan = plan(&ctx, "defaults-sqlite").await;
    let report = scenarios::defaults(&env, &plan)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

#[tokio::test]
async fn users_get_tokens_rotate_passwords_and_a_second_setup_changes_nothing() {
    let (ctx, env) = require!(host_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let template = template(&ctx, &env).await;
    let plan = plan(&ctx, "users").await;
    let report = scenarios::users(&env, &plan, &template)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

#[tokio::test]
async fn restart_keeps_data_and_skips_migrations() {
    let (ctx, env) = require!(host_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let template = template(&ctx, &env).await;
    let plan = plan(&ctx, "defaults-sqlite").await;
    let report = scenarios::restart(&env, &plan, &template)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

#[tokio::test]
async fn a_part_label_and_a_stock_item_report_print_as_pdfs_showing_the_part() {
    let (ctx, env) = require!(host_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let template = template(&ctx, &env).await;
    let plan = plan(&ctx, "defaults-sqlite").await;
    let report = scenarios::printing(&env, &plan, &template)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

/// The PDF check of the printing scenarios, on a PDF WeasyPrint renders here: a name the
/// layout broke across lines is found, a missing one is named.
#[tokio::test]
async fn pdf_check_finds_text_broken_across_lines_and_names_missing_text() {
    let (_ctx, env) = require!(host_env().await);
    let dir = tempfile::tempdir().expect("temp dir");
    let pdf = dir.path().join("label.pdf");
    let render = format!(
        "import weasyprint; weasyprint.HTML(string=\"<div style='width:3em'>Printed resistor host-tier</div>\").write_pdf('{}')",
        pdf.display()
    );
    process::run(
        &Spec::new(&env.python).args(["-c", &render]),
        Duration::from_secs(120),
    )
    .await
    .expect("running weasyprint")
    .require_success()
    .expect("weasyprint rendered");
    let printed = printing::Printed {
        what: "part label",
        template: "narrow".into(),
        media_path: "label.pdf".into(),
        expected: vec!["Printed resistor host-tier".into()],
        elapsed: Duration::ZERO,
    };
    let text = printing::pdf_text(&env.python, &pdf)
        .await
        .expect("pdf text");
    assert!(
        text.trim().lines().count() > 1,
        "not broken across lines: {text:?}"
    );
    printing::check_pdf(&env.python, dir.path(), &printed)
        .await
        .expect("the name is found across line breaks");
    let missing = printing::Printed {
        expected: vec!["Capacitor".into()],
        ..printed
    };
    let err = printing::check_pdf(&env.python, dir.path(), &missing)
        .await
        .expect_err("a missing name is an error");
    assert!(
        format!("{err:#}").contains("does not show \"Capacitor\""),
        "{err:#}"
    );
}

#[tokio::test]
async fn configured_email_makes_the_system_healthy_and_a_test_mail_arrives_authenticated_by_the_credential(
) {
    let (ctx, env) = require!(host_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let template = template(&ctx, &env).await;
    let plan = plan(&ctx, "email").await;
    let report = host::email::email(&env, &plan, &template)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

#[tokio::test]
async fn a_declared_plugin_from_pypi_is_migrated_active_and_serves_its_api_and_a_broken_one_stops_setup(
) {
    let (ctx, env) = require!(host_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let template = template(&ctx, &env).await;
    let plan = plan(&ctx, "plugins").await;
    let workspace = host::plugins::workspace(&ctx.flake_dir);
    let report = host::plugins::plugins(&env, &plan, &template, &workspace)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

#[tokio::test]
async fn the_api_keeps_answering_while_the_redis_cache_is_down_and_the_worker_resumes_when_it_is_back(
) {
    let (ctx, env) = require!(host_env().await);
    require!(host::redis::find().map_err(|e| Skip::new(Tier::Host, format!("{e:#}"))));
    let _one = ONE_AT_A_TIME.lock().await;
    let template = template(&ctx, &env).await;
    let plan = plan(&ctx, "redis-cache").await;
    let report = host::cache_down::cache_down(&env, &plan, &template)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

#[tokio::test]
async fn uploads_behind_the_module_nginx_reach_logged_in_users_only_and_api_and_static_pass_through(
) {
    let (ctx, env) = require!(host_env().await);
    require!(host::nginx::find().map_err(|e| Skip::new(Tier::Host, format!("{e:#}"))));
    let _one = ONE_AT_A_TIME.lock().await;
    let template = template(&ctx, &env).await;
    let plan = plan(&ctx, "nginx").await;
    let report = host::nginx_media::media_behind_nginx(&env, &plan, &template)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

#[tokio::test]
async fn dead_worker_is_reported_unhealthy_and_its_pending_task_runs_after_restart() {
    let (ctx, env) = require!(host_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let template = template(&ctx, &env).await;
    let plan = plan(&ctx, "defaults-sqlite").await;
    let report = scenarios::worker_death(&env, &plan, &template)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

#[tokio::test]
async fn setup_killed_with_sigkill_during_the_first_migration_completes_it_on_the_next_setup() {
    let (ctx, env) = require!(host_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let plan = plan(&ctx, "defaults-sqlite").await;
    let report = host::migration_killed::migration_killed(&env, &plan)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

#[tokio::test]
async fn an_unwritable_media_directory_stops_setup_naming_it_with_nothing_lost_and_inventree_returns_once_it_is_writable(
) {
    let (ctx, env) = require!(host_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let plan = plan(&ctx, "defaults-sqlite").await;
    let template = template(&ctx, &env).await;
    let report = host::media_unwritable::media_unwritable(&env, &plan, &template)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

#[tokio::test]
async fn missing_or_unreadable_password_file_stops_setup_naming_it_before_writing() {
    let (ctx, env) = require!(host_env().await);
    let _one = ONE_AT_A_TIME.lock().await;
    let plan = plan(&ctx, "users").await;
    let report = scenarios::bad_input(&env, &plan)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

#[tokio::test]
async fn two_nodes_set_up_at_once_on_one_postgresql_one_migrates_the_other_waits_on_the_lock_and_both_serve(
) {
    let (ctx, env) = require!(host_env().await);
    if let Some(why) = scenarios::postgres_unavailable(&env).await {
        require!(Err::<(), _>(Skip::new(Tier::Host, why)));
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let plan = plan(&ctx, "postgresql-local").await;
    let report = host::two_nodes::two_nodes(&env, &plan)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

#[tokio::test]
async fn web_and_worker_nodes_share_postgresql_redis_and_media_and_survive_a_dead_worker_node_and_redis_down(
) {
    let (ctx, env) = require!(host_env().await);
    if let Some(why) = scenarios::postgres_unavailable(&env).await {
        require!(Err::<(), _>(Skip::new(Tier::Host, why)));
    }
    require!(host::redis::find().map_err(|e| Skip::new(Tier::Host, format!("{e:#}"))));
    require!(host::nginx::find().map_err(|e| Skip::new(Tier::Host, format!("{e:#}"))));
    let _one = ONE_AT_A_TIME.lock().await;
    let vhost = plan(&ctx, "nginx")
        .await
        .nginx
        .expect("the nginx fixture's virtual host");
    let nodes = plan(&ctx, "multi-node").await;
    let report = host::nodes::web_and_worker_nodes(&env, &nodes, &vhost)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

#[tokio::test]
async fn a_bounded_load_through_nginx_on_one_and_on_two_web_nodes_completes_without_errors() {
    let (ctx, env) = require!(host_env().await);
    if let Some(why) = scenarios::postgres_unavailable(&env).await {
        require!(Err::<(), _>(Skip::new(Tier::Host, why)));
    }
    require!(host::redis::find().map_err(|e| Skip::new(Tier::Host, format!("{e:#}"))));
    require!(host::nginx::find().map_err(|e| Skip::new(Tier::Host, format!("{e:#}"))));
    let _one = ONE_AT_A_TIME.lock().await;
    let nodes = plan(&ctx, "multi-node").await;
    let vhost = plan(&ctx, "nginx")
        .await
        .nginx
        .expect("the nginx fixture's virtual host");
    let spec = |requests| host::load::LoadSpec {
        requests,
        concurrency: 4,
        limit: Duration::from_secs(120),
    };
    let bench = host::bench_nodes::bench_nodes(&env, &nodes, &vhost, spec(120), spec(40))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    println!("{}", bench.render());
    eprintln!("{}", bench.render());
    let measured: Vec<(usize, &str, usize)> = bench
        .rows
        .iter()
        .map(|r| (r.web_nodes, r.endpoint, r.result.latencies.len()))
        .collect();
    assert_eq!(
        measured,
        [
            (1, host::bench_nodes::LIST, 120),
            (1, host::bench_nodes::WRITE, 40),
            (2, host::bench_nodes::LIST, 120),
            (2, host::bench_nodes::WRITE, 40)
        ],
        "every request of every run answered with a success:\n{}",
        bench.render()
    );
    assert_eq!(bench.errors(), 0, "{}", bench.render());
}

#[tokio::test]
async fn postgresql_down_at_start_makes_setup_wait_saying_so_then_runs_end_to_end_on_a_local_socket(
) {
    let (ctx, env) = require!(host_env().await);
    if let Some(why) = scenarios::postgres_unavailable(&env).await {
        require!(Err::<(), _>(Skip::new(
            Tier::Host,
            format!("PostgreSQL scenario: {why}")
        )));
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let plan = plan(&ctx, "postgresql-local").await;
    let report = host::postgresql::postgresql(&env, &plan)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    show(&report);
}

#[tokio::test]
async fn recorded_plans_are_what_the_eval_renders_now() {
    let ctx = match Context::for_tests() {
        Ok(ctx) => ctx,
        Err(e) => {
            require!(Err::<(), _>(Skip::new(Tier::Eval, format!("{e:#}"))));
            return;
        }
    };
    let env = require!(inventree_harness::eval::prerequisites::eval_prerequisites(&ctx).await);
    let plans = plan::evaluate(&ctx, &env, plan::FIXTURES)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let dir = plan::recorded_dir(&ctx);
    let update = std::env::var_os("INVENTREE_HARNESS_UPDATE_PLANS").is_some();
    for plan in &plans {
        let rendered = plan::render_recorded(plan).unwrap();
        let file = dir.join(format!("{}.json", plan.fixture));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&file, &rendered).unwrap();
            continue;
        }
        let recorded = std::fs::read_to_string(&file).unwrap_or_default();
        assert_eq!(
            recorded,
            rendered,
            "{} is stale: re-record with INVENTREE_HARNESS_UPDATE_PLANS=1 cargo test --test host recorded_plans",
            file.display()
        );
    }
}

/// Runs everywhere (no Nix, no InvenTree): every recorded plan lays out under its own root with
/// nothing pointing outside it, the store paths replaced, and the server rebound.
#[test]
fn recorded_plans_lay_out_entirely_under_the_instance_root() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/host");
    for fixture in plan::FIXTURES {
        let plan = plan::read_recorded(&dir, fixture).unwrap();
        let root = tempfile::tempdir().unwrap();
        let src = PathBuf::from("/somewhere/InvenTree");
        let layout = host::layout::lay_out(&plan, root.path(), &src, None, 4242).unwrap();
        for (name, value) in &layout.environment {
            assert!(!value.contains("/nix/store/"), "{fixture}: {name}={value}");
            assert!(
                !value.starts_with("/var/") && !value.starts_with("/run/"),
                "{fixture}: {name}={value} escapes the root"
            );
        }
        assert_eq!(layout.environment["INVENTREE_SRC"], "/somewhere/InvenTree");
        let config = std::fs::read_to_string(&layout.config_source).unwrap();
        assert!(
            !config.contains("\"/var/") && !config.contains("\"/run/"),
            "{fixture}: {config}"
        );
        let bind = layout
            .server_argv
            .iter()
            .position(|a| a == "--bind")
            .unwrap();
        assert_eq!(layout.server_argv[bind + 1], "127.0.0.1:4242");
        assert!(layout.data_dir.starts_with(root.path()) && layout.data_dir.is_dir());
        for name in plan.internal.credentials.keys() {
            assert!(
                layout.credential_path(name).is_file(),
                "{fixture}: credential {name}"
            );
        }
    }
}
