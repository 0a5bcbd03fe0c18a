//! Command-line interface: clap structs only. Each subcommand's behaviour lives in
//! `cmd/<subcommand>.rs`; to add one, add a variant to [`Command`] (with its `Args` struct here)
//! and one match arm in `cmd::run`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "inventree-harness",
    version,
    about = "Proves that the nixos-inventree packages and NixOS module really work",
    after_help = "Exit codes: 0 success, 1 a check failed, 2 the harness itself could not run."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand understands.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// The nixos-inventree flake (a checkout) under test. Default: the nearest directory upwards
    /// from the current one holding flake.nix and Cargo.toml, else the harness's own source tree.
    #[arg(long, global = true, value_name = "DIR")]
    pub flake: Option<PathBuf>,

    /// Replace a flake input for this run, exactly as `nix --override-input` (repeatable).
    /// Wins over INVENTREE_HARNESS_OVERRIDE_<NAME> and the user config file.
    /// (Flattened NAME, REF pairs: clap takes exactly two values per occurrence.)
    #[arg(long = "override-input", global = true, num_args = 2, value_names = ["NAME", "REF"])]
    pub override_input: Vec<String>,

    /// InvenTree source tree for the host tier (else INVENTREE_HARNESS_SRC, else config file).
    #[arg(long, global = true, value_name = "DIR")]
    pub inventree_src: Option<PathBuf>,

    /// Python interpreter with InvenTree's locked dependencies for the host tier (else
    /// INVENTREE_HARNESS_PYTHON, else config file).
    #[arg(long, global = true, value_name = "PATH")]
    pub python: Option<PathBuf>,

    /// User config file. Default: $XDG_CONFIG_HOME/inventree-harness/config.toml.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "INVENTREE_HARNESS_CONFIG"
    )]
    pub config: Option<PathBuf>,

    /// Seconds after which any single nix call is killed (with its whole process group).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 900)]
    pub nix_timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate a NixOS module fragment with this project's module and print what it renders.
    Eval(EvalArgs),
    /// Run every tier this machine supports; print a table of tiers run and skipped.
    Check(CheckArgs),
    /// Show prerequisites of every tier and the overrides in effect.
    Doctor,
    /// Benchmark: all fixtures in one nix process vs one fixture alone vs one process each.
    BenchEval(BenchEvalArgs),
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Module files, each `{ ... }: { services.inventree = ...; }` (your configuration fragment).
    #[arg(required = true, value_name = "FILE.nix")]
    pub files: Vec<PathBuf>,

    /// Print the full inspection as JSON instead of the human summary.
    #[arg(long)]
    pub json: bool,

    /// A further module added to every evaluated system (repeatable), e.g. a stand-in package
    /// scope or the rest of the reporter's configuration.
    #[arg(long = "with-module", value_name = "FILE.nix")]
    pub with_modules: Vec<PathBuf>,

    /// Show nix's progress and warnings while it evaluates.
    #[arg(long)]
    pub progress: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Run only these tiers (default: all the machine supports).
    #[arg(long = "tier", value_name = "TIER")]
    pub tiers: Vec<crate::tiers::Tier>,
}

#[derive(Debug, Args)]
pub struct BenchEvalArgs {
    /// Repetitions of each measurement (the median is reported).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,

    /// Skip the one-process-per-fixture measurement (the slow one).
    #[arg(long)]
    pub skip_per_fixture: bool,
}
