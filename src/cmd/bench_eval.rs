//! `inventree-harness bench-eval`: one batch evaluation of all fixtures vs one fixture alone vs
//! one nix process per fixture.

use std::process::ExitCode;

use crate::{cli::BenchEvalArgs, context::Context};

pub async fn run(ctx: &Context, args: BenchEvalArgs) -> anyhow::Result<ExitCode> {
    let _ = (ctx, args);
    anyhow::bail!("`bench-eval` is being written (issue 4)")
}
