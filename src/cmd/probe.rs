//! `inventree-harness probe URL`: probe a running InvenTree and exit 0 (healthy), 1 (unhealthy)
//! or 2 (unreachable).

use std::{process::ExitCode, time::Duration};

use anyhow::Context as _;

use crate::{
    cli::ProbeArgs,
    probe::{self, Credentials, ProbeOptions},
};

pub async fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let password = match &args.password_file {
        Some(file) => Some(read_password_file(file)?),
        None => args.password.clone(),
    };
    let credentials = Credentials::choose(args.token.clone(), args.user.clone(), password)?;
    let options = ProbeOptions {
        url: args.url.clone(),
        credentials,
        expect_version: args.expect_version.clone(),
        ready_timeout: seconds("--ready-timeout", args.ready_timeout)?,
        task_timeout: seconds("--task-timeout", args.task_timeout)?,
        skip_worker: args.skip_worker,
        token_name: args.token_name.clone(),
        part_name: args.part_name.clone(),
    };
    let report = probe::run(&options).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("serialising the probe report")?
        );
    } else {
        print!("{}", report.render_human());
    }
    Ok(ExitCode::from(report.verdict.exit_code() as u8))
}

fn seconds(flag: &str, value: f64) -> anyhow::Result<Duration> {
    if !(value.is_finite() && value > 0.0) {
        anyhow::bail!("{flag} must be a positive number of seconds, got {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

/// The password file's content with one trailing newline removed (as InvenTree's own
/// `*_PASSWORD_FILE` handling and systemd credentials are usually written).
fn read_password_file(file: &std::path::Path) -> anyhow::Result<String> {
    let content = std::fs::read_to_string(file)
        .with_context(|| format!("reading --password-file {}", file.display()))?;
    let content = content.strip_suffix('\n').unwrap_or(&content);
    Ok(content.strip_suffix('\r').unwrap_or(content).to_string())
}
