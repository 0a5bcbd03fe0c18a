//! What the host tier needs: an InvenTree source tree, a Python with InvenTree's locked
//! dependencies (both from the overrides: flag, env var, `[host]` in the user config file), and
//! the runtime program of this checkout (`runtime/inventree_runtime`); and what the upgrade tier
//! needs on top: an older tree with its own Python.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{
    context::Context,
    overrides::{
        Sourced, ENV_INVENTREE_SRC, ENV_PYTHON, ENV_UPGRADE_FROM_PYTHON, ENV_UPGRADE_FROM_SRC,
    },
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
    let config_hint = config_hint(ctx);
    tree_and_python(
        ctx,
        Tier::Host,
        (
            ctx.overrides.inventree_src.as_ref(),
            &format!("give --inventree-src, {ENV_INVENTREE_SRC}, or [host] inventree_src in {config_hint}"),
        ),
        (
            ctx.overrides.python.as_ref(),
            &format!("give --python, {ENV_PYTHON}, or [host] python in {config_hint}"),
        ),
    )
    .await
}

/// What an upgrade drill runs: the older InvenTree it starts from and the host tier's, which it
/// upgrades to.
#[derive(Debug, Clone)]
pub struct UpgradeEnvs {
    pub from: HostEnv,
    pub to: HostEnv,
}

/// The upgrade tier's prerequisites: the host tier's (the tree upgraded to) and an older tree
/// with its own Python (`[upgrade]`, its environment variables, or the `upgrade` subcommand's
/// flags, which `from` carries when given).
pub async fn upgrade_prerequisites(
    ctx: &Context,
    from: (Option<&Sourced<PathBuf>>, Option<&Sourced<PathBuf>>),
) -> Prerequisite<UpgradeEnvs> {
    let to = host_prerequisites(ctx).await.map_err(|skip| {
        Skip::new(
            Tier::Upgrade,
            format!("the host tier's tree to upgrade to: {}", skip.reason),
        )
    })?;
    let config_hint = config_hint(ctx);
    let from = tree_and_python(
        ctx,
        Tier::Upgrade,
        (
            from.0.or(ctx.overrides.upgrade_from_src.as_ref()),
            &format!("an older InvenTree tree to upgrade from: give --from-src, {ENV_UPGRADE_FROM_SRC}, or [upgrade] from_src in {config_hint}"),
        ),
        (
            from.1.or(ctx.overrides.upgrade_from_python.as_ref()),
            &format!("a Python with that tree's locked dependencies (scripts/lock-python-deps, then uv sync): give --from-python, {ENV_UPGRADE_FROM_PYTHON}, or [upgrade] from_python in {config_hint}"),
        ),
    )
    .await?;
    Ok(UpgradeEnvs { from, to })
}

fn config_hint(ctx: &Context) -> String {
    ctx.overrides
        .config_file
        .as_ref()
        .map(|(path, _)| path.display().to_string())
        .unwrap_or_else(|| "the user config file".into())
}

/// A tree and a Python, each with what to do when it is not given; both checked.
async fn tree_and_python(
    ctx: &Context,
    tier: Tier,
    (src, src_hint): (Option<&Sourced<PathBuf>>, &str),
    (python, python_hint): (Option<&Sourced<PathBuf>>, &str),
) -> Prerequisite<HostEnv> {
    let skip = |reason: String| Skip::new(tier, reason);
    let src = src.ok_or_else(|| skip(format!("no InvenTree source tree: {src_hint}")))?;
    let python = python.ok_or_else(|| {
        skip(format!(
            "no Python with InvenTree's dependencies: {python_hint}"
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
        .map_err(|why| skip(format!("Python {}: {why:#}", python.value.display())))?;
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
async fn check_python_imports(python: &Path) -> anyhow::Result<()> {
    let check = Spec::new(python).args(["-c", "import django, django_q, gunicorn, rest_framework"]);
    match process::run(&check, Duration::from_secs(60)).await {
        Err(RunError::Timeout { .. }) => anyhow::bail!("importing Django took more than 60 s"),
        Err(e) => anyhow::bail!("cannot run it: {e}"),
        Ok(done) if done.success => Ok(()),
        Ok(done) => anyhow::bail!("lacks InvenTree's dependencies: {}", tail(&done.stderr, 1)),
    }
}
