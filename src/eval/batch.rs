//! The batch evaluation: ONE `nix eval` for any number of fixtures, through the embedded
//! `inspect.nix`. A fixture the batch reports as failing (`tryEval` caught it) is re-evaluated
//! alone, strictly, to get nix's message; if the batch aborts as a whole (an error `tryEval`
//! cannot catch, e.g. a missing attribute), every fixture is evaluated alone so each gets its own
//! result.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;

use super::{
    prerequisites::EvalEnv,
    types::{BatchOutput, Inspection, Outcome, RawInspection, Request, RequestFixture},
};
use crate::{context::Context, nix::NixError};

/// After this many fixtures in a row failed alone with the very same message, the cause is
/// common to all (the module or the packages, not the fixtures): the remaining failing fixtures
/// are reported with that message without a process each.
pub const SAME_FAILURE_LIMIT: usize = 3;

/// The helper expression, embedded so the binary works from any directory.
pub const INSPECT_NIX: &str = include_str!("inspect.nix");

/// One fixture to inspect.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub path: PathBuf,
    pub render: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Modules added to every system (absolute paths).
    pub extra_modules: Vec<PathBuf>,
    /// Show nix's stderr as it arrives.
    pub progress: bool,
}

#[derive(Debug, Clone)]
pub struct BatchResult {
    pub inspections: Vec<Inspection>,
    /// Whether every system shared one package scope (the fast path).
    pub shared_packages: bool,
    /// nix processes started (1 when nothing failed).
    pub processes: usize,
    pub elapsed: Duration,
}

/// The nix system string for this machine (`x86_64-linux`, `aarch64-linux`).
pub fn current_system() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

/// Inspect `targets` in one nix process (plus one per fixture that failed, for its message).
pub async fn inspect(
    ctx: &Context,
    env: &EvalEnv,
    targets: &[Target],
    options: &Options,
) -> anyhow::Result<BatchResult> {
    let started = Instant::now();
    let nixpkgs = env
        .nixpkgs()
        .context("the flake has no `nixpkgs` input to evaluate NixOS with")?;
    let work = inspect_workdir()?;

    let mut processes = 1;
    let batch = run_request(ctx, work.path(), nixpkgs, targets, options, false, "batch").await;
    let (raw, shared_packages) = match batch {
        Ok(output) => (Some(output.fixtures), output.shared_packages),
        // Nothing we can localise from the batch: evaluate each fixture alone below.
        Err(NixError::EvalError { .. }) if targets.len() > 1 => (None, false),
        Err(err) => {
            return Err(err).context(format!("evaluating {} fixture(s)", targets.len()));
        }
    };

    let mut inspections = Vec::with_capacity(targets.len());
    let mut streak = FailureStreak::default();
    for (index, target) in targets.iter().enumerate() {
        let raw = raw.as_ref().and_then(|all| all.get(index));
        let outcome = match batch_outcome(raw, target)? {
            Some(outcome) => outcome,
            None => match streak.shortcut() {
                Some(outcome) => outcome,
                None => {
                    processes += 1;
                    let outcome =
                        evaluate_alone(ctx, work.path(), nixpkgs, target, raw, options).await?;
                    streak.record(&outcome);
                    outcome
                }
            },
        };
        inspections.push(Inspection {
            name: target.name.clone(),
            outcome,
        });
    }
    Ok(BatchResult {
        inspections,
        shared_packages,
        processes,
        elapsed: started.elapsed(),
    })
}

/// A temporary directory holding `inspect.nix`, where the requests are written.
fn inspect_workdir() -> anyhow::Result<tempfile::TempDir> {
    let work = tempfile::Builder::new()
        .prefix("inventree-harness-eval.")
        .tempdir()
        .context("creating a temporary directory for the batch request")?;
    let inspect_file = work.path().join("inspect.nix");
    std::fs::write(&inspect_file, INSPECT_NIX)
        .with_context(|| format!("writing {}", inspect_file.display()))?;
    Ok(work)
}

/// The outcome the batch gave `target`, if it was complete; `None` when there is no batch answer
/// or it caught a failure (then the fixture is evaluated alone).
fn batch_outcome(raw: Option<&RawInspection>, target: &Target) -> anyhow::Result<Option<Outcome>> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    if raw.name != target.name {
        anyhow::bail!(
            "inspect.nix answered for {} where {} was expected",
            raw.name,
            target.name
        );
    }
    Ok(complete_outcome(raw))
}

/// The message the fixtures last evaluated alone failed with, and how many in a row did.
#[derive(Default)]
struct FailureStreak(Option<(String, usize)>);

