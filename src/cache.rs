//! The harness's cache of prepared artefacts (prepared source trees, the container's Python),
//! under `$XDG_CACHE_HOME/nixos-inventree` (default `~/.cache/nixos-inventree`). Each entry is a
//! directory named by a content key, made in a temporary sibling and renamed into place when
//! complete, so a half-made entry is never used and concurrent makers do not collide.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest, Sha256};

/// The cache's root directory.
pub fn root() -> anyhow::Result<PathBuf> {
    root_from(&|key| std::env::var(key).ok())
}

fn root_from(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<PathBuf> {
    let base = env("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| Path::new(&h).join(".cache"))
        })
        .context("no cache directory: neither XDG_CACHE_HOME nor HOME is set")?;
    Ok(base.join("nixos-inventree"))
}

/// A program by name: on PATH, else in the tools venv `scripts/setup-dev` makes under the cache
/// root (`tools/bin`: uv, actionlint), where a fresh machine has them without a PATH change.
pub fn tool(name: &str) -> Option<PathBuf> {
    which::which(name).ok().or_else(|| {
        let installed = root().ok()?.join("tools/bin").join(name);
        installed.is_file().then_some(installed)
    })
}

/// A stable key (hex, 16 characters) of everything an entry is made from.
pub fn key(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Where an entry lives, and a fresh temporary directory beside it to make it in.
pub struct Entry {
    pub path: PathBuf,
}

impl Entry {
    pub fn new(kind: &str, key: &str) -> anyhow::Result<Self> {
        Ok(Entry {
            path: root()?.join(kind).join(key),
        })
    }

    pub fn exists(&self) -> bool {
        self.path.is_dir()
    }

    /// A new empty directory beside the entry (same file system, so the rename is atomic).
    pub fn scratch(&self) -> anyhow::Result<tempfile::TempDir> {
        let parent = self
            .path
            .parent()
            .context("a cache entry has a parent directory")?;
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        tempfile::Builder::new()
            .prefix(".making-")
            .tempdir_in(parent)
            .with_context(|| format!("creating a scratch directory in {}", parent.display()))
    }

    /// Moves a finished `made` directory into place. When another maker was faster, its entry
    /// stays and `made` is removed.
    pub fn publish(&self, made: &Path) -> anyhow::Result<()> {
        match std::fs::rename(made, &self.path) {
            Ok(()) => Ok(()),
            Err(_) if self.exists() => remove_tree(made),
            Err(e) => Err(e)
                .with_context(|| format!("moving {} to {}", made.display(), self.path.display())),
        }
    }
}

/// Removes a directory tree even when parts of it were made read-only (as prepared trees are).
pub fn remove_tree(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    make_writable(dir)?;
    std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))
}

fn make_writable(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for entry in walk(dir) {
        let meta = std::fs::symlink_metadata(&entry)?;
        if meta.is_dir() {
            let mode = meta.permissions().mode() | 0o700;
            std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("making {} writable", entry.display()))?;
        }
    }
    Ok(())
}

/// Every directory under `dir` (itself included), parents before children.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        if let Ok(entries) = std::fs::read_dir(&out[i]) {
            for entry in entries.flatten() {
                if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    out.push(entry.path());
                }
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_under_xdg_cache_home_else_home() {
        let xdg = |k: &str| match k {
            "XDG_CACHE_HOME" => Some("/c".to_string()),
            "HOME" => Some("/h".to_string()),
            _ => None,
        };
        assert_eq!(
            root_from(&xdg).unwrap(),
            PathBuf::from("/c/nixos-inventree")
        );
        let home = |k: &str| (k == "HOME").then(|| "/h".to_string());
        assert_eq!(
            root_from(&home).unwrap(),
            PathBuf::from("/h/.cache/nixos-inventree")
        );
        assert!(root_from(&|_| None).is_err());
    }

    #[test]
    fn key_depends_on_part_boundaries_and_content() {
        assert_eq!(key(&[b"ab", b"c"]), key(&[b"ab", b"c"]));
        assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
        assert_eq!(key(&[b"x"]).len(), 16);
    }

    #[test]
    fn a_read_only_tree_is_removed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("t");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::write(tree.join("a/b/f"), "x").unwrap();
        for d in [tree.join("a/b"), tree.join("a"), tree.clone()] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        remove_tree(&tree).unwrap();
        assert!(!tree.exists());
    }
}
