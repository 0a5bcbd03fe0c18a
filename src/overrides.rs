//! Input overrides and host paths, resolved from (in order of precedence) command-line flags,
//! environment variables, and the user config file
//! `$XDG_CONFIG_HOME/inventree-harness/config.toml`:
//!
//! ```toml
//! [inputs]            # flake input name → flake reference (as `nix --override-input`)
//! nixpkgs = "path:/somewhere/nixpkgs"
//!
//! [host]
//! inventree_src = "/somewhere/InvenTree"   # env INVENTREE_HARNESS_SRC, flag --inventree-src
//! python = "/somewhere/venv/bin/python"     # env INVENTREE_HARNESS_PYTHON, flag --python
//!
//! [ci]
//! require_tiers = ["eval", "host"]          # env INVENTREE_HARNESS_REQUIRE_TIERS (see `demand`)
//! ```
//!
//! Input overrides from the environment are `INVENTREE_HARNESS_OVERRIDE_<NAME>`, the input name
//! upper-cased with `-` written as `_` (`pyproject-nix` → `INVENTREE_HARNESS_OVERRIDE_PYPROJECT_NIX`).

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context as _};
use serde::Deserialize;

pub const ENV_OVERRIDE_PREFIX: &str = "INVENTREE_HARNESS_OVERRIDE_";
pub const ENV_INVENTREE_SRC: &str = "INVENTREE_HARNESS_SRC";
pub const ENV_PYTHON: &str = "INVENTREE_HARNESS_PYTHON";
/// The InvenTree tree with a built frontend, for the browser tier (`[browser] inventree_src`).
pub const ENV_UI_SRC: &str = "INVENTREE_HARNESS_UI_SRC";
/// The systemd tier's container root file system (`[systemd] rootfs`).
pub const ENV_SYSTEMD_ROOTFS: &str = "INVENTREE_HARNESS_SYSTEMD_ROOTFS";
/// The upgrade tier's older InvenTree tree and the Python locked from its requirements.
pub const ENV_UPGRADE_FROM_SRC: &str = "INVENTREE_HARNESS_UPGRADE_FROM_SRC";
pub const ENV_UPGRADE_FROM_PYTHON: &str = "INVENTREE_HARNESS_UPGRADE_FROM_PYTHON";

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env(String),
    ConfigFile(PathBuf),
    /// Not overridden: the harness's default location.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("command-line flag"),
            Source::Env(var) => write!(f, "environment variable {var}"),
            Source::ConfigFile(path) => write!(f, "config file {}", path.display()),
            Source::Default => f.write_str("default"),
        }
    }
}

/// A value together with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// What the command line gave (the highest-precedence layer).
#[derive(Debug, Clone, Default)]
pub struct FlagOverrides {
    pub inputs: Vec<(String, String)>,
    pub inventree_src: Option<PathBuf>,
    pub python: Option<PathBuf>,
    /// Explicit config file; when `None` the default XDG location is used.
    pub config: Option<PathBuf>,
}

/// The user config file's schema.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    #[serde(default)]
    pub host: HostSection,
    #[serde(default)]
    pub browser: BrowserSection,
    #[serde(default)]
    pub systemd: SystemdSection,
    #[serde(default)]
    pub upgrade: UpgradeSection,
    #[serde(default)]
    pub ci: CiSection,
}

/// `[upgrade]`: the InvenTree an upgrade drill starts from — an older source tree and a Python
/// with the dependencies locked from its own requirements. The drill upgrades to the host tier's
/// tree and Python.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpgradeSection {
    pub from_src: Option<PathBuf>,
    pub from_python: Option<PathBuf>,
}

/// `[systemd]`: the container root file system the systemd tier boots (`scripts/setup-dev`
/// makes and records it); defaults to `$XDG_CACHE_HOME/nixos-inventree/systemd-rootfs`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemdSection {
    pub rootfs: Option<PathBuf>,
}

/// `[ci]`: tiers that must run on this machine (see `demand`); names checked there.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiSection {
    #[serde(default)]
    pub require_tiers: Vec<String>,
}

