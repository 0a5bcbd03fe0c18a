//! Reading a VM test's build log (`nix build -L`): the subtests the test script ran, how long each
//! took, and which failed with what error. The format is the NixOS test driver's:
//! `subtest: NAME` … `(finished: subtest: NAME, in 12.34 seconds)`, and on failure
//! `Test "NAME" failed with error: "…"`; nix prefixes each line with `<drv name>> `.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubtestStatus {
    Passed,
    Failed,
    /// Started, never finished (the run was killed, or the VM hung).
    Unfinished,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subtest {
    pub name: String,
    pub status: SubtestStatus,
    pub seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Remove ANSI escape sequences (the driver colours subtest headings).
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // CSI: parameters and intermediates up to a final byte in @..~
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// A log line without colours and without nix's `name> ` prefix.
fn message(line: &str) -> String {
    let plain = strip_ansi(line);
    match plain.split_once("> ") {
        Some((prefix, rest)) if !prefix.contains(' ') && prefix.contains("test") => rest.to_owned(),
        _ => plain,
    }
}

pub fn subtests(log: &str) -> Vec<Subtest> {
    let mut found: Vec<Subtest> = Vec::new();
    for line in log.lines() {
        let msg = message(line);
        let msg = msg.trim();
        if let Some(rest) = msg.strip_prefix("(finished: subtest: ") {
            // "NAME, in 12.34 seconds)"
            if let Some((name, timing)) = rest.rsplit_once(", in ") {
                let seconds = timing
                    .trim_end_matches(')')
                    .trim_end_matches(" seconds")
                    .parse()
                    .ok();
                if let Some(s) = found
                    .iter_mut()
                    .rev()
                    .find(|s| s.name == name && s.seconds.is_none())
                {
                    s.seconds = seconds;
                    if s.status == SubtestStatus::Unfinished {
                        s.status = SubtestStatus::Passed;
                    }
                }
            }
        } else if let Some(name) = msg.strip_prefix("subtest: ") {
            found.push(Subtest {
                name: name.to_owned(),
                status: SubtestStatus::Unfinished,
                seconds: None,
                error: None,
            });
        } else if let Some(rest) = msg.strip_prefix("Test \"") {
            if let Some((name, error)) = rest.split_once("\" failed with error: ") {
                if let Some(s) = found.iter_mut().rev().find(|s| s.name == name) {
                    s.status = SubtestStatus::Failed;
                    s.error = Some(error.trim_matches('"').to_owned());
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = include_str!("../../tests/data/vm/defaults-failed.log");

    #[test]
    fn strips_colour_codes() {
        assert_eq!(
            strip_ansi("\u{1b}[1m\u{1b}[32msubtest: x\u{1b}[0m"),
            "subtest: x"
        );
    }

    #[test]
    fn reads_passed_and_failed_subtests_with_times_and_error() {
        let found = subtests(LOG);
        let summary: Vec<(&str, SubtestStatus)> =
            found.iter().map(|s| (s.name.as_str(), s.status)).collect();
        assert_eq!(
            summary,
            [
                (
                    "setup runs before server and worker, which then stay up",
                    SubtestStatus::Passed
                ),
                (
                    "the probe finds the API, the declared admin and a working worker",
                    SubtestStatus::Failed
                ),
            ]
        );
        assert_eq!(found[0].seconds, Some(74.12));
        let error = found[1].error.as_deref().unwrap_or("");
        assert!(error.contains("probe turned unhealthy"), "{error}");
    }

    #[test]
    fn a_subtest_cut_off_by_a_timeout_is_unfinished() {
        let log =
            "vm-test-run-inventree-x> subtest: boots\nvm-test-run-inventree-x> machine: waiting\n";
        assert_eq!(subtests(log)[0].status, SubtestStatus::Unfinished);
    }
}
