//! Command-line interface: clap structs only. Each subcommand's behaviour lives in
//! `cmd/<subcommand>.rs`; to add one, add a variant to [`Command`] (with its `Args` struct here)
//! and one match arm in `cmd::run`.

use std::{path::PathBuf, time::Duration};

use anyhow::bail;
use clap::{Args, Parser, Subcommand};

use crate::{context::Context, overrides::FlagOverrides};

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

impl GlobalArgs {
    /// The run's settings: the flake under test, the overrides resolved over the environment and
    /// the user config file, the nix timeout.
    pub fn context(&self) -> anyhow::Result<Context> {
        Context::new(
            self.flake.as_deref(),
            &self.flag_overrides()?,
            Duration::from_secs(self.nix_timeout),
        )
    }

    /// The overrides given on the command line; `--override-input NAME REF` occurrences are
    /// flattened by clap, so they are paired up here (each exactly two values).
    pub fn flag_overrides(&self) -> anyhow::Result<FlagOverrides> {
        let mut inputs = Vec::new();
        for pair in self.override_input.chunks(2) {
            match pair {
                [name, reference] => inputs.push((name.clone(), reference.clone())),
                other => bail!("--override-input takes NAME REF, got {other:?}"),
            }
        }
        Ok(FlagOverrides {
            inputs,
            inventree_src: self.inventree_src.clone(),
            python: self.python.clone(),
            config: self.config.clone(),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate a NixOS module fragment with this project's module and print what it renders.
    Eval(EvalArgs),
    /// Run every tier this machine supports; print a table of tiers run and skipped.
    Check(CheckArgs),
    /// Show prerequisites of every tier, which tiers are demanded, and the overrides in effect.
    Doctor(DoctorArgs),
    /// Benchmark: all fixtures in one nix process vs one fixture alone vs one process each.
    BenchEval(BenchEvalArgs),
    /// Benchmark: a bounded load through the module's nginx on one web node, then two (the
    /// host tier's multi-node deployment, on loopback); figures side by side.
    #[command(
        after_help = "Exit status: 0 no request failed, 1 a request failed, 2 the benchmark \
cannot run here (the missing prerequisite is printed) or the harness could not run."
    )]
    BenchNodes(BenchNodesArgs),
    /// Probe a running InvenTree: API ready, the worker completes a real task, queue figures.
    #[command(
        after_help = "Exit status: 0 healthy, 1 unhealthy (reasons printed), 2 unreachable \
(no usable answer from /api/ before --ready-timeout) or the harness could not run."
    )]
    Probe(ProbeArgs),
    /// Build and run the NixOS VM tests (all, or the named scenarios), each under a timeout, with
    /// logs and a per-scenario report in target/vm-runs/<time>/.
    #[command(
        after_help = "Exit status: 0 every scenario passed, 1 a scenario failed or timed \
out, 2 the VM tier is unavailable here (the reason is printed) or the harness could not run."
    )]
    Vm(VmArgs),
    /// Move the pinned InvenTree release to VERSION (or the latest), regenerate the Python lock,
    /// run the eval, build and VM tiers, and write a report (Markdown + JSON).
    #[command(
        after_help = "Exit status: 0 passed (or incomplete: some tiers could not run \
here, nothing failed), 1 a step failed (see the report's \"What broke\"), 2 the harness could not run."
    )]
    Bump(BumpArgs),
    /// Check the web UI in a real browser (Chromium through chromedriver): login page, login,
    /// dashboard, parts list, and a part created through the API showing in it.
    Browser(BrowserArgs),
    /// Run a fixture on this host as the module configures it, until Ctrl-C.
    Host(HostArgs),
    /// The upgrade drill: an instance set up by an older InvenTree tree and filled through the
    /// API, upgraded to the host tier's tree (`--inventree-src`/`--python` name another), every
    /// record, file and login checked, then a downgrade refused. Between any two trees.
    #[command(
        after_help = "Exit status: 0 every drill passed, 1 a drill failed, 2 the drill cannot \
run here (the missing prerequisite is printed) or the harness could not run."
    )]
    Upgrade(UpgradeArgs),
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Fixtures to drill (default: users on SQLite, postgresql-local on PostgreSQL).
    #[arg(value_name = "FIXTURE")]
    pub fixtures: Vec<String>,

    /// The older InvenTree source tree to upgrade from (else INVENTREE_HARNESS_UPGRADE_FROM_SRC,
    /// else `[upgrade] from_src` of the config file).
    #[arg(long, value_name = "DIR")]
    pub from_src: Option<PathBuf>,

    /// A Python with the older tree's locked dependencies (else
    /// INVENTREE_HARNESS_UPGRADE_FROM_PYTHON, else `[upgrade] from_python`).
    #[arg(long, value_name = "PATH")]
    pub from_python: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VmArgs {
    /// Scenarios (file names of vm-tests/ without .nix); default: all.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// List the scenarios and exit.
    #[arg(long, conflicts_with = "interactive")]
    pub list: bool,

    /// Build the scenario's interactive driver and start it (exactly one NAME).
    #[arg(long)]
    pub interactive: bool,

    /// Seconds each scenario may take before its whole process group is killed.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    pub timeout: u64,

    /// Where run directories go (default: <flake>/target/vm-runs).
    #[arg(long, value_name = "DIR")]
    pub runs_dir: Option<PathBuf>,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BumpArgs {
    /// The release to move to, e.g. 1.3.6.
    #[arg(
        value_name = "VERSION",
        required_unless_present = "latest",
        conflicts_with = "latest"
    )]
    pub version: Option<String>,

    /// Move to the latest stable release of the release feed (GitHub's releases API).
    #[arg(long)]
    pub latest: bool,

    /// Read the release feed from this file (a saved API answer) instead of GitHub.
    #[arg(long, value_name = "FILE")]
    pub feed: Option<PathBuf>,

    /// Work in a copy of the checkout (target/bump-runs/<time>/workspace); the checkout is untouched.
    #[arg(long)]
    pub dry_run: bool,

    /// The release's backend requirements.txt (default: from the prefetched source).
    #[arg(long, value_name = "FILE")]
    pub requirements: Option<PathBuf>,

    /// The release's source tree (e.g. a checkout of the tag, or of a development commit to
    /// rehearse with), used instead of the prefetched one: the lock's requirements, the
    /// migrations it adds over the host tier's tree, and the tree the host tier runs.
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,

    /// Stop after the lock: do not run the eval, host, build and VM tiers.
    #[arg(long)]
    pub no_tiers: bool,

    /// Python that runs scripts/lock-python-deps.
    #[arg(long = "lock-python", value_name = "PATH", default_value = "python3")]
    pub lock_python: String,

    /// The Python interpreter uv resolves for (passed to lock-python-deps as --interpreter);
    /// default: uv finds one for the locked Python version.
    #[arg(long, value_name = "PATH")]
    pub interpreter: Option<PathBuf>,

    /// Where reports go (default: <flake>/target/bump-runs).
    #[arg(long, value_name = "DIR")]
    pub runs_dir: Option<PathBuf>,
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
pub struct DoctorArgs {
    /// Print only the tiers whose prerequisites the user config file names, as a comma list
    /// (what `.ci/run` demands): eval for [inputs], host for [host] inventree_src and python,
    /// browser and systemd for those plus [browser] inventree_src / [systemd] rootfs, and any in
    /// [ci] require_tiers.
    #[arg(long)]
    pub configured_tiers: bool,
}

