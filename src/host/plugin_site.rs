//! A plugin workspace's packages for the host tier's interpreter: what `pkgs/python.nix` adds to
//! InvenTree's environment from a `pluginWorkspace`, here installed by uv from the same
//! `uv.lock` into a directory that goes on PYTHONPATH (InvenTree finds plugins through their
//! `inventree_plugins` entry points, which Python reads from any directory on the path).
//! Made once per lock and interpreter (a cache entry); needs `uv` and the package index.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;

use crate::{cache, process};

/// What one uv step may take (a download of a few wheels).
const UV_TIMEOUT: Duration = Duration::from_secs(300);

/// The directory holding the workspace's locked packages (not the workspace's own virtual
/// project), for `python`.
pub async fn prepare(python: &Path, workspace: &Path) -> anyhow::Result<PathBuf> {
    let lock_file = workspace.join("uv.lock");
    let lock = std::fs::read(&lock_file)
        .with_context(|| format!("reading the plugin lock {}", lock_file.display()))?;
    let interpreter = python.as_os_str().as_encoded_bytes();
    let entry = cache::Entry::new("plugin-site", &cache::key(&[&lock, interpreter]))?;
    let site = entry.path.join("site");
    if entry.exists() {
        return Ok(site);
    }
    let uv = cache::tool("uv").context(
        "uv is neither on PATH nor in scripts/setup-dev's tools venv (run it): it installs the plugins",
    )?;
    let started = Instant::now();
    eprintln!("   plugins: installing {} with uv", lock_file.display());
    let scratch = entry.scratch()?;
    let requirements = scratch.path().join("requirements.txt");
    uv_ok(
        process::Spec::new(&uv)
            .name("uv-export")
            .args(["export", "--frozen", "--no-hashes", "--no-dev"])
            .args(["--no-emit-project", "--directory"])
            .arg(workspace.display().to_string())
            .arg("--output-file")
            .arg(requirements.display().to_string()),
    )
    .await?;
    uv_ok(
        process::Spec::new(&uv)
            .name("uv-pip-install")
            .args(["pip", "install", "--no-deps", "--python"])
            .arg(python.display().to_string())
            .arg("--target")
            .arg(scratch.path().join("site").display().to_string())
            .arg("--requirement")
            .arg(requirements.display().to_string()),
    )
    .await?;
    entry.publish(&scratch.keep())?;
    eprintln!(
        "   plugins: installed into {} ({:.1} s)",
        site.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(site)
}

async fn uv_ok(spec: process::Spec) -> anyhow::Result<()> {
    let done = process::run(&spec, UV_TIMEOUT).await?;
    anyhow::ensure!(
        done.success,
        "{} failed (exit {:?}):\n{}",
        spec.command_line(),
        done.code,
        crate::util::tail(&done.output, 20)
    );
    Ok(())
}
