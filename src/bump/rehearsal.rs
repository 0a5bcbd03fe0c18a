//! What a bump learns from the new release's source tree itself (given with `--source`, or the
//! prefetched one): the database migrations it adds over the host tier's tree, and the host tier
//! on the new version — a Python environment made from the regenerated `uv.lock`, the tree
//! prepared with the workspace's patches, and the `defaults-sqlite` fixture set up from empty,
//! healthy and torn down.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;

use crate::{
    context::Context,
    host::{plan, scenarios, HostEnv},
    process::{self, Spec},
    tiers::TierOutcome,
};

/// Where InvenTree's apps live in a source tree.
const APPS: &str = "src/backend/InvenTree";
/// A Python environment from ~160 locked packages: downloads on a cold uv cache.
const SYNC_TIMEOUT: Duration = Duration::from_secs(1800);

/// Every migration of a tree, as `app/NNNN_name`.
fn migrations(tree: &Path) -> anyhow::Result<BTreeSet<String>> {
    let apps = tree.join(APPS);
    let mut found = BTreeSet::new();
    let entries =
        std::fs::read_dir(&apps).with_context(|| format!("listing {}", apps.display()))?;
    for app in entries.flatten() {
        let Ok(files) = std::fs::read_dir(app.path().join("migrations")) else {
            continue;
        };
        for file in files.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".py").filter(|s| *s != "__init__") {
                found.insert(format!("{}/{stem}", app.file_name().to_string_lossy()));
            }
        }
    }
    anyhow::ensure!(
        !found.is_empty(),
        "no migrations under {}: not an InvenTree tree",
        apps.display()
    );
    Ok(found)
}

/// The migrations `new` has and `old` has not, sorted.
pub fn migrations_added(old: &Path, new: &Path) -> anyhow::Result<Vec<String>> {
    let before = migrations(old)?;
    Ok(migrations(new)?.difference(&before).cloned().collect())
}

/// The host tier on the new version, as one step's outcome.
/// `interpreter`: the Python the environment is made with (default: uv finds a 3.13).
pub async fn host_on_new_version(
    ws: &Context,
    source: &Path,
    report_dir: &Path,
    interpreter: Option<&Path>,
) -> TierOutcome {
    match run_host(ws, source, report_dir, interpreter).await {
        Ok(summary) => TierOutcome::Passed { summary },
        Err(e) => TierOutcome::Failed {
            details: format!("{e:#}"),
        },
    }
}

async fn run_host(
    ws: &Context,
    source: &Path,
    report_dir: &Path,
    interpreter: Option<&Path>,
) -> anyhow::Result<String> {
    let python =
        environment_from_lock(&ws.flake_dir, &report_dir.join("venv"), interpreter).await?;
    let env = HostEnv {
        src: source.to_path_buf(),
        python,
        runtime_dir: ws.flake_dir.join("runtime"),
        static_source: None,
        described: format!("InvenTree source {} (the release)", source.display()),
    }
    .prepared(&ws.flake_dir)
    .await?;
    let (plans, _) = plan::load(ws, &["defaults-sqlite"]).await?;
    let plan = plans.first().context("no plan for defaults-sqlite")?;
    let report = scenarios::defaults(&env, plan).await?;
    eprint!("{}", report.render());
    let figures: Vec<String> = report
        .figures
        .iter()
        .map(|(name, seconds)| format!("{name} {seconds:.1} s"))
        .collect();
    Ok(format!("defaults-sqlite healthy: {}", figures.join(", ")))
}

/// `uv sync --frozen` of the workspace's lock into `venv`; its interpreter.
async fn environment_from_lock(
    workspace: &Path,
    venv: &Path,
    interpreter: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    let uv = crate::cache::tool("uv")
        .context("uv is neither on PATH nor in the tools venv (scripts/setup-dev installs it)")?;
    let spec = Spec::new(&uv)
        .name("uv-sync")
        .args(["sync", "--frozen", "--no-config", "--no-install-project"])
        .cwd(workspace)
        .env("UV_PROJECT_ENVIRONMENT", venv.display().to_string());
    let spec = match interpreter {
        Some(python) => spec.arg("--python").arg(python.display().to_string()),
        None => spec,
    };
    eprintln!(
        "bump: making the new version's Python environment from {} in {}",
        workspace.join("uv.lock").display(),
        venv.display()
    );
    let done = process::run(&spec, SYNC_TIMEOUT)
        .await
        .with_context(|| format!("running {} sync", uv.display()))?;
    anyhow::ensure!(
        done.success,
        "`uv sync --frozen` of the new lock failed (exit {:?}):\n{}",
        done.code,
        crate::util::tail(&done.output, 30)
    );
    Ok(venv.join("bin/python"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dir: &Path, files: &[&str]) {
        for file in files {
            let path = dir.join(APPS).join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
    }

    #[test]
    fn migrations_added_are_the_new_trees_migration_files_the_old_lacks() {
        let (old, new) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        tree(
            old.path(),
            &[
                "part/migrations/__init__.py",
                "part/migrations/0001_initial.py",
            ],
        );
        tree(
            new.path(),
            &[
                "part/migrations/__init__.py",
                "part/migrations/0001_initial.py",
                "part/migrations/0002_part_notes.py",
                "stock/migrations/0001_initial.py",
                "stock/models.py",
            ],
        );
        assert_eq!(
            migrations_added(old.path(), new.path()).unwrap(),
            vec!["part/0002_part_notes", "stock/0001_initial"]
        );
    }

    #[test]
    fn a_tree_without_migrations_is_not_an_inventree_tree() {
        let (old, new) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        tree(old.path(), &["part/migrations/0001_initial.py"]);
        let err = migrations_added(old.path(), new.path()).unwrap_err();
        assert!(format!("{err:#}").contains("listing"), "{err:#}");
    }
}
