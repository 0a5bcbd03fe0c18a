//! The runtime program's own unit tests (`runtime/tests`, Python `unittest`), run from
//! `cargo test` so one command checks the whole repository.
//!
//! They need only a standard-library Python >= 3.11 (no Django, no InvenTree). Without one
//! the test prints `SKIPPED unit: <reason>` and passes, like every tier whose prerequisite is missing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use inventree_harness::process::{self, Finished, RunError, Spec};

/// Generous: the suite takes ~1 s idle, but starts Python subprocesses on a shared machine.
const SUITE_TIMEOUT: Duration = Duration::from_secs(300);
const MINIMUM_PYTHON: &str = "(3, 11)";
const VERSION_CHECK_TIMEOUT: Duration = Duration::from_secs(30);

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
    let done = run_blocking(
        &Spec::new(&candidate).args(["-c", &check]),
        VERSION_CHECK_TIMEOUT,
    )
    .map_err(|err| format!("cannot run {}: {err}", candidate.display()))?;
    if done.success {
        Ok(candidate)
    } else {
        Err(format!(
            "{} is older than Python {MINIMUM_PYTHON}",
            candidate.display()
        ))
    }
}

/// [`process::run`] from a synchronous test: the program in its own process group, killed
/// with everything it started at `timeout`.
fn run_blocking(spec: &Spec, timeout: Duration) -> Result<Finished, RunError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the test")
        .block_on(process::run(spec, timeout))
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
    let suite = Spec::new(&python)
        .args(["-m", "unittest", "discover", "-s", "tests", "-t", "."])
        .cwd(&runtime)
        .env("PYTHONPATH", runtime.display().to_string())
        // Keep __pycache__ out of the checkout.
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let (success, output) = match run_blocking(&suite, SUITE_TIMEOUT) {
        Ok(done) => (done.success, done.output),
        Err(err) => (false, err.to_string()),
    };
    assert!(
        success,
        "runtime unit tests failed ({} -m unittest in {}):\n{output}",
        python.display(),
        Path::new("runtime").display()
    );
}
