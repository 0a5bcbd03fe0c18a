//! Serde types of the InvenTree API responses the probe reads.
//!
//! Field names follow InvenTree's serializers (checked against the 1.3 source:
//! `InvenTree/api.py` `InfoView`, `common/serializers.py` `TaskDetailSerializer` and
//! `TaskOverviewSerializer`, `users/api.py` `GetAuthToken`) and the responses recorded from a
//! real instance under `tests/data/probe/`. Only the fields the probe decides on are required;
//! everything else is optional so that a newer InvenTree adding fields still parses.

use serde::{Deserialize, Serialize};

/// `GET /api/` (anonymous): what the server says about itself.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ApiRoot {
    pub server: Option<String>,
    pub version: Option<String>,
    #[serde(rename = "apiVersion")]
    pub api_version: Option<u64>,
    pub instance: Option<String>,
    /// Inferred by the web process; without a shared cache it stays true up to 10 minutes after
    /// the worker died, so it is reported but never taken as evidence.
    pub worker_running: Option<bool>,
    pub worker_count: Option<u64>,
    pub worker_pending_tasks: Option<u64>,
    pub debug_mode: Option<bool>,
    pub plugins_enabled: Option<bool>,
    pub email_configured: Option<bool>,
    /// Filled only for staff users.
    pub system_health: Option<bool>,
}

/// `GET /api/user/token/?name=…` (basic auth).
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    pub token: String,
    pub name: Option<String>,
    pub expiry: Option<String>,
}

/// `GET /api/user/me/`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct CurrentUser {
    pub pk: u64,
    pub username: String,
    #[serde(default)]
    pub is_staff: bool,
    #[serde(default)]
    pub is_superuser: bool,
    #[serde(default = "default_true")]
    pub is_active: bool,
}

fn default_true() -> bool {
    true
}

/// One part of `GET /api/part/` or the answer to `POST /api/part/`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Part {
    pub pk: u64,
    pub name: String,
    #[serde(default)]
    pub assembly: bool,
    #[serde(default = "default_true")]
    pub active: bool,
}

/// `GET /api/background-task/<id>/` and the answer to `PUT /api/part/<pk>/bom-validate/`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct TaskDetail {
    /// Empty when the task ran synchronously in the web process (no worker seen).
    pub task_id: String,
    pub exists: bool,
    pub pending: bool,
    pub complete: bool,
    pub success: bool,
    pub http_status: Option<u16>,
}

/// `GET /api/background-task/` (staff only).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct TaskOverview {
    pub is_running: bool,
    pub pending_tasks: u64,
    pub scheduled_tasks: u64,
    pub failed_tasks: u64,
}

/// InvenTree list endpoints answer a bare list, or a page when `limit` is given.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Listing<T> {
    Page { count: u64, results: Vec<T> },
    List(Vec<T>),
}

impl<T> Listing<T> {
    pub fn into_items(self) -> Vec<T> {
        match self {
            Listing::Page { results, .. } => results,
            Listing::List(items) => items,
        }
    }
}

/// DRF error body: `{"detail": "..."}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorDetail {
    pub detail: String,
}