/// `[browser]`: the browser tier's own source tree, one whose frontend is built
/// (`scripts/build-frontend`); defaults to the host tier's tree.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserSection {
    pub inventree_src: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSection {
    pub inventree_src: Option<PathBuf>,
    pub python: Option<PathBuf>,
}

/// Everything resolved: which inputs are overridden, the host paths, and which config file was
/// consulted.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Input name → reference, each with its source. Sorted by name so argv is deterministic.
    pub inputs: BTreeMap<String, Sourced<String>>,
    pub inventree_src: Option<Sourced<PathBuf>>,
    pub python: Option<Sourced<PathBuf>>,
    /// The browser tier's InvenTree tree (with a built frontend); env or `[browser]` only.
    pub ui_src: Option<Sourced<PathBuf>>,
    /// The systemd tier's container root file system; env or `[systemd]` only.
    pub systemd_rootfs: Option<Sourced<PathBuf>>,
    /// The upgrade tier's older tree and its Python; env or `[upgrade]` (or the `upgrade`
    /// subcommand's flags).
    pub upgrade_from_src: Option<Sourced<PathBuf>>,
    pub upgrade_from_python: Option<Sourced<PathBuf>>,
    /// The config file location considered, and whether it existed.
    pub config_file: Option<(PathBuf, bool)>,
}

/// The default config file location: `$XDG_CONFIG_HOME/inventree-harness/config.toml`, falling
/// back to `$HOME/.config/...`.
pub fn default_config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| Path::new(&h).join(".config"))
        })?;
    Some(base.join("inventree-harness").join("config.toml"))
}

/// The environment variable that overrides input `name`.
pub fn env_var_for_input(name: &str) -> String {
    format!(
        "{ENV_OVERRIDE_PREFIX}{}",
        name.to_ascii_uppercase().replace('-', "_")
    )
}

