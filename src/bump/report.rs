//! The bump report: what changed, what passed, what broke — as Markdown for people (an issue or PR
//! body) and JSON for tools. Rendering is pure; the runner fills the data.

use std::fmt::Write as _;

use serde::Serialize;

use super::lockdiff::LockDiff;
use super::version::Change;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

/// One step of the bump (resolve, prefetch, pin, lock, eval, build, vm…).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub name: String,
    pub outcome: Outcome,
    /// One line: what it did, or why it failed / was skipped.
    pub summary: String,
    /// Longer output (the tail of a log), shown under "What broke" for failures.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BumpReport {
    pub from: String,
    pub to: String,
    pub change: Change,
    pub dry_run: bool,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub started_at: String,
    /// Where the bump ran: the checkout, or its temporary copy for a dry run.
    pub workspace: String,
    pub pin: Vec<FieldChange>,
    pub lock: Option<LockDiff>,
    /// Database migrations the release adds (`app/NNNN_name`); `None` when not compared.
    #[serde(default)]
    pub migrations: Option<Vec<String>>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every step ran and passed.
    Passed,
    /// Nothing failed, but some steps could not run here.
    Incomplete,
    Failed,
}

impl BumpReport {
    pub fn verdict(&self) -> Verdict {
        if self.steps.iter().any(|s| s.outcome == Outcome::Failed) {
            Verdict::Failed
        } else if self.steps.iter().any(|s| s.outcome == Outcome::Skipped) {
            Verdict::Incomplete
        } else {
            Verdict::Passed
        }
    }

    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct WithVerdict<'a> {
            verdict: Verdict,
            #[serde(flatten)]
            report: &'a BumpReport,
        }
        let mut json = serde_json::to_string_pretty(&WithVerdict {
            verdict: self.verdict(),
            report: self,
        })
        .unwrap_or_else(|e| format!("{{\"error\": \"report not serialisable: {e}\"}}"));
        json.push('\n');
        json
    }

    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        self.write_title(&mut md);
        self.write_steps(&mut md);
        self.write_pin(&mut md);
        self.write_lock(&mut md);
        self.write_migrations(&mut md);
        self.write_what_broke(&mut md);
        md
    }

    /// The heading (versions, kind of change, verdict) and when and where the bump ran.
    fn write_title(&self, md: &mut String) {
        let verdict = match self.verdict() {
            Verdict::Passed => "passed",
            Verdict::Incomplete => "incomplete (nothing failed; some tiers could not run)",
            Verdict::Failed => "FAILED",
        };
        let change = serde_json::to_value(self.change)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            md,
            "# InvenTree {} → {} ({change}): {verdict}\n",
            self.from, self.to
        );
        let _ = writeln!(
            md,
            "Started {}{}, in `{}`.\n",
            self.started_at,
            if self.dry_run {
                " as a dry run (a temporary copy; the checkout is untouched)"
            } else {
                ""
            },
            self.workspace
        );
    }

    /// One table row per step.
    fn write_steps(&self, md: &mut String) {
        md.push_str("## Steps\n\n| step | result | time | notes |\n| --- | --- | ---: | --- |\n");
        for step in &self.steps {
            let mark = match step.outcome {
                Outcome::Passed => "✅ passed",
                Outcome::Failed => "❌ failed",
                Outcome::Skipped => "⏭ skipped",
            };
            let _ = writeln!(
                md,
                "| {} | {mark} | {:.1} s | {} |",
                step.name,
                step.seconds,
                escape_cell(&step.summary)
            );
        }
    }

    /// The pin keys that changed, old and new.
    fn write_pin(&self, md: &mut String) {
        md.push_str("\n## Pinned release (`pkgs/version.json`)\n\n");
        if self.pin.is_empty() {
            md.push_str("Unchanged.\n");
        } else {
            md.push_str("| field | old | new |\n| --- | --- | --- |\n");
            for c in &self.pin {
                let _ = writeln!(md, "| {} | `{}` | `{}` |", c.field, c.old, c.new);
            }
        }
    }

    /// The regenerated lock's difference: counts, then each changed, added and removed package.
    fn write_lock(&self, md: &mut String) {
        md.push_str("\n## Python dependencies (`uv.lock`)\n\n");
        match &self.lock {
            None => md.push_str("Not regenerated (see the steps above).\n"),
            Some(lock) if lock.is_empty() => {
                let _ = writeln!(md, "Unchanged: {} packages.", lock.after);
            }
            Some(lock) => {
                let _ = writeln!(
                    md,
                    "{} → {} packages: {} added, {} removed, {} changed.\n",
                    lock.before,
                    lock.after,
                    lock.added.len(),
                    lock.removed.len(),
                    lock.changed.len()
                );
                let downgrades = lock.downgrades();
                for change in &lock.changed {
                    let (name, old, new) = change;
                    let mark = if downgrades.contains(&change) {
                        " (**downgrade**)"
                    } else {
                        ""
                    };
                    let _ = writeln!(md, "- {name} {old} → {new}{mark}");
                }
                for (name, version) in &lock.added {
                    let _ = writeln!(md, "- {name} {version} (added)");
                }
                for (name, version) in &lock.removed {
                    let _ = writeln!(md, "- {name} {version} (removed)");
                }
            }
        }
    }

    /// The migrations the release adds, one per line.
    fn write_migrations(&self, md: &mut String) {
        md.push_str("\n## Database migrations added\n\n");
        match &self.migrations {
            None => md.push_str("Not compared (see the steps above).\n"),
            Some(added) if added.is_empty() => md.push_str("None.\n"),
            Some(added) => {
                for migration in added {
                    let _ = writeln!(md, "- {migration}");
                }
            }
        }
    }

    /// Each failed step with its summary and detail; nothing when no step failed.
    fn write_what_broke(&self, md: &mut String) {
        let broken: Vec<&Step> = self
            .steps
            .iter()
            .filter(|s| s.outcome == Outcome::Failed)
            .collect();
        if !broken.is_empty() {
            md.push_str("\n## What broke\n");
            for step in broken {
                let _ = writeln!(md, "\n### {}\n\n{}\n", step.name, step.summary);
                if !step.detail.is_empty() {
                    let _ = writeln!(md, "```\n{}\n```", step.detail.trim_end());
                }
            }
        }
    }
}

