//! What the host tier needs: an InvenTree source tree, a Python with InvenTree's locked
//! dependencies (both from the overrides: flag, env var, `[host]` in the user config file), and
//! the runtime program of this checkout (`runtime/inventree_runtime`).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{
    context::Context,
    overrides::{ENV_INVENTREE_SRC, ENV_PYTHON},
    process::{self, RunError, Spec},
    tiers::{Prerequisite, Skip, Tier},
    util::tail,
};

#[derive(Debug, Clone, Default)]
pub struct HostEnv {
    /// InvenTree source root (holds `src/backend/InvenTree/manage.py`).
    pub src: PathBuf,
    pub python: PathBuf,
    /// The directory holding the `inventree_runtime` package (goes on PYTHONPATH).
    pub runtime_dir: PathBuf,
    /// Static files collected when the tree was prepared (`src.static` of the package), which
    /// setup copies as the module has it copy them (`INVENTREE_STATIC_SOURCE`); `None` for a raw
    /// tree, where setup collects them itself.
    pub static_source: Option<PathBuf>,
    /// One line saying where each came from.
    pub described: String,
}

impl HostEnv {
    /// The same environment on the tree prepared the way `pkgs/src.nix` prepares the package's
    /// (patched, static files collected; see `prepared_src`), which is what the units run.
    pub async fn prepared(mut self, flake_dir: &Path) -> anyhow::Result<HostEnv> {
        let prepared = crate::prepared_src::prepare(flake_dir, &self.src, &self.python).await?;
        self.described = format!(
            "{} (prepared like pkgs/src.nix in {}{})",
            self.described,
            prepared.path.display(),
            if prepared.reused { ", reused" } else { "" }
        );
        self.static_source = Some(prepared.static_dir());
        self.src = prepared.path;
        Ok(self)
    }
}

pub fn manage_py(src: &Path) -> PathBuf {
    src.join("src/backend/InvenTree/manage.py")
}

pub async fn host_prerequisites(ctx: &Context) -> Prerequisite<HostEnv> {
    let skip = |reason: String| Skip::new(Tier::Host, reason);
    let config_hint = ctx
        .overrides
        .config_file
        .as_ref()
        .map(|(path, _)| path.display().to_string())
        .unwrap_or_else(|| "the user config file".into());
    let src = ctx.overrides.inventree_src.as_ref().ok_or_else(|| {
        skip(format!(
            "no InvenTree source tree: give --inventree-src, {ENV_INVENTREE_SRC}, or [host] inventree_src in {config_hint}"
        ))
    })?;
    let python = ctx.overrides.python.as_ref().ok_or_else(|| {
        skip(format!(
            "no Python with InvenTree's dependencies: give --python, {ENV_PYTHON}, or [host] python in {config_hint}"
        ))
    })?;
    if !manage_py(&src.value).is_file() {
        return Err(skip(format!(
            "{} (from {}) is not an InvenTree source tree: no src/backend/InvenTree/manage.py",
            src.value.display(),
            src.source
        )));
    }
    if !python.value.is_file() {
        return Err(skip(format!(
            "Python {} (from {}) does not exist",
            python.value.display(),
            python.source
        )));
    }
    let runtime_dir = ctx.flake_dir.join("runtime");
    if !runtime_dir.join("inventree_runtime/__main__.py").is_file() {
        return Err(skip(format!(
            "the runtime program is missing from the checkout: no {}",
            runtime_dir.join("inventree_runtime/__main__.py").display()
        )));
    }
    check_python_imports(&python.value)
        .await
        .map_err(|why| skip(format!("Python {}: {why}", python.value.display())))?;
    Ok(HostEnv {
        src: src.value.clone(),
        python: python.value.clone(),
        runtime_dir,
        static_source: None,
        described: format!(
            "InvenTree source {} ({}); Python {} ({})",
            src.value.display(),
            src.source,
            python.value.display(),
            python.source
        ),
    })
}

/// The modules the server and worker cannot start without.
async fn check_python_imports(python: &Path) -> Result<(), String> {
    let check = Spec::new(python).args(["-c", "import django, django_q, gunicorn, rest_framework"]);
    match process::run(&check, Duration::from_secs(60)).await {
        Err(RunError::Timeout { .. }) => Err("importing Django took more than 60 s".into()),
        Err(e) => Err(format!("cannot run it: {e}")),
        Ok(done) if done.success => Ok(()),
        Ok(done) => Err(format!(
            "lacks InvenTree's dependencies: {}",
            tail(&done.stderr, 1)
        )),
    }
}
