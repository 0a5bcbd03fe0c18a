//! `inventree-harness eval FILE.nix… [--json]`: evaluate module fragments a user hands over (their
//! own configuration) with this project's module, in one nix process, and print what each renders:
//! config.yaml, units, users, tmpfiles, nginx, warnings and failed assertions. Exit 1 when any
//! fragment fails to evaluate or raises an assertion.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::{
    cli::EvalArgs,
    context::Context,
    eval::{batch, eval_prerequisites, snapshot},
};

pub async fn run(ctx: &Context, args: EvalArgs) -> anyhow::Result<ExitCode> {
    ctx.print_overrides();
    // Usage errors (a file that is not there) first: they need no nix to find.
    let mut targets = Vec::new();
    for file in &args.files {
        let path = file
            .canonicalize()
            .with_context(|| format!("module file {}", file.display()))?;
        targets.push(batch::Target {
            name: file.display().to_string(),
            path,
            render: true,
        });
    }
    let with_modules = args
        .with_modules
        .iter()
        .map(|m| {
            m.canonicalize()
                .with_context(|| format!("--with-module {}", m.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let env = eval_prerequisites(ctx)
        .await
        .map_err(|skip| anyhow::anyhow!("cannot evaluate: {}", skip.reason))?;
    let options = batch::Options {
        extra_modules: with_modules,
        progress: args.progress,
    };
    let result = batch::inspect(ctx, &env, &targets, &options).await?;
    eprintln!(
        "evaluated {} file(s) in {} nix process(es), {:.1}s",
        targets.len(),
        result.processes,
        result.elapsed.as_secs_f64()
    );

    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result.inspections).context("serialising")?
        );
    } else {
        for inspection in &result.inspections {
            println!("---");
            print!("{}", snapshot::to_yaml(&snapshot::view(inspection)));
            if let Some(rendered) = inspection.rendered() {
                for (name, unit) in &rendered.units {
                    println!("# {name}\n{}", unit.text);
                }
            }
        }
    }
    let failed = result.inspections.iter().any(|i| !i.errors().is_empty());
    Ok(if failed {
        ExitCode::from(super::EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}
