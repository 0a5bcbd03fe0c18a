//! Exposure of every InvenTree service as systemd scores it, measured without booting: the unit's
//! rendered text is written to a file and `systemd-analyze security --offline=true <file>` scores
//! it. The design's bar: every unit ≤ 1.5.

use std::{path::Path, time::Duration};

use anyhow::Context as _;

use crate::process::{self, Spec};

/// The highest exposure an InvenTree unit may have.
pub const MAX_EXPOSURE: f64 = 1.5;

/// One unit's score.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    pub unit: String,
    pub score: f64,
    pub verdict: String,
}

/// Scores from `systemd-analyze security` output: lines
/// `→ Overall exposure level for inventree-server.service: 1.1 OK 🙂`.
pub fn parse_exposures(output: &str) -> Vec<Exposure> {
    output
        .lines()
        .filter_map(|line| {
            let rest = line.split("Overall exposure level for ").nth(1)?;
            let (unit, tail) = rest.split_once(": ")?;
            let mut words = tail.split_whitespace();
            let score = words.next()?.parse::<f64>().ok()?;
            let verdict = words.next().unwrap_or("").to_string();
            Some(Exposure {
                unit: unit.to_string(),
                score,
                verdict,
            })
        })
        .collect()
}

/// Whether `systemd-analyze` is on PATH.
pub fn available() -> bool {
    which::which("systemd-analyze").is_ok()
}

/// Score the given units (`(unit name, unit text)`), all in one `systemd-analyze` call.
pub async fn score_units(units: &[(String, String)]) -> anyhow::Result<Vec<Exposure>> {
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let dir = tempfile::Builder::new()
        .prefix("inventree-harness-units.")
        .tempdir()
        .context("creating a directory for unit files")?;
    let mut files = Vec::new();
    for (name, text) in units {
        let file = dir.path().join(name);
        std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
        files.push(file);
    }
    run_analyze(dir.path(), &files).await
}

async fn run_analyze(dir: &Path, files: &[std::path::PathBuf]) -> anyhow::Result<Vec<Exposure>> {
    let analyze = Spec::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .args(files.iter().map(|f| f.display().to_string()))
        .cwd(dir);
    let output = process::run(&analyze, Duration::from_secs(60)).await?;
    let exposures = parse_exposures(&output.stdout);
    if exposures.len() != files.len() {
        anyhow::bail!(
            "systemd-analyze security --offline=true scored {} of {} units ({}): {}",
            exposures.len(),
            files.len(),
            output.status,
            output.stderr.trim()
        );
    }
    Ok(exposures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overall_exposure_lines_are_parsed() {
        let out = "✗ UMask=   Files created by service are group-readable by default   0.1\n\n\
                   → Overall exposure level for inventree-server.service: 1.1 OK 🙂\n\
                   → Overall exposure level for x.service: 9.6 UNSAFE 😨\n";
        assert_eq!(
            parse_exposures(out),
            [
                Exposure {
                    unit: "inventree-server.service".into(),
                    score: 1.1,
                    verdict: "OK".into()
                },
                Exposure {
                    unit: "x.service".into(),
                    score: 9.6,
                    verdict: "UNSAFE".into()
                }
            ]
        );
    }
}
