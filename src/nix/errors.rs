//! Classification of nix failures from what nix printed on stderr, so a failure is reported as what
//! it is (evaluation error with its message, hash mismatch with both hashes, build failure with the
//! log tail) instead of a wall of trace.

use std::time::Duration;

use crate::util::tail;

/// Minimum Nix version the harness supports (flake `--override-input`, `nix eval --apply`, the
/// error format parsed below).
pub const MIN_NIX_VERSION: (u64, u64) = (2, 18);

#[derive(Debug, thiserror::Error)]
pub enum NixError {
    #[error("could not run `{command}`: {source}")]
    Io {
        command: String,
        #[source]
        source: std::io::Error,
    },

    #[error("nix not found on PATH (install Nix ≥ {}.{})", MIN_NIX_VERSION.0, MIN_NIX_VERSION.1)]
    NixMissing,

    #[error("nix {found} is too old: the harness needs ≥ {}.{}", MIN_NIX_VERSION.0, MIN_NIX_VERSION.1)]
    NixTooOld { found: String },

    #[error("evaluation failed: {message}\n  (command: {command})")]
    EvalError { message: String, command: String },

    #[error("hash mismatch in {what}: specified {specified}, got {got}\n  (command: {command})")]
    HashMismatch {
        what: String,
        specified: String,
        got: String,
        command: String,
    },

    #[error("build of {drv} failed:\n{log_tail}\n  (command: {command})")]
    BuildFailed {
        drv: String,
        log_tail: String,
        command: String,
    },

    #[error(
        "`{command}` timed out after {}s; its process group was killed; its last output:\n{output_tail}",
        after.as_secs()
    )]
    Timeout {
        command: String,
        after: Duration,
        output_tail: String,
    },

    #[error("`{command}` failed ({status}): {stderr_tail}")]
    CommandFailed {
        command: String,
        status: String,
        stderr_tail: String,
    },
}

/// Classify a failed nix call from its stderr. `command` is the shell-quoted command line, carried
/// into the error so the user can re-run it.
pub fn classify(command: &str, status: &str, stderr: &str) -> NixError {
    if let Some(mismatch) = hash_mismatch(stderr) {
        let (what, specified, got) = mismatch;
        return NixError::HashMismatch {
            what,
            specified,
            got,
            command: command.to_string(),
        };
    }
    if let Some((drv, log_tail)) = build_failure(stderr) {
        return NixError::BuildFailed {
            drv,
            log_tail,
            command: command.to_string(),
        };
    }
    if let Some(message) = error_message(stderr) {
        return NixError::EvalError {
            message,
            command: command.to_string(),
        };
    }
    NixError::CommandFailed {
        command: command.to_string(),
        status: status.to_string(),
        stderr_tail: tail(stderr, 20),
    }
}

/// The innermost error message of a nix trace: the text after the last `error:` marker, up to the
/// end, with the trace's indentation removed. For `error:\n  … while …\n\n  error: boom` this is
/// `boom`; for a one-level error (`error: attribute 'b' missing\n  at …`) the message line plus its
/// position.
pub fn error_message(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines
        .iter()
        .rposition(|line| line.trim_start().starts_with("error:"))?;
    let first = lines[start]
        .trim_start()
        .trim_start_matches("error:")
        .trim();
    let mut message: Vec<String> = Vec::new();
    if !first.is_empty() {
        message.push(first.to_string());
    }
    // Continuation lines are indented by (at least) the marker's column; drop that indentation.
    let indent = lines[start].len() - lines[start].trim_start().len();
    let rest: Vec<&str> = lines[start + 1..].to_vec();
    let common = rest
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(indent);
    for line in rest {
        let cut = common.min(line.len() - line.trim_start().len());
        message.push(line[cut..].trim_end().to_string());
    }
    while message.last().is_some_and(|l| l.is_empty()) {
        message.pop();
    }
    let text = message.join("\n").trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// `(what, specified, got)` from nix's "hash mismatch in fixed-output derivation '…':" /
/// "hash mismatch in file downloaded from '…':" followed by `specified:` and `got:` lines.
fn hash_mismatch(stderr: &str) -> Option<(String, String, String)> {
    let line = stderr.lines().find(|l| l.contains("hash mismatch in "))?;
    let what = line
        .split("hash mismatch in ")
        .nth(1)
        .unwrap_or("")
        .trim_end_matches(':')
        .to_string();
    let field = |key: &str| {
        stderr.lines().find_map(|l| {
            l.trim_start()
                .strip_prefix(key)
                .map(|v| v.trim().to_string())
        })
    };
    Some((what, field("specified:")?, field("got:")?))
}

/// `(drv, log tail)` from "builder for '….drv' failed …" (the `> ` log lines nix shows), or from
/// "Cannot build '….drv'" (newer nix).
fn build_failure(stderr: &str) -> Option<(String, String)> {
    let line = stderr
        .lines()
        .find(|l| l.contains("builder for '") || l.contains("Cannot build '"))?;
    let drv = line.split('\'').nth(1).unwrap_or("").to_string();
    let log: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('>'))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let log_tail = if log.is_empty() {
        tail(stderr, 20)
    } else {
        log.join("\n")
    };
    Some((drv, log_tail))
}

