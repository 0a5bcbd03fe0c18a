//! What a regenerated `uv.lock` changed: packages added, removed and moved to another version.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct UvLock {
    #[serde(default)]
    package: Vec<LockedPackage>,
}

#[derive(Deserialize)]
struct LockedPackage {
    name: String,
    #[serde(default)]
    version: Option<String>,
}

/// Locked packages: name → version (`""` for a package uv records without one).
pub fn packages(uv_lock: &str) -> Result<BTreeMap<String, String>> {
    let lock: UvLock = toml::from_str(uv_lock).context("uv.lock is not valid TOML")?;
    Ok(lock
        .package
        .into_iter()
        .map(|p| (p.name, p.version.unwrap_or_default()))
        .collect())
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LockDiff {
    pub before: usize,
    pub after: usize,
    pub added: Vec<(String, String)>,
    pub removed: Vec<(String, String)>,
    /// (name, old version, new version)
    pub changed: Vec<(String, String, String)>,
}

impl LockDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// The changed packages whose new version is lower than the old: a release (or a
    /// development tree) that pins an older security fix than the one pinned today.
    pub fn downgrades(&self) -> Vec<&(String, String, String)> {
        self.changed
            .iter()
            .filter(|(_, old, new)| is_lower(new, old))
            .collect()
    }
}

/// `a < b` for dotted numeric versions (`5.2.13` < `5.2.15`, `2026.1.4` < `2026.2.25`); false
/// when either has a part that is not a number (a pre-release, a local version): never a
/// downgrade claimed on a guess.
pub fn is_lower(a: &str, b: &str) -> bool {
    let parse = |v: &str| -> Option<Vec<u64>> { v.split('.').map(|p| p.parse().ok()).collect() };
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a < b,
        _ => false,
    }
}

pub fn diff(before: &str, after: &str) -> Result<LockDiff> {
    let old = packages(before).context("reading the previous uv.lock")?;
    let new = packages(after).context("reading the regenerated uv.lock")?;
    let mut result = LockDiff {
        before: old.len(),
        after: new.len(),
        ..LockDiff::default()
    };
    for (name, version) in &new {
        match old.get(name) {
            None => result.added.push((name.clone(), version.clone())),
            Some(previous) if previous != version => {
                result
                    .changed
                    .push((name.clone(), previous.clone(), version.clone()))
            }
            Some(_) => {}
        }
    }
    for (name, version) in &old {
        if !new.contains_key(name) {
            result.removed.push((name.clone(), version.clone()));
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("5.2.13", "5.2.15", true)]
    #[case("5.2.15", "5.2.13", false)]
    #[case("3.11", "3.15", true)]
    #[case("2026.1.4", "2026.2.25", true)]
    #[case("1.10.0", "1.9.0", false)]
    #[case("1.2", "1.2.1", true)]
    #[case("1.2.0rc1", "1.2.0", false)]
    fn is_lower_compares_dotted_numbers_and_never_guesses(
        #[case] a: &str,
        #[case] b: &str,
        #[case] lower: bool,
    ) {
        assert_eq!(is_lower(a, b), lower);
    }

    const BEFORE: &str = r#"
version = 1
requires-python = ">=3.13, <3.14"

[[package]]
name = "django"
version = "5.2.15"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "sgmllib3k"
version = "1.0.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "inventree-deps"
version = "1.3.5"
source = { virtual = "." }
"#;

    const AFTER: &str = r#"
version = 1

[[package]]
name = "django"
version = "5.2.16"

[[package]]
name = "inventree-deps"
version = "1.3.6"

[[package]]
name = "whitenoise"
version = "6.9.0"
"#;

    #[test]
    fn lists_added_removed_and_changed_packages() {
        let d = diff(BEFORE, AFTER).unwrap();
        assert_eq!((d.before, d.after), (3, 3));
        assert_eq!(d.added, [("whitenoise".into(), "6.9.0".into())]);
        assert_eq!(d.removed, [("sgmllib3k".into(), "1.0.0".into())]);
        assert_eq!(
            d.changed,
            [
                ("django".into(), "5.2.15".into(), "5.2.16".into()),
                ("inventree-deps".into(), "1.3.5".into(), "1.3.6".into())
            ]
        );
    }

    #[test]
    fn an_identical_lock_is_an_empty_diff() {
        assert!(diff(BEFORE, BEFORE).unwrap().is_empty());
    }

    #[test]
    fn says_which_lock_is_broken() {
        let err = diff(BEFORE, "[[package]\n").unwrap_err();
        assert!(
            format!("{err:#}").contains("regenerated uv.lock"),
            "{err:#}"
        );
    }
}
