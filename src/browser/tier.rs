//! The browser tier: the browser check run against host-tier instances (InvenTree started as the
//! module configures it, static files deployed by the module's setup program and served by
//! gunicorn + whitenoise), on the fixtures, and on two broken deployments it must catch.
//!
//! Needs the host tier's prerequisites, Chromium + chromedriver, and an InvenTree tree whose
//! frontend is built (`scripts/build-frontend`), from `[browser] inventree_src` /
//! `INVENTREE_HARNESS_UI_SRC`, else the host tier's tree.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use super::chrome::{self, BrowserTools};
use super::report::{Report, Step};
use super::CheckOptions;
use crate::context::Context;
use crate::host::scenarios::Template;
use crate::host::{host_prerequisites, plan, HostEnv, HostPlan, Instance};
use crate::probe::Credentials;
use crate::process::{self, Spec};
use crate::tiers::{Prerequisite, Skip, Tier, TierOutcome, TierRunner};
use crate::util::copy_file;

/// The fixtures the browser tier runs on.
pub const FIXTURES: &[&str] = &["defaults-sqlite", "users"];
/// Budget for server and worker to become healthy after start.
const HEALTHY_BUDGET: Duration = Duration::from_secs(180);
/// Step deadline in the scenarios that must fail: long enough for a loaded machine, short
/// enough that the failure does not dominate the run.
const FAILING_STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// What the tier found.
#[derive(Debug, Clone)]
pub struct BrowserEnv {
    /// The host tier's environment, with `src` the tree whose frontend is built.
    pub host: HostEnv,
    pub tools: BrowserTools,
    pub described: String,
}

impl BrowserEnv {
    /// The same environment on the frontend tree prepared like `pkgs/src.nix` (see
    /// `HostEnv::prepared`).
    pub async fn prepared(mut self, flake_dir: &Path) -> anyhow::Result<BrowserEnv> {
        self.host = self.host.prepared(flake_dir).await?;
        Ok(self)
    }
}

/// The manifest the built frontend leaves in the tree; InvenTree's `/web/` page reads it.
pub fn frontend_manifest(src: &Path) -> PathBuf {
    src.join("src/backend/InvenTree/web/static/web/.vite/manifest.json")
}

pub async fn browser_prerequisites(ctx: &Context) -> Prerequisite<BrowserEnv> {
    let skip = |reason: String| Skip::new(Tier::Browser, reason);
    let tools = chrome::locate_tools(None, None).map_err(|e| skip(format!("{e:#}")))?;
    let mut host = host_prerequisites(ctx)
        .await
        .map_err(|s| skip(format!("needs the host tier: {}", s.reason)))?;
    let (src, from) = match &ctx.overrides.ui_src {
        Some(ui) => (ui.value.clone(), ui.source.to_string()),
        None => (host.src.clone(), "the host tier's tree".to_string()),
    };
    if !crate::host::prerequisites::manage_py(&src).is_file() {
        return Err(skip(format!(
            "{} (from {from}) is not an InvenTree source tree",
            src.display()
        )));
    }
    if !frontend_manifest(&src).is_file() {
        return Err(skip(format!(
            "no built frontend in {} (from {from}): no {}; build one in a writable copy with \
             scripts/build-frontend and point {} or [browser] inventree_src at it",
            src.display(),
            frontend_manifest(&src).display(),
            crate::overrides::ENV_UI_SRC
        )));
    }
    host.src = src.clone();
    let described = format!(
        "Chromium {}, chromedriver {}; InvenTree tree with built frontend {} ({from}); {}",
        tools.chromium.display(),
        tools.chromedriver.display(),
        src.display(),
        host.python.display()
    );
    Ok(BrowserEnv {
        host,
        tools,
        described,
    })
}

/// Made once per run: a migrated database and static files collected by the module's setup
/// program (`collectstatic`), which later instances receive as `INVENTREE_STATIC_SOURCE`
/// (exactly how the module deploys static files collected at build time).
pub struct Prepared {
    /// The migrated database and the secret key that signed what it holds.
    pub template: Template,
    pub static_source: PathBuf,
    pub seconds: f64,
    /// Removed on drop when the template lives in a temporary directory.
    _temp: Option<tempfile::TempDir>,
}

