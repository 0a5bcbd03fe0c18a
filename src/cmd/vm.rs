//! `inventree-harness vm [NAME…]`: build and run VM test scenarios, report per scenario.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::VmArgs;
use crate::cmd::{EXIT_ERROR, EXIT_FAILED};
use crate::context::Context;
use crate::vm::interrupt::{until_interrupted, EXIT_INTERRUPTED};
use crate::vm::report::ScenarioStatus;
use crate::vm::run::{interactive, run as run_scenarios, scenarios_of, VmOptions};

pub async fn run(ctx: &Context, args: VmArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        for name in scenarios_of(ctx)? {
            println!("{name}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    ctx.print_overrides();
    let timeout = Duration::from_secs(args.timeout);
    if args.interactive {
        let [name] = args.names.as_slice() else {
            anyhow::bail!("--interactive takes exactly one scenario name");
        };
        let code = interactive(ctx, name, timeout).await?;
        return Ok(ExitCode::from(u8::try_from(code).unwrap_or(EXIT_FAILED)));
    }
    let opts = VmOptions {
        names: args.names,
        timeout,
        runs_root: args.runs_dir,
    };
    let Some(report) = until_interrupted(run_scenarios(ctx, &opts)).await else {
        eprintln!("interrupted: the running VM test was stopped (its process group killed)");
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    };
    let report = report?;
    if args.json {
        print!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
        println!("\nrun directory: {}", report.run_dir.display());
    }
    let unavailable = report
        .scenarios
        .iter()
        .all(|s| matches!(s.status, ScenarioStatus::NotRun(_)));
    Ok(if report.all_passed() {
        ExitCode::SUCCESS
    } else if unavailable {
        ExitCode::from(EXIT_ERROR)
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}
