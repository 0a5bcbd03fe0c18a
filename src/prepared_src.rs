//! An InvenTree source tree prepared the way `pkgs/src.nix` prepares the packaged one: the
//! patches of `pkgs/patches` applied (in the order src.nix lists them; one that does not apply
//! fails loudly), then `pkgs/prepare-src.sh` — the very script src.nix's build phase runs —
//! writes `VERSION`, compiles translations, collects static files into `static/` and compiles
//! bytecode. The result is read-only, like a store path.
//!
//! The host, systemd and browser tiers run this tree, not the raw one, so what they run is what
//! the package holds (no INVE-W10 warning, which a patch removes). Prepared once per source
//! tree, patches and script (a cache entry, `cache::Entry`), and reused.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;

use crate::{
    cache,
    process::isolated::{self, Spec},
};

/// Preparing runs Django twice (compilemessages, collectstatic) and compiles every module.
const PREPARE_TIMEOUT: Duration = Duration::from_secs(900);

/// A prepared tree.
#[derive(Debug, Clone)]
pub struct PreparedSrc {
    pub path: PathBuf,
    /// Made by an earlier run.
    pub reused: bool,
    pub elapsed: Duration,
}

impl PreparedSrc {
    /// Static files collected at preparation, as the package's `src.static`.
    pub fn static_dir(&self) -> PathBuf {
        self.path.join("static")
    }
}

/// The patch files `pkgs/src.nix` applies, in its order (`./patches/<name>.patch`).
pub fn patches_in_order(src_nix: &str) -> Vec<String> {
    src_nix
        .split("./patches/")
        .skip(1)
        .filter_map(|rest| {
            let end = rest.find(".patch")?;
            Some(format!("{}.patch", &rest[..end]))
        })
        .collect()
}

/// The commit recorded in `VERSION`: the tree's own when it is a git checkout, else `unknown`
/// (an unpacked tree does not know its commit; InvenTree shows it as is).
async fn commit_of(source: &Path, logs: &Path) -> String {
    if !source.join(".git").exists() {
        return "unknown".into();
    }
    let dir = source.display().to_string();
    let head = spec(
        "git",
        "git",
        &["-C", &dir, "rev-parse", "--verify", "HEAD"],
        logs,
        logs,
    );
    match isolated::run(&head, Duration::from_secs(30)).await {
        Ok(done) if done.success => done.output.trim().to_string(),
        _ => "unknown".into(),
    }
}

/// Prepares `source` (or reuses an earlier preparation) with `python` (InvenTree's dependencies).
pub async fn prepare(
    flake_dir: &Path,
    source: &Path,
    python: &Path,
) -> anyhow::Result<PreparedSrc> {
    let started = Instant::now();
    let pkgs = flake_dir.join("pkgs");
    let src_nix = read(&pkgs.join("src.nix"))?;
    let script = read(&pkgs.join("prepare-src.sh"))?;
    let patches = patches_in_order(&src_nix);
    anyhow::ensure!(!patches.is_empty(), "pkgs/src.nix lists no patches");
    let mut patch_texts = Vec::new();
    for name in &patches {
        patch_texts.push((name.clone(), read(&pkgs.join("patches").join(name))?));
    }
    let source = source
        .canonicalize()
        .with_context(|| format!("resolving {}", source.display()))?;
    let stamp = tree_stamp(&source)?;
    let mut parts: Vec<&[u8]> = vec![
        source.as_os_str().as_encoded_bytes(),
        stamp.as_bytes(),
        script.as_bytes(),
        python.as_os_str().as_encoded_bytes(),
    ];
    for (name, text) in &patch_texts {
        parts.push(name.as_bytes());
        parts.push(text.as_bytes());
    }
    let entry = cache::Entry::new("prepared-src", &cache::key(&parts))?;
    if entry.exists() {
        return Ok(PreparedSrc {
            path: entry.path,
            reused: true,
            elapsed: started.elapsed(),
        });
    }
    eprintln!(
        "prepared source: preparing {} like pkgs/src.nix (patches, VERSION, translations, static files, bytecode) into {}",
        source.display(),
        entry.path.display()
    );
    let scratch = entry.scratch()?;
    let tree = scratch.path().join("tree");
    copy_tree(&source, &tree, scratch.path()).await?;
    for (name, _) in &patch_texts {
        apply_patch(
            &tree,
            &pkgs.join("patches").join(name),
            &source,
            scratch.path(),
        )
        .await?;
    }
    let commit = commit_of(&source, scratch.path()).await;
    run_script(
        &tree,
        &pkgs.join("prepare-src.sh"),
        python,
        &commit,
        scratch.path(),
    )
    .await?;
    make_read_only(&tree).await?;
    entry.publish(&tree)?;
    let elapsed = started.elapsed();
    eprintln!("prepared source: done in {:.1} s", elapsed.as_secs_f64());
    Ok(PreparedSrc {
        path: entry.path,
        reused: false,
        elapsed,
    })
}

