//! `inventree-harness browser URL --user U --password-file F`: the web UI checked in a real
//! browser (see `browser`). Exit 0 passed, 1 a step failed (named), 2 the check could not run.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use reqwest::Url;

use crate::browser::{self, chrome, CheckOptions};
use crate::cli::BrowserArgs;
use crate::context::Context;

use super::{EXIT_ERROR, EXIT_FAILED};

/// The password variable the official InvenTree Python client reads.
const ENV_PASSWORD: &str = "INVENTREE_API_PASSWORD";

pub async fn run(_ctx: &Context, args: BrowserArgs) -> anyhow::Result<ExitCode> {
    let url = Url::parse(&args.url).with_context(|| format!("URL {:?}", args.url))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("URL {url}: only http and https are supported");
    }
    let password = match &args.password_file {
        Some(path) => browser::read_password_file(path)?,
        None => std::env::var(ENV_PASSWORD)
            .map_err(|_| anyhow!("no password: give --password-file FILE or set {ENV_PASSWORD}"))?,
    };
    let tools = match chrome::locate_tools(args.chromium.as_deref(), args.chromedriver.as_deref()) {
        Ok(tools) => tools,
        Err(reason) => {
            eprintln!("inventree-harness browser: cannot run: {reason}");
            return Ok(ExitCode::from(EXIT_ERROR));
        }
    };
    let run_dir = match args.run_dir {
        Some(dir) => dir,
        None => browser::default_run_dir()?,
    };
    let mut opts = CheckOptions::new(url, &args.user, &password, run_dir, tools);
    opts.step_timeout = Duration::from_secs(args.step_timeout);
    opts.keep_part = args.keep_part;

    let report = browser::run(&opts).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}