/// Keep a table cell on one line and its pipes literal.
fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, outcome: Outcome) -> Step {
        Step {
            name: name.into(),
            outcome,
            summary: format!("{name} summary"),
            detail: String::new(),
            seconds: 1.0,
        }
    }

    fn report(steps: Vec<Step>) -> BumpReport {
        BumpReport {
            from: "1.3.5".into(),
            to: "1.3.6".into(),
            change: Change::Patch,
            dry_run: true,
            started_at: "1970-01-01T00:00:00Z".into(),
            workspace: "/tmp/x".into(),
            pin: vec![],
            lock: None,
            migrations: None,
            steps,
        }
    }

    #[test]
    fn the_migrations_section_lists_each_added_migration_or_says_why_there_is_none() {
        let mut r = report(vec![]);
        assert!(r
            .to_markdown()
            .contains("## Database migrations added\n\nNot compared"));
        r.migrations = Some(vec![]);
        assert!(r
            .to_markdown()
            .contains("## Database migrations added\n\nNone.\n"));
        r.migrations = Some(vec!["part/0140_part_notes".into()]);
        assert!(r
            .to_markdown()
            .contains("## Database migrations added\n\n- part/0140_part_notes\n"));
    }

    #[test]
    fn a_package_moved_to_a_lower_version_is_marked_as_a_downgrade() {
        let mut r = report(vec![]);
        r.lock = Some(LockDiff {
            before: 2,
            after: 2,
            added: vec![],
            removed: vec![],
            changed: vec![
                ("django".into(), "5.2.15".into(), "5.2.13".into()),
                ("idna".into(), "3.11".into(), "3.15".into()),
            ],
        });
        let md = r.to_markdown();
        assert!(
            md.contains("- django 5.2.15 → 5.2.13 (**downgrade**)\n"),
            "{md}"
        );
        assert!(md.contains("- idna 3.11 → 3.15\n"), "{md}");
    }

    #[test]
    fn any_failure_fails_the_bump() {
        let r = report(vec![
            step("a", Outcome::Passed),
            step("b", Outcome::Failed),
            step("c", Outcome::Skipped),
        ]);
        assert_eq!(r.verdict(), Verdict::Failed);
    }

    #[test]
    fn skipped_tiers_make_it_incomplete_not_passed() {
        let r = report(vec![
            step("a", Outcome::Passed),
            step("vm", Outcome::Skipped),
        ]);
        assert_eq!(r.verdict(), Verdict::Incomplete);
    }

    #[test]
    fn all_passed_is_passed() {
        assert_eq!(
            report(vec![step("a", Outcome::Passed)]).verdict(),
            Verdict::Passed
        );
    }

    #[test]
    fn json_carries_the_verdict() {
        let json: serde_json::Value =
            serde_json::from_str(&report(vec![step("a", Outcome::Failed)]).to_json()).unwrap();
        assert_eq!(json["verdict"], "failed");
        assert_eq!(json["steps"][0]["outcome"], "failed");
        assert_eq!(json["change"], "patch");
    }

    #[test]
    fn table_cells_stay_on_one_line() {
        let mut s = step("a", Outcome::Failed);
        s.summary = "one | two\nthree".into();
        let md = report(vec![s]).to_markdown();
        assert!(md.contains("| one \\| two three |"), "{md}");
    }
}
