//! `inventree-harness bump`: the latest release of a recorded feed, the report as people read it
//! (snapshot), and a dry run that regenerates the Python lock in a copy of the checkout and writes a
//! report — a build-tier test (it needs PyPI), skipped, naming what is missing, without python3, uv,
//! a Python 3.13 or PyPI.

use std::path::PathBuf;
use std::time::Duration;

use inventree_harness::{
    bump::{
        feed,
        lockdiff::LockDiff,
        report::{BumpReport, FieldChange, Outcome, Step},
        run::{run, BumpOptions, Target},
        version::{Change, Version},
    },
    context::Context,
    require,
    tiers::{Skip, Tier},
};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/bump")
        .join(name)
}

#[test]
fn the_latest_stable_release_of_the_recorded_feed_is_chosen() {
    let text = std::fs::read_to_string(data("releases.json")).unwrap();
    let chosen = feed::latest_stable(&feed::parse(&text).unwrap()).unwrap();
    assert_eq!(chosen.version, "1.3.5".parse::<Version>().unwrap());
    assert_eq!(
        chosen.frontend_url.as_deref(),
        Some("https://github.com/inventree/InvenTree/releases/download/1.3.5/frontend-build.zip")
    );
}

#[test]
fn the_report_says_what_changed_passed_and_broke() {
    let step = |name: &str, outcome, summary: &str, detail: &str| Step {
        name: name.into(),
        outcome,
        summary: summary.into(),
        detail: detail.into(),
        seconds: 1.5,
    };
    let report = BumpReport {
        from: "1.3.5".into(),
        to: "1.3.6".into(),
        change: Change::Patch,
        dry_run: false,
        started_at: "2026-11-26T03:00:00Z".into(),
        workspace: "/src/nixos-inventree".into(),
        pin: vec![
            FieldChange {
                field: "version".into(),
                old: "1.3.5".into(),
                new: "1.3.6".into(),
            },
            FieldChange {
                field: "srcHash".into(),
                old: "sha256-Pp8eoVU8VwYCGwFoBnqbc7xVPhe7+84cAc9tM1sSZ2U=".into(),
                new: "sha256-mOpuTyFvL7S2n/+bOkSELDhobKaF8/VdxIxdP7EQe+Q=".into(),
            },
        ],
        lock: Some(LockDiff {
            before: 162,
            after: 163,
            added: vec![("whitenoise-extra".into(), "1.0.0".into())],
            removed: vec![],
            changed: vec![("django".into(), "5.2.15".into(), "5.2.16".into())],
        }),
        migrations: Some(vec!["stock/0117_stockitem_notes_length".into()]),
        steps: vec![
            step(
                "resolve",
                Outcome::Passed,
                "1.3.6 is the latest stable release",
                "",
            ),
            step("lock", Outcome::Passed, "162 → 163 packages", ""),
            step(
                "eval",
                Outcome::Passed,
                "16 packages and 9 checks instantiate",
                "",
            ),
            step(
                "build",
                Outcome::Failed,
                "python: build of python3.13-django-5.2.16 failed",
                "ImportError: cannot import name 'x'",
            ),
            step("vm", Outcome::Skipped, "the build step did not pass", ""),
        ],
    };
    insta::assert_snapshot!("bump_report_markdown", report.to_markdown());
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["verdict"], "failed");
    assert_eq!(json["lock"]["changed"][0][0], "django");
}

/// The backend pins of the checkout's pyproject.toml, as a requirements file (the release's
/// requirements.txt of the pinned version, plus the service's drivers which the lock script
/// adds anyway).
fn requirements_from_pyproject(ctx: &Context) -> String {
    let text = std::fs::read_to_string(ctx.flake_dir.join("pyproject.toml")).unwrap();
    let doc: toml::Value = toml::from_str(&text).unwrap();
    let deps = doc["project"]["dependencies"].as_array().unwrap();
    let version = doc["project"]["version"].as_str().unwrap();
    let mut out = format!("# InvenTree {version} backend pins (from pyproject.toml)\n");
    for dep in deps {
        out.push_str(dep.as_str().unwrap());
        out.push('\n');
    }
    out
}

async fn reachable(host: &str, port: u16) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_secs(4),
            tokio::net::TcpStream::connect((host, port))
        )
        .await,
        Ok(Ok(_))
    )
}

