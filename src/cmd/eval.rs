//! `inventree-harness eval FILE.nix [--json]`: evaluate a user's module fragment with this
//! project's module and print what it renders.

use std::process::ExitCode;

use crate::{cli::EvalArgs, context::Context};

pub async fn run(ctx: &Context, args: EvalArgs) -> anyhow::Result<ExitCode> {
    ctx.print_overrides();
    let _ = args;
    anyhow::bail!("`eval` is being written (issue 4)")
}
