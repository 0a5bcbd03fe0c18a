//! The command line as a user meets it: subcommands, overrides and where they come from, the
//! tier table, and exit codes. No Nix needed: runs that need it get a PATH without nix.

use std::time::Duration;

use assert_cmd::Command;

/// The harness with an empty user config (no machine-local overrides leak in) and `PATH` without
/// nix, so results do not depend on the machine; killed if it hangs.
fn harness_without_nix() -> (Command, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("inventree-harness").unwrap();
    cmd.env_clear()
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("PATH", home.path().join("no-bin"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .timeout(Duration::from_secs(60));
    (cmd, home)
}

#[test]
fn help_lists_every_subcommand() {
    let (mut cmd, _home) = harness_without_nix();
    let out = cmd
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(out).unwrap();
    for sub in ["eval", "check", "doctor", "bench-eval"] {
        assert!(help.contains(sub), "--help lacks {sub}:\n{help}");
    }
}

#[test]
fn doctor_names_missing_nix_and_says_where_overrides_come_from() {
    let (mut cmd, _home) = harness_without_nix();
    let out = cmd
        .args(["doctor", "--override-input", "nixpkgs", "path:/somewhere"])
        .env("INVENTREE_HARNESS_OVERRIDE_UV2NIX", "path:/uv")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("nix: nix not found on PATH"), "{text}");
    assert!(
        text.contains("input nixpkgs = path:/somewhere (from command-line flag)"),
        "{text}"
    );
    assert!(
        text.contains(
            "input uv2nix = path:/uv (from environment variable INVENTREE_HARNESS_OVERRIDE_UV2NIX)"
        ),
        "{text}"
    );
    assert!(
        text.contains("(absent)"),
        "config file should be reported absent:\n{text}"
    );
}

#[test]
fn config_file_overrides_are_read_and_attributed() {
    let (mut cmd, home) = harness_without_nix();
    let dir = home.path().join("config/inventree-harness");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "[inputs]\nnixpkgs = \"path:/from-file\"\n[host]\npython = \"/venv/bin/python\"\n",
    )
    .unwrap();
    let out = cmd
        .arg("doctor")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("input nixpkgs = path:/from-file (from config file"),
        "{text}"
    );
    assert!(
        text.contains("host python = /venv/bin/python (from config file"),
        "{text}"
    );
}

#[test]
fn check_without_nix_reports_the_eval_tier_skipped_and_passes() {
    let (mut cmd, _home) = harness_without_nix();
    let out = cmd
        .args(["check", "--tier", "eval"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(out).unwrap();
    let row = table
        .lines()
        .find(|l| l.starts_with("eval "))
        .unwrap_or_else(|| panic!("no eval row in:\n{table}"));
    assert!(row.contains("skipped"), "{row}");
    assert!(row.contains("nix not found on PATH"), "{row}");
}

#[test]
fn eval_of_a_missing_file_is_a_usage_error_naming_it() {
    let (mut cmd, _home) = harness_without_nix();
    let assert = cmd
        .args(["eval", "/nonexistent/fragment.nix"])
        .assert()
        .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    // Without nix the prerequisites fail first; either way the user is told what is missing.
    assert!(
        stderr.contains("nix not found") || stderr.contains("/nonexistent/fragment.nix"),
        "{stderr}"
    );
}

#[test]
fn explicitly_named_config_file_that_does_not_exist_is_an_error() {
    let (mut cmd, _home) = harness_without_nix();
    let assert = cmd
        .args(["doctor", "--config", "/nonexistent/harness.toml"])
        .assert()
        .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("/nonexistent/harness.toml"), "{stderr}");
}

#[test]
fn override_input_needs_a_name_and_a_reference() {
    let (mut cmd, _home) = harness_without_nix();
    cmd.args(["doctor", "--override-input", "nixpkgs"])
        .assert()
        .failure();
}
