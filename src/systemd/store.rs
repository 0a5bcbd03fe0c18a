//! The container's `/nix/store`: for every store path the rendered units, their scripts and the
//! admin commands name, a stand-in at the very same path that runs the same program, so the unit
//! files are installed byte for byte as NixOS renders them.
//!
//! | store path (name after the hash) | stand-in |
//! | --- | --- |
//! | `inventree-python-*` | the merged container Python (`python.rs`), bound read-only |
//! | `inventree-src-*` | the prepared source tree (`prepared_src.rs`: patched, static collected), bound |
//! | `inventree-<command>-<version>` | `bin/inventree-<command>`: `pkgs/wrapper.nix`'s own script text, its `${…}` filled with these stand-ins |
//! | `inventree-runtime-*` (named by the wrappers) | the checkout's `runtime/`, bound |
//! | `inventree-config.yaml`, `inventree-users.json` | the text the module writes (`internal.settings`, `usersJson`, as `builtins.toJSON`) |
//! | `fonts.conf` (`FONTCONFIG_FILE`, `services.inventree.fonts`) | a fontconfig file of the same shape listing the container's `/usr/share/fonts` (`fontconfig.rs`) |
//! | a script the eval returned (`scripts`) | its text, at its destination |
//! | a tool package (coreutils, bash, systemd, tzdata, …) | `bin`, `sbin`, `share`, `lib/locale` linked to the container's `/usr` |
//!
//! Any other store path is an error naming it: a module change that adds one must say what stands
//! in for it here.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use anyhow::Context as _;

use crate::host::plan::HostPlan;

pub const STORE: &str = "/nix/store/";

/// Packages whose programs the container's Debian has under `/usr`.
const TOOL_PACKAGES: &[&str] = &[
    "bash",
    "coreutils",
    "findutils",
    "gnugrep",
    "gnused",
    "gnutar",
    "gzip",
    "systemd",
    "util-linux",
    "tzdata",
    "glibc-locales",
    "postgresql",
    "mariadb",
    "procps",
    "iproute2",
];

/// Every store path (`/nix/store/<hash>-<name>`, without what follows it) in `text`.
pub fn store_paths(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(STORE) {
        let after = &rest[at + STORE.len()..];
        let len = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || b"+-._?=".contains(b))
            .count();
        let candidate = &after[..len];
        if candidate.len() > 33 && candidate.as_bytes()[32] == b'-' {
            found.insert(format!("{STORE}{candidate}"));
        }
        rest = &after[len..];
    }
    found
}

/// `/nix/store/<hash>-inventree-src-1.3.5` → `inventree-src-1.3.5`.
pub fn name_of(store_path: &str) -> &str {
    store_path
        .strip_prefix(STORE)
        .and_then(|rest| rest.get(33..))
        .unwrap_or(store_path)
}

/// What stands in for one store path.
#[derive(Debug, Clone, PartialEq)]
pub enum StandIn {
    /// A host directory bound read-only at the store path.
    Bind(PathBuf),
    /// A file with this text (mode 0755 when executable).
    File { text: String, executable: bool },
    /// A directory holding one file at `destination`.
    FileIn {
        destination: String,
        text: String,
        executable: bool,
    },
    /// `bin`, `sbin`, `share`, `lib/locale` → the container's `/usr`.
    Tool,
}

/// The host-side inputs of the stand-ins.
pub struct Sources<'a> {
    pub python: &'a Path,
    pub src: &'a Path,
    pub runtime: &'a Path,
    /// `pkgs/wrapper.nix`'s text.
    pub wrapper_nix: &'a str,
}

/// Every store path the plan names, with its stand-in.
pub fn plan_store(plan: &HostPlan, sources: &Sources) -> anyhow::Result<BTreeMap<String, StandIn>> {
    let paths = named_store_paths(plan);
    let find = |prefix: &str| {
        paths
            .iter()
            .find(|p| name_of(p).starts_with(prefix))
            .cloned()
            .with_context(|| format!("the units name no {prefix}* store path"))
    };
    let python_path = find("inventree-python-")?;
    let src_path = find("inventree-src-")?;
    let version = name_of(&src_path)
        .trim_start_matches("inventree-src-")
        .to_string();
    let inventree = InvenTreePaths {
        runtime_path: format!("{STORE}{}-inventree-runtime-{version}", "0".repeat(32)),
        python_path,
        src_path,
        version,
        template: wrapper_template(sources.wrapper_nix)?,
    };

    let mut store = BTreeMap::new();
    store.insert(
        inventree.runtime_path.clone(),
        StandIn::Bind(sources.runtime.to_path_buf()),
    );
    for path in paths {
        let stand_in = stand_in_for(&path, plan, sources, &inventree)?;
        store.insert(path, stand_in);
    }
    Ok(store)
}

