//! The command line as a user meets it: subcommands, overrides and where they come from, the
//! tier table, and exit codes. No Nix needed: runs that need it get a PATH without nix.

use std::time::Duration;

use assert_cmd::Command;
use clap::CommandFactory;
use inventree_harness::cli::Cli;

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

/// Write the user config file `harness_without_nix` points the harness at.
fn write_user_config(home: &tempfile::TempDir, text: &str) {
    let dir = home.path().join("config/inventree-harness");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

/// Run `cmd`, assert it succeeded, and return its stdout.
fn success_stdout(cmd: &mut Command) -> String {
    String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap()
}

#[test]
fn help_lists_every_subcommand_clap_knows() {
    let subcommands: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    assert!(!subcommands.is_empty(), "clap knows no subcommand");
    let (mut cmd, _home) = harness_without_nix();
    let help = success_stdout(cmd.arg("--help"));
    for sub in &subcommands {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{sub} "))),
            "--help lacks a line for {sub}:\n{help}"
        );
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
    write_user_config(
        &home,
        "[inputs]\nnixpkgs = \"path:/from-file\"\n[host]\npython = \"/venv/bin/python\"\n",
    );
    let text = success_stdout(cmd.arg("doctor"));
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
    assert!(stderr.contains("/nonexistent/fragment.nix"), "{stderr}");
}

#[test]
fn eval_without_nix_is_an_error_saying_nix_is_missing() {
    let (mut cmd, _home) = harness_without_nix();
    let fixture = format!(
        "{}/fixtures/valid/defaults-sqlite.nix",
        env!("CARGO_MANIFEST_DIR")
    );
    let assert = cmd.args(["eval", &fixture]).assert().code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("cannot evaluate: nix not found on PATH"),
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

#[test]
fn check_fails_a_demanded_tier_that_would_skip_naming_the_missing_prerequisite() {
    let (mut cmd, _home) = harness_without_nix();
    let assert = cmd
        .args(["check", "--tier", "host"])
        .env("INVENTREE_HARNESS_REQUIRE_TIERS", "host")
        .env("INVENTREE_HARNESS_SRC", "/nonexistent/inventree")
        .env("INVENTREE_HARNESS_PYTHON", "/nonexistent/python")
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1);
    let table = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let row = table
        .lines()
        .find(|l| l.starts_with("host "))
        .unwrap_or_else(|| panic!("no host row in:\n{table}"));
    assert!(row.contains("FAILED"), "{row}");
    assert!(
        row.contains(
            "DEMANDED host would skip: /nonexistent/inventree (from environment variable \
             INVENTREE_HARNESS_SRC) is not an InvenTree source tree"
        ),
        "{row}"
    );
}

#[test]
fn an_unknown_demanded_tier_is_an_error_listing_the_valid_tiers() {
    let (mut cmd, _home) = harness_without_nix();
    let assert = cmd
        .args(["check", "--tier", "eval"])
        .env("INVENTREE_HARNESS_REQUIRE_TIERS", "eval,hots")
        .assert()
        .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains(
            "unknown tier \"hots\" in INVENTREE_HARNESS_REQUIRE_TIERS; valid tiers: \
             unit, eval, host, upgrade, systemd, browser, build, vm"
        ),
        "{stderr}"
    );
}

#[test]
fn doctor_shows_the_demanded_tiers_and_where_they_are_demanded() {
    let (mut cmd, home) = harness_without_nix();
    write_user_config(&home, "[ci]\nrequire_tiers = [\"eval\"]\n");
    let text = success_stdout(cmd.arg("doctor"));
    assert!(
        text.contains("demanded tiers: eval (from config file"),
        "{text}"
    );
    assert!(
        text.contains("eval    FAILS (demanded): would skip: nix not found on PATH"),
        "{text}"
    );
}

#[test]
fn doctor_configured_tiers_lists_the_tiers_the_config_names_prerequisites_of() {
    let (mut cmd, home) = harness_without_nix();
    write_user_config(
        &home,
        "[inputs]\nnixpkgs = \"path:/n\"\n[host]\ninventree_src = \"/s\"\npython = \"/p\"\n\
         [systemd]\nrootfs = \"/r\"\n",
    );
    cmd.args(["doctor", "--configured-tiers"])
        .assert()
        .success()
        .stdout("eval,host,systemd\n");
}
