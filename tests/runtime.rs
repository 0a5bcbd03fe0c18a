//! The runtime program's own unit tests (`runtime/tests`, Python `unittest`), run from
//! `cargo test` so one command checks the whole repository.
//!
//! They need only a standard-library Python >= 3.11 (no Django, no InvenTree). Without one
//! the test prints `SKIPPED unit: <reason>` and passes, like every tier whose prerequisite is missing.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Generous: the suite takes ~1 s idle, but starts Python subprocesses on a shared machine.
const SUITE_TIMEOUT: Duration = Duration::from_secs(300);
const MINIMUM_PYTHON: &str = "(3, 11)";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `$INVENTREE_RUNTIME_TEST_PYTHON`, else `python3` on PATH, if it is new enough.
fn find_python() -> Result<PathBuf, String> {
    let candidate = match std::env::var_os("INVENTREE_RUNTIME_TEST_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => which::which("python3").map_err(|_| "no python3 on PATH".to_string())?,
    };
    let check = format!("import sys; sys.exit(0 if sys.version_info >= {MINIMUM_PYTHON} else 1)");
    let status = Command::new(&candidate)
        .args(["-c", &check])
        .status()
        .map_err(|err| format!("cannot run {}: {err}", candidate.display()))?;
    if status.success() {
        Ok(candidate)
    } else {
        Err(format!(
            "{} is older than Python {MINIMUM_PYTHON}",
            candidate.display()
        ))
    }
}

/// Run `command` to completion or kill it at `timeout`; returns (success, combined output).
fn run_with_timeout(mut command: Command, timeout: Duration) -> (bool, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the Python unit tests");
    // Drain both pipes on threads so a chatty suite cannot block on a full pipe.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the Python unit tests") {
            break Some(status);
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = format!(
        "{}{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    match status {
        Some(status) => (status.success(), output),
        None => (false, format!("timed out after {timeout:?}\n{output}")),
    }
}

#[test]
fn runtime_python_unit_tests_pass() {
    let python = match find_python() {
        Ok(python) => python,
        Err(reason) => {
            inventree_harness::demand::skip_or_fail(&inventree_harness::tiers::Skip::new(
                inventree_harness::tiers::Tier::Unit,
                format!("runtime unit tests need Python >= 3.11: {reason}"),
            ));
            return;
        }
    };
    let runtime = repo_root().join("runtime");
    let mut command = Command::new(&python);
    command
        .args(["-m", "unittest", "discover", "-s", "tests", "-t", "."])
        .current_dir(&runtime)
        .env("PYTHONPATH", &runtime)
        // Keep __pycache__ out of the checkout.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null());
    let (success, output) = run_with_timeout(command, SUITE_TIMEOUT);
    assert!(
        success,
        "runtime unit tests failed ({} -m unittest in {}):\n{output}",
        python.display(),
        Path::new("runtime").display()
    );
}
