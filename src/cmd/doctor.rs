//! `inventree-harness doctor`: what this machine has for each tier, and the overrides in effect.

use std::process::ExitCode;

use crate::context::Context;

pub async fn run(ctx: &Context) -> anyhow::Result<ExitCode> {
    println!("flake under test: {}", ctx.flake_dir.display());
    match crate::nix::nix_version().await {
        Ok((a, b, c)) => println!("nix: {a}.{b}.{c}"),
        Err(err) => println!("nix: {err}"),
    }
    println!("overrides:");
    for line in ctx.overrides.describe() {
        println!("  {line}");
    }
    println!("tiers:");
    for runner in super::check::registry() {
        match (runner.prerequisites)(ctx).await {
            Ok(found) => println!("  {:<7} ready    {found}", runner.tier.name()),
            Err(skip) => println!("  {:<7} skipped  {}", runner.tier.name(), skip.reason),
        }
    }
    Ok(ExitCode::SUCCESS)
}
