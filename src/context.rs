//! The settings one harness run works with: which flake is under test, the resolved overrides,
//! and how long a nix call may take. Built once from the command line (or, in tests, from the
//! environment alone) and passed by reference to every subcommand and tier.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;

use crate::{
    nix::{command::DEFAULT_TIMEOUT, NixCommand},
    overrides::{FlagOverrides, Overrides},
};

#[derive(Debug, Clone)]
pub struct Context {
    /// The nixos-inventree checkout under test (holds flake.nix).
    pub flake_dir: PathBuf,
    pub overrides: Overrides,
    pub nix_timeout: Duration,
}

/// The harness's own source tree: the repository it was built from.
pub fn source_tree() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Context {
    /// For one run: `flake` as given (else the checkout around the current directory, else the
    /// harness's own), the command line's overrides over the environment and the config file.
    pub fn new(
        flake: Option<&Path>,
        flags: &FlagOverrides,
        nix_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let flake_dir = match flake {
            Some(dir) => dir
                .canonicalize()
                .with_context(|| format!("--flake {}", dir.display()))?,
            None => std::env::current_dir()
                .ok()
                .and_then(|cwd| find_checkout(&cwd))
                .unwrap_or_else(source_tree),
        };
        let overrides = Overrides::resolve(flags, &flake_input_names(&flake_dir))?;
        Ok(Context {
            flake_dir,
            overrides,
            nix_timeout,
        })
    }

    /// For `cargo test`: the harness's own checkout, overrides from the environment and the user
    /// config file only.
    pub fn for_tests() -> anyhow::Result<Self> {
        let flake_dir = source_tree();
        let overrides =
            Overrides::resolve(&FlagOverrides::default(), &flake_input_names(&flake_dir))?;
        Ok(Context {
            flake_dir,
            overrides,
            nix_timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The flake reference of the checkout: its absolute path, so nix treats a git checkout as
    /// `git+file:` (tracked files only; no `target/` copied into the store).
    pub fn flake_ref(&self) -> String {
        self.flake_dir.display().to_string()
    }

    /// `<flake>#<attr>`.
    pub fn installable(&self, attr: &str) -> String {
        format!("{}#{attr}", self.flake_ref())
    }

    /// A nix command on this flake: overrides applied, the run's timeout set.
    pub fn nix_flake_command<I, S>(&self, subcommand: I) -> NixCommand
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        NixCommand::new(subcommand)
            .override_inputs(self.overrides.input_pairs())
            .timeout(self.nix_timeout)
    }

    /// Print which overrides are in effect (the harness always says where its inputs come from).
    pub fn print_overrides(&self) {
        for line in self.overrides.describe() {
            eprintln!("overrides: {line}");
        }
    }
}

/// The nearest directory at or above `start` holding both flake.nix and Cargo.toml (a
/// nixos-inventree checkout).
pub fn find_checkout(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("flake.nix").is_file() && dir.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

/// The root inputs named in `flake.lock` (empty when there is none or it cannot be read: the
/// names only help map environment variables back to inputs).
pub fn flake_input_names(flake_dir: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(flake_dir.join("flake.lock")) else {
        return Vec::new();
    };
    let Ok(lock) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let root = lock["root"].as_str().unwrap_or("root");
    lock["nodes"][root]["inputs"]
        .as_object()
        .map(|inputs| inputs.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_names_come_from_the_root_node_of_flake_lock() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("flake.lock"),
            r#"{"nodes":{"root":{"inputs":{"nixpkgs":"nixpkgs","uv2nix":"uv2nix"}},"nixpkgs":{}},"root":"root","version":7}"#,
        )
        .unwrap();
        assert_eq!(flake_input_names(dir.path()), ["nixpkgs", "uv2nix"]);
    }

    #[test]
    fn no_flake_lock_means_no_known_inputs() {
        let dir = tempfile::tempdir().unwrap();
        assert!(flake_input_names(dir.path()).is_empty());
    }

    #[test]
    fn checkout_is_found_upwards() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("flake.nix"), "{}").unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "").unwrap();
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(find_checkout(&nested).as_deref(), Some(dir.path()));
    }
}
