//! Logging in the way InvenTree's web UI does — allauth's headless browser API, a session cookie
//! and the CSRF token — and checking that the session holds on the requests that follow.
//!
//! The browser tier checks this in Chromium; this is the same contract over plain HTTP, so the
//! host tier catches a first login that does not hold on machines without a browser. (InvenTree
//! once ended every session on the first request carrying one: see `settings_defaults` in the
//! runtime.)

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::StatusCode;

/// The allauth headless endpoints the web UI uses (browser client).
const SESSION_PATH: &str = "api/auth/v1/auth/session";
const LOGIN_PATH: &str = "api/auth/v1/auth/login";
/// What the web UI asks right after logging in, in this order: whether the login needs MFA set
/// up (a plain Django view), then who the user is (DRF). The order matters: InvenTree ended the
/// session during the first request carrying it, and that request still answered.
const AUTH_CHECK_PATH: &str = "auth/";
const USER_ME_PATH: &str = "api/user/me/";
const SESSION_COOKIE: &str = "sessionid";
const CSRF_COOKIE: &str = "csrftoken";

/// Log in as `user` with a session, ask `/auth/` as the UI does, then `/api/user/me/`
/// `requests_after` times; each must answer 200 for that user with the session cookie still
/// held. The line says what held.
pub async fn session_login_holds(
    url: &str,
    user: &str,
    password: &str,
    requests_after: usize,
) -> anyhow::Result<String> {
    let session = BrowserLikeClient::new(url)?;
    let csrf = session.csrf_token().await?;
    session.log_in(user, password, &csrf).await?;
    session.check_auth().await?;
    for n in 1..=requests_after {
        session.me_is(user, n).await?;
    }
    Ok(format!(
        "session login as {user} held for /{AUTH_CHECK_PATH} and {requests_after} requests to /{USER_ME_PATH}"
    ))
}

/// An HTTP client keeping cookies as a browser does, against one instance.
struct BrowserLikeClient {
    base: reqwest::Url,
    jar: Arc<Jar>,
    http: reqwest::Client,
}

impl BrowserLikeClient {
    fn new(url: &str) -> anyhow::Result<Self> {
        let base: reqwest::Url = format!("{}/", url.trim_end_matches('/'))
            .parse()
            .with_context(|| format!("instance URL {url}"))?;
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .no_proxy()
            .cookie_provider(jar.clone())
            .timeout(Duration::from_secs(30))
            .build()
            .context("building the HTTP client")?;
        Ok(BrowserLikeClient { base, jar, http })
    }

    fn endpoint(&self, path: &str) -> anyhow::Result<reqwest::Url> {
        self.base
            .join(path)
            .with_context(|| format!("joining {path}"))
    }

    fn cookie(&self, name: &str) -> Option<String> {
        cookie(&self.jar, &self.base, name)
    }

    /// Like the UI: ask for the session first, which sets the CSRF cookie (401: nobody yet).
    async fn csrf_token(&self) -> anyhow::Result<String> {
        self.http
            .get(self.endpoint(SESSION_PATH)?)
            .send()
            .await
            .with_context(|| format!("GET /{SESSION_PATH}"))?;
        self.cookie(CSRF_COOKIE)
            .with_context(|| format!("GET /{SESSION_PATH} set no {CSRF_COOKIE} cookie"))
    }

    /// The login must answer 200 and set the session cookie.
    async fn log_in(&self, user: &str, password: &str, csrf: &str) -> anyhow::Result<()> {
        let login = self
            .http
            .post(self.endpoint(LOGIN_PATH)?)
            .header("X-CSRFToken", csrf)
            .json(&serde_json::json!({ "username": user, "password": password }))
            .send()
            .await
            .with_context(|| format!("POST /{LOGIN_PATH}"))?;
        let status = login.status();
        if status != StatusCode::OK {
            let body = login.text().await.unwrap_or_default();
            bail!(
                "POST /{LOGIN_PATH} as {user} answered {status}: {}",
                body.chars().take(300).collect::<String>()
            );
        }
        if self.cookie(SESSION_COOKIE).is_none() {
            bail!("POST /{LOGIN_PATH} answered 200 but set no {SESSION_COOKIE} cookie");
        }
        Ok(())
    }

    /// The UI's first request after the login, the one InvenTree once ended the session on.
    async fn check_auth(&self) -> anyhow::Result<()> {
        let check = self
            .http
            .get(self.endpoint(AUTH_CHECK_PATH)?)
            .send()
            .await
            .with_context(|| format!("GET /{AUTH_CHECK_PATH}"))?;
        if check.status() != StatusCode::OK {
            bail!(
                "GET /{AUTH_CHECK_PATH} right after the login answered {}, not 200",
                check.status()
            );
        }
        Ok(())
    }

    /// Request `n` to `/api/user/me/` must answer 200 for `user`, the session cookie still held.
    async fn me_is(&self, user: &str, n: usize) -> anyhow::Result<()> {
        let csrf = self.cookie(CSRF_COOKIE).unwrap_or_default();
        let me = self
            .http
            .get(self.endpoint(USER_ME_PATH)?)
            .header("X-CSRFToken", csrf)
            .send()
            .await
            .with_context(|| format!("GET /{USER_ME_PATH}"))?;
        let status = me.status();
        let body = me.text().await.unwrap_or_default();
        let held = self.cookie(SESSION_COOKIE).is_some();
        let username = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("username")
                    .and_then(|u| u.as_str())
                    .map(str::to_owned)
            });
        if status != StatusCode::OK || username.as_deref() != Some(user) || !held {
            bail!(
                "the session of a login that answered 200 did not hold: after GET \
                 /{AUTH_CHECK_PATH}, request {n} to /{USER_ME_PATH} answered {status} ({}), \
                 session cookie {}",
                body.chars().take(200).collect::<String>(),
                if held {
                    "still held"
                } else {
                    "deleted by the server"
                }
            );
        }
        Ok(())
    }
}

/// The value of cookie `name` the jar would send to `url`.
fn cookie(jar: &Jar, url: &reqwest::Url, name: &str) -> Option<String> {
    let header = jar.cookies(url)?;
    let text = header.to_str().ok()?;
    cookie_value(text, name)
}

/// `name`'s value in a `Cookie` header (`a=1; b=2`); an empty value counts as absent.
fn cookie_value(header: &str, name: &str) -> Option<String> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::cookie_value;

    #[test]
    fn cookie_value_is_found_among_others() {
        let header = "csrftoken=abc; sessionid=xyz";
        assert_eq!(cookie_value(header, "sessionid").as_deref(), Some("xyz"));
        assert_eq!(cookie_value(header, "csrftoken").as_deref(), Some("abc"));
    }

    #[test]
    fn absent_or_emptied_cookie_is_none() {
        assert_eq!(cookie_value("csrftoken=abc", "sessionid"), None);
        assert_eq!(cookie_value("sessionid=; csrftoken=abc", "sessionid"), None);
    }
}
