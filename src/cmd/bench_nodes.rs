//! `inventree-harness bench-nodes`: the load benchmark of the multi-node deployment (see
//! `host::bench_nodes`), one web node then two behind the module's nginx, printed side by side
//! with the machine's load. Fails (exit 1) when any request failed; never on the figures.

use std::{process::ExitCode, time::Duration};

use crate::{
    cli::BenchNodesArgs,
    context::Context,
    host::{self, bench_nodes, load::LoadSpec, plan},
};

pub async fn run(ctx: &Context, args: BenchNodesArgs) -> anyhow::Result<ExitCode> {
    let env = match host::host_prerequisites(ctx).await {
        Ok(env) => env.prepared(&ctx.flake_dir).await?,
        Err(skip) => {
            eprintln!("bench-nodes cannot run here: {}", skip.reason);
            return Ok(ExitCode::from(super::EXIT_ERROR));
        }
    };
    for (what, found) in [
        ("redis-server", host::redis::find().err()),
        ("nginx", host::nginx::find().err()),
        ("PostgreSQL", host::postgres::find_bin_dir().err()),
    ] {
        if let Some(why) = found {
            eprintln!("bench-nodes cannot run here: {what}: {why:#}");
            return Ok(ExitCode::from(super::EXIT_ERROR));
        }
    }
    let (plans, origin) = plan::load(ctx, &["multi-node", "nginx"]).await?;
    eprintln!("bench-nodes: {origin}");
    let find = |name: &str| {
        plans
            .iter()
            .find(|p| p.fixture == name)
            .ok_or_else(|| anyhow::anyhow!("no plan for {name}"))
    };
    let nodes = find("multi-node")?;
    let vhost = find("nginx")?
        .nginx
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the nginx fixture renders no virtual host"))?;
    let limit = Duration::from_secs(args.limit);
    let spec = |requests| LoadSpec {
        requests,
        concurrency: args.concurrency,
        limit,
    };
    let started = std::time::Instant::now();
    let bench =
        bench_nodes::bench_nodes(&env, nodes, vhost, spec(args.reads), spec(args.writes)).await?;
    print!("{}", bench.render());
    println!(
        "machine: {} cores, load average {} (at the end); {:.0} s in all",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        started.elapsed().as_secs_f64()
    );
    for row in bench.rows.iter().filter(|r| r.result.errors > 0) {
        eprintln!(
            "{} with {} web node(s): {} failed, first: {}",
            row.endpoint,
            row.web_nodes,
            row.result.errors,
            row.result
                .first_error
                .as_deref()
                .unwrap_or("(requests not sent in time)")
        );
    }
    Ok(if bench.errors() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_FAILED)
    })
}
