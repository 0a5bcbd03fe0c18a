//! Tiers: which checks this machine can run, and why not.
//!
//! A tier runs when its prerequisites are present and is skipped, naming the missing prerequisite,
//! when they are not (or fails, when the tier is demanded: [`crate::demand`]). Tests use [`require!`](crate::require) (in `demand`) to skip (passing) with that reason;
//! `inventree-harness check` runs every registered [`TierRunner`] and prints a table.
//!
//! To register a tier: write `pub fn tier_runner() -> TierRunner` in your tier's module and add it
//! to the list in `cmd/check.rs`.

use std::{fmt, future::Future, pin::Pin, time::Duration};

use crate::context::Context;

/// The tiers of the design, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Tier {
    /// Harness logic, Rust only.
    Unit,
    /// Every fixture evaluated in a real NixOS system (needs Nix and the flake inputs).
    Eval,
    /// InvenTree run as the module configures it, as local processes.
    Host,
    /// An instance set up by an older InvenTree tree, filled, then upgraded to the host tier's
    /// tree (needs the host tier's prerequisites + an older tree and its Python).
    Upgrade,
    /// The units exactly as NixOS renders them, under a real systemd in a container (needs root,
    /// `systemd-nspawn`, a container root file system, and the host tier's prerequisites).
    Systemd,
    /// The web UI of a host-tier instance in a real Chromium (needs host + Chromium + a built
    /// frontend).
    Browser,
    /// `nix build` of every package (needs a store that can build).
    Build,
    /// NixOS VM tests (needs build + KVM).
    Vm,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Unit => "unit",
            Tier::Eval => "eval",
            Tier::Host => "host",
            Tier::Upgrade => "upgrade",
            Tier::Systemd => "systemd",
            Tier::Browser => "browser",
            Tier::Build => "build",
            Tier::Vm => "vm",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A tier cannot run here: `reason` names the missing prerequisite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub tier: Tier,
    pub reason: String,
}

impl Skip {
    pub fn new(tier: Tier, reason: impl Into<String>) -> Self {
        Skip {
            tier,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SKIPPED {}: {}", self.tier, self.reason)
    }
}

impl std::error::Error for Skip {}

/// The result of checking a tier's prerequisites: what the tier needs, found (`Ok`), or why not.
pub type Prerequisite<T> = Result<T, Skip>;

/// Print a skip the way every tier test does: one line `SKIPPED <tier>: <reason>` on stdout (shown
/// by `cargo test -- --nocapture` and in the `check` table) and on stderr (shown by plain `cargo
/// test` next to the test name).
pub fn report_skip(skip: &Skip) {
    println!("{skip}");
    eprintln!("{skip}");
}

/// How a tier ended when `check` ran it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TierOutcome {
    /// It ran and everything held; `summary` says what was proven (e.g. "14 valid, 22 invalid").
    Passed { summary: String },
    /// A prerequisite is missing.
    Skipped { reason: String },
    /// It ran and something did not hold; `details` says what.
    Failed { details: String },
}

impl From<anyhow::Result<String>> for TierOutcome {
    /// A tier's run: its summary when it passed, the whole error chain when it failed.
    fn from(result: anyhow::Result<String>) -> Self {
        match result {
            Ok(summary) => TierOutcome::Passed { summary },
            Err(e) => TierOutcome::Failed {
                details: format!("{e:#}"),
            },
        }
    }
}

impl From<Skip> for TierOutcome {
    fn from(skip: Skip) -> Self {
        TierOutcome::Skipped {
            reason: skip.reason,
        }
    }
}

/// A boxed future, so tiers with different async bodies fit in one list.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One entry of `check`'s (and `doctor`'s) list: a tier, how to check its prerequisites, and how to
/// run it. `prerequisites` is cheap and returns what it found (e.g. "nix 2.26.3; inputs: nixpkgs
/// overridden") or the [`Skip`]; `run` is only called after it succeeded.
pub struct TierRunner {
    pub tier: Tier,
    pub prerequisites: for<'a> fn(&'a Context) -> BoxFuture<'a, Prerequisite<String>>,
    pub run: for<'a> fn(&'a Context) -> BoxFuture<'a, TierOutcome>,
}

/// A tier's outcome together with how long it took, as `check` reports it.
#[derive(Debug, Clone)]
pub struct TierReport {
    pub tier: Tier,
    pub outcome: TierOutcome,
    pub elapsed: Duration,
}

/// Render the table `check` prints (and `.ci/run` shows): one row per tier.
pub fn render_table(reports: &[TierReport]) -> String {
    let mut out = String::from("tier    status   time     details\n");
    for report in reports {
        let (status, details) = match &report.outcome {
            TierOutcome::Passed { summary } => ("run", summary.as_str()),
            TierOutcome::Skipped { reason } => ("skipped", reason.as_str()),
            TierOutcome::Failed { details } => ("FAILED", details.as_str()),
        };
        let first_line = details.lines().next().unwrap_or("");
        out.push_str(&format!(
            "{:<7} {:<8} {:>6.1}s  {}\n",
            report.tier.name(),
            status,
            report.elapsed.as_secs_f64(),
            first_line
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_is_reported_with_tier_and_reason() {
        let skip = Skip::new(Tier::Eval, "nix not found on PATH");
        assert_eq!(skip.to_string(), "SKIPPED eval: nix not found on PATH");
    }

    #[test]
    fn table_has_one_row_per_tier_with_status_and_first_line_of_details() {
        let table = render_table(&[
            TierReport {
                tier: Tier::Eval,
                outcome: TierOutcome::Passed {
                    summary: "14 valid, 22 invalid".into(),
                },
                elapsed: Duration::from_millis(8_400),
            },
            TierReport {
                tier: Tier::Browser,
                outcome: TierOutcome::Failed {
                    details: "login did not hold".into(),
                },
                elapsed: Duration::from_millis(31_000),
            },
            TierReport {
                tier: Tier::Vm,
                outcome: TierOutcome::Skipped {
                    reason: "/dev/kvm missing\nmore".into(),
                },
                elapsed: Duration::ZERO,
            },
        ]);
        assert_eq!(
            table,
            "tier    status   time     details\n\
             eval    run         8.4s  14 valid, 22 invalid\n\
             browser FAILED     31.0s  login did not hold\n\
             vm      skipped     0.0s  /dev/kvm missing\n"
        );
    }
}
