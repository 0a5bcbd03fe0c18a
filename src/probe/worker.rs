//! Worker liveness by doing work.
//!
//! `worker_running` from `/api/` is not evidence: without a shared cache the web process infers
//! it from any successful task in the last ten minutes, so it stays true after the worker died.
//! Instead the probe makes InvenTree offload a real task — validating the BOM of a probe-owned
//! assembly part (`PUT /api/part/<pk>/bom-validate/`) — and polls
//! `GET /api/background-task/<task_id>/` until the task is complete.
//!
//! InvenTree's `offload_task` runs the task inline in the web process when it sees no worker and
//! then answers with an empty `task_id`; that is reported as "no worker", never as success. Asked
//! again while the same task is still queued, it answers with that task's id, so a probe repeated
//! against a dead worker does not pile up tasks.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tokio::time::Instant;

use super::api::{Listing, Part, TaskDetail};
use super::backoff::Backoff;
use super::client::{ApiClient, ApiError};

/// Name of the assembly part the probe creates (once) and validates.
pub const DEFAULT_PART_NAME: &str = "inventree-harness-probe";

/// What one answer about a task means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    /// Empty `task_id`: the web process ran it itself because it saw no worker.
    RanInline,
    /// Queued or started, not finished.
    Waiting {
        task_id: String,
    },
    /// Not in the queue and not in the results (yet).
    Unknown {
        task_id: String,
    },
    Finished {
        task_id: String,
        success: bool,
    },
}

/// Decides what a `TaskDetail` says; the one place that interprets its flags.
pub fn classify(detail: &TaskDetail) -> TaskState {
    let task_id = detail.task_id.trim().to_string();
    if task_id.is_empty() {
        return TaskState::RanInline;
    }
    if detail.complete {
        TaskState::Finished {
            task_id,
            success: detail.success,
        }
    } else if detail.exists || detail.pending {
        TaskState::Waiting { task_id }
    } else {
        TaskState::Unknown { task_id }
    }
}

/// The outcome of the liveness check.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WorkerCheck {
    /// The worker ran the task: the only healthy outcome.
    Completed {
        task_id: String,
        part_pk: u64,
        round_trip_ms: u64,
    },
    /// The worker ran the task and it failed.
    TaskFailed {
        task_id: String,
        part_pk: u64,
        round_trip_ms: u64,
    },
    /// The task was queued but not completed before the deadline.
    NotCompleted {
        task_id: String,
        part_pk: u64,
        waited_ms: u64,
        /// Last answer: still in the queue (`pending`), or known at all (`exists`).
        pending: bool,
        exists: bool,
        last_error: Option<String>,
    },
    /// Every attempt ran inline in the web process until the deadline.
    NoWorker {
        part_pk: u64,
        waited_ms: u64,
        attempts: u32,
    },
    /// The user may not create or validate parts.
    Refused { message: String },
    /// The API failed in a way that is not about the worker.
    Error { message: String },
    /// Not checked because the probe could not (no credentials): not healthy.
    Unchecked { reason: String },
    /// Not checked because the caller asked so (`--skip-worker`): readiness only.
    Skipped { reason: String },
}

impl WorkerCheck {
    pub fn is_healthy(&self) -> bool {
        matches!(self, WorkerCheck::Completed { .. })
    }
}

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub part_name: String,
    /// Time the worker has to complete the task (and, before that, to show up at all).
    pub deadline: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            part_name: DEFAULT_PART_NAME.to_string(),
            deadline: Duration::from_secs(30),
        }
    }
}

