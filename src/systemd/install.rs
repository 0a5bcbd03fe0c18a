//! Installs a plan into a booted container as NixOS would have it on disk: the service user and
//! group, the tmpfiles rules (applied), the credentials the units load (sentinel contents, at the
//! paths the units name), every unit file byte for byte in `/etc/systemd/system` with its
//! `.wants`/`.requires` links, the admin commands on the PATH. The caller adds stand-ins (a local
//! Redis: `redis`) and reloads systemd ([`reload`]).
//!
//! [`directive_differences`] is the proof that what systemd runs is what NixOS renders: it
//! compares two unit files directive by directive and reports any difference other than the hash
//! of a store path.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

use super::container::Container;
use crate::host::{layout::sentinel, plan::HostPlan};

const UNIT_DIR: &str = "/etc/systemd/system";

fn link(container: &Container, inside: &str, target: &str) -> anyhow::Result<()> {
    let path = container.path(inside);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_file(&path);
    std::os::unix::fs::symlink(target, &path)
        .with_context(|| format!("linking {inside} → {target}"))
}

const SHORT: Duration = Duration::from_secs(60);

async fn create_accounts(container: &Container, accounts: &Value) -> anyhow::Result<()> {
    let empty = serde_json::Map::new();
    let groups = accounts["groups"].as_object().unwrap_or(&empty);
    for (group, spec) in groups {
        let mut argv = vec!["groupadd", "--system"];
        let gid = spec["gid"].as_u64().map(|g| g.to_string());
        if let Some(gid) = &gid {
            argv.extend(["--gid", gid]);
        }
        argv.push(group);
        container.exec_ok(&argv, SHORT).await?;
    }
    let users = accounts["users"].as_object().unwrap_or(&empty);
    for (user, spec) in users {
        let group = spec["group"].as_str().unwrap_or(user);
        let home = spec["home"].as_str().unwrap_or("/var/empty");
        if container
            .exec(&["getent", "group", group], SHORT)
            .await?
            .success
        {
            let extra: Vec<&str> = spec["extraGroups"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let extra = extra.join(",");
            let mut argv = vec![
                "useradd",
                "--system",
                "--gid",
                group,
                "--home-dir",
                home,
                "--no-create-home",
            ];
            argv.extend(["--shell", "/usr/sbin/nologin"]);
            if !extra.is_empty() {
                argv.extend(["--groups", &extra]);
            }
            argv.push(user);
            container.exec_ok(&argv, SHORT).await?;
        }
    }
    Ok(())
}

/// Installs everything; returns the credential contents written (name → sentinel).
pub async fn install(
    container: &Container,
    plan: &HostPlan,
) -> anyhow::Result<Vec<(String, String)>> {
    create_accounts(container, &plan.system.accounts).await?;
    if !plan.tmpfiles.is_empty() {
        let rules = plan.tmpfiles.join("\n") + "\n";
        container.write_file("/etc/tmpfiles.d/inventree.conf", &rules, 0o644)?;
        container
            .exec_ok(
                &[
                    "systemd-tmpfiles",
                    "--create",
                    "/etc/tmpfiles.d/inventree.conf",
                ],
                SHORT,
            )
            .await?;
    }
    let mut written = Vec::new();
    for (name, path) in plan.load_credentials() {
        let content = sentinel(&name);
        container.write_file(&path, &format!("{content}\n"), 0o400)?;
        written.push((name, content));
    }
    for (name, unit) in &plan.system.units {
        container.write_file(&format!("{UNIT_DIR}/{name}"), &unit.text, 0o644)?;
        for (targets, kind) in [(&unit.wanted_by, "wants"), (&unit.required_by, "requires")] {
            for target in targets {
                link(
                    container,
                    &format!("{UNIT_DIR}/{target}.{kind}/{name}"),
                    &format!("{UNIT_DIR}/{name}"),
                )?;
            }
        }
    }
    for (path, script) in &plan.system.scripts {
        if let Some(command) = script.destination.strip_prefix("/bin/") {
            link(
                container,
                &format!("/usr/local/bin/{command}"),
                &format!("{path}{}", script.destination),
            )?;
        }
    }
    Ok(written)
}

/// `systemctl daemon-reload`: systemd reads what was installed.
pub async fn reload(container: &Container) -> anyhow::Result<()> {
    container
        .exec_ok(&["systemctl", "daemon-reload"], SHORT)
        .await?;
    Ok(())
}

/// `(section, key, value)` of every directive, in file order.
fn directives(text: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            section = line.to_string();
        } else if let Some((key, value)) = line.split_once('=') {
            out.push((
                section.clone(),
                key.trim().to_string(),
                value.trim().to_string(),
            ));
        }
    }
    out
}

