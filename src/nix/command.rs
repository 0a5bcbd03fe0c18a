//! The one place that builds a `nix` command. [`NixCommand`] is a builder whose
//! [`NixCommand::argv`] is pure (unit-tested without Nix); [`NixCommand::run`] runs it through
//! [`crate::process`] (own process group, stdout and stderr captured, stderr optionally streamed
//! as progress, the whole group killed at the timeout or when the caller is dropped) and
//! classifies a failure from its stderr (`super::errors`).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use super::errors::{classify, parse_version, version_supported, NixError};
use crate::process::{self, shell_quote, RunError, Spec};

/// Default timeout for a nix call; evaluation of a dozen NixOS systems takes well under a minute.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(900);

/// A nix invocation, e.g. `NixCommand::new(["eval"]).arg("--json").installable(...)`.
#[derive(Debug, Clone)]
pub struct NixCommand {
    subcommand: Vec<String>,
    override_inputs: Vec<(String, String)>,
    timeout: Duration,
    /// How it runs: program, the arguments after the subcommand, environment, directory,
    /// stdin, output. [`NixCommand::argv`] puts the arguments in their place.
    process: Spec,
}

/// What a successful call printed.
#[derive(Debug, Clone)]
pub struct NixOutput {
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl NixCommand {
    /// `nix <subcommand…>` (e.g. `["eval"]`, `["flake", "archive"]`).
    pub fn new<I, S>(subcommand: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        NixCommand {
            subcommand: subcommand.into_iter().map(Into::into).collect(),
            override_inputs: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            process: Spec::new("nix"),
        }
    }

    /// Use another `nix` binary (tests, or a specific Nix).
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.process.program = program.into();
        self
    }

    pub fn arg(self, arg: impl Into<String>) -> Self {
        self.args([arg])
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.process = self.process.args(args);
        self
    }

    /// `--override-input NAME REF` (repeatable; order kept).
    pub fn override_input(mut self, name: impl Into<String>, reference: impl Into<String>) -> Self {
        self.override_inputs.push((name.into(), reference.into()));
        self
    }

    /// `--override-input NAME REF` for each pair, in order (the run's resolved overrides).
    pub fn override_inputs<I, N, R>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (N, R)>,
        N: Into<String>,
        R: Into<String>,
    {
        for (name, reference) in pairs {
            self.override_inputs.push((name.into(), reference.into()));
        }
        self
    }

    /// Sets a variable on top of the harness's environment.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.process = self.process.env(key, value);
        self
    }

    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.process = self.process.cwd(dir);
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.process = self.process.stdin(bytes);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Forward stderr lines to our stderr as they arrive, prefixed (progress of long calls); they
    /// are captured as well.
    pub fn stream_stderr(mut self, prefix: impl Into<String>) -> Self {
        self.process = self.process.stream(prefix);
        self
    }

    /// The full command line, program first. Pure: no process is started.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![self.process.program.display().to_string()];
        argv.extend(self.subcommand.iter().cloned());
        // Flakes may not be enabled in the user's nix.conf; these are harmless when they are.
        argv.extend([
            "--extra-experimental-features".to_string(),
            "nix-command flakes".to_string(),
        ]);
        argv.extend(self.process.args.iter().cloned());
        for (name, reference) in &self.override_inputs {
            argv.extend([
                "--override-input".to_string(),
                name.clone(),
                reference.clone(),
            ]);
        }
        argv
    }

    /// The command line as one shell-quoted string, for error messages and logs.
    pub fn display(&self) -> String {
        self.argv()
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// What [`crate::process`] runs: [`NixCommand::argv`] with this command's environment on
    /// top of ours, stdout and stderr captured (stderr streamed when asked).
    pub fn spec(&self) -> Spec {
        let mut spec = self.process.clone().name("nix");
        spec.args = self.argv().split_off(1);
        spec
    }

    /// Run to completion. Non-zero exit is classified into a [`NixError`] from stderr.
    pub async fn run(&self) -> Result<NixOutput, NixError> {
        let command = self.display();
        let done = process::run(&self.spec(), self.timeout)
            .await
            .map_err(|error| self.run_error(error, command.clone()))?;
        if !done.success {
            return Err(classify(&command, &done.status.to_string(), &done.stderr));
        }
        Ok(NixOutput {
            stdout: done.stdout,
            stderr: done.stderr,
            elapsed: done.elapsed,
        })
    }

    fn run_error(&self, error: RunError, command: String) -> NixError {
        match error {
            RunError::Start { source, .. }
                if source.kind() == std::io::ErrorKind::NotFound
                    && self.process.program == Path::new("nix") =>
            {
                NixError::NixMissing
            }
            RunError::Start { source, .. } | RunError::Wait { source, .. } => {
                NixError::Io { command, source }
            }
            RunError::Timeout { after, tail, .. } => NixError::Timeout {
                command,
                after,
                output_tail: tail,
            },
        }
    }
}

