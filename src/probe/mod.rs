//! The probe: is this InvenTree up, and does its background worker really work?
//!
//! Readiness (`readiness`), authentication (`auth`), worker liveness by doing work (`worker`),
//! queue figures (`queue`), and the verdict (`report`). The same code runs against a host-tier
//! instance, inside a VM, and against any live server (`inventree-harness probe URL`).
//! See `docs/probe.md` for the user-facing description and exit statuses.

pub mod api;
pub mod auth;
pub mod backoff;
pub mod client;
pub mod queue;
pub mod readiness;
pub mod report;
pub mod system;
pub mod worker;

use std::time::Duration;

use tokio::time::Instant;

pub use auth::Credentials;
pub use client::ApiClient;
pub use report::{ProbeReport, Verdict};
pub use worker::WorkerCheck;

use auth::AuthError;
use readiness::Readiness;
use report::AuthOutcome;

#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Server root URL (`http://host:port`, optionally with a path prefix).
    pub url: String,
    pub credentials: Option<Credentials>,
    /// Require this InvenTree version (exact, or before a space: `1.3.0` matches `1.3.0 dev`).
    pub expect_version: Option<String>,
    /// How long to wait for `/api/` to answer.
    pub ready_timeout: Duration,
    /// How long the worker has to complete the probe's task.
    pub task_timeout: Duration,
    /// Check readiness only.
    pub skip_worker: bool,
    pub token_name: String,
    pub part_name: String,
}

impl ProbeOptions {
    pub fn new(url: impl Into<String>) -> Self {
        ProbeOptions {
            url: url.into(),
            credentials: None,
            expect_version: None,
            ready_timeout: Duration::from_secs(60),
            task_timeout: Duration::from_secs(30),
            skip_worker: false,
            token_name: auth::DEFAULT_TOKEN_NAME.to_string(),
            part_name: worker::DEFAULT_PART_NAME.to_string(),
        }
    }
}

/// Runs the whole probe. Never panics on what the server sends; a malformed URL is the only
/// error, everything else is in the report.
pub async fn run(options: &ProbeOptions) -> anyhow::Result<ProbeReport> {
    let started = Instant::now();
    let client = ApiClient::new(&options.url)?;
    let url = client.base().to_string();
    let elapsed = || started.elapsed().as_millis() as u64;

    let server = match readiness::wait_ready(
        &client,
        options.ready_timeout,
        options.expect_version.as_deref(),
    )
    .await
    {
        Readiness::Ready(server) => server,
        Readiness::Mismatch(mismatch) => {
            let verdict = Verdict::Unhealthy {
                reasons: vec![mismatch.to_string()],
            };
            let why = "the server is not the expected InvenTree";
            return Ok(not_ready(url, verdict, why, elapsed()));
        }
        Readiness::Unreachable { waited, last_error } => {
            let verdict = Verdict::Unreachable {
                reason: format!(
                    "no answer from /api/ within {:.1} s; last error: {last_error}",
                    waited.as_secs_f64()
                ),
            };
            return Ok(not_ready(url, verdict, "server unreachable", elapsed()));
        }
    };

    let authed = match &options.credentials {
        None => None,
        Some(credentials) => {
            match auth::authenticate(&client, credentials, &options.token_name).await {
                Ok((authed, identity)) => Some((authed, identity)),
                Err(error) => {
                    return Ok(finish(
                        url,
                        server,
                        AuthOutcome::Failed {
                            message: auth_failure_message(&error),
                        },
                        unchecked("authentication failed"),
                        None,
                        elapsed(),
                    ));
                }
            }
        }
    };

    let (auth, worker, queue, system) = match authed {
        None => (
            AuthOutcome::NotGiven,
            worker_without_credentials(options),
            None,
            None,
        ),
        Some((authed, identity)) => {
            let (worker, queue, system) = check_authenticated(options, &authed).await;
            (
                AuthOutcome::Authenticated(identity),
                worker,
                Some(queue),
                Some(system),
            )
        }
    };
    let mut report = finish(url, server, auth, worker, queue, elapsed());
    report.system = system;
    Ok(report)
}

/// The report of a server that never became ready: nothing past readiness was checked.
fn not_ready(url: String, verdict: Verdict, why_unchecked: &str, elapsed_ms: u64) -> ProbeReport {
    ProbeReport {
        url,
        verdict,
        server: None,
        auth: AuthOutcome::NotGiven,
        worker: unchecked(why_unchecked),
        queue: None,
        system: None,
        elapsed_ms,
    }
}

fn auth_failure_message(error: &AuthError) -> String {
    // Refused already reads "authentication failed for <who>: <why>".
    match error {
        AuthError::Refused { .. } => error.to_string(),
        AuthError::Api(api) => format!("authentication: {api}"),
    }
}

/// Without credentials the worker cannot be checked: skipped when asked, else unchecked with
/// how to give credentials.
fn worker_without_credentials(options: &ProbeOptions) -> WorkerCheck {
    if options.skip_worker {
        WorkerCheck::Skipped {
            reason: "--skip-worker given".into(),
        }
    } else {
        unchecked(&format!(
            "no credentials (give --token, or --user with --password, or set {} / {} and {})",
            auth::ENV_TOKEN,
            auth::ENV_USERNAME,
            auth::ENV_PASSWORD
        ))
    }
}

/// What an authenticated client can check: the worker (unless skipped), the queue figures and the
/// system health.
async fn check_authenticated(
    options: &ProbeOptions,
    authed: &ApiClient,
) -> (WorkerCheck, queue::QueueFigures, system::SystemHealth) {
    let worker = if options.skip_worker {
        WorkerCheck::Skipped {
            reason: "--skip-worker given".into(),
        }
    } else {
        worker::check_worker(
            authed,
            &worker::WorkerOptions {
                part_name: options.part_name.clone(),
                deadline: options.task_timeout,
            },
        )
        .await
    };
    // Read after the worker check, so a task stuck in the queue shows up in the figures.
    let queue = queue::read_queue(authed).await;
    let system = system::read_system_health(authed).await;
    (worker, queue, system)
}

fn unchecked(reason: &str) -> WorkerCheck {
    WorkerCheck::Unchecked {
        reason: reason.to_string(),
    }
}

fn finish(
    url: String,
    server: readiness::ServerInfo,
    auth: AuthOutcome,
    worker: WorkerCheck,
    queue: Option<queue::QueueFigures>,
    elapsed_ms: u64,
) -> ProbeReport {
    let verdict = report::decide(&server, &auth, &worker);
    ProbeReport {
        url,
        verdict,
        server: Some(server),
        auth,
        worker,
        queue,
        system: None,
        elapsed_ms,
    }
}
