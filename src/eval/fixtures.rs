//! The fixtures: `fixtures/valid/<name>.nix` (must evaluate, match their snapshot),
//! `fixtures/invalid/<name>.nix` with `<name>.expected` (must raise that message: a failed
//! assertion or an evaluation error), and `fixtures/warnings/<name>.nix` with `<name>.expected`
//! (must evaluate without failed assertion, and its warnings must contain that text).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Valid,
    Invalid,
    /// Evaluates, but warns.
    Warning,
}

impl Kind {
    /// The directory under `fixtures/` holding this kind.
    pub fn dir(self) -> &'static str {
        match self {
            Kind::Valid => "valid",
            Kind::Invalid => "invalid",
            Kind::Warning => "warnings",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    /// `valid/<stem>`, `invalid/<stem>` or `warnings/<stem>`; also the snapshot name.
    pub name: String,
    pub kind: Kind,
    pub path: PathBuf,
    /// For invalid and warning fixtures: the message it must raise or the warning text it must
    /// give (contents of `<stem>.expected`, trimmed).
    pub expected: Option<String>,
}

impl Fixture {
    /// The snapshot file stem: `valid__defaults-sqlite`.
    pub fn snapshot_name(&self) -> String {
        self.name.replace('/', "__")
    }
}

/// Every fixture under `fixtures_dir` (`…/fixtures`): valid, then invalid, then warnings, each
/// sorted by name.
pub fn discover(fixtures_dir: &Path) -> anyhow::Result<Vec<Fixture>> {
    let mut all = Vec::new();
    for kind in [Kind::Valid, Kind::Invalid, Kind::Warning] {
        let sub = kind.dir();
        let dir = fixtures_dir.join(sub);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("listing fixtures in {}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "nix"))
            .collect();
        paths.sort();
        for path in paths {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .with_context(|| format!("fixture name of {}", path.display()))?
                .to_string();
            let expected = match kind {
                Kind::Valid => None,
                Kind::Invalid | Kind::Warning => {
                    let file = path.with_extension("expected");
                    let text = std::fs::read_to_string(&file).with_context(|| {
                        format!(
                            "{} fixture {} needs {} holding the message it must raise",
                            if kind == Kind::Invalid {
                                "invalid"
                            } else {
                                "warning"
                            },
                            path.display(),
                            file.display()
                        )
                    })?;
                    let text = text.trim().to_string();
                    if text.is_empty() {
                        bail!("{} is empty", file.display());
                    }
                    Some(text)
                }
            };
            all.push(Fixture {
                name: format!("{sub}/{stem}"),
                kind,
                path: path
                    .canonicalize()
                    .with_context(|| format!("resolving {}", path.display()))?,
                expected,
            });
        }
    }
    Ok(all)
}

/// Collapse runs of whitespace, so a message wrapped differently still matches.
pub fn normalize_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether one of `errors` contains `expected` (whitespace-insensitive).
pub fn raises(errors: &[String], expected: &str) -> bool {
    let expected = normalize_whitespace(expected);
    errors
        .iter()
        .any(|e| normalize_whitespace(e).contains(&expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixtures directory with the three (empty) kind directories.
    fn fixtures_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for kind in [Kind::Valid, Kind::Invalid, Kind::Warning] {
            std::fs::create_dir_all(dir.path().join(kind.dir())).unwrap();
        }
        dir
    }

    #[test]
    fn fixtures_are_discovered_valid_then_invalid_then_warnings_with_expected_messages() {
        let dir = fixtures_tree();
        std::fs::write(dir.path().join("valid/b.nix"), "{ ... }: { }").unwrap();
        std::fs::write(dir.path().join("valid/a.nix"), "{ ... }: { }").unwrap();
        std::fs::write(dir.path().join("valid/notes.md"), "").unwrap();
        std::fs::write(dir.path().join("invalid/x.nix"), "{ ... }: { }").unwrap();
        std::fs::write(dir.path().join("invalid/x.expected"), "  boom\n").unwrap();
        std::fs::write(dir.path().join("warnings/w.nix"), "{ ... }: { }").unwrap();
        std::fs::write(dir.path().join("warnings/w.expected"), "careful\n").unwrap();
        let found = discover(dir.path()).unwrap();
        let names: Vec<_> = found.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["valid/a", "valid/b", "invalid/x", "warnings/w"]);
        assert_eq!(found[2].expected.as_deref(), Some("boom"));
        assert_eq!(found[2].snapshot_name(), "invalid__x");
        assert_eq!(found[3].kind, Kind::Warning);
        assert_eq!(found[3].expected.as_deref(), Some("careful"));
    }

    #[test]
    fn invalid_fixture_without_expected_message_is_an_error_naming_it() {
        let dir = fixtures_tree();
        std::fs::write(dir.path().join("invalid/y.nix"), "{ ... }: { }").unwrap();
        let err = discover(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("y.expected"));
    }

    #[test]
    fn warning_fixture_without_expected_text_is_an_error_naming_it() {
        let dir = fixtures_tree();
        std::fs::write(dir.path().join("warnings/z.nix"), "{ ... }: { }").unwrap();
        let err = discover(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("z.expected"));
    }

    #[test]
    fn expected_message_matches_across_line_wrapping() {
        let errors = vec!["services.inventree.dataDir = \"x\" must be\n  an absolute path".into()];
        assert!(raises(&errors, "must be an absolute path"));
        assert!(!raises(&errors, "is in the store"));
    }
}
