//! Which VM test scenarios exist: every `vm-tests/*.nix` except the shared files, the same rule
//! `vm-tests/default.nix` applies when it builds the flake's `checks`.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// Files of `vm-tests/` that are not scenarios (keep in sync with `vm-tests/default.nix`).
pub const SHARED_FILES: &[&str] = &["default.nix", "lib.nix"];

pub fn is_scenario_file(file_name: &str) -> bool {
    file_name.ends_with(".nix") && !SHARED_FILES.contains(&file_name)
}

/// Scenario names (file names without `.nix`), sorted.
pub fn scenario_names(vm_tests_dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(vm_tests_dir)
        .with_context(|| format!("listing VM test scenarios in {}", vm_tests_dir.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", vm_tests_dir.display()))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().map(|t| t.is_file()).unwrap_or(false) && is_scenario_file(&file_name) {
            names.push(file_name.trim_end_matches(".nix").to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// The scenarios to run: all when none were named, else the named ones (in the order given),
/// refusing names that are not scenarios.
pub fn select(all: &[String], wanted: &[String]) -> Result<Vec<String>> {
    if wanted.is_empty() {
        return Ok(all.to_vec());
    }
    let unknown: Vec<&String> = wanted.iter().filter(|w| !all.contains(w)).collect();
    if !unknown.is_empty() {
        bail!(
            "no VM test scenario named {}; the scenarios are: {}",
            unknown
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            all.join(", ")
        );
    }
    Ok(wanted.to_vec())
}

/// The Nix system the VM tests of this machine are built for.
pub fn current_system() -> Option<&'static str> {
    match (std::env::consts::ARCH, std::env::consts::OS) {
        ("x86_64", "linux") => Some("x86_64-linux"),
        ("aarch64", "linux") => Some("aarch64-linux"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_files_are_not_scenarios() {
        assert!(is_scenario_file("defaults.nix"));
        assert!(is_scenario_file("browser-nginx.nix"));
        assert!(!is_scenario_file("default.nix"));
        assert!(!is_scenario_file("lib.nix"));
        assert!(!is_scenario_file("common.py"));
    }

    #[test]
    fn lists_scenarios_of_a_directory_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "lib.nix",
            "default.nix",
            "mysql.nix",
            "defaults.nix",
            "common.py",
        ] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("data.nix")).unwrap();
        assert_eq!(scenario_names(dir.path()).unwrap(), ["defaults", "mysql"]);
    }

    #[test]
    fn selects_all_or_the_named_ones() {
        let all = vec!["defaults".to_owned(), "mysql".to_owned()];
        assert_eq!(select(&all, &[]).unwrap(), all);
        assert_eq!(select(&all, &["mysql".to_owned()]).unwrap(), ["mysql"]);
    }

    #[test]
    fn an_unknown_name_lists_the_real_ones() {
        let all = vec!["defaults".to_owned(), "mysql".to_owned()];
        let err = select(&all, &["postgres".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"postgres\"") && err.contains("defaults, mysql"),
            "{err}"
        );
    }
}
