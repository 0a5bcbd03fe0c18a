//! A small InvenTree API client: JSON over HTTP with a per-request timeout, errors that carry
//! the request and what the server answered.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::api::ErrorDetail;
use crate::util::truncate;

/// Per-request timeout: an InvenTree request that takes longer is treated as a failure.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No HTTP answer at all (connection refused, reset, timeout, DNS).
    #[error("{method} {url}: no answer: {}", error_chain(source))]
    Transport {
        method: Method,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// An HTTP answer with a non-success status.
    #[error("{method} {url}: HTTP {status}: {message}")]
    Status {
        method: Method,
        url: String,
        status: StatusCode,
        message: String,
    },
    /// A success status whose body is not what the endpoint documents.
    #[error("{method} {url}: unexpected answer ({source}): {body}")]
    Decode {
        method: Method,
        url: String,
        body: String,
        #[source]
        source: serde_json::Error,
    },
}

impl ApiError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Worth retrying while waiting for a server to come up.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Transport { .. } => true,
            // 502/503/504 from a proxy or InvenTree's maintenance mode during migrations.
            ApiError::Status { status, .. } => status.is_server_error(),
            ApiError::Decode { .. } => false,
        }
    }
}

/// How the client authenticates.
#[derive(Clone)]
pub enum Auth {
    Anonymous,
    Token(String),
    Basic { username: String, password: String },
}

impl std::fmt::Debug for Auth {
    // Never print secrets, not even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Anonymous => write!(f, "Anonymous"),
            Auth::Token(_) => write!(f, "Token(<redacted>)"),
            Auth::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    auth: Auth,
}

impl ApiClient {
    /// `base` is the server's root URL (`http://host:port` or with a path prefix); `/api/...`
    /// paths are appended to it.
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("inventree-harness/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("building the HTTP client: {e}"))?;
        let base = normalise_base(base)?;
        Ok(ApiClient {
            http,
            base,
            auth: Auth::Anonymous,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The API token this client sends, when it sends one (what `auth::authenticate` obtained).
    pub fn token(&self) -> Option<&str> {
        match &self.auth {
            Auth::Token(token) => Some(token),
            _ => None,
        }
    }

    pub fn with_auth(&self, auth: Auth) -> Self {
        ApiClient {
            auth,
            ..self.clone()
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.send::<T, ()>(Method::GET, path, None).await
    }

    pub async fn post<T: DeserializeOwned, B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put<T: DeserializeOwned, B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn patch<T: DeserializeOwned, B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.send(Method::PATCH, path, Some(body)).await
    }

    /// DELETE; InvenTree answers 204 with no body.
    pub async fn delete(&self, path: &str) -> Result<(), ApiError> {
        self.send::<(), ()>(Method::DELETE, path, None).await
    }

    /// POST of a form with one file (`multipart/form-data`), as the web UI uploads attachments.
    pub async fn post_file<T: DeserializeOwned>(
        &self,
        path: &str,
        fields: &[(&str, String)],
        file_field: &str,
        file_name: &str,
        content: Vec<u8>,
    ) -> Result<T, ApiError> {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.clone());
        }
        let part = reqwest::multipart::Part::bytes(content).file_name(file_name.to_string());
        let form = form.part(file_field.to_string(), part);
        self.send_with(Method::POST, path, |request| request.multipart(form))
            .await
    }

    async fn send<T: DeserializeOwned, B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ApiError> {
        self.send_with(method, path, |request| match body {
            Some(body) => request.json(body),
            None => request,
        })
        .await
    }

    /// One request: `with_body` adds the body to the authenticated request.
    async fn send_with<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        with_body: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        let url = self.url(path);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header(reqwest::header::ACCEPT, "application/json");
        request = match &self.auth {
            Auth::Anonymous => request,
            Auth::Token(token) => request.header(
                reqwest::header::AUTHORIZATION,
                format!("Token {}", token.trim()),
            ),
            Auth::Basic { username, password } => request.basic_auth(username, Some(password)),
        };
        request = with_body(request);
        let transport = |source| ApiError::Transport {
            method: method.clone(),
            url: url.clone(),
            source,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let text = response.text().await.map_err(transport)?;
        if !status.is_success() {
            return Err(ApiError::Status {
                method,
                url,
                status,
                message: error_message(&text),
            });
        }
        // An empty body (204 No Content) reads as JSON null: `()` for a DELETE.
        let text = if text.trim().is_empty() {
            "null".to_string()
        } else {
            text
        };
        serde_json::from_str(&text).map_err(|source| ApiError::Decode {
            method,
            url,
            body: truncate(&text, 300),
            source,
        })
    }
}

/// An error with its causes (`reqwest` puts the useful part — "connection refused" — in the
/// source chain).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
        source = cause_source(source);
    }
    text
}

fn cause_source<'a>(
    error: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    error.and_then(|e| e.source())
}

/// The message of a DRF error body, or the start of whatever the server sent.
pub fn error_message(body: &str) -> String {
    match serde_json::from_str::<ErrorDetail>(body) {
        Ok(detail) => detail.detail,
        Err(_) if body.trim().is_empty() => "(empty body)".to_string(),
        Err(_) => truncate(body.trim(), 300),
    }
}

/// Accepts `host:port`, `http://host:port`, `http://host/prefix/`, and a URL that already ends in
/// `/api/` (as `INVENTREE_API_HOST` sometimes does); returns the root without a trailing slash.
pub fn normalise_base(input: &str) -> anyhow::Result<String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        anyhow::bail!("no server URL given");
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    let url = reqwest::Url::parse(&with_scheme)
        .map_err(|e| anyhow::anyhow!("server URL {input:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        anyhow::bail!("server URL {input:?}: only http and https are supported");
    }
    let mut root = url.to_string();
    while root.ends_with('/') {
        root.pop();
    }
    if let Some(stripped) = root.strip_suffix("/api") {
        root = stripped.to_string();
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_gets_a_scheme_and_loses_trailing_slashes_and_api_suffix() {
        assert_eq!(
            normalise_base("127.0.0.1:8000").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            normalise_base("https://inv.example.org/").unwrap(),
            "https://inv.example.org"
        );
        assert_eq!(
            normalise_base("http://h/inventree/api/").unwrap(),
            "http://h/inventree"
        );
    }

    #[test]
    fn base_url_rejects_other_schemes_and_empty_input() {
        assert!(normalise_base("ftp://h").is_err());
        assert!(normalise_base("  ").is_err());
    }

    #[test]
    fn error_message_prefers_drf_detail() {
        assert_eq!(
            error_message(r#"{"detail":"Invalid token."}"#),
            "Invalid token."
        );
        assert_eq!(error_message(""), "(empty body)");
        assert_eq!(error_message("<html>502</html>"), "<html>502</html>");
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let basic = Auth::Basic {
            username: "admin".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{basic:?}").contains("hunter2"));
        assert!(!format!("{:?}", Auth::Token("inv-abc".into())).contains("inv-abc"));
    }
}