impl Overrides {
    /// `(input, flake reference)` of every input override, for `nix --override-input`.
    pub fn input_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inputs
            .iter()
            .map(|(name, reference)| (name.as_str(), reference.value.as_str()))
    }

    /// Resolve from the real process environment and the default (or flagged) config file.
    /// `known_inputs` are the flake's input names (from flake.lock), used to map environment
    /// variable names back to input names.
    pub fn resolve(flags: &FlagOverrides, known_inputs: &[String]) -> anyhow::Result<Self> {
        let env_vars: Vec<(String, String)> = std::env::vars().collect();
        Self::resolve_with(flags, known_inputs, &env_vars)
    }

    /// As [`Overrides::resolve`] with an explicit environment (for tests).
    pub fn resolve_with(
        flags: &FlagOverrides,
        known_inputs: &[String],
        env_vars: &[(String, String)],
    ) -> anyhow::Result<Self> {
        let env = |key: &str| {
            env_vars
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let mut resolved = Overrides::default();

        // Lowest precedence first; later layers replace earlier entries.
        let config_path = flags.config.clone().or_else(|| default_config_path(&env));
        if let Some(path) = config_path {
            let exists = path.is_file();
            if exists {
                resolved.apply_config_file(read_config_file(&path)?, &path);
            } else if flags.config.is_some() {
                bail!("config file {} does not exist", path.display());
            }
            resolved.config_file = Some((path, exists));
        }
        resolved.apply_env(known_inputs, env_vars, &env);
        resolved.apply_flags(flags);
        Ok(resolved)
    }

    /// The config file's layer: every input and path it sets, sourced to `path`.
    fn apply_config_file(&mut self, file: ConfigFile, path: &Path) {
        let source = Source::ConfigFile(path.to_path_buf());
        let sourced = |value| Sourced {
            value,
            source: source.clone(),
        };
        for (name, reference) in file.inputs {
            self.inputs.insert(
                name,
                Sourced {
                    value: reference,
                    source: source.clone(),
                },
            );
        }
        self.inventree_src = file.host.inventree_src.map(sourced);
        self.python = file.host.python.map(sourced);
        self.ui_src = file.browser.inventree_src.map(sourced);
        self.systemd_rootfs = file.systemd.rootfs.map(sourced);
        self.upgrade_from_src = file.upgrade.from_src.map(sourced);
        self.upgrade_from_python = file.upgrade.from_python.map(sourced);
    }

    /// The environment's layer: `INVENTREE_HARNESS_OVERRIDE_<INPUT>` input overrides (mapped
    /// back to a known input's name when one matches) and the path variables; empty values are
    /// ignored.
    fn apply_env(
        &mut self,
        known_inputs: &[String],
        env_vars: &[(String, String)],
        env: &dyn Fn(&str) -> Option<String>,
    ) {
        for (var, value) in env_vars {
            let Some(suffix) = var.strip_prefix(ENV_OVERRIDE_PREFIX) else {
                continue;
            };
            if value.is_empty() || suffix.is_empty() {
                continue;
            }
            let name = known_inputs
                .iter()
                .find(|known| env_var_for_input(known) == *var)
                .cloned()
                .unwrap_or_else(|| suffix.to_ascii_lowercase().replace('_', "-"));
            self.inputs.insert(
                name,
                Sourced {
                    value: value.clone(),
                    source: Source::Env(var.clone()),
                },
            );
        }
        for (var, slot) in [
            (ENV_INVENTREE_SRC, &mut self.inventree_src),
            (ENV_PYTHON, &mut self.python),
            (ENV_UI_SRC, &mut self.ui_src),
            (ENV_SYSTEMD_ROOTFS, &mut self.systemd_rootfs),
            (ENV_UPGRADE_FROM_SRC, &mut self.upgrade_from_src),
            (ENV_UPGRADE_FROM_PYTHON, &mut self.upgrade_from_python),
        ] {
            if let Some(value) = env(var).filter(|v| !v.is_empty()) {
                *slot = Some(Sourced {
                    value: PathBuf::from(value),
                    source: Source::Env(var.into()),
                });
            }
        }
    }

    /// The command line's layer, the highest.
    fn apply_flags(&mut self, flags: &FlagOverrides) {
        for (name, reference) in &flags.inputs {
            self.inputs.insert(
                name.clone(),
                Sourced {
                    value: reference.clone(),
                    source: Source::Flag,
                },
            );
        }
        if let Some(value) = &flags.inventree_src {
            self.inventree_src = Some(Sourced {
                value: value.clone(),
                source: Source::Flag,
            });
        }
        if let Some(value) = &flags.python {
            self.python = Some(Sourced {
                value: value.clone(),
                source: Source::Flag,
            });
        }
    }

    /// `--override-input NAME REF` for every overridden input, for a nix command line.
    pub fn nix_args(&self) -> Vec<String> {
        self.inputs
            .iter()
            .flat_map(|(name, reference)| {
                [
                    "--override-input".to_string(),
                    name.clone(),
                    reference.value.clone(),
                ]
            })
            .collect()
    }

    /// The overridden reference of input `name`, if any.
    pub fn input(&self, name: &str) -> Option<&str> {
        self.inputs.get(name).map(|s| s.value.as_str())
    }

    /// Human-readable lines saying which overrides are in effect and where each came from.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        match &self.config_file {
            Some((path, true)) => lines.push(format!("config file: {}", path.display())),
            Some((path, false)) => lines.push(format!("config file: {} (absent)", path.display())),
            None => lines.push("config file: none (neither XDG_CONFIG_HOME nor HOME set)".into()),
        }
        if self.inputs.is_empty() {
            lines.push("inputs: as locked in flake.lock (no overrides)".into());
        }
        for (name, reference) in &self.inputs {
            lines.push(format!(
                "input {name} = {} (from {})",
                reference.value, reference.source
            ));
        }
        for (label, value) in [
            ("inventree_src", &self.inventree_src),
            ("python", &self.python),
        ] {
            match value {
                Some(v) => lines.push(format!(
                    "host {label} = {} (from {})",
                    v.value.display(),
                    v.source
                )),
                None => lines.push(format!("host {label}: not set")),
            }
        }
        match &self.ui_src {
            Some(v) => lines.push(format!(
                "browser inventree_src = {} (from {})",
                v.value.display(),
                v.source
            )),
            None => lines.push("browser inventree_src: not set (the host tree is used)".into()),
        }
        match &self.systemd_rootfs {
            Some(v) => lines.push(format!(
                "systemd rootfs = {} (from {})",
                v.value.display(),
                v.source
            )),
            None => {
                lines.push("systemd rootfs: not set (the cache's systemd-rootfs is used)".into())
            }
        }
        for (label, value) in [
            ("from_src", &self.upgrade_from_src),
            ("from_python", &self.upgrade_from_python),
        ] {
            match value {
                Some(v) => lines.push(format!(
                    "upgrade {label} = {} (from {})",
                    v.value.display(),
                    v.source
                )),
                None => lines.push(format!("upgrade {label}: not set")),
            }
        }
        lines
    }
}

