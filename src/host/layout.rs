//! Lays a plan out on this host: the paths the module uses (`/var/lib/inventree`, `/run/...`)
//! moved under a temporary directory, store paths replaced by what exists here (the source tree,
//! the rendered config and users files written out), credentials written where systemd would put
//! them, and the server's bind moved to a free loopback port.
//!
//! The rewrite is the only difference from what the units run, and it is mechanical: every
//! absolute path under a system prefix gets the instance root in front (`/run/postgresql` →
//! `<root>/run/postgresql`), and the data dir is `<root>/var/lib/inventree` like any other.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use serde_json::Value;

use super::plan::HostPlan;

/// System prefixes moved under the instance root.
pub const MOVED_PREFIXES: &[&str] = &["/var/", "/run/", "/srv/", "/etc/", "/tmp/inventree"];

/// Environment variables whose store paths the host tier replaces (and how).
pub const STORE_VARIABLES: &[&str] = &[
    "INVENTREE_SRC",
    "INVENTREE_CONFIG_SOURCE",
    "INVENTREE_USERS_FILE",
    "INVENTREE_STATIC_SOURCE",
    "FONTCONFIG_FILE",
    "INVENTREE_PLUGIN_ENVIRONMENT",
];

/// Moves one path (or a string holding one, e.g. `unix:/run/x.sock`) under `root`.
pub fn relocate(value: &str, root: &Path) -> String {
    let root = root.display().to_string();
    for prefix in MOVED_PREFIXES {
        if value.starts_with(prefix) {
            return format!("{root}{value}");
        }
        if let Some(rest) = value.strip_prefix("unix:") {
            if rest.starts_with(prefix) {
                return format!("unix:{root}{rest}");
            }
        }
    }
    value.to_string()
}

