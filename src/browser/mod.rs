//! The browser check: InvenTree's web UI driven the way a person uses it, in a real Chromium
//! through WebDriver (chromedriver). Works against any URL: a host-tier instance, a VM, a live
//! server.
//!
//! Steps ([`report::Step`]): the login page renders; the user logs in; the dashboard loads; a
//! part is created through the API; the parts list loads; that part appears in it. Every wait has
//! a deadline, every step leaves a screenshot in the run directory, and the first failing step
//! ends the check and is named in the verdict.

pub mod api;
pub mod chrome;
pub mod driver;
pub mod page;
pub mod report;
pub mod steps;
pub mod tier;
pub mod webdriver;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use reqwest::Url;

use chrome::BrowserTools;
use driver::ChromeDriver;
use report::{Report, Step, StepResult};
use steps::Ctx;
use webdriver::Session;

/// What to check, and with what.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Base URL of the InvenTree site (the address the browser uses).
    pub url: Url,
    pub user: String,
    pub password: String,
    /// Where screenshots, logs and `report.json` go (created when missing).
    pub run_dir: PathBuf,
    pub tools: BrowserTools,
    /// Deadline of each step.
    pub step_timeout: Duration,
    /// Keep the part created through the API (default: remove it afterwards).
    pub keep_part: bool,
}

impl CheckOptions {
    pub fn new(
        url: Url,
        user: &str,
        password: &str,
        run_dir: PathBuf,
        tools: BrowserTools,
    ) -> Self {
        CheckOptions {
            url,
            user: user.to_string(),
            password: password.to_string(),
            run_dir,
            tools,
            step_timeout: Duration::from_secs(60),
            keep_part: false,
        }
    }
}

/// Read a password file the way the module does: content with one trailing newline stripped.
pub fn read_password_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading password file {}", path.display()))?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    Ok(text.to_string())
}

/// A fresh run directory under the system temp dir, kept after the run.
pub fn default_run_dir() -> Result<PathBuf> {
    let dir = tempfile::Builder::new()
        .prefix("inventree-harness-browser.")
        .tempdir()
        .context("creating a run directory")?;
    Ok(dir.keep())
}

/// A part name unique to this run, so the check also works against a live, populated instance.
fn part_name() -> String {
    format!(
        "harness-browser-{}-{}",
        crate::util::unix_now(),
        std::process::id()
    )
}

/// Run the check. `Err` means it could not run at all (browser failed to start, run directory
/// unwritable); a broken UI is an `Ok(report)` with a failed step.
pub async fn run(opts: &CheckOptions) -> Result<Report> {
    let started = Instant::now();
    std::fs::create_dir_all(&opts.run_dir)
        .with_context(|| format!("creating run directory {}", opts.run_dir.display()))?;
    let profile = tempfile::Builder::new()
        .prefix("inventree-harness-chromium.")
        .tempdir()
        .context("creating a fresh Chromium profile directory")?;

    let mut driver = ChromeDriver::start(
        &opts.tools.chromedriver,
        &opts.run_dir.join("chromedriver.log"),
        Duration::from_secs(30),
    )
    .await?;
    let caps = chrome::capabilities(&opts.tools.chromium, profile.path(), opts.step_timeout);
    let session = Session::new(driver.url(), caps, opts.step_timeout)
        .await
        .with_context(|| format!("with Chromium {}", opts.tools.chromium.display()))?;

    // Record the page's requests from its first script on, so the check knows when the app's
    // start-up requests are answered and whether a click sent the login request.
    session
        .add_init_script(page::INSTALL_RECORDER_JS)
        .await
        .context("installing the request recorder in new pages")?;

    let mut report = Report {
        url: opts.url.to_string(),
        user: opts.user.clone(),
        run_dir: opts.run_dir.display().to_string(),
        passed: false,
        failed_step: None,
        steps: Vec::new(),
        skipped: Vec::new(),
        notes: Vec::new(),
        seconds: 0.0,
    };
    let mut console = Vec::new();
    let created = run_steps(opts, &session, &mut report, &mut console).await;

    // Housekeeping, whatever the verdict.
    if let Ok(lines) = session.browser_log().await {
        console.extend(lines);
    }
    let _ = std::fs::write(
        opts.run_dir.join("browser-console.log"),
        console.join("\n") + "\n",
    );
    if let Some((api, part)) = created {
        if opts.keep_part {
            report
                .notes
                .push(format!("kept part #{} {:?}", part.pk, part.name));
        } else if let Err(e) = api.delete_part(&part).await {
            report.notes.push(format!(
                "could not remove part #{} {:?}: {e:#}",
                part.pk, part.name
            ));
        } else {
            report
                .notes
                .push(format!("removed part #{} {:?} again", part.pk, part.name));
        }
    }
    let _ = session.close().await;
    if let Err(e) = driver.stop().await {
        report.notes.push(format!("stopping chromedriver: {e:#}"));
    }

    report.passed = report.failed_step.is_none();
    report.seconds = started.elapsed().as_secs_f64();
    let json = serde_json::to_string_pretty(&report).context("serialising the report")?;
    std::fs::write(opts.run_dir.join("report.json"), json + "\n")
        .with_context(|| format!("writing report.json in {}", opts.run_dir.display()))?;
    Ok(report)
}

