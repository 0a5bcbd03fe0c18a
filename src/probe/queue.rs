//! Queue figures from the staff-only `GET /api/background-task/`.

use serde::Serialize;

use super::api::TaskOverview;
use super::client::ApiClient;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum QueueFigures {
    Known {
        pending: u64,
        scheduled: u64,
        failed: u64,
        /// InvenTree's own (unreliable) guess, as on `/api/`.
        is_running: bool,
    },
    Unavailable {
        reason: String,
    },
}

pub async fn read_queue(client: &ApiClient) -> QueueFigures {
    match client.get::<TaskOverview>("/api/background-task/").await {
        Ok(overview) => QueueFigures::Known {
            pending: overview.pending_tasks,
            scheduled: overview.scheduled_tasks,
            failed: overview.failed_tasks,
            is_running: overview.is_running,
        },
        Err(error) if error.status().is_some_and(|s| s == 401 || s == 403) => {
            QueueFigures::Unavailable {
                reason: "the queue endpoints need a staff user".to_string(),
            }
        }
        Err(error) => QueueFigures::Unavailable {
            reason: error.to_string(),
        },
    }
}