#[derive(Debug, Args)]
pub struct BenchNodesArgs {
    /// Requests to the list endpoint (`GET /api/part/?limit=25`) per setup.
    #[arg(long, default_value_t = 600)]
    pub reads: usize,

    /// Requests to the write endpoint (`POST /api/part/`) per setup.
    #[arg(long, default_value_t = 200)]
    pub writes: usize,

    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,

    /// Seconds after which a load run stops sending (what was not sent counts as failed).
    #[arg(long, default_value_t = 300)]
    pub limit: u64,
}

#[derive(Debug, Args)]
pub struct BenchEvalArgs {
    /// Repetitions of each measurement (the median is reported).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,

    /// Skip the one-process-per-fixture measurement (the slow one).
    #[arg(long)]
    pub skip_per_fixture: bool,

    /// Time only the first N fixtures one process each, and extrapolate to all (default: all).
    #[arg(long, value_name = "N")]
    pub per_fixture_sample: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Server root URL (e.g. http://127.0.0.1:8000); default: INVENTREE_API_HOST.
    #[arg(value_name = "URL", env = "INVENTREE_API_HOST")]
    pub url: String,

    /// API token (`inv-...`); wins over --user/--password.
    #[arg(long, env = "INVENTREE_API_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// User to obtain a token for (basic auth on /api/user/token/).
    #[arg(long, env = "INVENTREE_API_USERNAME")]
    pub user: Option<String>,

    /// That user's password.
    #[arg(
        long,
        env = "INVENTREE_API_PASSWORD",
        hide_env_values = true,
        conflicts_with = "password_file"
    )]
    pub password: Option<String>,

    /// Read the password from this file (one trailing newline stripped).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Require this InvenTree version (`1.3.5`; also matches `1.3.5 dev`).
    #[arg(long, value_name = "VERSION")]
    pub expect_version: Option<String>,

    /// Seconds to wait for /api/ to answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub ready_timeout: f64,

    /// Seconds the worker has to complete the probe's background task.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub task_timeout: f64,

    /// Check readiness (and authentication) only; do not enqueue a task.
    #[arg(long)]
    pub skip_worker: bool,

    /// Name of the assembly part the probe creates once and validates.
    #[arg(long, default_value = crate::probe::worker::DEFAULT_PART_NAME)]
    pub part_name: String,

    /// Name of the API token the probe obtains (reused across runs).
    #[arg(long, default_value = crate::probe::auth::DEFAULT_TOKEN_NAME)]
    pub token_name: String,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BrowserArgs {
    /// Base URL of the InvenTree site, the address a user types (e.g. http://127.0.0.1:8000).
    #[arg(value_name = "URL")]
    pub url: String,

    /// User to log in as (also creates the test part through the API).
    #[arg(long, env = "INVENTREE_API_USERNAME")]
    pub user: String,

    /// File holding the user's password (one trailing newline stripped). Else
    /// INVENTREE_API_PASSWORD.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Directory for screenshots, logs and report.json (default: a new one under $TMPDIR).
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,

    /// Deadline of each step, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub step_timeout: u64,

    /// Chromium binary (else INVENTREE_HARNESS_CHROMIUM, else chromium & co. on PATH).
    #[arg(long, value_name = "PATH", env = "INVENTREE_HARNESS_CHROMIUM")]
    pub chromium: Option<PathBuf>,

    /// chromedriver binary (else INVENTREE_HARNESS_CHROMEDRIVER, else on PATH).
    #[arg(long, value_name = "PATH", env = "INVENTREE_HARNESS_CHROMEDRIVER")]
    pub chromedriver: Option<PathBuf>,

    /// Keep the part created through the API (default: remove it afterwards).
    #[arg(long)]
    pub keep_part: bool,

    /// Print the report as JSON (it is always written to the run directory as report.json).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HostArgs {
    /// Fixture name (`fixtures/valid/<name>.nix`) or a module file of your own (needs the eval
    /// tier).
    #[arg(value_name = "FIXTURE", default_value = "defaults-sqlite")]
    pub fixture: String,

    /// Loopback port for the server (default: a free one).
    #[arg(long)]
    pub port: Option<u16>,

    /// Keep the instance's directory (data, logs, credentials) after Ctrl-C.
    #[arg(long)]
    pub keep: bool,
}
