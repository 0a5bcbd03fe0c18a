//! Every VM test instantiates: for each `checks.<system>.<name>`, the run derivation and the
//! driver evaluate to drvPaths, in one nix process. Nothing is built. (The interactive driver is
//! left out: it re-evaluates every node with the interactive settings, doubling the time, and
//! `inventree-harness vm --interactive` builds it when asked.)

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::context::Context;
use crate::nix::NixError;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckDrvs {
    /// Building this runs the test.
    pub run: String,
    pub driver: String,
}

/// The `--apply` expression over `checks.<system>`.
pub const APPLY: &str =
    "checks: builtins.mapAttrs (_: c: { run = c.drvPath; driver = c.driver.drvPath; }) checks";

pub async fn instantiate_checks(
    ctx: &Context,
    system: &str,
) -> Result<BTreeMap<String, CheckDrvs>, NixError> {
    let attr = format!("checks.{system}");
    let output = ctx
        .nix_flake_command(["eval"])
        .arg("--json")
        .arg(ctx.installable(&attr))
        .args(["--apply", APPLY])
        .run()
        .await?;
    serde_json::from_str(&output.stdout).map_err(|e| NixError::CommandFailed {
        command: format!("nix eval {attr} --apply …"),
        status: format!("unexpected output: {e}"),
        stderr_tail: crate::util::tail(&output.stdout, 3),
    })
}