/// Every string in a JSON value relocated (the settings rendered to config.yaml).
pub fn relocate_json(value: &Value, root: &Path) -> Value {
    match value {
        Value::String(s) => Value::String(relocate(s, root)),
        Value::Array(items) => Value::Array(items.iter().map(|v| relocate_json(v, root)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), relocate_json(v, root)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The server argv with the value of `--bind` (or `--bind=`) replaced.
pub fn rebind(argv: &[String], bind: &str) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::with_capacity(argv.len());
    let mut replaced = false;
    let mut iter = argv.iter();
    while let Some(arg) = iter.next() {
        if arg == "--bind" || arg == "-b" {
            out.push(arg.clone());
            iter.next()
                .context("--bind without a value in the server command")?;
            out.push(bind.to_string());
            replaced = true;
        } else if arg.starts_with("--bind=") {
            out.push(format!("--bind={bind}"));
            replaced = true;
        } else {
            out.push(arg.clone());
        }
    }
    if !replaced {
        out.push("--bind".into());
        out.push(bind.into());
    }
    Ok(out)
}

/// Allowed hosts with the loopback address the harness connects to (unless `*` allows all).
pub fn allow_loopback(allowed: &str) -> String {
    let hosts: Vec<&str> = allowed.split(',').filter(|h| !h.is_empty()).collect();
    if hosts.iter().any(|h| *h == "*" || *h == "127.0.0.1") {
        allowed.to_string()
    } else {
        let mut hosts = hosts;
        hosts.push("127.0.0.1");
        hosts.join(",")
    }
}

/// Directories of the `d` lines of systemd-tmpfiles rules.
pub fn tmpfiles_directories(rules: &[String]) -> Vec<(String, u32)> {
    rules
        .iter()
        .filter_map(|rule| {
            let mut fields = rule.split_whitespace();
            if fields.next()? != "d" {
                return None;
            }
            let path = fields.next()?.trim_matches('\'').to_string();
            let mode = fields
                .next()
                .and_then(|m| u32::from_str_radix(m, 8).ok())
                .unwrap_or(0o755);
            Some((path, mode))
        })
        .collect()
}

/// A plan laid out under one root directory.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub credentials_dir: PathBuf,
    pub logs_dir: PathBuf,
    pub home_dir: PathBuf,
    /// The rendered config.yaml as this host sees it (relocated), INVENTREE_CONFIG_SOURCE.
    pub config_source: PathBuf,
    pub environment: BTreeMap<String, String>,
    pub setup_argv: Vec<String>,
    pub server_argv: Vec<String>,
    pub cluster_argv: Vec<String>,
    pub port: u16,
    /// Credential name → content written (sentinel passwords).
    pub credentials: BTreeMap<String, String>,
}

impl Layout {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn credential_path(&self, name: &str) -> PathBuf {
        self.credentials_dir.join(name)
    }

    /// The (relocated) SQLite database file, if the plan uses SQLite.
    pub fn sqlite_file(&self, settings: &Value) -> Option<PathBuf> {
        let db = settings.get("database")?;
        let engine = db.get("ENGINE")?.as_str()?;
        if !engine.contains("sqlite") {
            return None;
        }
        db.get("NAME")?.as_str().map(PathBuf::from)
    }
}

/// The sentinel content of a credential: recognisable, never a real secret.
pub fn sentinel(name: &str) -> String {
    format!("host-tier-sentinel-{name}")
}

/// Writes everything the units would find, under `root` (which must exist and be empty).
pub fn lay_out(
    plan: &HostPlan,
    root: &Path,
    src: &Path,
    static_source: Option<&Path>,
    port: u16,
) -> anyhow::Result<Layout> {
    let data_dir = relocated_data_dir(plan, root)?;
    let credentials_dir = root.join("credentials");
    let logs_dir = root.join("logs");
    let home_dir = root.join("home");
    let store_dir = root.join("store");
    for dir in [&credentials_dir, &logs_dir, &home_dir, &store_dir] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // What systemd creates before setup runs: StateDirectory (the data dir) and tmpfiles rules.
    create_dir(&data_dir, 0o750)?;
    for (dir, mode) in tmpfiles_directories(&plan.tmpfiles) {
        create_dir(Path::new(&relocate(&dir, root)), mode)?;
    }

    let store = write_store_files(plan, root, &store_dir)?;
    let mut environment = unit_environment(plan, root, src, static_source, &store);
    environment.insert(
        "CREDENTIALS_DIRECTORY".into(),
        credentials_dir.display().to_string(),
    );
    let credentials = write_sentinel_credentials(plan, &credentials_dir)?;

    let bind = format!("127.0.0.1:{port}");
    Ok(Layout {
        root: root.to_path_buf(),
        data_dir,
        credentials_dir,
        logs_dir,
        home_dir,
        config_source: store.config_source,
        environment,
        setup_argv: plan.command("setup")?.to_vec(),
        server_argv: rebind(plan.command("server")?, &bind)?,
        cluster_argv: plan.command("cluster")?.to_vec(),
        port,
        credentials,
    })
}

/// The plan's data directory under `root`; an error when it lies outside what is relocated.
fn relocated_data_dir(plan: &HostPlan, root: &Path) -> anyhow::Result<PathBuf> {
    let data_dir_planned = plan.data_dir()?;
    let data_dir = PathBuf::from(relocate(data_dir_planned, root));
    if !data_dir.starts_with(root) {
        // Never let a run write to the real path.
        anyhow::bail!(
            "{}: dataDir {data_dir_planned} lies outside the prefixes the host tier relocates ({})",
            plan.fixture,
            MOVED_PREFIXES.join(", ")
        );
    }
    Ok(data_dir)
}

/// The files the module puts in the Nix store, written to this host's stand-in for it.
struct StoreFiles {
    config_source: PathBuf,
    users_file: PathBuf,
    fonts_conf: PathBuf,
}

fn write_store_files(plan: &HostPlan, root: &Path, store_dir: &Path) -> anyhow::Result<StoreFiles> {
    let settings = relocate_json(&plan.internal.settings, root);
    // builtins.toJSON: compact, keys sorted (serde_json's map is sorted) — the same text the
    // module writes to the store.
    let config_source = store_dir.join("inventree-config.yaml");
    write(&config_source, &serde_json::to_string(&settings)?)?;
    let users_file = store_dir.join("inventree-users.json");
    write(&users_file, &serde_json::to_string(&plan.internal.users)?)?;
    let fonts_conf = store_dir.join(crate::fontconfig::STORE_NAME);
    write(
        &fonts_conf,
        &crate::fontconfig::fonts_conf(crate::fontconfig::SYSTEM_FONT_DIRS),
    )?;
    Ok(StoreFiles {
        config_source,
        users_file,
        fonts_conf,
    })
}

/// The plan's unit environment as this host runs it: store paths and the source tree replaced
/// by their stand-ins here, every other path relocated under `root`.
fn unit_environment(
    plan: &HostPlan,
    root: &Path,
    src: &Path,
    static_source: Option<&Path>,
    store: &StoreFiles,
) -> BTreeMap<String, String> {
    let mut environment = BTreeMap::new();
    for (name, value) in &plan.internal.environment {
        let value = match name.as_str() {
            "INVENTREE_SRC" => src.display().to_string(),
            "INVENTREE_CONFIG_SOURCE" => store.config_source.display().to_string(),
            "INVENTREE_USERS_FILE" => store.users_file.display().to_string(),
            // Static files collected when the tree was prepared, as the package's `src.static`;
            // a raw tree has none, and setup collects them.
            "INVENTREE_STATIC_SOURCE" => match static_source {
                Some(dir) => dir.display().to_string(),
                None => continue,
            },
            // The fonts of this host stand in for `services.inventree.fonts`.
            "FONTCONFIG_FILE" => store.fonts_conf.display().to_string(),
            // Names the Python environment with plugins; only its identity counts (setup's schema
            // digest), and here the instance's own interpreter and plugin site stand in for it.
            "INVENTREE_PLUGIN_ENVIRONMENT" => root.join("python-environment").display().to_string(),
            "INVENTREE_ALLOWED_HOSTS" => allow_loopback(value),
            _ => relocate(value, root),
        };
        environment.insert(name.clone(), value);
    }
    environment
}

/// One file per credential the units load, holding its [`sentinel`]; name → content.
fn write_sentinel_credentials(
    plan: &HostPlan,
    credentials_dir: &Path,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut credentials = BTreeMap::new();
    for name in plan.internal.credentials.keys() {
        let content = sentinel(name);
        // systemd copies the file as is; a trailing newline is what an admin's file usually has.
        write_mode(&credentials_dir.join(name), &format!("{content}\n"), 0o400)?;
        credentials.insert(name.clone(), content);
    }
    Ok(credentials)
}

fn create_dir(dir: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", dir.display()))
}

fn write(file: &Path, content: &str) -> anyhow::Result<()> {
    std::fs::write(file, content).with_context(|| format!("writing {}", file.display()))
}

pub fn write_mode(file: &Path, content: &str, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if file.exists() {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("making {} writable", file.display()))?;
    }
    write(file, content)?;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_paths_move_under_the_root_and_others_stay() {
        let root = Path::new("/tmp/x");
        assert_eq!(
            relocate("/var/lib/inventree/db.sqlite3", root),
            "/tmp/x/var/lib/inventree/db.sqlite3"
        );
        assert_eq!(relocate("/run/postgresql", root), "/tmp/x/run/postgresql");
        assert_eq!(
            relocate("unix:/run/inventree/s.sock", root),
            "unix:/tmp/x/run/inventree/s.sock"
        );
        assert_eq!(
            relocate("https://inventree.example.org", root),
            "https://inventree.example.org"
        );
        assert_eq!(relocate("sqlite3", root), "sqlite3");
    }

    #[test]
    fn settings_are_relocated_recursively() {
        let settings = serde_json::json!({
            "database": {"ENGINE": "sqlite3", "NAME": "/var/lib/inventree/database/inventree.sqlite3"},
            "allowed_hosts": ["*"], "background": {"workers": 1}
        });
        let moved = relocate_json(&settings, Path::new("/r"));
        assert_eq!(
            moved["database"]["NAME"],
            "/r/var/lib/inventree/database/inventree.sqlite3"
        );
        assert_eq!(moved["allowed_hosts"][0], "*");
        assert_eq!(moved["background"]["workers"], 1);
    }

    #[test]
    fn bind_is_replaced_wherever_it_is() {
        let argv: Vec<String> = ["server", "--bind", "127.0.0.1:8000", "--timeout", "90"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            rebind(&argv, "127.0.0.1:4242").unwrap(),
            ["server", "--bind", "127.0.0.1:4242", "--timeout", "90"]
                .map(String::from)
                .to_vec()
        );
        let unix: Vec<String> = ["server", "--bind=unix:/run/inventree/inventree.sock"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            rebind(&unix, "127.0.0.1:1").unwrap()[1],
            "--bind=127.0.0.1:1"
        );
    }

    #[test]
    fn loopback_is_added_to_allowed_hosts_unless_all_are_allowed() {
        assert_eq!(
            allow_loopback("inventree.example.org"),
            "inventree.example.org,127.0.0.1"
        );
        assert_eq!(
            allow_loopback("*,inventree.example.org"),
            "*,inventree.example.org"
        );
    }

    #[test]
    fn tmpfiles_directory_rules_are_read_with_their_mode() {
        let rules = vec![
            "d '/var/lib/inventree/database' 0700 inventree inventree - -".to_string(),
            "L+ /etc/x - - - - /y".to_string(),
        ];
        assert_eq!(
            tmpfiles_directories(&rules),
            vec![("/var/lib/inventree/database".to_string(), 0o700)]
        );
    }
}