/// Prepare the template in `dir`, or in a temporary directory. A template already in `dir` made
/// from the same built frontend is reused (setup still applies any migration it lacks).
pub async fn prepare(
    env: &BrowserEnv,
    plan: &HostPlan,
    dir: Option<&Path>,
) -> anyhow::Result<Prepared> {
    let started = Instant::now();
    let made_from = template_key(&env.host.src, &env.host.runtime_dir)?;
    let (temp, dir) = match dir {
        Some(dir) => {
            let reusable = Prepared::in_dir(dir, None, 0.0);
            if reusable.is_complete()
                && std::fs::read_to_string(dir.join(MADE_FROM)).ok().as_deref()
                    == Some(made_from.as_str())
            {
                return Ok(reusable);
            }
            if dir.exists() {
                std::fs::remove_dir_all(dir)
                    .with_context(|| format!("emptying {}", dir.display()))?;
            }
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            (None, dir.to_path_buf())
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("inventree-browser-template.")
                .tempdir()
                .context("creating the template directory")?;
            let path = temp.path().to_path_buf();
            (Some(temp), path)
        }
    };
    let instance = Instance::create(&env.host, plan)?;
    instance
        .setup_ok()
        .await
        .context("first setup (migrations, collectstatic)")?;
    let db = instance
        .sqlite_file()
        .context("the template fixture must use SQLite")?;
    copy_file(&db, &dir.join("template.sqlite3"))
        .await
        .context("keeping the template database")?;
    if let Some(key) = instance.secret_key_file().filter(|k| k.is_file()) {
        copy_file(&key, &dir.join("secret_key.txt"))
            .await
            .context("keeping the secret key")?;
    }
    let static_root = static_root(&instance)?;
    // collectstatic skips dot-directories (the .vite manifest stays in the tree, where the
    // /web/ page reads it); the app's index.html is what must have arrived.
    if !static_root.join("web/index.html").is_file() {
        bail!(
            "setup collected no frontend into {}: is the frontend in {} built?",
            static_root.display(),
            env.host.src.display()
        );
    }
    copy_tree(&static_root, &dir.join("static")).await?;
    std::fs::write(dir.join(MADE_FROM), &made_from)
        .context("recording what the template was made from")?;
    Ok(Prepared::in_dir(
        &dir,
        temp,
        started.elapsed().as_secs_f64(),
    ))
}

/// File in the template directory naming what the template was made from (`template_key`).
const MADE_FROM: &str = "made-from";

/// What a template depends on besides the fixture: the built frontend (its manifest) and the
/// setup program that migrated the database (every `inventree_runtime` source), so a template
/// made by an older setup is not reused after setup learnt a step (such as storing the settings
/// defaults). A cache key only: `DefaultHasher` may differ between Rust releases, which at worst
/// rebuilds the template once.
fn template_key(src: &Path, runtime_dir: &Path) -> anyhow::Result<String> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let manifest = frontend_manifest(src);
    std::fs::read(&manifest)
        .with_context(|| format!("reading {}", manifest.display()))?
        .hash(&mut hasher);
    let package = runtime_dir.join("inventree_runtime");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&package)
        .with_context(|| format!("listing {}", package.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "py"))
        .collect();
    sources.sort();
    for source in sources {
        source.file_name().hash(&mut hasher);
        std::fs::read(&source)
            .with_context(|| format!("reading {}", source.display()))?
            .hash(&mut hasher);
    }
    Ok(format!("{:016x}", hasher.finish()))
}

impl Prepared {
    fn in_dir(dir: &Path, temp: Option<tempfile::TempDir>, seconds: f64) -> Self {
        let key = dir.join("secret_key.txt");
        Prepared {
            template: Template {
                database: dir.join("template.sqlite3"),
                secret_key: key.is_file().then_some(key),
            },
            static_source: dir.join("static"),
            seconds,
            _temp: temp,
        }
    }

    fn is_complete(&self) -> bool {
        // The key signed the queued tasks in the database: without it InvenTree cannot start.
        self.template.database.is_file()
            && self.template.secret_key.is_some()
            && self.static_source.join("web/index.html").is_file()
    }
}

fn static_root(instance: &Instance) -> anyhow::Result<PathBuf> {
    instance
        .settings()
        .get("static_root")
        .and_then(|v| v.as_str())
        .map(PathBuf::from)
        .context("the rendered config has no static_root")
}

async fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    let cp = Spec::new("cp")
        .arg("-a")
        .arg(from.display().to_string())
        .arg(to.display().to_string());
    process::run(&cp, Duration::from_secs(300))
        .await?
        .require_success()?;
    Ok(())
}

/// How a scenario deploys the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    /// Site URL = the address the browser uses; static files deployed by setup.
    Correct,
    /// As `Correct`, then the deployed static files removed before the server starts.
    StaticMissing,
    /// The fixture's own site URL, while the browser uses the loopback address.
    SiteUrlMismatch,
}

/// A running instance and who to log in as.
pub struct Started {
    pub instance: Instance,
    pub user: String,
    pub password: String,
}

