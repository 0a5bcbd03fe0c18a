//! The local Redis of the cache fixtures, in the container: a stand-in for the unit NixOS's
//! `services.redis.servers.inventree` renders (not part of the plan: nixpkgs' module, not ours).
//! The same name, `redis-inventree.service`, user and shape — `Type=notify`, a root
//! `ExecStartPre` writing the configuration with `requirepass` read from the password file the
//! module hands it, no `Restart=` — so InvenTree's `Wants=`/`After=` on it are exercised as
//! NixOS would run them. The server is Debian's `redis-server` from the container's root file
//! system (scripts/setup-dev installs it there, masked so it never starts on its own).

use std::time::Duration;

use anyhow::Context as _;

use super::container::Container;
use crate::host::plan::HostPlan;

pub const UNIT: &str = "redis-inventree.service";
const USER: &str = "redis-inventree";
const SERVER: &str = "/usr/bin/redis-server";
const PREPARE: &str = "/usr/local/libexec/redis-inventree-prepare";
const SHORT: Duration = Duration::from_secs(60);

/// Whether the plan's units name the local Redis (the cache with `createLocally`).
pub fn needed(plan: &HostPlan) -> bool {
    plan.system.units.values().any(|u| u.text.contains(UNIT))
}

/// The port and the password file of the plan's local Redis.
pub fn endpoint(plan: &HostPlan) -> anyhow::Result<(u16, String)> {
    let port = plan.internal.settings["cache"]["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .with_context(|| format!("fixture {} configures no cache port", plan.fixture))?;
    let password_file = plan
        .load_credentials()
        .into_iter()
        .find(|(name, _)| name == "INVENTREE_CACHE_PASSWORD")
        .map(|(_, path)| path)
        .with_context(|| {
            format!(
                "fixture {} gives its units no INVENTREE_CACHE_PASSWORD",
                plan.fixture
            )
        })?;
    Ok((port, password_file))
}

/// The configuration script, run as root before each start (as NixOS's `prep-conf` is).
fn prepare_script(port: u16, password_file: &str) -> String {
    format!(
        r#"#!/bin/sh
# Written by the systemd tier (src/systemd/redis.rs): what NixOS's redis-inventree-prep-conf does.
set -eu
conf=/run/{USER}/redis.conf
umask 077
{{
  echo 'port {port}'
  echo 'bind 127.0.0.1'
  echo 'save ""'
  echo 'appendonly no'
  echo 'supervised systemd'
  echo 'daemonize no'
  echo 'dir /var/lib/{USER}'
  echo 'logfile ""'
  echo "requirepass $(cat '{password_file}')"
}} > "$conf"
chown {USER}:{USER} "$conf"
"#
    )
}

/// The unit file, in the shape of the one NixOS renders.
pub fn unit_text() -> String {
    format!(
        "[Unit]
Description=Redis Server - {USER} (systemd tier stand-in for services.redis.servers.inventree)
After=network.target

[Service]
Type=notify
User={USER}
Group={USER}
RuntimeDirectory={USER}
RuntimeDirectoryMode=0750
StateDirectory={USER}
StateDirectoryMode=0700
UMask=0077
ExecStartPre=+{PREPARE}
ExecStart={SERVER} /run/{USER}/redis.conf

[Install]
WantedBy=multi-user.target
"
    )
}

/// Installs the stand-in (account, configuration script, unit) when the plan needs it; fails
/// naming the fix when the container's root file system has no `redis-server`.
pub async fn install_if_needed(container: &Container, plan: &HostPlan) -> anyhow::Result<()> {
    if !needed(plan) {
        return Ok(());
    }
    anyhow::ensure!(
        container.path(SERVER).exists(),
        "{} needs a local Redis and the container's root file system has no {SERVER}: run scripts/setup-dev (it installs redis-server into an existing root file system)",
        plan.fixture
    );
    let (port, password_file) = endpoint(plan)?;
    container
        .exec_ok(&["groupadd", "--system", USER], SHORT)
        .await?;
    let user = [
        "useradd",
        "--system",
        "--gid",
        USER,
        "--home-dir",
        "/var/empty",
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        USER,
    ];
    container.exec_ok(&user, SHORT).await?;
    container.write_file(PREPARE, &prepare_script(port, &password_file), 0o755)?;
    container.write_file(&format!("/etc/systemd/system/{UNIT}"), &unit_text(), 0o644)?;
    Ok(())
}

/// How many keys the stand-in holds (`DBSIZE`), asked with the password file's content.
pub async fn key_count(container: &Container, plan: &HostPlan) -> anyhow::Result<u64> {
    let (port, password_file) = endpoint(plan)?;
    let ask =
        format!("REDISCLI_AUTH=\"$(cat '{password_file}')\" exec redis-cli -p {port} --raw DBSIZE");
    let out = container
        .exec_ok(&["sh", "-c", &ask], SHORT)
        .await
        .context("asking the local Redis for its key count")?;
    out.trim()
        .parse()
        .with_context(|| format!("redis-cli DBSIZE printed {out:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stand_in_reads_the_password_from_the_modules_file_and_listens_on_the_fixture_port() {
        let script = prepare_script(6390, "/run/secrets/inventree-redis-password");
        assert!(script.contains("echo 'port 6390'"), "{script}");
        assert!(script.contains("echo 'bind 127.0.0.1'"), "{script}");
        assert!(
            script.contains("requirepass $(cat '/run/secrets/inventree-redis-password')"),
            "{script}"
        );
        let unit = unit_text();
        assert!(unit.contains("Type=notify\n"), "{unit}");
        assert!(
            !unit.contains("Restart="),
            "NixOS's redis unit has no Restart=: {unit}"
        );
    }
}
