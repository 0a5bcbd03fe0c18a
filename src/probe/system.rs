//! InvenTree's own `system_health` (staff-only on `GET /api/`), with the reason when it is
//! false. Informational: an instance without e-mail still works, so it never decides the
//! verdict; but the web UI shows a warning icon for it, and an admin wants to know why.

use serde::Serialize;

use super::api::ApiRoot;
use super::client::ApiClient;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SystemHealth {
    Healthy,
    /// `system_health: false`, with what InvenTree's check (`check_system_health`) found.
    Failing {
        reasons: Vec<String>,
    },
    Unavailable {
        reason: String,
    },
}

/// What `/api/` says as seen by an authenticated user.
pub fn from_root(root: &ApiRoot) -> SystemHealth {
    match root.system_health {
        Some(true) => SystemHealth::Healthy,
        None => SystemHealth::Unavailable {
            reason: "/api/ gives system_health to staff users only".into(),
        },
        Some(false) => {
            let mut reasons = Vec::new();
            if root.email_configured == Some(false) {
                reasons.push(
                    "INVE-W7: no e-mail backend (set config.email.host, and the password as the credential INVENTREE_EMAIL_PASSWORD)"
                        .to_string(),
                );
            }
            if root.worker_running == Some(false) {
                reasons.push("InvenTree sees no running background worker".to_string());
            }
            if reasons.is_empty() {
                reasons.push(
                    "InvenTree's own checks failed (its log says which: \"InvenTree system health checks failed\")"
                        .to_string(),
                );
            }
            SystemHealth::Failing { reasons }
        }
    }
}

pub async fn read_system_health(client: &ApiClient) -> SystemHealth {
    match client.get::<ApiRoot>("/api/").await {
        Ok(root) => from_root(&root),
        Err(error) => SystemHealth::Unavailable {
            reason: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn root(system_health: Option<bool>, email: Option<bool>, worker: Option<bool>) -> ApiRoot {
        ApiRoot {
            server: Some("InvenTree".into()),
            version: None,
            api_version: None,
            instance: None,
            worker_running: worker,
            worker_count: None,
            worker_pending_tasks: None,
            debug_mode: None,
            plugins_enabled: None,
            email_configured: email,
            system_health,
        }
    }

    #[rstest]
    #[case(root(Some(true), Some(true), Some(true)), vec![])]
    #[case(root(Some(false), Some(false), Some(true)), vec!["INVE-W7"])]
    #[case(root(Some(false), Some(true), Some(false)), vec!["no running background worker"])]
    #[case(root(Some(false), Some(false), Some(false)), vec!["INVE-W7", "no running background worker"])]
    #[case(root(Some(false), Some(true), Some(true)), vec!["InvenTree's own checks failed"])]
    fn failing_health_names_each_reason_inventree_gives(
        #[case] root: ApiRoot,
        #[case] expected: Vec<&str>,
    ) {
        match from_root(&root) {
            SystemHealth::Healthy => assert!(expected.is_empty()),
            SystemHealth::Failing { reasons } => {
                assert_eq!(reasons.len(), expected.len(), "{reasons:?}");
                for (reason, part) in reasons.iter().zip(expected) {
                    assert!(reason.contains(part), "{reason:?} lacks {part:?}");
                }
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_user_who_is_not_staff_gets_no_health() {
        assert!(matches!(
            from_root(&root(None, Some(true), Some(true))),
            SystemHealth::Unavailable { .. }
        ));
    }
}