/// Parse `nix --version` output (`nix (Nix) 2.26.3`) into `(major, minor, patch)`.
pub fn parse_version(output: &str) -> Option<(u64, u64, u64)> {
    let version = output.split_whitespace().last()?;
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u64>());
    let major = parts.next()?.ok()?;
    let minor = parts.next()?.ok()?;
    let patch = parts.next().and_then(|p| p.ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// Whether a parsed version satisfies [`MIN_NIX_VERSION`].
pub fn version_supported(version: (u64, u64, u64)) -> bool {
    (version.0, version.1) >= MIN_NIX_VERSION
}

#[cfg(test)]
mod tests {
    use super::*;

    // Recorded from nix 2.26.3 on the project's build machines (see testdata/).
    const EVAL_THROW: &str = include_str!("testdata/eval-throw.stderr");
    const EVAL_MISSING_ATTR: &str = include_str!("testdata/eval-missing-attr.stderr");
    const FETCHURL_MISMATCH: &str = include_str!("testdata/fetchurl-hash-mismatch.stderr");
    const FOD_MISMATCH: &str = include_str!("testdata/fod-hash-mismatch.stderr");
    const BUILD_FAILED: &str = include_str!("testdata/build-failed.stderr");

    #[test]
    fn eval_error_message_is_the_innermost_error_without_the_trace() {
        match classify("nix eval", "exit status: 1", EVAL_THROW) {
            NixError::EvalError { message, command } => {
                assert_eq!(message, "boom: value");
                assert_eq!(command, "nix eval");
            }
            other => panic!("classified as {other:?}"),
        }
    }

    #[test]
    fn single_level_eval_error_keeps_its_position() {
        let message = error_message(EVAL_MISSING_ATTR).unwrap();
        assert!(message.starts_with("attribute 'b' missing\nat «string»:1:24:"));
        assert!(message.ends_with("Did you mean a?"));
    }

    #[test]
    fn fixed_output_hash_mismatch_reports_specified_and_got() {
        match classify("nix build", "exit status: 1", FOD_MISMATCH) {
            NixError::HashMismatch {
                specified,
                got,
                what,
                ..
            } => {
                assert_eq!(
                    specified,
                    "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
                );
                assert_eq!(got, "sha256-mOpuTyFvL7S2n/+bOkSELDhobKaF8/VdxIxdP7EQe+Q=");
                assert!(what.starts_with("fixed-output derivation '/nix/store/"));
            }
            other => panic!("classified as {other:?}"),
        }
    }

    #[test]
    fn fetchurl_hash_mismatch_is_a_hash_mismatch_not_an_eval_error() {
        match classify("nix eval", "exit status: 1", FETCHURL_MISMATCH) {
            NixError::HashMismatch { specified, got, .. } => {
                assert_eq!(
                    specified,
                    "sha256:0000000000000000000000000000000000000000000000000000"
                );
                assert_eq!(
                    got,
                    "sha256:01gx2lmiwdbjipx23bsyi9l9zpvckh65jgn0xvk9phcwzp596zs2"
                );
            }
            other => panic!("classified as {other:?}"),
        }
    }

    #[test]
    fn build_failure_carries_the_log_tail() {
        match classify("nix build", "exit status: 1", BUILD_FAILED) {
            NixError::BuildFailed { drv, log_tail, .. } => {
                assert!(drv.ends_with("-fails.drv"), "{drv}");
                assert_eq!(log_tail, "compiling\nstep 2");
            }
            other => panic!("classified as {other:?}"),
        }
    }

    #[test]
    fn unrecognised_failure_keeps_the_stderr_tail() {
        match classify("nix flake lock", "exit status: 1", "something odd\n") {
            NixError::CommandFailed { stderr_tail, .. } => assert_eq!(stderr_tail, "something odd"),
            other => panic!("classified as {other:?}"),
        }
    }

    #[test]
    fn versions_are_parsed_and_compared_with_the_minimum() {
        assert_eq!(parse_version("nix (Nix) 2.26.3\n"), Some((2, 26, 3)));
        assert_eq!(parse_version("nix (Nix) 2.18.0pre2023"), Some((2, 18, 0)));
        assert_eq!(
            parse_version("nix (Lix, like Nix) 2.91.1"),
            Some((2, 91, 1))
        );
        assert!(version_supported((2, 18, 0)));
        assert!(!version_supported((2, 17, 9)));
        assert!(version_supported((3, 0, 0)));
        assert_eq!(parse_version("garbage"), None);
    }
}
