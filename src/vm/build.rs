//! The build tier: `nix build` of every package the flake exports for this system.

use std::time::Duration;

use crate::context::Context;
use crate::tiers::TierOutcome;

use super::scenarios::current_system;

/// A cold build of the Python environment and the frontend takes long; an hour per package.
pub const PACKAGE_TIMEOUT: Duration = Duration::from_secs(3600);

/// Build every package of `packages.<system>`, one nix call each so a failure names its package.
pub async fn build_all(ctx: &Context) -> TierOutcome {
    let Some(system) = current_system() else {
        return TierOutcome::Failed {
            details: "no Nix system for this host".into(),
        };
    };
    let names = match ctx
        .nix_flake_command(["eval"])
        .args([
            "--json".to_owned(),
            ctx.installable(&format!("packages.{system}")),
        ])
        .args(["--apply", "builtins.attrNames"])
        .run()
        .await
    {
        Ok(output) => match serde_json::from_str::<Vec<String>>(&output.stdout) {
            Ok(names) => names,
            Err(e) => {
                return TierOutcome::Failed {
                    details: format!("unexpected package list: {e}"),
                }
            }
        },
        Err(e) => {
            return TierOutcome::Failed {
                details: format!("listing packages: {e}"),
            }
        }
    };
    let mut failed = Vec::new();
    for name in &names {
        let result = ctx
            .nix_flake_command(["build"])
            .args([
                "--no-link".to_owned(),
                "--print-build-logs".to_owned(),
                ctx.installable(&format!("packages.{system}.{name}")),
            ])
            .timeout(PACKAGE_TIMEOUT)
            .stream_stderr(format!("[build {name}] "))
            .run()
            .await;
        if let Err(e) = result {
            failed.push(format!("{name}: {e}"));
        }
    }
    if failed.is_empty() {
        TierOutcome::Passed {
            summary: format!("{} packages built: {}", names.len(), names.join(", ")),
        }
    } else {
        TierOutcome::Failed {
            details: failed.join("\n"),
        }
    }
}
