use std::process::ExitCode;

use clap::Parser;
use inventree_harness::{cli::Cli, cmd};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cmd::run(cli).await {
        Ok(code) => code,
        Err(err) => {
            // `{:#}` prints the whole context chain on one line: what was run and why it failed.
            eprintln!("inventree-harness: error: {err:#}");
            ExitCode::from(cmd::EXIT_ERROR)
        }
    }
}
