//! The eval tier: every fixture evaluated in a real NixOS system, in one nix process; rendered
//! output compared with snapshots, invalid fixtures checked for their messages, warning fixtures
//! for their warnings, a secret scan,
//! unit hardening scores, and every package/check instantiated.

pub mod batch;
pub mod fixtures;
pub mod instantiate;
pub mod prerequisites;
pub mod redact;
pub mod secrets;
pub mod security;
pub mod snapshot;
pub mod types;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

pub use prerequisites::{eval_prerequisites, EvalEnv};

use crate::{
    context::Context,
    tiers::{Tier, TierOutcome, TierRunner},
};
use fixtures::{Fixture, Kind};
use types::Inspection;

/// `check`'s entry for the eval tier.
pub fn tier_runner() -> TierRunner {
    TierRunner {
        tier: Tier::Eval,
        prerequisites: |ctx| {
            Box::pin(async move { eval_prerequisites(ctx).await.map(|env| env.describe()) })
        },
        run: |ctx| Box::pin(run_tier(ctx)),
    }
}

/// All fixtures of the checkout, evaluated in one batch with the secret trap.
#[derive(Debug)]
pub struct Suite {
    pub fixtures: Vec<Fixture>,
    /// Same order as `fixtures`; secret paths mapped back to `/run/secrets/…`.
    pub inspections: Vec<Inspection>,
    pub batch: batch::BatchResult,
    /// Secret-scan findings (empty when nothing leaked).
    pub secret_findings: Vec<String>,
}

pub fn fixtures_dir(ctx: &Context) -> PathBuf {
    ctx.flake_dir.join("fixtures")
}

pub fn snapshots_dir(ctx: &Context) -> PathBuf {
    ctx.flake_dir.join("snapshots")
}

/// Evaluate every fixture of the checkout in one nix process, through the secret trap.
pub async fn run_suite(ctx: &Context, env: &EvalEnv, progress: bool) -> anyhow::Result<Suite> {
    let fixtures = fixtures::discover(&fixtures_dir(ctx))?;
    let trap = secrets::SecretTrap::new()?;
    let mut targets = Vec::with_capacity(fixtures.len());
    for fixture in &fixtures {
        targets.push(batch::Target {
            name: fixture.name.clone(),
            path: trap.prepare(&fixture.path, &fixture.snapshot_name())?,
            render: fixture.kind == Kind::Valid,
        });
    }
    let options = batch::Options {
        progress,
        ..Default::default()
    };
    let batch = batch::inspect(ctx, env, &targets, &options).await?;

    let mut secret_findings = Vec::new();
    let mut inspections = Vec::with_capacity(batch.inspections.len());
    for inspection in &batch.inspections {
        let json = serde_json::to_string(inspection).context("serialising an inspection")?;
        secret_findings.extend(trap.scan_text(&inspection.name, &json));
        let restored: Inspection = serde_json::from_str(&trap.restore(&json))
            .context("reading back an inspection after mapping secret paths")?;
        inspections.push(restored);
    }
    secret_findings.extend(trap.scan_store(Path::new("/nix/store"))?);
    Ok(Suite {
        fixtures,
        inspections,
        batch,
        secret_findings,
    })
}

impl Suite {
    pub fn pairs(&self) -> impl Iterator<Item = (&Fixture, &Inspection)> {
        self.fixtures.iter().zip(&self.inspections)
    }

    /// Warning fixtures that did not evaluate cleanly or did not give their expected warning.
    pub fn warning_problems(&self) -> Vec<String> {
        self.pairs()
            .filter(|(f, _)| f.kind == Kind::Warning)
            .filter_map(|(fixture, inspection)| warning_problem(fixture, inspection))
            .collect()
    }

