//! `inventree-harness upgrade [FIXTURE…]`: the upgrade tier's drill between the older tree it is
//! given and the host tier's tree — what a maintainer runs to reproduce an upgrade report.

use std::process::ExitCode;

use crate::{
    cli::UpgradeArgs,
    context::Context,
    host::{prerequisites::upgrade_prerequisites, upgrade_tier},
    overrides::{Source, Sourced},
};

pub async fn run(ctx: &Context, args: UpgradeArgs) -> anyhow::Result<ExitCode> {
    let flag = |value: &Option<std::path::PathBuf>| {
        value.clone().map(|value| Sourced {
            value,
            source: Source::Flag,
        })
    };
    let (from_src, from_python) = (flag(&args.from_src), flag(&args.from_python));
    let from = (from_src.as_ref(), from_python.as_ref());
    if let Err(skip) = upgrade_prerequisites(ctx, from).await {
        eprintln!("upgrade: cannot run here: {}", skip.reason);
        return Ok(ExitCode::from(super::EXIT_ERROR));
    }
    let fixtures: Vec<&str> = if args.fixtures.is_empty() {
        upgrade_tier::FIXTURES.to_vec()
    } else {
        args.fixtures.iter().map(String::as_str).collect()
    };
    match upgrade_tier::run_all(ctx, from, &fixtures).await {
        Ok((summary, _)) => {
            println!("upgrade: passed: {summary}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("upgrade: FAILED: {e:#}");
            Ok(ExitCode::from(super::EXIT_FAILED))
        }
    }
}