/// The store paths in the units' texts, the scripts' texts and the scripts' own paths.
fn named_store_paths(plan: &HostPlan) -> BTreeSet<String> {
    let mut corpus = String::new();
    for unit in plan.system.units.values() {
        corpus.push_str(&unit.text);
    }
    for script in plan.system.scripts.values() {
        corpus.push_str(&script.text);
    }
    for path in plan.system.scripts.keys() {
        corpus.push_str(&format!(" {path} "));
    }
    store_paths(&corpus)
}

/// The InvenTree store paths the runtime wrappers name, and the wrappers' script template.
struct InvenTreePaths {
    python_path: String,
    src_path: String,
    runtime_path: String,
    version: String,
    template: String,
}

impl InvenTreePaths {
    /// `bin/inventree-<sub>`: the wrapper script's text, its `${…}` filled with the stand-ins.
    fn wrapper(&self, sub: &str) -> StandIn {
        let text = self
            .template
            .replace("${runtimeShell}", "/bin/bash")
            .replace("${runtime}", &self.runtime_path)
            .replace("${src}", &self.src_path)
            .replace("${python}", &self.python_path)
            .replace("${subcommand}", sub)
            .replace("''$", "$");
        StandIn::FileIn {
            destination: format!("/bin/inventree-{sub}"),
            text,
            executable: true,
        }
    }
}

/// What stands in for `path` (see the table at the top); an error for a path nothing does.
fn stand_in_for(
    path: &str,
    plan: &HostPlan,
    sources: &Sources,
    inventree: &InvenTreePaths,
) -> anyhow::Result<StandIn> {
    let name = name_of(path);
    let file = |text: String| StandIn::File {
        text,
        executable: false,
    };
    Ok(if let Some(script) = plan.system.scripts.get(path) {
        if script.destination.is_empty() {
            StandIn::File {
                text: script.text.clone(),
                executable: script.executable,
            }
        } else {
            StandIn::FileIn {
                destination: script.destination.clone(),
                text: script.text.clone(),
                executable: script.executable,
            }
        }
    } else if path == inventree.python_path {
        StandIn::Bind(sources.python.to_path_buf())
    } else if path == inventree.src_path {
        StandIn::Bind(sources.src.to_path_buf())
    } else if name == "inventree-config.yaml" {
        file(serde_json::to_string(&plan.internal.settings)?)
    } else if name == crate::fontconfig::STORE_NAME {
        file(crate::fontconfig::fonts_conf(
            crate::fontconfig::SYSTEM_FONT_DIRS,
        ))
    } else if name == "inventree-users.json" {
        file(serde_json::to_string(&plan.internal.users)?)
    } else if let Some(sub) = wrapper_subcommand(name, &inventree.version) {
        inventree.wrapper(sub)
    } else if is_tool(name) {
        StandIn::Tool
    } else {
        anyhow::bail!(
            "no stand-in for the store path {path} named by {}'s units: add one in src/systemd/store.rs",
            plan.fixture
        );
    })
}

/// `inventree-server-1.3.5` → `server` (a runtime wrapper of `pkgs/wrapper.nix`).
fn wrapper_subcommand<'a>(name: &'a str, version: &str) -> Option<&'a str> {
    let sub = name
        .strip_prefix("inventree-")?
        .strip_suffix(&format!("-{version}"))?;
    (!sub.is_empty() && sub != "src" && sub != "python" && sub != "runtime").then_some(sub)
}

fn is_tool(name: &str) -> bool {
    TOOL_PACKAGES.iter().any(|tool| {
        name.strip_prefix(tool).is_some_and(|rest| {
            rest.starts_with('-') && rest[1..].starts_with(|c: char| c.is_ascii_digit())
        })
    })
}

