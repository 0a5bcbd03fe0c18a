//! One file per subcommand. To add a subcommand: a variant in `cli::Command`, a file here, and a
//! match arm in [`run`].

pub mod bench_eval;
pub mod bench_nodes;
pub mod browser;
pub mod bump;
pub mod check;
pub mod doctor;
pub mod eval;
pub mod host;
pub mod probe;
pub mod upgrade;
pub mod vm;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Exit code when a check failed (a finding about the project).
pub const EXIT_FAILED: u8 = 1;
/// Exit code when the harness itself could not run (bad arguments, unreadable config, nix missing
/// where it is required).
pub const EXIT_ERROR: u8 = 2;

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ctx = cli.global.context()?;
    match cli.command {
        Command::Eval(args) => eval::run(&ctx, args).await,
        Command::Check(args) => check::run(&ctx, args).await,
        Command::Doctor(args) => doctor::run(&ctx, args).await,
        Command::BenchEval(args) => bench_eval::run(&ctx, args).await,
        Command::BenchNodes(args) => bench_nodes::run(&ctx, args).await,
        Command::Probe(args) => probe::run(args).await,
        Command::Browser(args) => browser::run(&ctx, args).await,
        Command::Vm(args) => vm::run(&ctx, args).await,
        Command::Bump(args) => bump::run(&ctx, args).await,
        Command::Host(args) => host::run(&ctx, args).await,
        Command::Upgrade(args) => upgrade::run(&ctx, args).await,
    }
}
