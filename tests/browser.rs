//! The browser tier: InvenTree started by the host tier exactly as the module runs it, static
//! files deployed by the module's setup program and served by gunicorn + whitenoise, checked in
//! a real Chromium — and two broken deployments the check must catch, naming the step.
//!
//! Skips (passing, with the reason) without Chromium + chromedriver, without the host tier's
//! tree and Python, or without a built frontend (`scripts/build-frontend`, then
//! `INVENTREE_HARNESS_UI_SRC` or `[browser] inventree_src`).
//!
//! The scenarios run one at a time (each starts InvenTree and Chromium) and share one migrated
//! database and one collected static tree. Screenshots stay in
//! `target/tmp/browser-runs/<scenario>/`.

use std::path::PathBuf;
use std::sync::Arc;

use inventree_harness::browser::report::{Report, Step};
use inventree_harness::browser::tier::{self, BrowserEnv, Deployment, Prepared};
use inventree_harness::context::Context;
use inventree_harness::host::HostPlan;
use inventree_harness::require;
use tokio::sync::{Mutex, OnceCell};

/// One scenario at a time: each runs InvenTree and Chromium.
static SERIAL: Mutex<()> = Mutex::const_new(());
/// Made by the first scenario, shared by the others.
static SHARED: OnceCell<Arc<Shared>> = OnceCell::const_new();

struct Shared {
    plans: Vec<HostPlan>,
    prepared: Prepared,
}

fn target_tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

async fn shared(env: &BrowserEnv, ctx: &Context) -> Arc<Shared> {
    SHARED
        .get_or_init(|| async {
            let plans = tier::plans(ctx).await.expect("fixture plans");
            let defaults = plans
                .iter()
                .find(|p| p.fixture == "defaults-sqlite")
                .expect("a plan for defaults-sqlite");
            let prepared = tier::prepare(env, defaults, Some(&target_tmp("browser-template")))
                .await
                .expect("migrated template and collected static files");
            eprintln!(
                "template (migrate + collectstatic): {:.0} s",
                prepared.seconds
            );
            Arc::new(Shared { plans, prepared })
        })
        .await
        .clone()
}

/// Run one scenario; `None` when the tier's prerequisites are missing (reported as a skip).
async fn run(fixture: &str, how: Deployment) -> Option<Report> {
    let _one_at_a_time = SERIAL.lock().await;
    let ctx = Context::for_tests().expect("test context");
    let env = require!(tier::browser_prerequisites(&ctx).await)
        .prepared(&ctx.flake_dir)
        .await
        .expect("preparing the frontend tree like pkgs/src.nix");
    let shared = shared(&env, &ctx).await;
    let run_dir = target_tmp("browser-runs").join(format!("{fixture}-{how:?}").to_lowercase());
    let _ = std::fs::remove_dir_all(&run_dir);
    let report = tier::scenario(
        &env,
        &shared.plans,
        &shared.prepared,
        fixture,
        how,
        &run_dir,
    )
    .await
    .expect("the scenario ran");
    eprint!("{}", report.render());
    Some(report)
}

fn assert_screenshots(report: &Report) {
    for step in &report.steps {
        if step.step == Step::ApiPart {
            continue;
        }
        let name = step
            .screenshot
            .as_deref()
            .expect("a screenshot for each browser step");
        let png = PathBuf::from(&report.run_dir).join(name);
        let len = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
        assert!(
            len > 1000,
            "screenshot {} is missing or empty",
            png.display()
        );
    }
}

#[tokio::test]
async fn the_default_fixture_works_in_a_browser() {
    let Some(report) = run("defaults-sqlite", Deployment::Correct).await else {
        return;
    };
    assert!(report.passed, "{}", report.render());
    assert_eq!(report.steps.len(), Step::ALL.len());
    assert_screenshots(&report);
}

#[tokio::test]
async fn a_declared_user_of_the_users_fixture_logs_in_and_works_in_a_browser() {
    let Some(report) = run("users", Deployment::Correct).await else {
        return;
    };
    assert!(report.passed, "{}", report.render());
    assert_eq!(report.user, "admin", "the fixture's declared superuser");
    assert_screenshots(&report);
}

#[tokio::test]
async fn missing_static_files_fail_the_check_at_the_login_page() {
    let Some(report) = run("defaults-sqlite", Deployment::StaticMissing).await else {
        return;
    };
    assert_eq!(
        report.failed_step,
        Some(Step::LoginPage),
        "{}",
        report.render()
    );
    let detail = &report.steps[0].detail;
    assert!(
        detail.contains("app scripts not served"),
        "the failure names the scripts: {detail}"
    );
    assert_screenshots(&report);
}

#[tokio::test]
async fn a_site_url_other_than_the_address_used_fails_the_check_at_the_login_page() {
    // The users fixture declares https://inventree.example.org; the browser uses 127.0.0.1.
    let Some(report) = run("users", Deployment::SiteUrlMismatch).await else {
        return;
    };
    assert_eq!(
        report.failed_step,
        Some(Step::LoginPage),
        "{}",
        report.render()
    );
    let detail = &report.steps[0].detail;
    assert!(
        detail.contains("INVE-E7") && detail.contains("SITE_URL"),
        "the failure shows InvenTree's site URL error: {detail}"
    );
}
