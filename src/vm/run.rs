//! Running VM tests: one `nix build` per scenario under a timeout, its log and result link kept in
//! `target/vm-runs/<timestamp>/<scenario>/`, and a report per scenario.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use super::command::{build_command, check_attr, Target};
use super::log::subtests;
use super::prerequisites::vm_prerequisites;
use super::report::{ScenarioResult, ScenarioStatus, VmRunReport};
use super::scenarios::{current_system, scenario_names, select};
use crate::context::Context;
use crate::nix::NixError;
use crate::util::{unix_now, utc_timestamp};

/// A VM test boots one or two VMs, migrates, and runs its script: half an hour is generous.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

#[derive(Debug, Clone)]
pub struct VmOptions {
    /// Scenarios to run; empty = all.
    pub names: Vec<String>,
    /// Per scenario.
    pub timeout: Duration,
    /// Where run directories go; default `<flake>/target/vm-runs`.
    pub runs_root: Option<PathBuf>,
}

/// `20261126T160102Z`: sortable, and safe in a path.
pub fn run_dir_name(unix_seconds: u64) -> String {
    utc_timestamp(unix_seconds).replace(['-', ':'], "")
}

pub fn scenarios_of(ctx: &Context) -> Result<Vec<String>> {
    scenario_names(&ctx.flake_dir.join("vm-tests"))
}

fn system() -> Result<&'static str> {
    match current_system() {
        Some(system) => Ok(system),
        None => bail!(
            "VM tests run on x86_64-linux or aarch64-linux hosts; this is {}-{}",
            std::env::consts::ARCH,
            std::env::consts::OS
        ),
    }
}

/// Run the selected scenarios one after another (VM tests are heavy: never in parallel here).
/// When the VM tier is unavailable, every scenario is reported as not run with the reason.
pub async fn run(ctx: &Context, opts: &VmOptions) -> Result<VmRunReport> {
    let system = system()?;
    let selected = select(&scenarios_of(ctx)?, &opts.names)?;
    let started = unix_now();
    let run_dir = opts
        .runs_root
        .clone()
        .unwrap_or_else(|| ctx.flake_dir.join("target/vm-runs"))
        .join(run_dir_name(started));
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("creating the run directory {}", run_dir.display()))?;

    let mut report = VmRunReport {
        started_at: utc_timestamp(started),
        system: system.to_owned(),
        run_dir: run_dir.clone(),
        scenarios: Vec::new(),
    };
    let unavailable = vm_prerequisites(ctx).await.err();
    for name in &selected {
        let dir = run_dir.join(name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let result = match &unavailable {
            Some(skip) => ScenarioResult {
                name: name.clone(),
                status: ScenarioStatus::NotRun(skip.reason.clone()),
                seconds: 0.0,
                subtests: Vec::new(),
                failure: None,
                log: dir.join("build.log"),
            },
            None => run_one(ctx, system, name, &dir, opts.timeout).await?,
        };
        eprintln!(
            "[{name}] {}",
            match &result.status {
                ScenarioStatus::Passed => "passed".to_owned(),
                ScenarioStatus::Failed => "FAILED".to_owned(),
                ScenarioStatus::TimedOut => format!("TIMED OUT after {}s", opts.timeout.as_secs()),
                ScenarioStatus::NotRun(reason) => format!("not run: {reason}"),
            }
        );
        report.scenarios.push(result);
    }
    write_report(&report)?;
    Ok(report)
}

fn write_report(report: &VmRunReport) -> Result<()> {
    let json = report.run_dir.join("report.json");
    std::fs::write(&json, report.to_json())
        .with_context(|| format!("writing {}", json.display()))?;
    let text = report.run_dir.join("report.txt");
    std::fs::write(&text, report.to_text())
        .with_context(|| format!("writing {}", text.display()))?;
    Ok(())
}

async fn run_one(
    ctx: &Context,
    system: &str,
    name: &str,
    dir: &Path,
    timeout: Duration,
) -> Result<ScenarioResult> {
    let log_path = dir.join("build.log");
    let started = Instant::now();
    let outcome = build_command(ctx, system, name, Target::Run, &dir.join("result"), timeout)
        .run()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let (status, failure, log) = match outcome {
        Ok(output) if !subtests(&output.stderr).is_empty() => {
            (ScenarioStatus::Passed, None, output.stderr)
        }
        // Already built earlier (nothing ran now): the log is the one nix kept from that run.
        Ok(output) => {
            let stored = stored_log(ctx, system, name).await.unwrap_or_default();
            let log = if stored.is_empty() {
                output.stderr
            } else {
                stored
            };
            (ScenarioStatus::Passed, None, log)
        }
        Err(err) => {
            let status = if matches!(err, NixError::Timeout { .. }) {
                ScenarioStatus::TimedOut
            } else {
                ScenarioStatus::Failed
            };
            // The full log of a failed or killed build stays in the store's log directory.
            let log = stored_log(ctx, system, name).await.unwrap_or_default();
            (status, Some(err.to_string()), log)
        }
    };
    std::fs::write(&log_path, &log).with_context(|| format!("writing {}", log_path.display()))?;
    let subtests = subtests(&log);
    // A failed subtest says more than nix's "builder failed".
    let failure = failure.map(|f| {
        subtests
            .iter()
            .find_map(|t| {
                t.error
                    .as_ref()
                    .map(|e| format!("subtest {:?}: {e}", t.name))
            })
            .unwrap_or(f)
    });
    Ok(ScenarioResult {
        name: name.to_owned(),
        status,
        seconds,
        subtests,
        failure,
        log: log_path,
    })
}

/// `nix log` of a scenario's run derivation (what nix kept of a failed or killed build).
async fn stored_log(ctx: &Context, system: &str, name: &str) -> Option<String> {
    ctx.nix_flake_command(["log"])
        .arg(ctx.installable(&check_attr(system, name, Target::Run)))
        .timeout(Duration::from_secs(120))
        .run()
        .await
        .ok()
        .map(|o| o.stdout)
}

/// Build one scenario's interactive driver under the timeout, then hand the terminal to it (no
/// timeout: a person drives it). Returns the driver's exit status.
pub async fn interactive(ctx: &Context, name: &str, timeout: Duration) -> Result<i32> {
    let system = system()?;
    let name = select(&scenarios_of(ctx)?, &[name.to_owned()])?.remove(0);
    if let Err(skip) = super::prerequisites::build_prerequisites(ctx).await {
        bail!("{}", skip.reason);
    }
    let dir = ctx
        .flake_dir
        .join("target/vm-runs")
        .join(format!("{}-interactive", run_dir_name(unix_now())))
        .join(&name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let link = dir.join("driver");
    build_command(
        ctx,
        system,
        &name,
        Target::InteractiveDriver,
        &link,
        timeout,
    )
    .run()
    .await
    .with_context(|| format!("building the interactive driver of {name}"))?;
    let driver = link.join("bin/nixos-test-driver");
    eprintln!("starting {} (state in {})", driver.display(), dir.display());
    // The one program not run through `crate::process`: an interactive session on the user's
    // terminal, so it stays in the terminal's foreground process group (a group of its own
    // would be stopped by SIGTTIN at its first read) and has no timeout; Ctrl-C reaches it.
    let status = tokio::process::Command::new(&driver)
        .current_dir(&dir)
        .status()
        .await
        .with_context(|| format!("running {}", driver.display()))?;
    Ok(status.code().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_directories_sort_by_time_and_are_path_safe() {
        assert_eq!(run_dir_name(1_795_651_200 + 3_723), "20261126T010203Z");
    }
}