/// `nix --version`, checked against the minimum. `NixMissing` when nix is not on PATH.
pub async fn nix_version() -> Result<(u64, u64, u64), NixError> {
    if which::which("nix").is_err() {
        return Err(NixError::NixMissing);
    }
    let output = NixCommand::new(Vec::<String>::new())
        .arg("--version")
        .timeout(Duration::from_secs(30))
        .run()
        .await?;
    let version = parse_version(&output.stdout).ok_or_else(|| NixError::CommandFailed {
        command: "nix --version".into(),
        status: "unparseable output".into(),
        stderr_tail: output.stdout.trim().to_string(),
    })?;
    if !version_supported(version) {
        return Err(NixError::NixTooOld {
            found: format!("{}.{}.{}", version.0, version.1, version.2),
        });
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_puts_subcommand_then_features_then_args_then_overrides() {
        let cmd = NixCommand::new(["eval"])
            .args(["--json", "path:/repo#nixosModules"])
            .override_input("nixpkgs", "path:/np")
            .override_input("uv2nix", "path:/uv");
        assert_eq!(
            cmd.argv(),
            [
                "nix",
                "eval",
                "--extra-experimental-features",
                "nix-command flakes",
                "--json",
                "path:/repo#nixosModules",
                "--override-input",
                "nixpkgs",
                "path:/np",
                "--override-input",
                "uv2nix",
                "path:/uv"
            ]
        );
    }

    #[test]
    fn display_quotes_arguments_a_shell_would_split() {
        let cmd = NixCommand::new(["eval"]).args(["--apply", "x: x.a"]);
        assert_eq!(
            cmd.display(),
            "nix eval --extra-experimental-features 'nix-command flakes' --apply 'x: x.a'"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    /// The runner exercised with `sh -c SCRIPT` standing in for nix (no Nix needed): the
    /// "subcommand" is `-c SCRIPT`, and the experimental-features pair argv appends becomes the
    /// script's `$0 $1`.
    fn sh(script: &str) -> NixCommand {
        NixCommand::new(["-c", script]).program("/bin/sh")
    }

    #[tokio::test]
    async fn run_captures_stdout_and_stderr() {
        let out = sh("echo out; echo err >&2").run().await.unwrap();
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
    }

    #[tokio::test]
    async fn run_feeds_stdin() {
        let out = sh("cat").stdin("hello").run().await.unwrap();
        assert_eq!(out.stdout, "hello");
    }

    #[tokio::test]
    async fn failure_is_classified_from_stderr() {
        let err = sh("echo 'error: boom' >&2; exit 1")
            .run()
            .await
            .unwrap_err();
        match err {
            NixError::EvalError { message, .. } => assert_eq!(message, "boom"),
            other => panic!("classified as {other:?}"),
        }
    }

    /// (That the whole group is killed at the timeout is `crate::process`'s test.)
    #[tokio::test]
    async fn a_timeout_is_a_timeout_error_quoting_what_nix_printed() {
        let err = sh("echo 'evaluating…' >&2; sleep 30")
            .timeout(Duration::from_millis(300))
            .run()
            .await
            .unwrap_err();
        match err {
            NixError::Timeout { output_tail, .. } => assert_eq!(output_tail, "evaluating…"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn missing_program_is_an_io_error_naming_the_command() {
        let err = NixCommand::new(["eval"])
            .program("/nonexistent/nix")
            .run()
            .await
            .unwrap_err();
        assert!(
            matches!(err, NixError::Io { ref command, .. } if command.starts_with("/nonexistent/nix eval"))
        );
    }
}