    /// Valid fixtures that failed, raised an assertion, or did not render.
    pub fn valid_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (fixture, inspection) in self.pairs().filter(|(f, _)| f.kind == Kind::Valid) {
            let errors = inspection.errors();
            if !errors.is_empty() {
                problems.push(format!(
                    "{} should evaluate but raised:\n  {}",
                    fixture.name,
                    errors.join("\n  ")
                ));
            } else if inspection.rendered().is_none() {
                problems.push(format!("{} rendered nothing", fixture.name));
            }
        }
        problems
    }

    /// Invalid fixtures that did not raise their expected message.
    pub fn invalid_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (fixture, inspection) in self.pairs().filter(|(f, _)| f.kind == Kind::Invalid) {
            let expected = fixture.expected.as_deref().unwrap_or_default();
            let errors = inspection.errors();
            if !fixtures::raises(&errors, expected) {
                problems.push(format!(
                    "{} should raise {expected:?} but raised {}",
                    fixture.name,
                    if errors.is_empty() {
                        "nothing".to_string()
                    } else {
                        format!("{errors:?}")
                    }
                ));
            }
        }
        problems
    }

    /// Valid fixtures whose rendering differs from the accepted snapshot file (for `check`; the
    /// cargo tests use insta, which also writes the new snapshot for review).
    pub fn snapshot_problems(&self, snapshots: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        for (fixture, inspection) in self.pairs().filter(|(f, _)| f.kind == Kind::Valid) {
            let file = snapshots.join(format!("eval__{}.snap", fixture.snapshot_name()));
            let Ok(text) = std::fs::read_to_string(&file) else {
                problems.push(format!("{}: no snapshot {}", fixture.name, file.display()));
                continue;
            };
            let accepted = snapshot::snap_file_content(&text).unwrap_or(&text);
            if accepted.trim_end() != snapshot::snapshot_text(inspection).trim_end() {
                problems.push(format!(
                    "{}: rendering differs from {} (run `cargo insta test --review`)",
                    fixture.name,
                    file.display()
                ));
            }
        }
        problems
    }

    /// Every InvenTree service unit of every valid fixture: `(fixture, unit, text)`.
    pub fn service_units(&self) -> Vec<(String, String, String)> {
        let mut units = Vec::new();
        for (fixture, inspection) in self.pairs().filter(|(f, _)| f.kind == Kind::Valid) {
            if let Some(rendered) = inspection.rendered() {
                for (name, unit) in &rendered.units {
                    if unit.kind == "service" {
                        units.push((fixture.name.clone(), name.clone(), unit.text.clone()));
                    }
                }
            }
        }
        units
    }
}

/// What is wrong with a warning fixture's inspection, if anything: it must evaluate without a
/// failed assertion, and one of its warnings must contain the expected text.
fn warning_problem(fixture: &Fixture, inspection: &Inspection) -> Option<String> {
    let expected = fixture.expected.as_deref().unwrap_or_default();
    let errors = inspection.errors();
    if !errors.is_empty() {
        return Some(format!(
            "{} should evaluate (and warn {expected:?}) but raised:\n  {}",
            fixture.name,
            errors.join("\n  ")
        ));
    }
    let warnings = inspection.warnings();
    if fixtures::raises(warnings, expected) {
        return None;
    }
    Some(format!(
        "{} should warn {expected:?} but warned {}",
        fixture.name,
        if warnings.is_empty() {
            "nothing".to_string()
        } else {
            format!("{warnings:?}")
        }
    ))
}

/// Units scoring above [`security::MAX_EXPOSURE`], or `None` when systemd-analyze is missing.
pub async fn hardening_problems(suite: &Suite) -> anyhow::Result<Option<(usize, Vec<String>)>> {
    if !security::available() {
        return Ok(None);
    }
    let mut problems = Vec::new();
    let mut scored = 0;
    // One systemd-analyze call per fixture (unit names repeat across fixtures).
    let units = suite.service_units();
    let mut by_fixture: std::collections::BTreeMap<&str, Vec<(String, String)>> =
        Default::default();
    for (fixture, unit, text) in &units {
        by_fixture
            .entry(fixture.as_str())
            .or_default()
            .push((unit.clone(), text.clone()));
    }
    for (fixture, units) in by_fixture {
        let exposures = security::score_units(&units)
            .await
            .with_context(|| format!("scoring the units of {fixture}"))?;
        scored += exposures.len();
        for e in exposures {
            if e.score > security::MAX_EXPOSURE {
                problems.push(format!(
                    "{fixture}: {} exposure {} {} > {}",
                    e.unit,
                    e.score,
                    e.verdict,
                    security::MAX_EXPOSURE
                ));
            }
        }
    }
    Ok(Some((scored, problems)))
}