/// What identifies a tree's content cheaply: the version files' sizes and mtimes (trees are
/// unpacked once and not edited; a new tree is a new path or new files).
fn tree_stamp(source: &Path) -> anyhow::Result<String> {
    use std::os::unix::fs::MetadataExt;
    let mut stamp = String::new();
    for file in [
        "src/backend/InvenTree/manage.py",
        "src/backend/InvenTree/InvenTree/version.py",
        "src/backend/InvenTree/InvenTree/api_version.py",
        "tasks.py",
    ] {
        let meta = std::fs::metadata(source.join(file))
            .with_context(|| format!("{}: not an InvenTree tree (no {file})", source.display()))?;
        stamp.push_str(&format!("{file}:{}:{};", meta.len(), meta.mtime()));
    }
    Ok(stamp)
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn spec(name: &str, program: &str, args: &[&str], cwd: &Path, logs: &Path) -> Spec {
    Spec {
        name: name.into(),
        program: PathBuf::from(program),
        args: args.iter().map(|a| a.to_string()).collect(),
        env: inherited_env(),
        cwd: cwd.to_path_buf(),
        log: logs.join(format!("{name}.log")),
        parent_death_signal: nix::sys::signal::Signal::SIGKILL,
    }
}

/// PATH and locale from the harness's environment: the commands (cp, patch, msgfmt) are the
/// machine's.
fn inherited_env() -> BTreeMap<String, String> {
    ["PATH", "HOME", "LANG", "TMPDIR"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect()
}

async fn run_checked(spec: &Spec, timeout: Duration, what: &str) -> anyhow::Result<()> {
    let done = isolated::run(spec, timeout).await?;
    if !done.success {
        anyhow::bail!(
            "{what} failed (exit {:?}): {}\n{}",
            done.code,
            spec.command_line(),
            crate::util::tail(&done.output, 40)
        );
    }
    Ok(())
}

async fn copy_tree(source: &Path, tree: &Path, logs: &Path) -> anyhow::Result<()> {
    let (from, to) = (source.display().to_string(), tree.display().to_string());
    let copy = spec("copy", "cp", &["-a", "--", &from, &to], logs, logs);
    run_checked(&copy, Duration::from_secs(300), "copying the source tree").await?;
    // The copy must be writable for the patches and the build, whatever the source's modes.
    let chmod = spec("chmod", "chmod", &["-R", "u+w", "--", &to], logs, logs);
    run_checked(&chmod, Duration::from_secs(120), "making the copy writable").await
}

async fn apply_patch(tree: &Path, patch: &Path, source: &Path, logs: &Path) -> anyhow::Result<()> {
    let file = patch.display().to_string();
    let apply = spec(
        "patch",
        "patch",
        &[
            "-p1",
            "--forward",
            "--batch",
            "--no-backup-if-mismatch",
            "-i",
            &file,
        ],
        tree,
        logs,
    );
    run_checked(&apply, Duration::from_secs(60), "applying a patch")
        .await
        .with_context(|| {
            format!(
                "{} does not apply to {} (as pkgs/src.nix would apply it)",
                patch.display(),
                source.display()
            )
        })
}

async fn run_script(
    tree: &Path,
    script: &Path,
    python: &Path,
    commit: &str,
    logs: &Path,
) -> anyhow::Result<()> {
    let mut run = spec("prepare-src", "bash", &[], tree, logs);
    run.args = vec![script.display().to_string()];
    run.env.insert("COMMIT".into(), commit.into());
    run.env
        .insert("PYTHON".into(), python.display().to_string());
    run_checked(&run, PREPARE_TIMEOUT, "pkgs/prepare-src.sh").await
}

/// Read-only like a store path: the services (and the host tier) must not need to write there.
async fn make_read_only(tree: &Path) -> anyhow::Result<()> {
    let to = tree.display().to_string();
    let logs = tree
        .parent()
        .context("the prepared tree has a parent directory")?;
    let chmod = spec("read-only", "chmod", &["-R", "a-w", "--", &to], logs, logs);
    run_checked(
        &chmod,
        Duration::from_secs(120),
        "making the tree read-only",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_are_read_from_src_nix_in_its_order() {
        let src_nix = r#"
          patches = [
            # why
            ./patches/b-second.patch
            ./patches/a-first.patch
          ];"#;
        assert_eq!(
            patches_in_order(src_nix),
            vec!["b-second.patch".to_string(), "a-first.patch".to_string()]
        );
    }

    #[test]
    fn src_nix_lists_every_patch_of_pkgs_patches() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("pkgs");
        let listed = patches_in_order(&std::fs::read_to_string(root.join("src.nix")).unwrap());
        let mut on_disk: Vec<String> = std::fs::read_dir(root.join("patches"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".patch"))
            .collect();
        on_disk.sort();
        let mut sorted = listed.clone();
        sorted.sort();
        assert_eq!(
            sorted, on_disk,
            "src.nix applies exactly the patches in pkgs/patches"
        );
    }

    #[tokio::test]
    async fn an_unpacked_tree_records_an_unknown_commit() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(commit_of(dir.path(), dir.path()).await, "unknown");
    }
}