/// Runs the liveness check with a token-authenticated client.
pub async fn check_worker(client: &ApiClient, options: &WorkerOptions) -> WorkerCheck {
    let started = Instant::now();
    let part_pk = match ensure_probe_part(client, &options.part_name).await {
        Ok(pk) => pk,
        Err(error) => return api_failure("finding or creating the probe part", error),
    };
    // The deadline covers everything after the part exists: the worker's chance to show up
    // (inline runs are retried) and to complete the task.
    let mut backoff = Backoff::new(
        options.deadline.saturating_sub(started.elapsed()),
        Duration::from_millis(250),
        Duration::from_secs(2),
    );
    let mut attempts = 0;
    loop {
        attempts += 1;
        let requested = Instant::now();
        let answer: serde_json::Value = match client
            .put(
                &format!("/api/part/{part_pk}/bom-validate/"),
                &json!({ "valid": true }),
            )
            .await
        {
            Ok(answer) => answer,
            Err(error) => return api_failure("asking InvenTree to validate the BOM", error),
        };
        let detail = match task_detail(answer) {
            Ok(detail) => detail,
            Err(error) => {
                return WorkerCheck::Error {
                    message: format!("{error:#}"),
                }
            }
        };
        match classify(&detail) {
            TaskState::RanInline => {
                if !backoff.wait().await {
                    return WorkerCheck::NoWorker {
                        part_pk,
                        waited_ms: millis(started.elapsed()),
                        attempts,
                    };
                }
            }
            TaskState::Finished { task_id, success } => {
                return finished(task_id, success, part_pk, requested.elapsed())
            }
            TaskState::Waiting { task_id } | TaskState::Unknown { task_id } => {
                return wait_for_task(client, task_id, part_pk, requested, &mut backoff).await
            }
        }
    }
}

async fn wait_for_task(
    client: &ApiClient,
    task_id: String,
    part_pk: u64,
    requested: Instant,
    backoff: &mut Backoff,
) -> WorkerCheck {
    // Poll quickly: the round trip is a reported figure, and the request is cheap.
    let mut poll = Backoff::new(
        Duration::from_secs(24 * 3600),
        Duration::from_millis(50),
        Duration::from_millis(250),
    );
    let mut last = (true, true, None::<String>);
    loop {
        match client
            .get::<TaskDetail>(&format!("/api/background-task/{task_id}/"))
            .await
        {
            Ok(detail) => match classify(&detail) {
                TaskState::Finished { success, .. } => {
                    return finished(task_id, success, part_pk, requested.elapsed())
                }
                _ => last = (detail.pending, detail.exists, None),
            },
            // An unknown task id answers 404 (with a TaskDetail body); keep waiting, it may be
            // between leaving the queue and having its result saved.
            Err(error) if error.status().is_some_and(|s| s == 404) => last = (false, false, None),
            // The server itself may be restarting; the deadline decides.
            Err(error) if error.is_transient() => last.2 = Some(error.to_string()),
            Err(error) => return api_failure("polling the background task", error),
        }
        let delay = poll.next_delay().unwrap_or(Duration::from_millis(250));
        if backoff.expired() {
            return WorkerCheck::NotCompleted {
                task_id,
                part_pk,
                waited_ms: millis(requested.elapsed()),
                pending: last.0,
                exists: last.1,
                last_error: last.2,
            };
        }
        tokio::time::sleep(delay).await;
    }
}

fn finished(task_id: String, success: bool, part_pk: u64, round_trip: Duration) -> WorkerCheck {
    let round_trip_ms = millis(round_trip);
    if success {
        WorkerCheck::Completed {
            task_id,
            part_pk,
            round_trip_ms,
        }
    } else {
        WorkerCheck::TaskFailed {
            task_id,
            part_pk,
            round_trip_ms,
        }
    }
}

/// The task a `bom-validate` answer names. InvenTree before API 464 (1.3) queues the validation
/// but answers with the part and no task id, so no task can be followed: said as such.
fn task_detail(answer: serde_json::Value) -> anyhow::Result<TaskDetail> {
    if answer.get("task_id").is_none() {
        anyhow::bail!(
            "this InvenTree queues the BOM validation but does not say which task it is (bom-validate answered with the part, not a task_id; task tracking came with API 464, InvenTree 1.3): the worker cannot be checked by doing work here. Answer: {}",
            crate::util::truncate(&answer.to_string(), 200)
        );
    }
    serde_json::from_value(answer)
        .map_err(|e| anyhow::anyhow!("bom-validate answered with an unexpected task: {e}"))
}