/// The distinct SEVERE entries of a console log (at most three), for a failure message.
fn console_errors(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        if let Some(msg) = line.strip_prefix("SEVERE ") {
            let msg = crate::util::truncate(msg, 200);
            if !out.contains(&msg) {
                out.push(msg);
            }
        }
    }
    out.truncate(3);
    out
}

/// Run the steps in order until one fails; returns the part created through the API, if any,
/// so it can be removed.
async fn run_steps(
    opts: &CheckOptions,
    session: &Session,
    report: &mut Report,
    console: &mut Vec<String>,
) -> Option<(api::Api, api::CreatedPart)> {
    let ctx = Ctx {
        session,
        base: &opts.url,
        user: &opts.user,
        password: &opts.password,
        step_timeout: opts.step_timeout,
    };
    let mut created: Option<(api::Api, api::CreatedPart)> = None;
    for step in Step::ALL {
        let t = Instant::now();
        let outcome = run_step(&ctx, opts, step, &mut created).await;
        let seconds = t.elapsed().as_secs_f64();
        let shot = step_screenshot(session, opts, step, outcome.is_err(), report).await;
        // The browser console of this step (reading it empties chromedriver's buffer).
        let step_console = session.browser_log().await.unwrap_or_default();
        let passed = outcome.is_ok();
        let detail = match outcome {
            Ok(d) => d,
            Err(e) => failure_detail(&e, &step_console),
        };
        console.extend(step_console);
        report.steps.push(StepResult {
            step,
            passed,
            seconds,
            detail,
            screenshot: shot,
        });
        if !passed {
            report.failed_step = Some(step);
            let at = Step::ALL.iter().position(|s| *s == step).unwrap_or(0);
            report.skipped = Step::ALL[at + 1..].to_vec();
            break;
        }
    }
    created
}

/// One step, its detail line or why it failed. The API step leaves the part it created in
/// `created`; the part-in-list step looks for it there.
async fn run_step(
    ctx: &Ctx<'_>,
    opts: &CheckOptions,
    step: Step,
    created: &mut Option<(api::Api, api::CreatedPart)>,
) -> Result<String> {
    // The whole step, not only its waits, is bounded: two deadlines' worth covers a slow
    // navigation followed by a full wait.
    let bound = opts.step_timeout * 2 + Duration::from_secs(10);
    tokio::time::timeout(bound, async {
        match step {
            Step::LoginPage => ctx.login_page().await,
            Step::Login => ctx.login().await,
            Step::Dashboard => ctx.dashboard().await,
            Step::ApiPart => {
                let (api, part) = ctx.api_part(&part_name()).await?;
                let detail = format!(
                    "part #{} {:?} created through the API as {}",
                    part.pk, part.name, opts.user
                );
                *created = Some((api, part));
                Ok(detail)
            }
            Step::PartsList => ctx.parts_list().await,
            Step::PartInList => match &*created {
                Some((_, part)) => ctx.part_in_list(part).await,
                None => Err(anyhow::anyhow!("no part was created")),
            },
        }
    })
    .await
    .unwrap_or_else(|_| {
        Err(anyhow::anyhow!(
            "step did not finish within {}s",
            bound.as_secs()
        ))
    })
}

/// The screenshot after `step`, its file name; a screenshot that could not be taken is a note.
async fn step_screenshot(
    session: &Session,
    opts: &CheckOptions,
    step: Step,
    failed: bool,
    report: &mut Report,
) -> Option<String> {
    // The API step has nothing new on screen; every browser step gets its picture.
    if step == Step::ApiPart {
        return None;
    }
    let name = step.screenshot_name(failed);
    match steps::screenshot(session, &opts.run_dir, &name).await {
        Ok(name) => Some(name),
        Err(why) => {
            report.notes.push(format!("{}: {why:#}", step.id()));
            None
        }
    }
}

/// A failed step's detail: the error, and the browser console's errors during the step if any.
fn failure_detail(error: &anyhow::Error, step_console: &[String]) -> String {
    let errors = console_errors(step_console);
    if errors.is_empty() {
        format!("{error:#}")
    } else {
        format!("{error:#}; browser console: {}", errors.join(" | "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_errors_are_the_distinct_severe_lines() {
        let lines: Vec<String> = [
            "INFO app started",
            "SEVERE http://x/web - Failed to load module script",
            "SEVERE http://x/web - Failed to load module script",
            "WARNING deprecated",
            "SEVERE http://x/api/ - 500",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            console_errors(&lines),
            vec![
                "http://x/web - Failed to load module script",
                "http://x/api/ - 500"
            ]
        );
    }

    #[test]
    fn password_files_lose_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "secret\n").unwrap();
        assert_eq!(read_password_file(&p).unwrap(), "secret");
        std::fs::write(&p, "secret\n\n").unwrap();
        assert_eq!(read_password_file(&p).unwrap(), "secret\n");
        let err = read_password_file(&dir.path().join("missing")).unwrap_err();
        assert!(format!("{err:#}").contains("missing"));
    }
}