impl FailureStreak {
    /// Once [`SAME_FAILURE_LIMIT`] fixtures in a row failed alike, the outcome of the next failing
    /// fixture, without a process of its own.
    fn shortcut(&self) -> Option<Outcome> {
        match &self.0 {
            Some((message, count)) if *count >= SAME_FAILURE_LIMIT => Some(Outcome::Failed {
                message: format!(
                    "{message}\n(not re-evaluated alone: the previous {count} failing fixtures all failed with this message)"
                ),
            }),
            _ => None,
        }
    }

    /// Count `outcome` of a fixture evaluated alone: the streak grows, restarts or ends.
    fn record(&mut self, outcome: &Outcome) {
        self.0 = match (outcome, self.0.take()) {
            (Outcome::Failed { message }, Some((last, count))) if *message == last => {
                Some((last, count + 1))
            }
            (Outcome::Failed { message }, _) => Some((message.clone(), 1)),
            _ => None,
        };
    }
}

/// Evaluate `target` alone and strictly: nix's own message for whatever failed. `raw` is what the
/// batch said of it, if anything.
async fn evaluate_alone(
    ctx: &Context,
    work: &Path,
    nixpkgs: &str,
    target: &Target,
    raw: Option<&RawInspection>,
    options: &Options,
) -> anyhow::Result<Outcome> {
    let single = std::slice::from_ref(target);
    let outcome = match run_request(ctx, work, nixpkgs, single, options, true, &target.name).await {
        Ok(output) => match output.fixtures.first().and_then(complete_outcome) {
            Some(outcome) => outcome,
            None => anyhow::bail!("{}: strict evaluation returned no result", target.name),
        },
        Err(NixError::EvalError { message, .. }) => match raw {
            // The assertions evaluated in the batch; only rendering failed.
            Some(raw) if raw.checks_ok => Outcome::Evaluated {
                failed_assertions: raw.failed_assertions.clone().unwrap_or_default(),
                warnings: raw.warnings.clone().unwrap_or_default(),
                rendered: None,
                render_error: Some(message),
            },
            _ => Outcome::Failed { message },
        },
        Err(err) => return Err(err).context(format!("evaluating {}", target.name)),
    };
    Ok(outcome)
}

/// The outcome of a fixture the batch evaluated completely; `None` when something was caught and
/// the fixture must be re-evaluated alone.
fn complete_outcome(raw: &RawInspection) -> Option<Outcome> {
    if !raw.checks_ok {
        // A type error inspect.nix could name is as good as nix's own message (same wording).
        return raw
            .diagnosis
            .clone()
            .map(|message| Outcome::Failed { message });
    }
    if raw.render_ok == Some(false) {
        return None;
    }
    Some(Outcome::Evaluated {
        failed_assertions: raw.failed_assertions.clone().unwrap_or_default(),
        warnings: raw.warnings.clone().unwrap_or_default(),
        rendered: raw.rendered.clone().map(Box::new),
        render_error: None,
    })
}

async fn run_request(
    ctx: &Context,
    work: &Path,
    nixpkgs: &str,
    targets: &[Target],
    options: &Options,
    strict: bool,
    label: &str,
) -> Result<BatchOutput, NixError> {
    let request = Request {
        nixpkgs: nixpkgs.to_string(),
        system: current_system(),
        fixtures: targets
            .iter()
            .map(|t| RequestFixture {
                name: t.name.clone(),
                path: t.path.display().to_string(),
                render: t.render,
            })
            .collect(),
        extra_modules: options
            .extra_modules
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        strict,
    };
    let file_name = format!("request-{}.json", sanitize(label));
    let request_file = work.join(file_name);
    let io = |source| NixError::Io {
        command: format!("writing {}", request_file.display()),
        source,
    };
    let json = serde_json::to_vec_pretty(&request).map_err(|e| io(std::io::Error::other(e)))?;
    std::fs::write(&request_file, json).map_err(io)?;

    let apply = format!(
        "import {} {}",
        work.join("inspect.nix").display(),
        request_file.display()
    );
    let mut command = ctx
        .nix_flake_command(["eval"])
        .args(["--json", "--impure"])
        .arg(ctx.installable("nixosModules"))
        .args(["--apply", &apply]);
    if options.progress {
        command = command.stream_stderr(format!("  nix[{label}] "));
    }
    let output = command.run().await?;
    serde_json::from_str(&output.stdout).map_err(|e| NixError::CommandFailed {
        command: command.display(),
        status: format!("unexpected output: {e}"),
        stderr_tail: crate::util::tail(&output.stdout, 5),
    })
}

fn sanitize(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
