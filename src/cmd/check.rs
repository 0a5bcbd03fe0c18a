//! `inventree-harness check`: run every tier this machine supports, print a table of tiers run and
//! skipped (with the missing prerequisite), exit 1 when any tier failed (a demanded tier that would
//! skip has failed).

use std::{process::ExitCode, time::Instant};

use crate::{
    cli::CheckArgs,
    context::Context,
    demand::{Demand, DemandedSkip, ENV_REQUIRE_TIERS},
    tiers::{render_table, TierOutcome, TierReport, TierRunner},
};

/// Every tier `check` knows, cheapest first. Tier modules register here with one line.
pub fn registry() -> Vec<TierRunner> {
    vec![
        crate::eval::tier_runner(),
        crate::host::tier_runner(),
        crate::host::upgrade_tier::tier_runner(),
        crate::systemd::tier_runner(),
        crate::browser::tier::tier_runner(),
        crate::vm::build_tier_runner(),
        crate::vm::tier_runner(),
    ]
}

/// Run `runners` in order (prerequisites first, then the tier) and collect their reports. A tier
/// that `demand` names and whose prerequisite is missing fails instead of skipping.
pub async fn run_tiers(ctx: &Context, runners: &[TierRunner], demand: &Demand) -> Vec<TierReport> {
    let mut reports = Vec::new();
    for runner in runners {
        let started = Instant::now();
        eprintln!("== tier {}", runner.tier);
        let outcome = match (runner.prerequisites)(ctx).await {
            Ok(found) => {
                eprintln!("   prerequisites: {found}");
                (runner.run)(ctx).await
            }
            Err(skip) if demand.demands(skip.tier) => TierOutcome::Failed {
                details: DemandedSkip(&skip).to_string(),
            },
            Err(skip) => skip.into(),
        };
        if let TierOutcome::Failed { details } = &outcome {
            eprintln!("   FAILED:\n{details}");
        }
        reports.push(TierReport {
            tier: runner.tier,
            outcome,
            elapsed: started.elapsed(),
        });
    }
    reports
}

pub async fn run(ctx: &Context, args: CheckArgs) -> anyhow::Result<ExitCode> {
    ctx.print_overrides();
    let demand = demand_of_run(ctx)?;
    eprintln!("demanded tiers: {}", demand.describe());
    let runners: Vec<TierRunner> = registry()
        .into_iter()
        .filter(|r| args.tiers.is_empty() || args.tiers.contains(&r.tier))
        .collect();
    let reports = run_tiers(ctx, &runners, &demand).await;
    print!("{}", render_table(&reports));
    let failed = reports
        .iter()
        .any(|r| matches!(r.outcome, TierOutcome::Failed { .. }));
    Ok(if failed {
        ExitCode::from(super::EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The demanded tiers of this run: `INVENTREE_HARNESS_REQUIRE_TIERS`, else `[ci] require_tiers` of
/// the config file this run reads (`--config` included).
pub fn demand_of_run(ctx: &Context) -> anyhow::Result<Demand> {
    let config = ctx
        .overrides
        .config_file
        .as_ref()
        .map(|(path, _)| path.as_path());
    Demand::resolve(std::env::var(ENV_REQUIRE_TIERS).ok().as_deref(), config)
}