/// `python --version` succeeds within 30 s, or what it printed.
fn runs(python: &std::path::Path) -> Result<(), String> {
    let output = assert_cmd::Command::new(python)
        .arg("--version")
        .timeout(Duration::from_secs(30))
        .output()
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(stderr.lines().next().unwrap_or("no output").to_owned())
}

/// Needs PyPI (uv resolves against it), so it belongs to the build tier — the one that fetches from
/// the network — not to unit, which is offline harness logic.
#[tokio::test]
async fn a_dry_run_at_the_pinned_version_relocks_byte_identically_in_a_copy_and_writes_a_report() {
    let ctx = Context::for_tests().unwrap();
    let skip =
        |reason: &str| Err::<(), _>(Skip::new(Tier::Build, format!("bump dry run: {reason}")));
    for tool in ["python3", "uv", "git"] {
        if inventree_harness::cache::tool(tool).is_none() {
            require!(skip(&format!(
                "{tool} neither on PATH nor in scripts/setup-dev's tools venv"
            )));
        }
    }
    if !reachable("pypi.org", 443).await {
        require!(skip("pypi.org unreachable (uv resolves against PyPI)"));
    }
    // uv needs a Python 3.13: the host tier's interpreter (config file/env), else python3.13.
    let interpreter = ctx
        .overrides
        .python
        .as_ref()
        .map(|p| p.value.clone())
        .or_else(|| which::which("python3.13").ok());
    let Some(interpreter) = interpreter else {
        require!(skip(
            "no Python 3.13 (set [host] python or put python3.13 on PATH)"
        ));
        return;
    };
    // A pyenv shim is on PATH even when its version is not selected, and then fails to run.
    if let Err(why) = runs(&interpreter) {
        require!(skip(&format!(
            "Python 3.13 {} does not run: {why}",
            interpreter.display()
        )));
    }

    let scratch = tempfile::tempdir().unwrap();
    let requirements = scratch.path().join("requirements.txt");
    std::fs::write(&requirements, requirements_from_pyproject(&ctx)).unwrap();
    let pinned = inventree_harness::bump::pin::PinFile::load(&ctx.flake_dir)
        .unwrap()
        .pin
        .version;
    let lock_before = std::fs::read(ctx.flake_dir.join("uv.lock")).unwrap();

    let opts = BumpOptions {
        target: Target::Version(pinned.parse().unwrap()),
        dry_run: true,
        requirements: Some(requirements),
        runs_root: Some(scratch.path().join("runs")),
        python: "python3".into(),
        interpreter: Some(interpreter),
        tiers: false,
        source: None,
    };
    let outcome = run(&ctx, &opts).await.expect("the bump runs");
    let report = &outcome.report;
    eprintln!("{}", report.to_markdown());

    let lock_step = report
        .steps
        .iter()
        .find(|s| s.name == "lock")
        .expect("a lock step");
    assert_eq!(lock_step.outcome, Outcome::Passed, "{lock_step:?}");
    let diff = report.lock.as_ref().expect("a lock diff");
    assert!(
        diff.is_empty(),
        "same pins, same exclude-newer: the lock must not move: {diff:?}"
    );
    let workspace = PathBuf::from(&report.workspace);
    assert!(
        workspace.starts_with(scratch.path()),
        "a dry run works in a copy"
    );
    assert_eq!(
        std::fs::read(workspace.join("uv.lock")).unwrap(),
        lock_before,
        "byte-identical lock"
    );
    assert_eq!(
        std::fs::read(ctx.flake_dir.join("uv.lock")).unwrap(),
        lock_before,
        "the checkout is untouched"
    );
    assert!(outcome.report_dir.join("report.md").is_file());
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(outcome.report_dir.join("report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["to"], pinned.as_str());
}

fn harness(args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("inventree-harness")
        .unwrap()
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

#[test]
fn bump_needs_a_version_or_latest() {
    let out = harness(&["bump", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("VERSION"),
        "{out:?}"
    );
}

#[test]
fn bump_refuses_a_version_that_is_not_a_release() {
    let out = harness(&["bump", "1.3", "--dry-run", "--no-tiers"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("MAJOR.MINOR.PATCH"),
        "{out:?}"
    );
}

#[test]
fn a_recorded_feed_is_only_read_for_latest() {
    let feed = data("releases.json");
    // --dry-run --no-tiers: were the check ever to let it through, nothing in the checkout moves.
    let out = harness(&[
        "bump",
        "1.3.5",
        "--dry-run",
        "--no-tiers",
        "--feed",
        feed.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--feed"),
        "{out:?}"
    );
}
