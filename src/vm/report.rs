//! The per-scenario report of a VM run: a table for the terminal, JSON in the run directory.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use super::log::{Subtest, SubtestStatus};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "reason")]
pub enum ScenarioStatus {
    Passed,
    Failed,
    TimedOut,
    /// Not attempted (an earlier problem, or the tier is unavailable).
    NotRun(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioResult {
    pub name: String,
    #[serde(flatten)]
    pub status: ScenarioStatus,
    pub seconds: f64,
    pub subtests: Vec<Subtest>,
    /// What went wrong, in one paragraph (nix's classified error, or the failed subtest's error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The full build log, in the run directory.
    pub log: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VmRunReport {
    pub started_at: String,
    pub system: String,
    pub run_dir: PathBuf,
    pub scenarios: Vec<ScenarioResult>,
}

impl VmRunReport {
    pub fn all_passed(&self) -> bool {
        !self.scenarios.is_empty()
            && self
                .scenarios
                .iter()
                .all(|s| s.status == ScenarioStatus::Passed)
    }

    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"report not serialisable: {e}\"}}"));
        json.push('\n');
        json
    }

    /// One row per scenario, then the failures with their failed subtests.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let width = self
            .scenarios
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(8)
            .max(8);
        let _ = writeln!(
            out,
            "{:<width$}  {:<9} {:>8}  subtests",
            "scenario", "result", "time"
        );
        for s in &self.scenarios {
            let passed = s
                .subtests
                .iter()
                .filter(|t| t.status == SubtestStatus::Passed)
                .count();
            let result = match &s.status {
                ScenarioStatus::Passed => "passed",
                ScenarioStatus::Failed => "FAILED",
                ScenarioStatus::TimedOut => "TIMEOUT",
                ScenarioStatus::NotRun(_) => "not run",
            };
            let _ = writeln!(
                out,
                "{:<width$}  {:<9} {:>7.1}s  {passed}/{}",
                s.name,
                result,
                s.seconds,
                s.subtests.len()
            );
        }
        for s in &self.scenarios {
            let why = match &s.status {
                ScenarioStatus::Passed => continue,
                ScenarioStatus::NotRun(reason) => Some(reason.as_str()),
                _ => s.failure.as_deref(),
            };
            let _ = writeln!(out, "\n{}: {}", s.name, why.unwrap_or("(no message)"));
            for t in s
                .subtests
                .iter()
                .filter(|t| t.status != SubtestStatus::Passed)
            {
                let _ = writeln!(
                    out,
                    "  subtest {:?} {}{}",
                    t.name,
                    match t.status {
                        SubtestStatus::Failed => "failed",
                        _ => "did not finish",
                    },
                    t.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                );
            }
            if !matches!(s.status, ScenarioStatus::NotRun(_)) {
                let _ = writeln!(out, "  log: {}", s.log.display());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, status: ScenarioStatus, subtests: Vec<Subtest>) -> ScenarioResult {
        ScenarioResult {
            name: name.into(),
            status,
            seconds: 12.0,
            subtests,
            failure: Some("boom".into()),
            log: PathBuf::from(format!("target/vm-runs/T/{name}/build.log")),
        }
    }

    fn subtest(name: &str, status: SubtestStatus) -> Subtest {
        Subtest {
            name: name.into(),
            status,
            seconds: Some(1.0),
            error: (status == SubtestStatus::Failed).then(|| "assertion".into()),
        }
    }

    fn report(scenarios: Vec<ScenarioResult>) -> VmRunReport {
        VmRunReport {
            started_at: "2026-11-26T16:00:00Z".into(),
            system: "x86_64-linux".into(),
            run_dir: PathBuf::from("target/vm-runs/T"),
            scenarios,
        }
    }

    #[test]
    fn passes_only_when_every_scenario_passed() {
        let ok = result("a", ScenarioStatus::Passed, vec![]);
        assert!(report(vec![ok.clone()]).all_passed());
        assert!(!report(vec![]).all_passed());
        assert!(!report(vec![
            ok,
            result("b", ScenarioStatus::NotRun("x".into()), vec![])
        ])
        .all_passed());
    }

    #[test]
    fn text_names_failed_subtests_and_the_log() {
        let text = report(vec![
            result(
                "defaults",
                ScenarioStatus::Passed,
                vec![subtest("one", SubtestStatus::Passed)],
            ),
            result(
                "mysql",
                ScenarioStatus::Failed,
                vec![
                    subtest("one", SubtestStatus::Passed),
                    subtest("two", SubtestStatus::Failed),
                ],
            ),
        ])
        .to_text();
        assert!(text.contains("mysql     FAILED       12.0s  1/2"), "{text}");
        assert!(text.contains("subtest \"two\" failed: assertion"), "{text}");
        assert!(
            text.contains("log: target/vm-runs/T/mysql/build.log"),
            "{text}"
        );
        assert!(!text.contains("defaults: boom"), "{text}");
    }

    #[test]
    fn json_has_status_and_reason_per_scenario() {
        let json: serde_json::Value = serde_json::from_str(
            &report(vec![result(
                "a",
                ScenarioStatus::NotRun("no kvm".into()),
                vec![],
            )])
            .to_json(),
        )
        .unwrap();
        assert_eq!(json["scenarios"][0]["status"], "not-run");
        assert_eq!(json["scenarios"][0]["reason"], "no kvm");
    }
}