/// The script `pkgs/wrapper.nix` writes (between `<<'EOF'` and `EOF`), indentation removed.
pub fn wrapper_template(wrapper_nix: &str) -> anyhow::Result<String> {
    let start = wrapper_nix
        .find("<<'EOF'\n")
        .context("pkgs/wrapper.nix has no <<'EOF' script")?
        + "<<'EOF'\n".len();
    let body = &wrapper_nix[start..];
    let mut lines = Vec::new();
    for line in body.lines() {
        if line.trim() == "EOF" {
            return Ok(lines.join("\n") + "\n");
        }
        lines.push(line.trim_start());
    }
    anyhow::bail!("pkgs/wrapper.nix: the script has no closing EOF")
}

/// Writes the store under `dir` (bound at `/nix/store`); returns the binds to add
/// (host directory → store path).
pub fn write_store(
    dir: &Path,
    store: &BTreeMap<String, StandIn>,
) -> anyhow::Result<Vec<(PathBuf, String)>> {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let mut binds = Vec::new();
    for (path, stand_in) in store {
        let target = dir.join(path.trim_start_matches(STORE));
        let mode = |executable: bool| {
            std::fs::Permissions::from_mode(if executable { 0o755 } else { 0o444 })
        };
        match stand_in {
            StandIn::Bind(host) => {
                std::fs::create_dir_all(&target)?;
                binds.push((host.clone(), path.clone()));
            }
            StandIn::File { text, executable } => {
                std::fs::write(&target, text)
                    .with_context(|| format!("writing {}", target.display()))?;
                std::fs::set_permissions(&target, mode(*executable))?;
            }
            StandIn::FileIn {
                destination,
                text,
                executable,
            } => {
                let file = target.join(destination.trim_start_matches('/'));
                if let Some(parent) = file.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&file, text)
                    .with_context(|| format!("writing {}", file.display()))?;
                std::fs::set_permissions(&file, mode(*executable))?;
            }
            StandIn::Tool => {
                std::fs::create_dir_all(target.join("lib"))?;
                for (link, to) in [
                    ("bin", "/usr/bin"),
                    ("sbin", "/usr/sbin"),
                    ("share", "/usr/share"),
                    ("lib/locale", "/usr/lib/locale"),
                ] {
                    symlink(to, target.join(link))
                        .with_context(|| format!("linking {path}/{link}"))?;
                }
            }
        }
    }
    Ok(binds)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "00000000000000000000000000000000";

    #[test]
    fn store_paths_end_where_the_name_ends() {
        let text = format!(
            "PATH=/nix/store/{H}-coreutils-9.11/bin:/nix/store/{H}-inventree-python-1.3.5/bin\nExecStart=\"/nix/store/{H}-inventree-server-1.3.5/bin/inventree-server\" '--setenv=X=/nix/store/{H}-inventree-config.yaml'"
        );
        let found: Vec<String> = store_paths(&text).into_iter().collect();
        assert_eq!(
            found,
            vec![
                format!("/nix/store/{H}-coreutils-9.11"),
                format!("/nix/store/{H}-inventree-config.yaml"),
                format!("/nix/store/{H}-inventree-python-1.3.5"),
                format!("/nix/store/{H}-inventree-server-1.3.5"),
            ]
        );
    }

    #[test]
    fn wrappers_tools_and_others_are_told_apart_by_name() {
        assert_eq!(
            wrapper_subcommand("inventree-server-1.3.5", "1.3.5"),
            Some("server")
        );
        assert_eq!(
            wrapper_subcommand("inventree-refresh-users-1.3.5", "1.3.5"),
            Some("refresh-users")
        );
        assert_eq!(wrapper_subcommand("inventree-src-1.3.5", "1.3.5"), None);
        assert_eq!(wrapper_subcommand("inventree-backup-prune", "1.3.5"), None);
        assert!(is_tool("coreutils-9.11"));
        assert!(is_tool("systemd-260.2"));
        assert!(is_tool("glibc-locales-2.42-67"));
        assert!(!is_tool("systemd"));
        assert!(!is_tool("inventree-server-1.3.5"));
    }

    #[test]
    fn the_wrapper_template_is_wrapper_nix_own_script() {
        let nix =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("pkgs/wrapper.nix"))
                .unwrap();
        let template = wrapper_template(&nix).unwrap();
        assert!(template.starts_with("#!${runtimeShell}\n"), "{template}");
        assert!(
            template
                .contains("exec ${python}/bin/python -m inventree_runtime ${subcommand} \"$@\""),
            "{template}"
        );
    }
}