/// Start an instance of `plan` deployed as `how`, server and worker healthy.
pub async fn start(
    env: &BrowserEnv,
    plan: &HostPlan,
    prepared: &Prepared,
    how: Deployment,
) -> anyhow::Result<Started> {
    let mut instance = Instance::create(&env.host, plan)?;
    instance.copy_template(&prepared.template).await?;
    let environment = &mut instance.layout.environment;
    environment.insert(
        "INVENTREE_STATIC_SOURCE".into(),
        prepared.static_source.display().to_string(),
    );
    if how != Deployment::SiteUrlMismatch {
        let url = instance.url();
        instance
            .layout
            .environment
            .insert("INVENTREE_SITE_URL".into(), url);
    }
    instance.setup_ok().await?;
    if how == Deployment::StaticMissing {
        let web = static_root(&instance)?.join("web");
        std::fs::remove_dir_all(&web)
            .with_context(|| format!("removing the deployed frontend {}", web.display()))?;
    }
    let credentials = instance.probe_credentials().await?;
    instance.start()?;
    let report = instance.wait_healthy(&credentials, HEALTHY_BUDGET).await?;
    if !report.verdict.is_healthy() {
        bail!(
            "{}: not healthy within {} s:\n{}",
            plan.fixture,
            HEALTHY_BUDGET.as_secs(),
            report.render_human()
        );
    }
    warm_up(&instance.url()).await;
    let Credentials::Password { username, password } = credentials else {
        bail!("the host tier gave a token, the browser needs a user and password");
    };
    Ok(Started {
        instance,
        user: username,
        password,
    })
}

/// Send every gunicorn worker a few requests, concurrently, before the browser arrives: a user
/// does not meet a worker on its very first request in production either, and a cold worker
/// on a loaded machine is what the first minutes after start consist of.
async fn warm_up(url: &str) {
    let Ok(http) = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
    else {
        return;
    };
    for _ in 0..3 {
        let handles: Vec<_> = (0..8)
            .flat_map(|_| ["web/login", "api/", "api/auth/v1/auth/session"])
            .map(|path| {
                let request = http.get(format!("{}/{path}", url.trim_end_matches('/')));
                tokio::spawn(request.send())
            })
            .collect();
        for handle in handles {
            let _ = handle.await;
        }
    }
}

/// Run the browser check against a started instance; screenshots go to `run_dir`.
pub async fn check(
    env: &BrowserEnv,
    started: &Started,
    run_dir: &Path,
    step_timeout: Duration,
) -> anyhow::Result<Report> {
    let url = started.instance.url().parse().context("instance URL")?;
    let mut opts = CheckOptions::new(
        url,
        &started.user,
        &started.password,
        run_dir.to_path_buf(),
        env.tools.clone(),
    );
    opts.step_timeout = step_timeout;
    super::run(&opts).await
}

/// One scenario: deploy `fixture` as `how`, run the check, stop everything.
pub async fn scenario(
    env: &BrowserEnv,
    plans: &[HostPlan],
    prepared: &Prepared,
    fixture: &str,
    how: Deployment,
    run_dir: &Path,
) -> anyhow::Result<Report> {
    let plan = plans
        .iter()
        .find(|p| p.fixture == fixture)
        .with_context(|| format!("no plan for fixture {fixture}"))?;
    let mut started = start(env, plan, prepared, how).await?;
    let step_timeout = match how {
        Deployment::Correct => Duration::from_secs(60),
        _ => FAILING_STEP_TIMEOUT,
    };
    let report = check(env, &started, run_dir, step_timeout).await;
    started.instance.stop().await?;
    report
}

/// What each deployment must produce: `None` a pass, `Some(step)` a failure at that step.
pub fn expected_failure(how: Deployment) -> Option<Step> {
    match how {
        Deployment::Correct => None,
        // The page loads, the app's scripts do not: no login form.
        Deployment::StaticMissing => Some(Step::LoginPage),
        // InvenTree answers /web/ with its configuration error INVE-E7.
        Deployment::SiteUrlMismatch => Some(Step::LoginPage),
    }
}

/// Whether `report` is what `how` must produce; the message says what differed.
pub fn verdict_matches(how: Deployment, report: &Report) -> anyhow::Result<()> {
    match (expected_failure(how), report.failed_step) {
        (None, None) => Ok(()),
        (expected, got) => {
            if expected == got {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "{how:?}: expected {}, got {}:\n{}",
                    expected
                        .map(|s| format!("a failure at {}", s.id()))
                        .unwrap_or_else(|| "a pass".into()),
                    got.map(|s| format!("a failure at {}", s.id()))
                        .unwrap_or_else(|| "a pass".into()),
                    report.render()
                ))
            }
        }
    }
}

/// The plans the tier needs (evaluated, or recorded when evaluation is unavailable).
pub async fn plans(ctx: &Context) -> anyhow::Result<Vec<HostPlan>> {
    let (plans, origin) = plan::load(ctx, FIXTURES).await?;
    eprintln!("   {origin}");
    Ok(plans)
}

