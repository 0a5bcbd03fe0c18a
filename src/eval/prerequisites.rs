//! What the eval tier needs: Nix ≥ 2.18, the flake, and every flake input available (locally, from
//! the store, or through an override), found without building anything.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{
    context::Context,
    nix::NixError,
    tiers::{Prerequisite, Skip, Tier},
};

/// What the eval tier found: the nix version and the store path of every input (after
/// overrides), as `nix flake archive --dry-run` resolved them.
#[derive(Debug, Clone)]
pub struct EvalEnv {
    pub nix_version: (u64, u64, u64),
    /// The flake's own source in the store.
    pub flake_path: String,
    /// Input name → store path (root inputs only).
    pub inputs: BTreeMap<String, String>,
}

impl EvalEnv {
    pub fn describe(&self) -> String {
        let (a, b, c) = self.nix_version;
        format!(
            "nix {a}.{b}.{c}; inputs available: {}",
            self.inputs.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    }

    /// The store path of nixpkgs (the one NixOS is evaluated with).
    pub fn nixpkgs(&self) -> Option<&str> {
        self.inputs.get("nixpkgs").map(String::as_str)
    }
}

#[derive(Debug, Deserialize)]
struct ArchiveNode {
    path: String,
    #[serde(default)]
    inputs: BTreeMap<String, ArchiveNode>,
}

/// Parse `nix flake archive --json --dry-run` output.
pub fn parse_archive(json: &str) -> Result<(String, BTreeMap<String, String>), serde_json::Error> {
    let root: ArchiveNode = serde_json::from_str(json)?;
    let inputs = root
        .inputs
        .into_iter()
        .map(|(name, node)| (name, node.path))
        .collect();
    Ok((root.path, inputs))
}

/// Check the eval tier's prerequisites, most basic first, naming the first one missing.
pub async fn eval_prerequisites(ctx: &Context) -> Prerequisite<EvalEnv> {
    let skip = |reason: String| Skip::new(Tier::Eval, reason);
    let nix_version = crate::nix::nix_version()
        .await
        .map_err(|err| skip(err.to_string()))?;
    if !ctx.flake_dir.join("flake.nix").is_file() {
        return Err(skip(format!(
            "no flake.nix in {} (the flake under test)",
            ctx.flake_dir.display()
        )));
    }
    if !ctx.flake_dir.join("module").is_dir() {
        return Err(skip(format!(
            "no module/ in {} (the NixOS module under test)",
            ctx.flake_dir.display()
        )));
    }
    let output = ctx
        .nix_flake_command(["flake", "archive"])
        .args(["--json", "--dry-run", "--option", "connect-timeout", "5"])
        .arg(ctx.flake_ref())
        .timeout(std::time::Duration::from_secs(180))
        .run()
        .await
        .map_err(|err| {
            skip(match err {
                NixError::EvalError { message, .. } => format!(
                    "flake inputs not available (set an override, see `inventree-harness doctor`): {}",
                    message.lines().next().unwrap_or("")
                ),
                other => format!("flake inputs not available: {other}"),
            })
        })?;
    let (flake_path, inputs) = parse_archive(&output.stdout)
        .map_err(|err| skip(format!("unexpected `nix flake archive` output: {err}")))?;
    Ok(EvalEnv {
        nix_version,
        flake_path,
        inputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_output_gives_flake_and_root_input_paths() {
        let json = r#"{"inputs":{"nixpkgs":{"inputs":{},"path":"/nix/store/aaa-source"},
            "uv2nix":{"inputs":{"nixpkgs":{"inputs":{},"path":"/nix/store/bbb-source"}},"path":"/nix/store/ccc-source"}},
            "path":"/nix/store/ddd-source"}"#;
        let (flake, inputs) = parse_archive(json).unwrap();
        assert_eq!(flake, "/nix/store/ddd-source");
        assert_eq!(inputs["nixpkgs"], "/nix/store/aaa-source");
        assert_eq!(inputs["uv2nix"], "/nix/store/ccc-source");
        assert_eq!(inputs.len(), 2);
    }
}
