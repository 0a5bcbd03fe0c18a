//! Running the non-nix programs a bump needs (`git ls-remote`, `scripts/lock-python-deps`)
//! through [`crate::process`]: own process group, output captured, the whole group killed at the
//! timeout. (nix itself is only ever started through `crate::nix::NixCommand`.)

use std::{path::Path, time::Duration};

use anyhow::Context as _;

use crate::process::Spec;

/// What a bump step's program printed, and how it exited.
pub type ProcessOutput = crate::process::Finished;

/// Run `argv` in `dir`; `Err` only when it could not be started or timed out (both named).
pub async fn run(argv: &[String], dir: &Path, timeout: Duration) -> anyhow::Result<ProcessOutput> {
    let spec = Spec::from_argv(argv).context("empty command")?.cwd(dir);
    Ok(crate::process::run(&spec, timeout).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_argv_in_the_directory_given() {
        let dir = tempfile::tempdir().unwrap();
        let argv = ["pwd".to_string()];
        let out = run(&argv, dir.path(), Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(
            Path::new(out.stdout.trim()).canonicalize().unwrap(),
            dir.path().canonicalize().unwrap()
        );
    }

    #[tokio::test]
    async fn an_empty_command_is_refused() {
        let err = run(&[], Path::new("."), Duration::from_secs(10))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "empty command");
    }
}
