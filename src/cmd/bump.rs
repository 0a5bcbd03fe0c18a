//! `inventree-harness bump VERSION|--latest [--dry-run] [--requirements FILE]`.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::bump::report::Verdict;
use crate::bump::run::{run as run_bump, BumpOptions, Target};
use crate::cli::BumpArgs;
use crate::cmd::EXIT_FAILED;
use crate::context::Context;
use crate::vm::interrupt::{until_interrupted, EXIT_INTERRUPTED};

pub async fn run(ctx: &Context, args: BumpArgs) -> anyhow::Result<ExitCode> {
    if args.feed.is_some() && !args.latest {
        anyhow::bail!("--feed is the release feed of --latest; with a VERSION it has no use");
    }
    ctx.print_overrides();
    let target = match (&args.version, args.latest) {
        (Some(v), false) => Target::Version(v.parse().with_context(|| format!("bump {v}"))?),
        _ => Target::Latest { feed: args.feed },
    };
    let opts = BumpOptions {
        target,
        dry_run: args.dry_run,
        requirements: args.requirements,
        runs_root: args.runs_dir,
        python: args.lock_python,
        interpreter: args.interpreter,
        tiers: !args.no_tiers,
        source: args.source.clone(),
    };
    let Some(outcome) = until_interrupted(run_bump(ctx, &opts)).await else {
        eprintln!("interrupted: the bump was stopped (running commands' process groups killed)");
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    };
    let outcome = outcome?;
    print!("{}", outcome.report.to_markdown());
    println!(
        "\nreport: {0}/report.md, {0}/report.json",
        outcome.report_dir.display()
    );
    Ok(match outcome.report.verdict() {
        Verdict::Failed => ExitCode::from(EXIT_FAILED),
        Verdict::Passed | Verdict::Incomplete => ExitCode::SUCCESS,
    })
}
