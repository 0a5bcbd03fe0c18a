//! The pinned InvenTree release: `pkgs/version.json`, the one file `pkgs/` reads the version, tag
//! commit and fixed-output hashes from, so a bump rewrites data, never Nix code.
//!
//! Rewriting is by value: each old quoted value is replaced by the new one, and must occur exactly
//! once. The file keeps its layout, key order and any keys this tool does not know.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// Where the pin lives, relative to the repository root.
pub const PIN_FILE: &str = "pkgs/version.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pin {
    /// The release tag, e.g. `1.3.5`.
    pub version: String,
    /// The commit the tag points at (written to `commit_hash.txt` in the source).
    pub commit: String,
    /// `fetchFromGitHub` hash of the tag's tarball.
    pub src_hash: String,
    /// `fetchzip` hash of the release's `frontend-build.zip`.
    pub frontend_hash: String,
}

impl Pin {
    pub fn parse(text: &str) -> Result<Pin> {
        serde_json::from_str(text).context("pin file is not the expected JSON object")
    }

    /// The `(field, old, new)` triples that differ between two pins.
    pub fn changes<'a>(&'a self, new: &'a Pin) -> Vec<(&'static str, &'a str, &'a str)> {
        [
            ("version", &self.version, &new.version),
            ("commit", &self.commit, &new.commit),
            ("srcHash", &self.src_hash, &new.src_hash),
            ("frontendHash", &self.frontend_hash, &new.frontend_hash),
        ]
        .into_iter()
        .filter(|(_, old, new)| old != new)
        .map(|(field, old, new)| (field, old.as_str(), new.as_str()))
        .collect()
    }
}

/// Replace each `"old"` by `"new"` in `text`; every old value must occur exactly once.
pub fn rewrite(text: &str, replacements: &[(&str, &str, &str)]) -> Result<String> {
    let mut out = text.to_owned();
    for (field, old, new) in replacements {
        let quoted_old = format!("\"{old}\"");
        let count = out.matches(&quoted_old).count();
        if count != 1 {
            bail!("cannot rewrite {field}: {quoted_old} occurs {count} times in the pin file (expected exactly once)");
        }
        out = out.replacen(&quoted_old, &format!("\"{new}\""), 1);
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
                "reading the pinned version from {} (the bump rewrites this file; pkgs/ reads version, commit and hashes from it)",
                path.display()
            )
        })?;
        let pin = Pin::parse(&text).with_context(|| format!("parsing {}", path.display()))?;
        Ok(PinFile { path, text, pin })
    }

    /// Write `new` over the file, keeping its layout; returns the fields that changed.
    pub fn update(&mut self, new: &Pin) -> Result<Vec<String>> {
        let changes = self.pin.changes(new);
        let fields = changes.iter().map(|(f, _, _)| (*f).to_owned()).collect();
        let text = rewrite(&self.text, &changes)?;
        debug_assert_eq!(Pin::parse(&text).ok().as_ref(), Some(new));
        std::fs::write(&self.path, &text)
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.text = text;
        self.pin = new.clone();
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN_1_3_5: &str = include_str!("../../tests/data/bump/version-1.3.5.json");

    fn pin_1_3_6() -> Pin {
        Pin {
            version: "1.3.6".into(),
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            src_hash: "sha256-mOpuTyFvL7S2n/+bOkSELDhobKaF8/VdxIxdP7EQe+Q=".into(),
            frontend_hash: super::super::hashes::FAKE_HASH.into(),
        }
    }

    #[test]
    fn reads_the_recorded_pin() {
        let pin = Pin::parse(PIN_1_3_5).unwrap();
        assert_eq!(pin.version, "1.3.5");
        assert_eq!(pin.commit, "d8cac9bb61351cfd987593b4026357f8819b23f3");
    }

    #[test]
    fn rewrites_values_and_keeps_layout_and_unknown_keys() {
        let old = Pin::parse(PIN_1_3_5).unwrap();
        let new = pin_1_3_6();
        let text = rewrite(PIN_1_3_5, &old.changes(&new)).unwrap();
        assert_eq!(Pin::parse(&text).unwrap(), new);
        assert_eq!(text.lines().count(), PIN_1_3_5.lines().count());
        assert!(text.contains("\"comment\""), "unknown keys are kept:\n{text}");
    }

    #[test]
    fn an_unchanged_pin_rewrites_nothing() {
        let old = Pin::parse(PIN_1_3_5).unwrap();
        assert!(old.changes(&old).is_empty());
        assert_eq!(rewrite(PIN_1_3_5, &[]).unwrap(), PIN_1_3_5);
    }

    #[test]
    fn refuses_an_ambiguous_rewrite() {
        let text = r#"{ "version": "1.3.5", "other": "1.3.5" }"#;
        let err = rewrite(text, &[("version", "1.3.5", "1.3.6")]).unwrap_err();
        assert!(err.to_string().contains("occurs 2 times"), "{err}");
    }

    #[test]
    fn update_writes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkgs")).unwrap();
        std::fs::write(dir.path().join(PIN_FILE), PIN_1_3_5).unwrap();
        let mut file = PinFile::load(dir.path()).unwrap();
        let fields = file.update(&pin_1_3_6()).unwrap();
        assert_eq!(fields, ["version", "commit", "srcHash", "frontendHash"]);
        let reread = PinFile::load(dir.path()).unwrap();
        assert_eq!(reread.pin, pin_1_3_6());
    }
}
