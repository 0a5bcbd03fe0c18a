//! Readiness: `GET /api/` (anonymous — a wrong token would turn it into a 401) until the server
//! answers, then check that it is InvenTree and says which version it runs.

use std::time::Duration;

use serde::Serialize;

use super::api::ApiRoot;
use super::backoff::Backoff;
use super::client::{ApiClient, ApiError};

/// What the server said about itself, after the checks passed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServerInfo {
    pub server: String,
    pub version: String,
    pub api_version: u64,
    pub instance: Option<String>,
    /// As claimed by `/api/`; reported, never trusted (see `worker`).
    pub worker_running: Option<bool>,
    pub worker_count: Option<u64>,
    pub worker_pending_tasks: Option<u64>,
    /// Time from the first request to the first valid answer.
    pub ready_after_ms: u64,
}

/// Why a server that answered is not an acceptable InvenTree.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServerMismatch {
    #[error("the server at /api/ is {0:?}, not InvenTree")]
    NotInvenTree(String),
    #[error("/api/ does not say which server it is (no \"server\" field)")]
    NoServerName,
    #[error("/api/ does not report the InvenTree version")]
    NoVersion,
    #[error("/api/ does not report the API version")]
    NoApiVersion,
    #[error("InvenTree version is {found}, expected {expected}")]
    WrongVersion { found: String, expected: String },
}

/// Checks an `/api/` answer. `expected_version` matches the reported version exactly or as a
/// prefix followed by a space (InvenTree reports development trees as `1.3.0 dev`).
pub fn check_root(
    root: &ApiRoot,
    expected_version: Option<&str>,
    ready_after: Duration,
) -> Result<ServerInfo, ServerMismatch> {
    let server = root.server.clone().ok_or(ServerMismatch::NoServerName)?;
    if server != "InvenTree" {
        return Err(ServerMismatch::NotInvenTree(server));
    }
    let version = root
        .version
        .clone()
        .filter(|v| !v.trim().is_empty())
        .ok_or(ServerMismatch::NoVersion)?;
    let api_version = root.api_version.ok_or(ServerMismatch::NoApiVersion)?;
    if let Some(expected) = expected_version {
        if !version_matches(&version, expected) {
            return Err(ServerMismatch::WrongVersion {
                found: version,
                expected: expected.to_string(),
            });
        }
    }
    Ok(ServerInfo {
        server,
        version,
        api_version,
        instance: root.instance.clone(),
        worker_running: root.worker_running,
        worker_count: root.worker_count,
        worker_pending_tasks: root.worker_pending_tasks,
        ready_after_ms: ready_after.as_millis() as u64,
    })
}

fn version_matches(found: &str, expected: &str) -> bool {
    found == expected
        || found
            .strip_prefix(expected)
            .is_some_and(|rest| rest.starts_with(' '))
}

/// The outcome of waiting for `/api/`.
#[derive(Debug)]
pub enum Readiness {
    Ready(ServerInfo),
    /// It answered, but not as the InvenTree we want.
    Mismatch(ServerMismatch),
    /// No usable answer before the deadline; carries the last error seen.
    Unreachable {
        waited: Duration,
        last_error: String,
    },
}

/// Polls `GET /api/` with exponential backoff (100 ms doubling to 2 s) until `budget` runs out.
/// Connection errors, 5xx and non-JSON answers are retried (a server starting up, a proxy in
/// front of a stopped server, maintenance mode during migrations); anything else is final.
pub async fn wait_ready(
    client: &ApiClient,
    budget: Duration,
    expected_version: Option<&str>,
) -> Readiness {
    let anonymous = client.with_auth(super::client::Auth::Anonymous);
    let mut backoff = Backoff::new(budget, Duration::from_millis(100), Duration::from_secs(2));
    loop {
        let last_error = match anonymous.get::<ApiRoot>("/api/").await {
            Ok(root) => {
                return match check_root(&root, expected_version, backoff.elapsed()) {
                    Ok(info) => Readiness::Ready(info),
                    Err(mismatch) => Readiness::Mismatch(mismatch),
                }
            }
            Err(error) if is_retryable(&error) => error.to_string(),
            Err(error) => {
                return Readiness::Unreachable {
                    waited: backoff.elapsed(),
                    last_error: error.to_string(),
                }
            }
        };
        if !backoff.wait().await {
            return Readiness::Unreachable {
                waited: backoff.elapsed(),
                last_error,
            };
        }
    }
}

fn is_retryable(error: &ApiError) -> bool {
    // A body that is not JSON usually is a proxy's or Django's HTML error page while starting.
    error.is_transient() || matches!(error, ApiError::Decode { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(server: Option<&str>, version: Option<&str>, api: Option<u64>) -> ApiRoot {
        ApiRoot {
            server: server.map(str::to_string),
            version: version.map(str::to_string),
            api_version: api,
            instance: None,
            worker_running: Some(true),
            worker_count: None,
            worker_pending_tasks: None,
            debug_mode: None,
            plugins_enabled: None,
            email_configured: None,
            system_health: None,
        }
    }

    #[test]
    fn expected_version_matches_exactly_or_before_a_suffix() {
        assert!(version_matches("1.3.5", "1.3.5"));
        assert!(version_matches("1.3.0 dev", "1.3.0"));
        assert!(!version_matches("1.3.50", "1.3.5"));
        assert!(!version_matches("1.3.4", "1.3.5"));
    }

    #[test]
    fn a_server_that_is_not_inventree_is_a_mismatch() {
        let err = check_root(
            &root(Some("Paperless"), Some("2"), Some(1)),
            None,
            Duration::ZERO,
        )
        .unwrap_err();
        assert_eq!(err, ServerMismatch::NotInvenTree("Paperless".into()));
    }

    #[test]
    fn missing_version_fields_are_mismatches() {
        let d = Duration::ZERO;
        assert_eq!(
            check_root(&root(None, Some("1"), Some(1)), None, d).unwrap_err(),
            ServerMismatch::NoServerName
        );
        assert_eq!(
            check_root(&root(Some("InvenTree"), Some(""), Some(1)), None, d).unwrap_err(),
            ServerMismatch::NoVersion
        );
        assert_eq!(
            check_root(&root(Some("InvenTree"), Some("1.3.5"), None), None, d).unwrap_err(),
            ServerMismatch::NoApiVersion
        );
    }

    #[test]
    fn wrong_expected_version_names_both() {
        let err = check_root(
            &root(Some("InvenTree"), Some("1.3.4"), Some(470)),
            Some("1.3.5"),
            Duration::ZERO,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "InvenTree version is 1.3.4, expected 1.3.5"
        );
    }
}