/// Read and parse the user config file at `path`.
pub fn read_config_file(path: &Path) -> anyhow::Result<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading harness config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing harness config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_config(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("inventree-harness").join("config.toml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn env_with_xdg(dir: &Path) -> Vec<(String, String)> {
        vec![("XDG_CONFIG_HOME".into(), dir.display().to_string())]
    }

    #[test]
    fn env_var_name_is_upper_case_with_underscores() {
        assert_eq!(
            env_var_for_input("pyproject-nix"),
            "INVENTREE_HARNESS_OVERRIDE_PYPROJECT_NIX"
        );
    }

    #[test]
    fn config_file_inputs_and_host_paths_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(
            dir.path(),
            "[inputs]\nnixpkgs = \"path:/cfg/nixpkgs\"\n[host]\ninventree_src = \"/src\"\npython = \"/py\"\n",
        );
        let o = Overrides::resolve_with(&FlagOverrides::default(), &[], &env_with_xdg(dir.path()))
            .unwrap();
        assert_eq!(o.input("nixpkgs"), Some("path:/cfg/nixpkgs"));
        assert_eq!(o.inputs["nixpkgs"].source, Source::ConfigFile(path.clone()));
        assert_eq!(o.inventree_src.unwrap().value, PathBuf::from("/src"));
        assert_eq!(o.python.unwrap().value, PathBuf::from("/py"));
        assert_eq!(o.config_file, Some((path, true)));
    }

    #[test]
    fn browser_tree_comes_from_its_own_section_and_its_env_var_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(
            dir.path(),
            "[host]\ninventree_src = \"/src\"\n[browser]\ninventree_src = \"/src-ui\"\n",
        );
        let o = Overrides::resolve_with(&FlagOverrides::default(), &[], &env_with_xdg(dir.path()))
            .unwrap();
        let ui = o.ui_src.unwrap();
        assert_eq!(ui.value, PathBuf::from("/src-ui"));
        assert_eq!(ui.source, Source::ConfigFile(path));
        assert_eq!(o.inventree_src.unwrap().value, PathBuf::from("/src"));

        let mut env = env_with_xdg(dir.path());
        env.push((ENV_UI_SRC.into(), "/env-ui".into()));
        let o = Overrides::resolve_with(&FlagOverrides::default(), &[], &env).unwrap();
        let ui = o.ui_src.unwrap();
        assert_eq!(ui.value, PathBuf::from("/env-ui"));
        assert_eq!(ui.source, Source::Env(ENV_UI_SRC.into()));
    }

    #[test]
    fn upgrade_tree_and_python_come_from_their_section_and_their_env_vars_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(
            dir.path(),
            "[upgrade]\nfrom_src = \"/old\"\nfrom_python = \"/old/python\"\n",
        );
        let o = Overrides::resolve_with(&FlagOverrides::default(), &[], &env_with_xdg(dir.path()))
            .unwrap();
        let from_src = o.upgrade_from_src.unwrap();
        assert_eq!(from_src.value, PathBuf::from("/old"));
        assert_eq!(from_src.source, Source::ConfigFile(path));
        assert_eq!(
            o.upgrade_from_python.unwrap().value,
            PathBuf::from("/old/python")
        );

        let mut env = env_with_xdg(dir.path());
        env.push((ENV_UPGRADE_FROM_PYTHON.into(), "/env/old-python".into()));
        let o = Overrides::resolve_with(&FlagOverrides::default(), &[], &env).unwrap();
        let python = o.upgrade_from_python.unwrap();
        assert_eq!(python.value, PathBuf::from("/env/old-python"));
        assert_eq!(python.source, Source::Env(ENV_UPGRADE_FROM_PYTHON.into()));
        assert_eq!(o.upgrade_from_src.unwrap().value, PathBuf::from("/old"));
    }

    #[test]
    fn environment_wins_over_config_file_and_maps_back_to_known_input_names() {
        let dir = tempfile::tempdir().unwrap();
        write_config(
            dir.path(),
            "[inputs]\nnixpkgs = \"path:/cfg\"\npyproject-nix = \"path:/cfg/p\"\n",
        );
        let mut env = env_with_xdg(dir.path());
        env.push((
            "INVENTREE_HARNESS_OVERRIDE_PYPROJECT_NIX".into(),
            "path:/env/p".into(),
        ));
        env.push((ENV_PYTHON.into(), "/env/python".into()));
        let o = Overrides::resolve_with(
            &FlagOverrides::default(),
            &["nixpkgs".into(), "pyproject-nix".into()],
            &env,
        )
        .unwrap();
        assert_eq!(o.input("pyproject-nix"), Some("path:/env/p"));
        assert_eq!(
            o.inputs["pyproject-nix"].source,
            Source::Env("INVENTREE_HARNESS_OVERRIDE_PYPROJECT_NIX".into())
        );
        assert_eq!(o.input("nixpkgs"), Some("path:/cfg"));
        assert_eq!(
            o.python.unwrap().source,
            Source::Env("INVENTREE_HARNESS_PYTHON".into())
        );
    }

    #[test]
    fn flag_wins_over_environment() {
        let env = vec![(
            "INVENTREE_HARNESS_OVERRIDE_NIXPKGS".to_string(),
            "path:/env".to_string(),
        )];
        let flags = FlagOverrides {
            inputs: vec![("nixpkgs".into(), "path:/flag".into())],
            inventree_src: Some("/flag/src".into()),
            ..Default::default()
        };
        let o = Overrides::resolve_with(&flags, &[], &env).unwrap();
        assert_eq!(o.input("nixpkgs"), Some("path:/flag"));
        assert_eq!(o.inputs["nixpkgs"].source, Source::Flag);
        assert_eq!(o.inventree_src.unwrap().source, Source::Flag);
    }

    #[test]
    fn nix_args_are_sorted_override_input_triples() {
        let flags = FlagOverrides {
            inputs: vec![
                ("uv2nix".into(), "path:/u".into()),
                ("nixpkgs".into(), "path:/n".into()),
            ],
            ..Default::default()
        };
        let o = Overrides::resolve_with(&flags, &[], &[]).unwrap();
        assert_eq!(
            o.nix_args(),
            [
                "--override-input",
                "nixpkgs",
                "path:/n",
                "--override-input",
                "uv2nix",
                "path:/u"
            ]
        );
    }

    #[test]
    fn missing_default_config_file_is_not_an_error_but_is_reported_absent() {
        let dir = tempfile::tempdir().unwrap();
        let o = Overrides::resolve_with(&FlagOverrides::default(), &[], &env_with_xdg(dir.path()))
            .unwrap();
        assert!(matches!(o.config_file, Some((_, false))));
        assert!(o.describe()[0].ends_with("(absent)"));
    }

    #[test]
    fn explicitly_named_config_file_must_exist() {
        let flags = FlagOverrides {
            config: Some("/nonexistent/harness.toml".into()),
            ..Default::default()
        };
        let err = Overrides::resolve_with(&flags, &[], &[]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/harness.toml"));
    }

    #[test]
    fn unknown_keys_in_config_file_are_rejected_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), "[inputz]\nnixpkgs = \"x\"\n");
        let err =
            Overrides::resolve_with(&FlagOverrides::default(), &[], &env_with_xdg(dir.path()))
                .unwrap_err();
        assert!(format!("{err:#}").contains("config.toml"));
    }
}
