//! The one place that starts `nix`. [`NixCommand`] is a builder whose [`NixCommand::argv`] is pure
//! (unit-tested without Nix); [`NixCommand::run`] starts it in its own process group, captures
//! stdout and stderr (optionally streaming stderr as progress), and kills the whole group when the
//! timeout expires or the caller is dropped.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use super::errors::{classify, parse_version, version_supported, NixError};

/// Default timeout for a nix call; evaluation of a dozen NixOS systems takes well under a minute.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(900);

/// A nix invocation, e.g. `NixCommand::new(["eval"]).arg("--json").installable(...)`.
#[derive(Debug, Clone)]
pub struct NixCommand {
    program: PathBuf,
    subcommand: Vec<String>,
    args: Vec<String>,
    override_inputs: Vec<(String, String)>,
    env: Vec<(String, String)>,
    current_dir: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    stream_stderr: Option<String>,
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
            program: PathBuf::from("nix"),
            subcommand: subcommand.into_iter().map(Into::into).collect(),
            args: Vec::new(),
            override_inputs: Vec::new(),
            env: Vec::new(),
            current_dir: None,
            stdin: None,
            timeout: DEFAULT_TIMEOUT,
            stream_stderr: None,
        }
    }

    /// Use another `nix` binary (tests, or a specific Nix).
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `--override-input NAME REF` (repeatable; order kept).
    pub fn override_input(mut self, name: impl Into<String>, reference: impl Into<String>) -> Self {
        self.override_inputs.push((name.into(), reference.into()));
        self
    }

    /// Every override of a resolved [`crate::overrides::Overrides`].
    pub fn overrides(mut self, overrides: &crate::overrides::Overrides) -> Self {
        for (name, reference) in &overrides.inputs {
            self.override_inputs
                .push((name.clone(), reference.value.clone()));
        }
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Forward stderr lines to our stderr as they arrive, prefixed (progress of long calls); they
    /// are captured as well.
    pub fn stream_stderr(mut self, prefix: impl Into<String>) -> Self {
        self.stream_stderr = Some(prefix.into());
        self
    }

    /// The full command line, program first. Pure: no process is started.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![self.program.display().to_string()];
        argv.extend(self.subcommand.iter().cloned());
        // Flakes may not be enabled in the user's nix.conf; these are harmless when they are.
        argv.extend([
            "--extra-experimental-features".to_string(),
            "nix-command flakes".to_string(),
        ]);
        argv.extend(self.args.iter().cloned());
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

    /// Run to completion. Non-zero exit is classified into a [`NixError`] from stderr.
    pub async fn run(&self) -> Result<NixOutput, NixError> {
        let argv = self.argv();
        let command_line = self.display();
        let started = Instant::now();

        let mut command = tokio::process::Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout kills nix and everything it started.
            .process_group(0)
            .kill_on_drop(true);
        for (key, value) in &self.env {
            command.env(key, value);
        }
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }

        let mut child = command.spawn().map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound && self.program == Path::new("nix") {
                NixError::NixMissing
            } else {
                NixError::Io {
                    command: command_line.clone(),
                    source,
                }
            }
        })?;
        let group = ProcessGroupGuard {
            pgid: child.id().map(|id| id as i32),
        };

        let stdin_task = match (child.stdin.take(), self.stdin.clone()) {
            (Some(mut pipe), Some(bytes)) => Some(tokio::spawn(async move {
                // A write error means nix exited early; its stderr says why.
                let _ = pipe.write_all(&bytes).await;
            })),
            _ => None,
        };
        let mut stdout_pipe = child.stdout.take().ok_or_else(|| NixError::Io {
            command: command_line.clone(),
            source: std::io::Error::other("stdout not captured"),
        })?;
        let stderr_pipe = child.stderr.take().ok_or_else(|| NixError::Io {
            command: command_line.clone(),
            source: std::io::Error::other("stderr not captured"),
        })?;
        let stream_prefix = self.stream_stderr.clone();

        let stdout_task = tokio::spawn(async move {
            let mut buf = Vec::new();
            stdout_pipe.read_to_end(&mut buf).await.map(|_| buf)
        });
        let stderr_task = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr_pipe).lines();
            let mut captured = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(prefix) = &stream_prefix {
                    eprintln!("{prefix}{line}");
                }
                captured.push_str(&line);
                captured.push('\n');
            }
            captured
        });

        let status = match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(result) => result.map_err(|source| NixError::Io {
                command: command_line.clone(),
                source,
            })?,
            Err(_) => {
                group.kill();
                let _ = child.wait().await;
                return Err(NixError::Timeout {
                    command: command_line,
                    after: self.timeout,
                });
            }
        };
        // nix has exited; anything it left running in its group goes too.
        group.kill();
        if let Some(task) = stdin_task {
            let _ = task.await;
        }
        let stdout = stdout_task
            .await
            .map_err(|e| NixError::Io {
                command: command_line.clone(),
                source: std::io::Error::other(e),
            })?
            .map_err(|source| NixError::Io {
                command: command_line.clone(),
                source,
            })?;
        let stderr = stderr_task.await.unwrap_or_default();
        let stdout = String::from_utf8_lossy(&stdout).into_owned();

        if !status.success() {
            return Err(classify(&command_line, &status.to_string(), &stderr));
        }
        Ok(NixOutput {
            stdout,
            stderr,
            elapsed: started.elapsed(),
        })
    }
}

/// Kills a whole process group when told to or when dropped (e.g. the caller's future was
/// cancelled), so no nix evaluator outlives the harness.
struct ProcessGroupGuard {
    pgid: Option<i32>,
}

impl ProcessGroupGuard {
    fn kill(&self) {
        if let Some(pgid) = self.pgid {
            // ESRCH (group already gone) is the normal case after a clean exit.
            let _ = ::nix::sys::signal::killpg(
                ::nix::unistd::Pid::from_raw(pgid),
                ::nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

impl Drop for ProcessGroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Quote an argument for display the way a POSIX shell would need it.
pub fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,%#".contains(c));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
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

    #[tokio::test]
    async fn timeout_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("grandchild-survived");
        // The grandchild would write the marker after 2 s unless its group is killed at 0.3 s.
        let script = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let started = Instant::now();
        let err = sh(&script)
            .timeout(Duration::from_millis(300))
            .run()
            .await
            .unwrap_err();
        assert!(matches!(err, NixError::Timeout { .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert!(!marker.exists(), "a process of the killed group survived");
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
