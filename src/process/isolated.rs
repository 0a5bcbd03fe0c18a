//! Programs run as the units run them: only the given environment (nothing of the harness's
//! own), in a given directory, output appended to one log file per program — the host tier's
//! runtime programs, the container's `nsenter` calls, the tree preparation. A thin description
//! over [`crate::process`], which runs them (own process group, timeout, stop with a check
//! that the group is gone).

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use crate::process::{Finished, Running};

/// How to start one program of an instance.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The whole environment (nothing of the harness's own leaks in, as under systemd).
    pub env: BTreeMap<String, String>,
    pub cwd: PathBuf,
    pub log: PathBuf,
    /// SIGKILL for the runtime's programs; see `crate::process::Spec::parent_death_signal`.
    pub parent_death_signal: nix::sys::signal::Signal,
}

impl Spec {
    pub fn command_line(&self) -> String {
        self.process_spec().command_line()
    }

    fn process_spec(&self) -> crate::process::Spec {
        crate::process::Spec::new(&self.program)
            .name(&self.name)
            .args(self.args.iter().cloned())
            .envs(self.env.clone())
            .clear_env()
            .cwd(&self.cwd)
            .log(&self.log)
            .parent_death_signal(self.parent_death_signal)
    }
}

/// Runs `spec` to completion under `timeout` (the whole group is killed when it expires).
pub async fn run(spec: &Spec, timeout: Duration) -> anyhow::Result<Finished> {
    Ok(crate::process::run(&spec.process_spec(), timeout).await?)
}

/// Starts a long-running program (server, worker).
pub fn start(spec: &Spec) -> anyhow::Result<Running> {
    Ok(crate::process::start(&spec.process_spec())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_host_program_sees_only_its_environment_and_appends_to_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let spec = Spec {
            name: "env".into(),
            program: "/usr/bin/env".into(),
            args: vec![],
            env: BTreeMap::from([("INVENTREE_DATA_DIR".to_string(), "/data".to_string())]),
            cwd: dir.path().to_path_buf(),
            log: dir.path().join("env.log"),
            parent_death_signal: nix::sys::signal::Signal::SIGKILL,
        };
        let done = run(&spec, Duration::from_secs(10)).await.unwrap();
        assert_eq!(done.output, "INVENTREE_DATA_DIR=/data\n");
        assert_eq!(
            std::fs::read_to_string(&spec.log).unwrap(),
            "INVENTREE_DATA_DIR=/data\n"
        );
    }
}
