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

/// Whether `key` has the shape of an InvenTree API token key (`users.models.ApiToken.generate_key`):
/// `inv-`, 40 lowercase hex digits (Django REST framework's `secrets.token_hex(20)`), `-`, and the
/// creation date as 8 digits (`YYYYMMDD`).
pub fn is_api_token_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("inv-") else {
        return false;
    };
    let Some((random, date)) = rest.split_once('-') else {
        return false;
    };
    random.len() == 40
        && random
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && date.len() == 8
        && date.bytes().all(|b| b.is_ascii_digit())
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

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::is_api_token_key;

    #[rstest]
    #[case::as_inventree_makes_it("inv-0123456789abcdef0123456789abcdef01234567-20261203", true)]
    #[case::no_prefix("0123456789abcdef0123456789abcdef01234567-20261203", false)]
    #[case::short_random_part("inv-0123456789abcdef-20261203", false)]
    #[case::upper_case_hex("inv-0123456789ABCDEF0123456789abcdef01234567-20261203", false)]
    #[case::no_date("inv-0123456789abcdef0123456789abcdef01234567", false)]
    #[case::date_not_digits("inv-0123456789abcdef0123456789abcdef01234567-2026-12-", false)]
    #[case::redacted_as_the_api_lists_it("inv-0123********************01234567-20261203", false)]
    #[case::empty("", false)]
    fn api_token_key_shape(#[case] key: &str, #[case] valid: bool) {
        assert_eq!(is_api_token_key(key), valid, "{key}");
    }
}
