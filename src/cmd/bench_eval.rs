//! `inventree-harness bench-eval`: how long the eval tier's single batch takes for all fixtures,
//! compared with one fixture alone and with one nix process per fixture. A benchmark, not a
//! timed test: it prints figures and never fails on them.

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::Context as _;

use crate::{
    cli::BenchEvalArgs,
    context::Context,
    eval::{
        batch::{self, Target},
        eval_prerequisites, fixtures,
        fixtures::Kind,
    },
};

fn targets_of(all: &[fixtures::Fixture]) -> Vec<Target> {
    all.iter()
        .map(|f| Target {
            name: f.name.clone(),
            path: f.path.clone(),
            render: f.kind == Kind::Valid,
        })
        .collect()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

async fn time_batch(
    ctx: &Context,
    env: &crate::eval::EvalEnv,
    targets: &[Target],
) -> anyhow::Result<(Duration, usize)> {
    let started = Instant::now();
    let result = batch::inspect(ctx, env, targets, &batch::Options::default()).await?;
    Ok((started.elapsed(), result.processes))
}

pub async fn run(ctx: &Context, args: BenchEvalArgs) -> anyhow::Result<ExitCode> {
    ctx.print_overrides();
    let env = eval_prerequisites(ctx)
        .await
        .map_err(|skip| anyhow::anyhow!("cannot benchmark: {}", skip.reason))?;
    let all = fixtures::discover(&crate::eval::fixtures_dir(ctx))?;
    let targets = targets_of(&all);
    let first_valid = targets
        .iter()
        .find(|t| t.render)
        .cloned()
        .context("no valid fixture to time alone")?;
    let repeat = args.repeat.max(1);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "fixtures: {} ({} valid); repetitions: {repeat}; load average at start: {}",
        targets.len(),
        targets.iter().filter(|t| t.render).count(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    // Warm-up: copies the flake into the store and fills nix's caches, as any first run does.
    time_batch(ctx, &env, std::slice::from_ref(&first_valid)).await?;

    let mut one = Vec::new();
    let mut batch_times = Vec::new();
    let mut processes = 0;
    for _ in 0..repeat {
        one.push(
            time_batch(ctx, &env, std::slice::from_ref(&first_valid))
                .await?
                .0,
        );
        let (elapsed, procs) = time_batch(ctx, &env, &targets).await?;
        batch_times.push(elapsed);
        processes = procs;
    }
    let one = median(one);
    let all_batch = median(batch_times);
    println!(
        "one fixture alone ({}):          {:>7.1}s",
        first_valid.name,
        one.as_secs_f64()
    );
    println!(
        "all {} fixtures, one batch:        {:>7.1}s  ({processes} nix process(es); {:.2}× one fixture)",
        targets.len(),
        all_batch.as_secs_f64(),
        all_batch.as_secs_f64() / one.as_secs_f64()
    );

    if !args.skip_per_fixture {
        let sample = args
            .per_fixture_sample
            .unwrap_or(targets.len())
            .clamp(1, targets.len());
        let started = Instant::now();
        for target in &targets[..sample] {
            time_batch(ctx, &env, std::slice::from_ref(target)).await?;
        }
        let measured = started.elapsed();
        let per_fixture = measured / sample as u32;
        let total = per_fixture * targets.len() as u32;
        let how = if sample == targets.len() {
            "measured".to_string()
        } else {
            format!("extrapolated from {sample} measured")
        };
        println!(
            "one nix process per fixture:       {:>7.1}s  ({how}; {:.1}s each; batch is {:.1}× faster)",
            total.as_secs_f64(),
            per_fixture.as_secs_f64(),
            total.as_secs_f64() / all_batch.as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
