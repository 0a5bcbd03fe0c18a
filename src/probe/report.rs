//! The probe's report, the verdict drawn from it, its exit status and its human rendering.

use std::fmt::Write as _;

use serde::Serialize;

use super::auth::Identity;
use super::queue::QueueFigures;
use super::readiness::ServerInfo;
use super::system::SystemHealth;
use super::worker::WorkerCheck;

/// Exit status of `inventree-harness probe`.
pub const EXIT_HEALTHY: i32 = 0;
pub const EXIT_UNHEALTHY: i32 = 1;
pub const EXIT_UNREACHABLE: i32 = 2;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verdict {
    Healthy,
    /// It answered, and something is wrong; every reason is listed.
    Unhealthy {
        reasons: Vec<String>,
    },
    /// No usable answer from `/api/` before the deadline.
    Unreachable {
        reason: String,
    },
}

impl Verdict {
    pub fn exit_code(&self) -> i32 {
        match self {
            Verdict::Healthy => EXIT_HEALTHY,
            Verdict::Unhealthy { .. } => EXIT_UNHEALTHY,
            Verdict::Unreachable { .. } => EXIT_UNREACHABLE,
        }
    }

    pub fn is_healthy(&self) -> bool {
        matches!(self, Verdict::Healthy)
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AuthOutcome {
    Authenticated(Identity),
    Failed { message: String },
    NotGiven,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProbeReport {
    pub url: String,
    pub verdict: Verdict,
    pub server: Option<ServerInfo>,
    pub auth: AuthOutcome,
    pub worker: WorkerCheck,
    pub queue: Option<QueueFigures>,
    /// InvenTree's `system_health` (authenticated probes only); never decides the verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemHealth>,
    pub elapsed_ms: u64,
}

/// Why the worker check makes the instance unhealthy, or `None` when it is evidence of a live
/// worker. `claimed_running` is `/api/`'s `worker_running`, quoted so a reader sees the claim
/// contradicted.
pub fn worker_problem(worker: &WorkerCheck, claimed_running: Option<bool>) -> Option<String> {
    let claim = match claimed_running {
        Some(true) => " although /api/ says worker_running: true",
        Some(false) => " (/api/ says worker_running: false)",
        None => "",
    };
    let secs = |ms: &u64| *ms as f64 / 1000.0;
    match worker {
        WorkerCheck::Completed { .. } => None,
        WorkerCheck::TaskFailed { task_id, .. } => Some(format!(
            "worker: background task {task_id} (BOM validation) ran but failed; see the failed tasks in the admin"
        )),
        WorkerCheck::NotCompleted {
            task_id,
            waited_ms,
            pending,
            exists,
            last_error,
            ..
        } => {
            let state = match (pending, exists) {
                (true, _) => "still queued",
                (false, true) => "started but not finished",
                (false, false) => "neither queued nor finished",
            };
            let error = last_error
                .as_ref()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default();
            Some(format!(
                "worker: background task {task_id} {state} after {:.1} s — the background worker (qcluster) is not processing the queue{claim}{error}",
                secs(waited_ms)
            ))
        }
        WorkerCheck::NoWorker {
            waited_ms, attempts, ..
        } => Some(format!(
            "no worker: InvenTree ran the task inline {attempts} time(s) in {:.1} s because it sees no background worker (qcluster){claim}",
            secs(waited_ms)
        )),
        WorkerCheck::Refused { message } => Some(format!("worker not checked: {message}")),
        WorkerCheck::Error { message } => Some(format!("worker check failed: {message}")),
        WorkerCheck::Unchecked { reason } => Some(format!("worker not checked: {reason}")),
        WorkerCheck::Skipped { .. } => None,
    }
}

/// The verdict: healthy only when the server is InvenTree, authentication (if asked for)
/// worked, and the worker completed a real task — or the worker check was skipped on request.
pub fn decide(server: &ServerInfo, auth: &AuthOutcome, worker: &WorkerCheck) -> Verdict {
    let mut reasons = Vec::new();
    if let AuthOutcome::Failed { message } = auth {
        reasons.push(message.clone());
    }
    if let Some(problem) = worker_problem(worker, server.worker_running) {
        // An auth failure already explains why the worker was not checked.
        if !matches!(auth, AuthOutcome::Failed { .. }) {
            reasons.push(problem);
        }
    }
    if reasons.is_empty() {
        Verdict::Healthy
    } else {
        Verdict::Unhealthy { reasons }
    }
}

impl ProbeReport {
    /// A short human summary, one concern per line.
    pub fn render_human(&self) -> String {
        let mut out = String::new();
        self.write_verdict(&mut out);
        self.write_server(&mut out);
        self.write_auth(&mut out);
        let _ = writeln!(out, "  worker   {}", self.worker_line());
        self.write_queue(&mut out);
        self.write_system(&mut out);
        out
    }

    /// The status line, then each reason it is not healthy.
    fn write_verdict(&self, out: &mut String) {
        let status = match &self.verdict {
            Verdict::Healthy => "HEALTHY".to_string(),
            Verdict::Unhealthy { .. } => "UNHEALTHY".to_string(),
            Verdict::Unreachable { .. } => "UNREACHABLE".to_string(),
        };
        let _ = writeln!(out, "InvenTree at {}: {status}", self.url);
        match &self.verdict {
            Verdict::Unhealthy { reasons } => {
                for reason in reasons {
                    let _ = writeln!(out, "  ! {reason}");
                }
            }
            Verdict::Unreachable { reason } => {
                let _ = writeln!(out, "  ! {reason}");
            }
            Verdict::Healthy => {}
        }
    }

    /// What `/api/` says about the server and (as claims only) its worker; nothing if unready.
    fn write_server(&self, out: &mut String) {
        let Some(server) = &self.server else {
            return;
        };
        let _ = writeln!(
            out,
            "  server   {} {} (API {}){}, answered after {:.1} s",
            server.server,
            server.version,
            server.api_version,
            server
                .instance
                .as_ref()
                .map(|i| format!(", instance {i:?}"))
                .unwrap_or_default(),
            server.ready_after_ms as f64 / 1000.0
        );
        let _ = writeln!(
            out,
            "  /api/    worker_running: {}, worker_count: {}, worker_pending_tasks: {} (claims, not evidence)",
            opt(server.worker_running),
            opt(server.worker_count),
            opt(server.worker_pending_tasks)
        );
    }

    fn write_auth(&self, out: &mut String) {
        match &self.auth {
            AuthOutcome::Authenticated(who) => {
                let _ = writeln!(
                    out,
                    "  auth     {} by {}{}",
                    who.username,
                    who.method,
                    if who.is_superuser {
                        " (superuser)"
                    } else if who.is_staff {
                        " (staff)"
                    } else {
                        ""
                    }
                );
            }
            AuthOutcome::Failed { message } => {
                let _ = writeln!(out, "  auth     failed: {message}");
            }
            AuthOutcome::NotGiven => {
                let _ = writeln!(out, "  auth     none given");
            }
        }
    }

    /// The worker check's result; a problem reads as in the verdict, less its "worker: " prefix.
    fn worker_line(&self) -> String {
        match &self.worker {
            WorkerCheck::Completed {
                task_id,
                part_pk,
                round_trip_ms,
            } => format!(
                "completed background task {task_id} (BOM validation of part {part_pk}) in {:.2} s",
                *round_trip_ms as f64 / 1000.0
            ),
            WorkerCheck::Skipped { reason } => format!("not checked: {reason}"),
            other => {
                let problem = worker_problem(other, None).unwrap_or_default();
                match problem.strip_prefix("worker: ") {
                    Some(rest) => rest.to_string(),
                    None => problem,
                }
            }
        }
    }

    fn write_queue(&self, out: &mut String) {
        match &self.queue {
            Some(QueueFigures::Known {
                pending,
                scheduled,
                failed,
                ..
            }) => {
                let _ = writeln!(
                    out,
                    "  queue    {pending} pending, {scheduled} scheduled, {failed} failed"
                );
            }
            Some(QueueFigures::Unavailable { reason }) => {
                let _ = writeln!(out, "  queue    unavailable: {reason}");
            }
            None => {}
        }
    }

    fn write_system(&self, out: &mut String) {
        match &self.system {
            Some(SystemHealth::Healthy) => {
                let _ = writeln!(out, "  system   system_health: true");
            }
            Some(SystemHealth::Failing { reasons }) => {
                let _ = writeln!(
                    out,
                    "  system   system_health: false (not counted in the verdict): {}",
                    reasons.join("; ")
                );
            }
            Some(SystemHealth::Unavailable { reason }) => {
                let _ = writeln!(out, "  system   system_health unavailable: {reason}");
            }
            None => {}
        }
    }
}

fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}