fn api_failure(doing: &str, error: ApiError) -> WorkerCheck {
    match error.status() {
        Some(s) if s == 401 || s == 403 => WorkerCheck::Refused {
            message: format!(
                "{doing}: {error} (the probe user needs permission to add and change parts)"
            ),
        },
        _ => WorkerCheck::Error {
            message: format!("{doing}: {error}"),
        },
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// Finds the probe's assembly part by exact name, or creates it. Returns its pk.
pub async fn ensure_probe_part(client: &ApiClient, name: &str) -> Result<u64, ApiError> {
    // `search` matches substrings in several fields; `name` is not a filter of this endpoint
    // (InvenTree ignores it), so the exact match is done here.
    let path = format!(
        "/api/part/?search={}&assembly=true&limit=100",
        name.replace(' ', "%20")
    );
    let found: Listing<Part> = client.get(&path).await?;
    if let Some(pk) = pick_probe_part(found.into_items(), name) {
        return Ok(pk);
    }
    let created: Part = client
        .post(
            "/api/part/",
            &json!({
                "name": name,
                "description": "Created by inventree-harness probe: its BOM is validated as a background task to prove the worker runs",
                "assembly": true,
                "component": false,
                "purchaseable": false,
                "salable": false,
                "active": true,
            }),
        )
        .await?;
    Ok(created.pk)
}

/// The probe part among search results: exact name, an assembly; the oldest if several.
pub fn pick_probe_part(parts: Vec<Part>, name: &str) -> Option<u64> {
    parts
        .into_iter()
        .filter(|p| p.name == name && p.assembly)
        .map(|p| p.pk)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(
        task_id: &str,
        exists: bool,
        pending: bool,
        complete: bool,
        success: bool,
    ) -> TaskDetail {
        TaskDetail {
            task_id: task_id.into(),
            exists,
            pending,
            complete,
            success,
            http_status: Some(200),
        }
    }

    #[test]
    fn a_bom_validate_answer_without_task_id_says_the_server_predates_task_tracking() {
        let answer = json!({"pk": 1, "bom_validated": true, "bom_checked_date": "2026-12-04"});
        let message = task_detail(answer).unwrap_err().to_string();
        assert!(
            message.contains("task tracking came with API 464, InvenTree 1.3"),
            "{message}"
        );
        assert!(message.contains("\"bom_validated\":true"), "{message}");
    }

    #[test]
    fn a_bom_validate_answer_with_a_task_id_is_that_task() {
        let answer = json!({"task_id": "t1", "exists": true, "pending": true, "complete": false, "success": false, "http_status": 200});
        assert_eq!(
            task_detail(answer).unwrap(),
            detail("t1", true, true, false, false)
        );
    }

    #[test]
    fn empty_task_id_means_it_ran_inline_even_when_complete_and_successful() {
        assert_eq!(
            classify(&detail("", false, false, true, true)),
            TaskState::RanInline
        );
    }

    #[test]
    fn complete_task_is_finished_with_its_success_flag() {
        assert_eq!(
            classify(&detail("t1", true, false, true, false)),
            TaskState::Finished {
                task_id: "t1".into(),
                success: false
            }
        );
    }

    #[test]
    fn queued_task_is_waiting_and_an_unknown_one_is_unknown() {
        assert_eq!(
            classify(&detail("t1", true, true, false, false)),
            TaskState::Waiting {
                task_id: "t1".into()
            }
        );
        assert_eq!(
            classify(&detail("t1", false, false, false, false)),
            TaskState::Unknown {
                task_id: "t1".into()
            }
        );
    }

    #[test]
    fn probe_part_is_the_oldest_exact_name_assembly() {
        let part = |pk, name: &str, assembly| Part {
            pk,
            name: name.into(),
            assembly,
            active: true,
        };
        let parts = vec![
            part(9, "inventree-harness-probe", true),
            part(3, "inventree-harness-probe", false),
            part(5, "inventree-harness-probe-2", true),
            part(7, "inventree-harness-probe", true),
        ];
        assert_eq!(pick_probe_part(parts, "inventree-harness-probe"), Some(7));
    }
}
