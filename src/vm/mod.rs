//! The build and VM tiers, and `inventree-harness vm`: build (= run) the NixOS VM tests of
//! `vm-tests/`, each under a timeout, keeping logs and a per-scenario report in a run directory.

pub mod build;
pub mod command;
pub mod instantiate;
pub mod interrupt;
pub mod log;
pub mod prerequisites;
pub mod report;
pub mod run;
pub mod scenarios;

use crate::tiers::{Tier, TierOutcome, TierRunner};

/// The build tier for `inventree-harness check`.
pub fn build_tier_runner() -> TierRunner {
    TierRunner {
        tier: Tier::Build,
        prerequisites: |ctx| Box::pin(prerequisites::build_prerequisites(ctx)),
        run: |ctx| Box::pin(build::build_all(ctx)),
    }
}

/// The VM tier for `inventree-harness check`: every scenario.
pub fn tier_runner() -> TierRunner {
    TierRunner {
        tier: Tier::Vm,
        prerequisites: |ctx| Box::pin(prerequisites::vm_prerequisites(ctx)),
        run: |ctx| {
            Box::pin(async move {
                let opts = run::VmOptions {
                    names: Vec::new(),
                    timeout: run::DEFAULT_TIMEOUT,
                    runs_root: None,
                };
                match run::run(ctx, &opts).await {
                    Ok(report) if report.all_passed() => TierOutcome::Passed {
                        summary: format!(
                            "{} scenarios passed (report: {})",
                            report.scenarios.len(),
                            report.run_dir.display()
                        ),
                    },
                    Ok(report) => TierOutcome::Failed {
                        details: report.to_text(),
                    },
                    Err(e) => TierOutcome::Failed {
                        details: format!("{e:#}"),
                    },
                }
            })
        },
    }
}
