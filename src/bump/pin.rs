//! The pinned InvenTree release: `pkgs/version.json`, the one file `pkgs/` reads the version, tag
//! commit and fixed-output hashes from, so a bump rewrites data, never Nix code.
//!
//! Rewriting is by key: each changed `"key": <old JSON value>` is replaced with the new value and
//! must occur exactly once. The file keeps its layout, key order, comment and any keys this tool
//! does not know.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where the pin lives, relative to the repository root.
pub const PIN_FILE: &str = "pkgs/version.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pin {
    /// The release tag, e.g. `1.3.5`.
    pub version: String,
    /// The commit the tag points at (written to `commit_hash.txt` in the source).
    pub commit: String,
    /// `YYYY-MM-DD` of that commit (`commit_date.txt`); `null` when unknown.
    #[serde(default)]
    pub commit_date: Option<String>,
    /// `fetchFromGitHub` hash of the tag's tarball.
    pub src_hash: String,
    /// `fetchzip` hash of the release's `frontend-build.zip`.
    pub frontend_hash: String,
    /// `fetchYarnDeps` hash of `src/frontend/yarn.lock` (only the from-source frontend uses it; no
    /// prefetch exists for it, a build reports it).
    #[serde(default)]
    pub yarn_deps_hash: Option<String>,
}

/// One changed key: its JSON name and old and new JSON values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub field: &'static str,
    pub old: Value,
    pub new: Value,
}

impl Change {
    /// A value as the report shows it (`null` for none).
    pub fn show(value: &Value) -> String {
        value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned)
    }
}

impl Pin {
    pub fn parse(text: &str) -> Result<Pin> {
        serde_json::from_str(text).context("pin file is not the expected JSON object")
    }

    fn fields(&self) -> [(&'static str, Value); 6] {
        let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
        [
            ("version", Value::String(self.version.clone())),
            ("commit", Value::String(self.commit.clone())),
            ("commitDate", opt(&self.commit_date)),
            ("srcHash", Value::String(self.src_hash.clone())),
            ("frontendHash", Value::String(self.frontend_hash.clone())),
            ("yarnDepsHash", opt(&self.yarn_deps_hash)),
        ]
    }

    /// The keys whose values differ between two pins, in file order.
    pub fn changes(&self, new: &Pin) -> Vec<Change> {
        self.fields()
            .into_iter()
            .zip(new.fields())
            .filter(|((_, old), (_, new))| old != new)
            .map(|((field, old), (_, new))| Change { field, old, new })
            .collect()
    }
}

/// Apply `changes` to the pin file's text; each `"key": <old>` must occur exactly once.
pub fn rewrite(text: &str, changes: &[Change]) -> Result<String> {
    let mut out = text.to_owned();
    for change in changes {
        let old = format!("\"{}\": {}", change.field, change.old);
        let count = out.matches(&old).count();
        if count != 1 {
            bail!(
                "cannot rewrite {}: `{old}` occurs {count} times in the pin file (expected exactly once)",
                change.field
            );
        }
        out = out.replacen(&old, &format!("\"{}\": {}", change.field, change.new), 1);
    }
    Ok(out)
}

/// A pin file in a checkout: its path, text and parsed content.
#[derive(Debug, Clone)]
pub struct PinFile {
    pub path: PathBuf,
    pub text: String,
    pub pin: Pin,
}

impl PinFile {
    pub fn load(repo: &Path) -> Result<PinFile> {
        let path = repo.join(PIN_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading the pinned release from {} (pkgs/ reads version, commit and hashes from it)",
                path.display()
            )
        })?;
        let pin = Pin::parse(&text).with_context(|| format!("parsing {}", path.display()))?;
        Ok(PinFile { path, text, pin })
    }

    /// Write `new` over the file, keeping its layout; returns the keys that changed.
    pub fn update(&mut self, new: &Pin) -> Result<Vec<&'static str>> {
        let changes = self.pin.changes(new);
        let text = rewrite(&self.text, &changes)?;
        let reread = Pin::parse(&text)?;
        if &reread != new {
            bail!(
                "rewriting {} did not produce the new pin",
                self.path.display()
            );
        }
        std::fs::write(&self.path, &text)
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.text = text;
        self.pin = reread;
        Ok(changes.iter().map(|c| c.field).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bump::hashes::FAKE_HASH;

    const PIN_1_3_5: &str = include_str!("../../tests/data/bump/version-1.3.5.json");

    fn pin_1_3_6() -> Pin {
        Pin {
            version: "1.3.6".into(),
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            commit_date: Some("2026-04-20".into()),
            src_hash: "sha256-mOpuTyFvL7S2n/+bOkSELDhobKaF8/VdxIxdP7EQe+Q=".into(),
            frontend_hash: FAKE_HASH.into(),
            yarn_deps_hash: Some(FAKE_HASH.into()),
        }
    }

    #[test]
    fn reads_the_recorded_pin() {
        let pin = Pin::parse(PIN_1_3_5).unwrap();
        assert_eq!(pin.version, "1.3.5");
        assert_eq!(pin.commit, "d8cac9bb61351cfd987593b4026357f8819b23f3");
        assert_eq!(pin.commit_date, None);
        assert!(pin.yarn_deps_hash.is_some());
    }

    #[test]
    fn rewrites_values_including_null_and_keeps_layout_and_unknown_keys() {
        let old = Pin::parse(PIN_1_3_5).unwrap();
        let new = pin_1_3_6();
        let text = rewrite(PIN_1_3_5, &old.changes(&new)).unwrap();
        assert_eq!(Pin::parse(&text).unwrap(), new);
        assert_eq!(text.lines().count(), PIN_1_3_5.lines().count());
        assert!(
            text.contains("\"comment\""),
            "unknown keys are kept:\n{text}"
        );
        assert!(text.contains("\"commitDate\": \"2026-04-20\""), "{text}");
    }

    #[test]
    fn an_unchanged_pin_rewrites_nothing() {
        let old = Pin::parse(PIN_1_3_5).unwrap();
        assert!(old.changes(&old).is_empty());
        assert_eq!(rewrite(PIN_1_3_5, &[]).unwrap(), PIN_1_3_5);
    }

    #[test]
    fn refuses_an_ambiguous_rewrite() {
        let text = r#"{ "version": "1.3.5", "x": { "version": "1.3.5" } }"#;
        let change = Change {
            field: "version",
            old: "1.3.5".into(),
            new: "1.3.6".into(),
        };
        let err = rewrite(text, &[change]).unwrap_err();
        assert!(err.to_string().contains("occurs 2 times"), "{err}");
    }

    #[test]
    fn update_writes_the_file_and_names_the_changed_keys() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkgs")).unwrap();
        std::fs::write(dir.path().join(PIN_FILE), PIN_1_3_5).unwrap();
        let mut file = PinFile::load(dir.path()).unwrap();
        let fields = file.update(&pin_1_3_6()).unwrap();
        assert_eq!(
            fields,
            [
                "version",
                "commit",
                "commitDate",
                "srcHash",
                "frontendHash",
                "yarnDepsHash"
            ]
        );
        assert_eq!(PinFile::load(dir.path()).unwrap().pin, pin_1_3_6());
    }
}
