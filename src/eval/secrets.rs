//! The secret scan. Fixtures name their secrets as strings under `/run/secrets/` (as a real
//! configuration would). For the eval tier, each fixture is copied with those paths pointed at
//! real sentinel files in a private directory (file names carrying a unique token, contents a
//! unique sentinel), evaluated, and then:
//! - no sentinel content may appear anywhere in what the evaluation rendered (so nothing read a
//!   secret at evaluation time), and
//! - no store path may carry the token (so no secret file was copied into the Nix store, e.g.
//!   through a path literal or `builtins.path`).
//!
//! Rendered output has the paths mapped back to `/run/secrets/…` before snapshots see it.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Where fixtures name their secrets.
pub const SECRETS_PREFIX: &str = "/run/secrets/";

pub struct SecretTrap {
    dir: tempfile::TempDir,
    token: String,
    /// Prefix replacing [`SECRETS_PREFIX`] in the fixture copies: `<dir>/<token>-`.
    prefix: String,
}

/// The secret names a fixture text references (`/run/secrets/<name>`).
pub fn referenced_secrets(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .match_indices(SECRETS_PREFIX)
        .map(|(i, _)| {
            text[i + SECRETS_PREFIX.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `text` (Nix) with its relative path literals (`./x`, `../x`) made absolute against `base`, so a
/// copy elsewhere means what the original means (`pluginWorkspace = ./plugins;`). Strings and
/// comments are left alone.
fn absolute_path_literals(text: &str, base: &Path) -> String {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || "._+-/".contains(c);
    let mut out = String::with_capacity(text.len());
    // Where the string or comment we are in ends: `"`, `''` or the end of the line.
    let mut inside: Option<&str> = None;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let escaped = out.ends_with('\\');
        let taken = match inside {
            Some(end) if rest.starts_with(end) && !escaped => {
                inside = None;
                end.len()
            }
            Some(_) => c.len_utf8(),
            None => match ["''", "\"", "#"].into_iter().find(|s| rest.starts_with(s)) {
                Some(start) => {
                    inside = Some(if start == "#" { "\n" } else { start });
                    start.len()
                }
                None if (rest.starts_with("./") || rest.starts_with("../"))
                    && !out.ends_with(is_path_char) =>
                {
                    let literal: String = rest.chars().take_while(|c| is_path_char(*c)).collect();
                    out.push_str(&base.join(&literal).display().to_string());
                    rest = &rest[literal.len()..];
                    continue;
                }
                None => c.len_utf8(),
            },
        };
        out.push_str(&rest[..taken]);
        rest = &rest[taken..];
    }
    out
}

impl SecretTrap {
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("inventree-harness-secrets.")
            .tempdir()
            .context("creating the secret-scan directory")?;
        let unique = dir
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("x")
            .rsplit('.')
            .next()
            .unwrap_or("x")
            .to_string();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let token = format!("sentinel{}{unique}{nanos}", std::process::id());
        let prefix = format!("{}/{token}-", dir.path().display());
        Ok(SecretTrap { dir, token, prefix })
    }

    /// The content written to secret file `name`.
    pub fn sentinel(&self, name: &str) -> String {
        format!("SENTINEL-{}-{name}", self.token)
    }

    /// Copy `fixture` into the trap with its `/run/secrets/` paths redirected to sentinel files
    /// (created here). Returns the copy's path.
    pub fn prepare(&self, fixture: &Path, copy_name: &str) -> anyhow::Result<PathBuf> {
        let text = std::fs::read_to_string(fixture)
            .with_context(|| format!("reading fixture {}", fixture.display()))?;
        for name in referenced_secrets(&text) {
            let file = PathBuf::from(format!("{}{name}", self.prefix));
            std::fs::write(&file, format!("{}\n", self.sentinel(&name)))
                .with_context(|| format!("writing sentinel secret {}", file.display()))?;
        }
        let copy_dir = self.dir.path().join("fixtures");
        std::fs::create_dir_all(&copy_dir)
            .with_context(|| format!("creating {}", copy_dir.display()))?;
        let copy = copy_dir.join(format!("{copy_name}.nix"));
        let base = fixture.parent().unwrap_or(Path::new("/"));
        let text = absolute_path_literals(&text, &std::path::absolute(base)?);
        std::fs::write(&copy, text.replace(SECRETS_PREFIX, &self.prefix))
            .with_context(|| format!("writing {}", copy.display()))?;
        Ok(copy)
    }

    /// Map the trap's secret paths in `text` back to `/run/secrets/…`.
    pub fn restore(&self, text: &str) -> String {
        text.replace(&self.prefix, SECRETS_PREFIX)
    }

    /// Findings in rendered text: every place a sentinel secret's content appears.
    pub fn scan_text(&self, label: &str, text: &str) -> Vec<String> {
        let needle = format!("SENTINEL-{}", self.token);
        text.match_indices(&needle)
            .map(|(i, _)| {
                let end = text[i..]
                    .find(|c: char| c == '"' || c.is_whitespace())
                    .map_or(text.len(), |e| i + e);
                format!(
                    "{label}: the content of a secret file appears in rendered output ({})",
                    &text[i..end]
                )
            })
            .collect()
    }

    /// Findings in the store: every store path whose name carries the token.
    pub fn scan_store(&self, store_dir: &Path) -> anyhow::Result<Vec<String>> {
        let entries = std::fs::read_dir(store_dir)
            .with_context(|| format!("listing {}", store_dir.display()))?;
        Ok(entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| name.contains(&self.token))
            .map(|name| {
                format!(
                    "a secret file was copied into the Nix store: {}/{name}",
                    store_dir.display()
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = r#"{ ... }: {
  services.inventree.database.passwordFile = "/run/secrets/inventree-db-password";
  services.inventree.users.admin.password_file = "/run/secrets/admin_pw";
  services.inventree.secretKeyFile = "/run/secrets/inventree-db-password";
}"#;

    #[test]
    fn relative_path_literals_become_absolute_and_strings_and_comments_stay() {
        let text =
            "{ a = ./x; b = ../w/k; c = \"./s\"; d = x/y; # ./c\n e = ''./m''; f = [../p]; }";
        assert_eq!(
            absolute_path_literals(text, Path::new("/r/fixtures/valid")),
            "{ a = /r/fixtures/valid/./x; b = /r/fixtures/valid/../w/k; c = \"./s\"; d = x/y; # ./c\n e = ''./m''; f = [/r/fixtures/valid/../p]; }"
        );
    }

    #[test]
    fn referenced_secrets_are_the_names_under_run_secrets() {
        assert_eq!(
            referenced_secrets(FIXTURE),
            ["admin_pw", "inventree-db-password"]
        );
    }

    #[test]
    fn prepared_copy_points_at_sentinel_files_and_restores_back() {
        let trap = SecretTrap::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("f.nix");
        std::fs::write(&original, FIXTURE).unwrap();
        let copy = trap.prepare(&original, "valid__f").unwrap();
        let text = std::fs::read_to_string(&copy).unwrap();
        assert!(!text.contains(SECRETS_PREFIX));
        let path = format!("{}inventree-db-password", trap.prefix);
        assert!(text.contains(&path));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", trap.sentinel("inventree-db-password"))
        );
        assert_eq!(trap.restore(&text), FIXTURE);
    }

    #[test]
    fn sentinel_content_in_rendered_text_is_a_finding() {
        let trap = SecretTrap::new().unwrap();
        let leaked = format!("{{\"password\": \"{}\"}}", trap.sentinel("db"));
        let findings = trap.scan_text("valid/x", &leaked);
        assert_eq!(findings.len(), 1);
        assert!(findings[0].starts_with("valid/x: the content of a secret file"));
        assert!(trap.scan_text("valid/x", "nothing secret").is_empty());
    }

    #[test]
    fn store_entry_carrying_the_token_is_a_finding() {
        let trap = SecretTrap::new().unwrap();
        let store = tempfile::tempdir().unwrap();
        std::fs::write(store.path().join("aaaa-unrelated"), "").unwrap();
        assert!(trap.scan_store(store.path()).unwrap().is_empty());
        std::fs::write(
            store
                .path()
                .join(format!("bbbb-{}-inventree-db-password", trap.token)),
            "",
        )
        .unwrap();
        assert_eq!(trap.scan_store(store.path()).unwrap().len(), 1);
    }
}
