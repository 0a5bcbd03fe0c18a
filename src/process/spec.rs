//! What to run: program, arguments, environment, directory, where the output goes. Turning a
//! [`Spec`] into a command is the only place the process attributes every program gets are set
//! (own process group, parent-death signal, kill on drop).

use std::{collections::BTreeMap, path::PathBuf, process::Stdio};

use nix::sys::signal::Signal;

use super::RunError;

/// The environment a program sees; which of the two is always said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Env {
    /// The harness's own environment with these set on top.
    Inherited(BTreeMap<String, String>),
    /// Only these variables (what a systemd unit sees).
    Cleared(BTreeMap<String, String>),
}

impl Env {
    fn vars_mut(&mut self) -> &mut BTreeMap<String, String> {
        match self {
            Env::Inherited(vars) | Env::Cleared(vars) => vars,
        }
    }
}

/// Where stdout and stderr go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Both captured in memory.
    Captured,
    /// Both appended to this file (long-running programs; the file outlives the run).
    Log(PathBuf),
    /// Both captured, and each stderr line also printed to our stderr as it arrives, after this
    /// prefix (progress of long calls).
    Streamed { prefix: String },
}

/// How to run one program.
#[derive(Debug, Clone)]
pub struct Spec {
    /// What error messages and logs call it.
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Env,
    /// Working directory; the harness's own when `None`.
    pub cwd: Option<PathBuf>,
    pub output: Output,
    /// Written to its stdin, which is then closed; stdin is `/dev/null` when `None`.
    pub stdin: Option<Vec<u8>>,
    /// Run as this (uid, gid) (the harness as root starting PostgreSQL).
    pub user: Option<(u32, u32)>,
    /// What the kernel sends it when the harness dies without cleaning up (SIGKILL; a
    /// container manager gets SIGTERM, so that it can take its container down).
    pub parent_death_signal: Signal,
}

impl Spec {
    /// `program` with no arguments, the inherited environment, output captured.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        let program = program.into();
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| program.display().to_string());
        Spec {
            name,
            program,
            args: Vec::new(),
            env: Env::Inherited(BTreeMap::new()),
            cwd: None,
            output: Output::Captured,
            stdin: None,
            user: None,
            parent_death_signal: Signal::SIGKILL,
        }
    }

    /// `argv[0]` with `argv[1..]`; `None` for an empty argv.
    pub fn from_argv(argv: &[String]) -> Option<Self> {
        let (program, args) = argv.split_first()?;
        Some(Spec::new(program).args(args))
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
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

    /// Sets one variable (on top of the inherited environment, or among the only ones).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.vars_mut().insert(key.into(), value.into());
        self
    }

    /// Sets each of `vars`, as [`Spec::env`].
    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env
            .vars_mut()
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Only the variables set on this spec reach the program.
    pub fn clear_env(mut self) -> Self {
        self.env = Env::Cleared(std::mem::take(self.env.vars_mut()));
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn log(mut self, file: impl Into<PathBuf>) -> Self {
        self.output = Output::Log(file.into());
        self
    }

    pub fn stream(mut self, prefix: impl Into<String>) -> Self {
        self.output = Output::Streamed {
            prefix: prefix.into(),
        };
        self
    }

    pub fn parent_death_signal(mut self, signal: Signal) -> Self {
        self.parent_death_signal = signal;
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn user(mut self, uid: u32, gid: u32) -> Self {
        self.user = Some((uid, gid));
        self
    }

    /// The command line as one shell-quoted string, for error messages and logs.
    pub fn command_line(&self) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .map(|arg| shell_quote(&arg))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub(super) fn command(&self) -> Result<tokio::process::Command, RunError> {
        let mut command = tokio::process::Command::new(&self.program);
        command.args(&self.args);
        match &self.env {
            Env::Inherited(vars) => command.envs(vars),
            Env::Cleared(vars) => command.env_clear().envs(vars),
        };
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid);
        }
        command.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let (stdout, stderr) = self.output_handles()?;
        command
            .stdout(stdout)
            .stderr(stderr)
            // Its own group, so one signal reaches everything it forks (gunicorn workers,
            // Chromium, uv, nix builders).
            .process_group(0)
            // A dropped future or handle kills it (the group: see `Running`'s Drop).
            .kill_on_drop(true);
        // If the harness itself is killed (no Drop runs), the kernel kills the program. The
        // signal follows the death of the *thread* that starts it: start programs from the
        // runtime's threads, not from `spawn_blocking` ones, which end when idle.
        // SAFETY: pre_exec runs between fork and exec; prctl is async-signal-safe. It runs after
        // the uid/gid change, which would otherwise reset the setting.
        let signal = self.parent_death_signal;
        unsafe {
            command.pre_exec(move || {
                nix::sys::prctl::set_pdeathsig(signal).map_err(std::io::Error::from)
            });
        }
        Ok(command)
    }

    fn output_handles(&self) -> Result<(Stdio, Stdio), RunError> {
        let Output::Log(path) = &self.output else {
            return Ok((Stdio::piped(), Stdio::piped()));
        };
        let opened = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|log| Ok((log.try_clone()?, log)));
        let (out, err) = opened.map_err(|source| RunError::Start {
            command: format!("{} (its log {})", self.command_line(), path.display()),
            source,
        })?;
        Ok((out.into(), err.into()))
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
