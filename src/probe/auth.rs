//! Authentication: a given API token, or a token obtained with a username and password through
//! `GET /api/user/token/?name=…` (basic auth). Credentials come from flags or from the
//! environment variables the official InvenTree Python client reads.

use serde::Serialize;

use super::api::{CurrentUser, TokenResponse};
use super::client::{ApiClient, ApiError, Auth};

/// Environment variables of the official `inventree` Python client.
pub const ENV_HOST: &str = "INVENTREE_API_HOST";
pub const ENV_USERNAME: &str = "INVENTREE_API_USERNAME";
pub const ENV_PASSWORD: &str = "INVENTREE_API_PASSWORD";
pub const ENV_TOKEN: &str = "INVENTREE_API_TOKEN";

/// Name of the API token the probe asks for (InvenTree keeps one token per name and user, so
/// repeated probes reuse it rather than piling up tokens).
pub const DEFAULT_TOKEN_NAME: &str = "inventree-harness-probe";

#[derive(Clone, PartialEq)]
pub enum Credentials {
    Token(String),
    Password { username: String, password: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Token(_) => write!(f, "Token(<redacted>)"),
            Credentials::Password { username, .. } => {
                write!(f, "Password({username}, <redacted>)")
            }
        }
    }
}

impl Credentials {
    /// Chooses credentials from what was given (flags already merged with the environment by
    /// the caller): a token wins over a username and password, as in the Python client.
    /// A username without a password (or the reverse) is an error, not silently anonymous.
    pub fn choose(
        token: Option<String>,
        username: Option<String>,
        password: Option<String>,
    ) -> anyhow::Result<Option<Credentials>> {
        let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        match (nonempty(token), nonempty(username), password) {
            (Some(token), _, _) => Ok(Some(Credentials::Token(token.trim().to_string()))),
            (None, Some(username), Some(password)) if !password.is_empty() => {
                Ok(Some(Credentials::Password { username, password }))
            }
            (None, Some(username), _) => anyhow::bail!(
                "a username ({username}) was given without a password (--password, --password-file or {ENV_PASSWORD})"
            ),
            (None, None, Some(password)) if !password.is_empty() => anyhow::bail!(
                "a password was given without a username (--user or {ENV_USERNAME})"
            ),
            _ => Ok(None),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Credentials::Token(_) => "given API token".to_string(),
            Credentials::Password { username, .. } => format!("user {username} (basic auth)"),
        }
    }
}

/// Who the probe is acting as.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Identity {
    pub username: String,
    pub is_staff: bool,
    pub is_superuser: bool,
    /// `token` or `password`.
    pub method: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("authentication failed for {who}: {message}")]
    Refused { who: String, message: String },
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Exchanges credentials for a token-authenticated client and finds out who it is.
pub async fn authenticate(
    client: &ApiClient,
    credentials: &Credentials,
    token_name: &str,
) -> Result<(ApiClient, Identity), AuthError> {
    let (token, method) = match credentials {
        Credentials::Token(token) => (token.clone(), "token"),
        Credentials::Password { username, password } => {
            let basic = client.with_auth(Auth::Basic {
                username: username.clone(),
                password: password.clone(),
            });
            let path = format!("/api/user/token/?name={}", query_value(token_name));
            let response: TokenResponse = basic
                .get(&path)
                .await
                .map_err(|e| refused_or_api(e, credentials))?;
            (response.token, "password")
        }
    };
    let authed = client.with_auth(Auth::Token(token));
    let me: CurrentUser = authed
        .get("/api/user/me/")
        .await
        .map_err(|e| refused_or_api(e, credentials))?;
    Ok((
        authed,
        Identity {
            username: me.username,
            is_staff: me.is_staff,
            is_superuser: me.is_superuser,
            method,
        },
    ))
}

fn refused_or_api(error: ApiError, credentials: &Credentials) -> AuthError {
    match (&error, error.status()) {
        (ApiError::Status { message, .. }, Some(s)) if s == 401 || s == 403 => AuthError::Refused {
            who: credentials.describe(),
            message: message.clone(),
        },
        _ => AuthError::Api(error),
    }
}

/// Percent-encodes a query value (token names are ours, but keep the request well-formed).
fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_wins_over_username_and_password() {
        let chosen = Credentials::choose(
            Some("inv-abc".into()),
            Some("admin".into()),
            Some("pw".into()),
        )
        .unwrap();
        assert_eq!(chosen, Some(Credentials::Token("inv-abc".into())));
    }

    #[test]
    fn username_and_password_give_password_credentials() {
        let chosen = Credentials::choose(None, Some("admin".into()), Some("pw".into())).unwrap();
        assert_eq!(
            chosen,
            Some(Credentials::Password {
                username: "admin".into(),
                password: "pw".into()
            })
        );
    }

    #[test]
    fn a_username_without_password_is_an_error_naming_the_fix() {
        let err = Credentials::choose(None, Some("admin".into()), None).unwrap_err();
        assert!(err.to_string().contains(ENV_PASSWORD), "{err}");
    }

    #[test]
    fn nothing_given_means_no_credentials() {
        assert_eq!(Credentials::choose(None, None, None).unwrap(), None);
        assert_eq!(
            Credentials::choose(Some(" ".into()), None, None).unwrap(),
            None
        );
    }

    #[test]
    fn token_names_are_percent_encoded() {
        assert_eq!(query_value("a b/c"), "a%20b%2Fc");
        assert_eq!(query_value(DEFAULT_TOKEN_NAME), DEFAULT_TOKEN_NAME);
    }
}