async fn run_tier(ctx: &Context) -> TierOutcome {
    match run_tier_checks(ctx).await {
        Ok((summary, problems)) if problems.is_empty() => TierOutcome::Passed { summary },
        Ok((summary, problems)) => TierOutcome::Failed {
            details: format!(
                "{} problem(s): {}\n{}",
                problems.len(),
                summary,
                problems.join("\n")
            ),
        },
        Err(err) => TierOutcome::Failed {
            details: format!("{err:#}"),
        },
    }
}

/// Everything the eval tier proves, as (summary, problems).
pub async fn run_tier_checks(ctx: &Context) -> anyhow::Result<(String, Vec<String>)> {
    let env = eval_prerequisites(ctx).await?;
    let suite = run_suite(ctx, &env, false).await?;
    let mut problems = suite.valid_problems();
    problems.extend(suite.invalid_problems());
    problems.extend(suite.warning_problems());
    problems.extend(suite.snapshot_problems(&snapshots_dir(ctx)));
    problems.extend(suite.secret_findings.iter().cloned());
    let hardening = match hardening_problems(&suite).await? {
        Some((scored, found)) => {
            problems.extend(found);
            format!("{scored} units scored ≤ {}", security::MAX_EXPOSURE)
        }
        None => "hardening not scored (no systemd-analyze)".to_string(),
    };
    let drvs = match instantiate::instantiate_all(ctx).await {
        Ok(all) => all
            .iter()
            .map(|(set, paths)| format!("{} {set}", paths.len()))
            .collect::<Vec<_>>()
            .join(", "),
        Err(err) => {
            problems.push(format!("instantiating packages/checks: {err}"));
            "instantiation failed".into()
        }
    };
    let count = |kind| suite.fixtures.iter().filter(|f| f.kind == kind).count();
    let (valid, invalid, warning) = (
        count(Kind::Valid),
        count(Kind::Invalid),
        count(Kind::Warning),
    );
    let summary = format!(
        "{valid} valid + {invalid} invalid + {warning} warning fixtures in {} nix process(es), {:.1}s; secret scan clean: {}; {hardening}; instantiated {drvs}",
        suite.batch.processes,
        suite.batch.elapsed.as_secs_f64(),
        suite.secret_findings.is_empty()
    );
    Ok((summary, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::Outcome;

    fn warning_fixture(expected: &str) -> Fixture {
        Fixture {
            name: "warnings/w".into(),
            kind: Kind::Warning,
            path: PathBuf::from("/fixtures/warnings/w.nix"),
            expected: Some(expected.into()),
        }
    }

    fn evaluated(failed_assertions: &[&str], warnings: &[&str]) -> Inspection {
        Inspection {
            name: "warnings/w".into(),
            outcome: Outcome::Evaluated {
                failed_assertions: failed_assertions.iter().map(|s| s.to_string()).collect(),
                warnings: warnings.iter().map(|s| s.to_string()).collect(),
                rendered: None,
                render_error: None,
            },
        }
    }

    #[test]
    fn warning_fixture_giving_its_warning_is_fine() {
        let inspection = evaluated(&[], &["other", "x has no\n effect: y"]);
        assert_eq!(
            warning_problem(&warning_fixture("x has no effect"), &inspection),
            None
        );
    }

    #[test]
    fn warning_fixture_without_its_warning_names_the_warnings_given() {
        let inspection = evaluated(&[], &["something else"]);
        let problem = warning_problem(&warning_fixture("x has no effect"), &inspection).unwrap();
        assert!(
            problem.contains("should warn \"x has no effect\""),
            "{problem}"
        );
        assert!(problem.contains("something else"), "{problem}");
    }

    #[test]
    fn warning_fixture_with_a_failed_assertion_is_a_problem_even_when_it_warns() {
        let inspection = evaluated(&["must be absolute"], &["x has no effect"]);
        let problem = warning_problem(&warning_fixture("x has no effect"), &inspection).unwrap();
        assert!(problem.contains("should evaluate"), "{problem}");
        assert!(problem.contains("must be absolute"), "{problem}");
    }

    #[test]
    fn warning_fixture_that_failed_to_evaluate_is_a_problem() {
        let inspection = Inspection {
            name: "warnings/w".into(),
            outcome: Outcome::Failed {
                message: "undefined variable".into(),
            },
        };
        let problem = warning_problem(&warning_fixture("x"), &inspection).unwrap();
        assert!(problem.contains("undefined variable"), "{problem}");
    }
}
