//! `inventree-harness doctor`: what this machine has for each tier, which tiers are demanded, and
//! the overrides in effect; with `--configured-tiers`, only the tiers the user config names the
//! prerequisites of (what `.ci/run` demands).

use std::{collections::BTreeSet, process::ExitCode};

use crate::{
    cli::DoctorArgs,
    context::Context,
    demand::{configured_tiers, tier_list},
    overrides::read_config_file,
    tiers::Tier,
};

pub async fn run(ctx: &Context, args: DoctorArgs) -> anyhow::Result<ExitCode> {
    if args.configured_tiers {
        println!("{}", tier_list(&configured(ctx)?));
        return Ok(ExitCode::SUCCESS);
    }
    println!("flake under test: {}", ctx.flake_dir.display());
    match crate::nix::nix_version().await {
        Ok((a, b, c)) => println!("nix: {a}.{b}.{c}"),
        Err(err) => println!("nix: {err}"),
    }
    println!("overrides:");
    for line in ctx.overrides.describe() {
        println!("  {line}");
    }
    let demand = super::check::demand_of_run(ctx)?;
    println!("demanded tiers: {}", demand.describe());
    println!("tiers:");
    for runner in super::check::registry() {
        let name = runner.tier.name();
        let mark = if demand.demands(runner.tier) {
            " (demanded)"
        } else {
            ""
        };
        match (runner.prerequisites)(ctx).await {
            Ok(found) => println!("  {name:<7} ready{mark}    {found}"),
            Err(skip) if demand.demands(runner.tier) => {
                println!("  {name:<7} FAILS{mark}: would skip: {}", skip.reason)
            }
            Err(skip) => println!("  {name:<7} skipped  {}", skip.reason),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The configured tiers of the config file this run reads (none when it does not exist).
fn configured(ctx: &Context) -> anyhow::Result<BTreeSet<Tier>> {
    match &ctx.overrides.config_file {
        Some((path, true)) => configured_tiers(&read_config_file(path)?, path),
        _ => Ok(BTreeSet::new()),
    }
}