/// `check`'s entry for the browser tier.
pub fn tier_runner() -> TierRunner {
    TierRunner {
        tier: Tier::Browser,
        prerequisites: |ctx| {
            Box::pin(async move { browser_prerequisites(ctx).await.map(|env| env.described) })
        },
        run: |ctx| Box::pin(run_tier(ctx)),
    }
}

async fn run_tier(ctx: &Context) -> TierOutcome {
    run_all(ctx).await.into()
}

/// Every scenario in turn; screenshots under one kept run directory.
pub async fn run_all(ctx: &Context) -> anyhow::Result<String> {
    let started = Instant::now();
    let env = browser_prerequisites(ctx)
        .await
        .map_err(|skip| anyhow::anyhow!("{skip}"))?
        .prepared(&ctx.flake_dir)
        .await?;
    let plans = plans(ctx).await?;
    let defaults = plans
        .iter()
        .find(|p| p.fixture == "defaults-sqlite")
        .context("no plan for defaults-sqlite")?;
    let prepared = prepare(&env, defaults, None).await?;
    let runs = super::default_run_dir()?;
    let mut lines = Vec::new();
    for (fixture, how) in [
        ("defaults-sqlite", Deployment::Correct),
        ("users", Deployment::Correct),
        ("defaults-sqlite", Deployment::StaticMissing),
        ("users", Deployment::SiteUrlMismatch),
    ] {
        let dir = runs.join(format!("{fixture}-{how:?}").to_lowercase());
        let report = scenario(&env, &plans, &prepared, fixture, how, &dir).await?;
        eprint!("{}", report.render());
        verdict_matches(how, &report)?;
        lines.push(format!("{fixture}/{how:?} {:.0} s", report.seconds));
    }
    Ok(format!(
        "{}; template {:.0} s; {:.0} s in all; screenshots in {}",
        lines.join(", "),
        prepared.seconds,
        started.elapsed().as_secs_f64(),
        runs.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::browser::report::StepResult;

    fn report(failed: Option<Step>) -> Report {
        Report {
            url: "http://127.0.0.1:1/".into(),
            user: "admin".into(),
            run_dir: "/tmp/x".into(),
            passed: failed.is_none(),
            failed_step: failed,
            steps: failed
                .map(|step| {
                    vec![StepResult {
                        step,
                        passed: false,
                        seconds: 1.0,
                        detail: "x".into(),
                        screenshot: None,
                    }]
                })
                .unwrap_or_default(),
            skipped: vec![],
            notes: vec![],
            seconds: 1.0,
        }
    }

    #[test]
    fn a_correct_deployment_must_pass() {
        assert!(verdict_matches(Deployment::Correct, &report(None)).is_ok());
        assert!(verdict_matches(Deployment::Correct, &report(Some(Step::Login))).is_err());
    }

    #[test]
    fn broken_deployments_must_fail_at_the_login_page() {
        for how in [Deployment::StaticMissing, Deployment::SiteUrlMismatch] {
            assert!(verdict_matches(how, &report(Some(Step::LoginPage))).is_ok());
            let err = verdict_matches(how, &report(None)).unwrap_err().to_string();
            assert!(
                err.contains("expected a failure at login-page, got a pass"),
                "{err}"
            );
        }
    }

    /// A tree with a built frontend's manifest and a runtime package of two sources.
    fn template_inputs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temporary directory");
        let manifest = frontend_manifest(&dir.path().join("src"));
        std::fs::create_dir_all(manifest.parent().expect("manifest has a parent")).expect("mkdir");
        std::fs::write(&manifest, "{}").expect("manifest");
        let package = dir.path().join("runtime/inventree_runtime");
        std::fs::create_dir_all(&package).expect("mkdir");
        std::fs::write(package.join("setup.py"), "migrate()").expect("source");
        std::fs::write(package.join("users.py"), "apply()").expect("source");
        dir
    }

    fn key_of(dir: &Path) -> String {
        template_key(&dir.join("src"), &dir.join("runtime")).expect("template key")
    }

    #[test]
    fn template_key_is_stable_while_frontend_and_setup_program_are_unchanged() {
        let dir = template_inputs();
        assert_eq!(key_of(dir.path()), key_of(dir.path()));
    }

    #[test]
    fn template_made_by_an_older_setup_program_is_not_reused() {
        let dir = template_inputs();
        let before = key_of(dir.path());
        let setup = dir.path().join("runtime/inventree_runtime/setup.py");
        std::fs::write(setup, "migrate(); store_settings_defaults()").expect("source");
        assert_ne!(key_of(dir.path()), before);
    }

    #[test]
    fn template_of_another_frontend_build_is_not_reused() {
        let dir = template_inputs();
        let before = key_of(dir.path());
        std::fs::write(
            frontend_manifest(&dir.path().join("src")),
            "{\"index.html\": 2}",
        )
        .expect("manifest");
        assert_ne!(key_of(dir.path()), before);
    }
}
