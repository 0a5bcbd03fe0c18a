//! What the systemd tier needs: root (to boot a container), `systemd-nspawn` and `nsenter`, a
//! container root file system with systemd in it (made once by `scripts/setup-dev`, nothing of
//! the project inside), `patchelf` (to make the container's Python relocatable), and everything
//! the host tier needs (an InvenTree source tree, a Python with its dependencies).

use std::path::PathBuf;

use crate::{
    context::Context,
    host::{host_prerequisites, HostEnv},
    overrides::{Source, Sourced, ENV_SYSTEMD_ROOTFS},
    tiers::{Prerequisite, Skip, Tier},
};

#[derive(Debug, Clone)]
pub struct SystemdEnv {
    pub host: HostEnv,
    pub rootfs: PathBuf,
    pub nspawn: PathBuf,
    pub nsenter: PathBuf,
    pub patchelf: PathBuf,
    /// One line saying what was found, and where from.
    pub described: String,
}

/// The rootfs the user named, else the cache's default one.
fn rootfs(ctx: &Context) -> anyhow::Result<Sourced<PathBuf>> {
    if let Some(named) = &ctx.overrides.systemd_rootfs {
        return Ok(named.clone());
    }
    let cache = crate::cache::root()?;
    Ok(Sourced {
        value: cache.join("systemd-rootfs"),
        source: Source::Default,
    })
}

fn command(name: &str, hint: &str) -> Result<PathBuf, Skip> {
    which::which(name)
        .map_err(|_| Skip::new(Tier::Systemd, format!("{name} not found on PATH ({hint})")))
}

pub async fn systemd_prerequisites(ctx: &Context) -> Prerequisite<SystemdEnv> {
    let skip = |reason: String| Skip::new(Tier::Systemd, reason);
    if !nix::unistd::geteuid().is_root() {
        return Err(skip(
            "needs root, to boot a container with systemd-nspawn".into(),
        ));
    }
    let nspawn = command("systemd-nspawn", "apt-get install systemd-container")?;
    let nsenter = command("nsenter", "apt-get install util-linux")?;
    let patchelf = command("patchelf", "apt-get install patchelf")?;
    let rootfs = rootfs(ctx).map_err(|e| skip(format!("{e:#}")))?;
    let init = rootfs.value.join("usr/lib/systemd/systemd");
    if !init.is_file() {
        return Err(skip(format!(
            "no container root file system with systemd at {} (from {}): make one with scripts/setup-dev, or name one as [systemd] rootfs or {ENV_SYSTEMD_ROOTFS}",
            rootfs.value.display(),
            rootfs.source
        )));
    }
    let host = host_prerequisites(ctx)
        .await
        .map_err(|host| skip(format!("needs the host tier: {}", host.reason)))?;
    Ok(SystemdEnv {
        described: format!(
            "rootfs {} ({}); {}",
            rootfs.value.display(),
            rootfs.source,
            host.described
        ),
        host,
        rootfs: rootfs.value,
        nspawn,
        nsenter,
        patchelf,
    })
}
