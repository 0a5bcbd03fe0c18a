//! Every package and check (VM test) of the flake instantiates: its `drvPath` evaluates. One nix
//! process per output set; nothing is built.

use std::collections::BTreeMap;

use crate::{context::Context, nix::NixError};

use super::batch::current_system;

/// `packages.<system>` and `checks.<system>`: output set → (name → drvPath).
pub type DrvPaths = BTreeMap<String, BTreeMap<String, String>>;

/// The `--apply` expression mapping an attrset of derivations to their drvPaths.
pub const DRV_PATHS_APPLY: &str = "set: builtins.mapAttrs (_: drv: drv.drvPath) set";

/// Instantiate every package and every check of the flake for this machine's system. An output
/// set the flake does not have is reported empty.
pub async fn instantiate_all(ctx: &Context) -> Result<DrvPaths, NixError> {
    let system = current_system();
    let mut all = DrvPaths::new();
    for set in ["packages", "checks"] {
        let attr = format!("{set}.{system}");
        let result = ctx
            .nix_flake_command(["eval"])
            .args(["--json"])
            .arg(ctx.installable(&attr))
            .args(["--apply", DRV_PATHS_APPLY])
            .run()
            .await;
        let paths = match result {
            Ok(output) => {
                serde_json::from_str(&output.stdout).map_err(|e| NixError::CommandFailed {
                    command: format!("nix eval {attr}"),
                    status: format!("unexpected output: {e}"),
                    stderr_tail: crate::util::tail(&output.stdout, 3),
                })?
            }
            Err(NixError::EvalError { message, .. })
                if message.contains("does not provide attribute") =>
            {
                BTreeMap::new()
            }
            Err(err) => return Err(err),
        };
        all.insert(set.to_string(), paths);
    }
    Ok(all)
}