/// A value with every store hash replaced, so two renderings that differ only in store paths
/// compare equal.
fn without_store_hashes(value: &str) -> String {
    crate::host::plan::redact_store_hashes(value)
}

/// Every directive of `installed` that is not `rendered`'s (other than in store hashes), and
/// every directive missing from it. Empty when systemd runs exactly what NixOS renders.
pub fn directive_differences(rendered: &str, installed: &str) -> Vec<String> {
    let ours = directives(rendered);
    let theirs = directives(installed);
    let mut problems = Vec::new();
    for index in 0..ours.len().max(theirs.len()) {
        match (ours.get(index), theirs.get(index)) {
            (Some(a), Some(b))
                if a.0 == b.0
                    && a.1 == b.1
                    && without_store_hashes(&a.2) == without_store_hashes(&b.2) => {}
            (a, b) => problems.push(format!(
                "directive {index}: rendered {a:?}, installed {b:?}"
            )),
        }
    }
    problems
}

/// The unit file systemd loaded for `unit` (`systemctl cat`, its `# /path` header removed).
pub async fn loaded_unit_file(container: &Container, unit: &str) -> anyhow::Result<String> {
    let out = container
        .exec_ok(&["systemctl", "cat", "--", unit], SHORT)
        .await?;
    let mut lines = out.lines();
    let header = lines.next().unwrap_or_default();
    anyhow::ensure!(
        header == format!("# {UNIT_DIR}/{unit}"),
        "systemd loaded {unit} from elsewhere or with drop-ins: {header}"
    );
    Ok(lines.collect::<Vec<_>>().join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_files_and_store_hash_changes_are_no_difference() {
        let a = "[Service]\nExecStart=/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x/bin/x\nUser=inventree\n";
        let b = "[Service]\nExecStart=/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-x/bin/x\nUser=inventree\n";
        assert!(directive_differences(a, a).is_empty());
        assert!(directive_differences(a, b).is_empty());
    }

    #[test]
    fn a_changed_missing_or_added_directive_is_named() {
        let rendered = "[Service]\nProtectSystem=strict\nUser=inventree\n";
        assert_eq!(
            directive_differences(rendered, "[Service]\nProtectSystem=full\nUser=inventree\n")
                .len(),
            1
        );
        assert_eq!(
            directive_differences(rendered, "[Service]\nProtectSystem=strict\n").len(),
            1
        );
        let added = directive_differences(
            rendered,
            "[Service]\nProtectSystem=strict\nUser=inventree\nUser=root\n",
        );
        assert_eq!(added.len(), 1, "{added:?}");
        assert!(added[0].contains("User"), "{added:?}");
    }

    #[test]
    fn credentials_are_read_from_load_credential_lines() {
        let mut plan: HostPlan = serde_json::from_value(serde_json::json!({
            "fixture": "f", "tmpfiles": [],
            "internal": {"environment": {}, "credentials": {}, "settings": {}, "commands": {}, "configFile": "", "users": {}}
        }))
        .unwrap();
        plan.system.units.insert(
            "a.service".into(),
            crate::host::plan::UnitFile {
                text: "[Service]\nLoadCredential=INVENTREE_DB_PASSWORD:/run/secrets/db\nLoadCredential=user-password-admin:/run/secrets/admin\n".into(),
                ..Default::default()
            },
        );
        assert_eq!(
            plan.load_credentials(),
            vec![
                (
                    "INVENTREE_DB_PASSWORD".to_string(),
                    "/run/secrets/db".to_string()
                ),
                (
                    "user-password-admin".to_string(),
                    "/run/secrets/admin".to_string()
                )
            ]
        );
    }
}
