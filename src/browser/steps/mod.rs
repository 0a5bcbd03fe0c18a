//! The steps of the check, each bounded by a deadline, each leaving a screenshot: the login
//! steps in `login`, the steps after it in `parts`; what they share (the context, waits, page
//! state) here.

mod login;
mod parts;

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use reqwest::Url;
use serde_json::json;

use super::api::{endpoint, Api, CreatedPart};
use super::page::{self, selectors, PageState, RecordedRequest, TableState};
use super::webdriver::{Element, Session};
use crate::util::truncate;

/// How long to wait for the login request after a click before concluding nothing was sent.
const CLICK_SENT_WITHIN: Duration = Duration::from_secs(8);
/// Poll interval of every wait.
const POLL: Duration = Duration::from_millis(250);
/// How long the login step waits for the logged-in layout before its screenshot.
const LAYOUT_AFTER_LOGIN_WITHIN: Duration = Duration::from_secs(10);

/// Everything a step needs.
pub struct Ctx<'a> {
    pub session: &'a Session,
    pub base: &'a Url,
    pub user: &'a str,
    pub password: &'a str,
    pub step_timeout: Duration,
}

/// Poll `probe` until it yields a value or `deadline` passes. Errors of single polls (stale
/// elements, a page mid-navigation) do not end the wait; the last one is reported on timeout.
pub async fn wait_for<T, F, Fut>(deadline: Instant, what: &str, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let mut last_err: Option<anyhow::Error> = None;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            let why = last_err
                .map(|e| format!(" (last error: {e:#})"))
                .unwrap_or_default();
            bail!("timed out waiting for {what}{why}");
        }
        match tokio::time::timeout(remaining, probe()).await {
            Ok(Ok(Some(v))) => return Ok(v),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => last_err = Some(e),
            Err(_) => {}
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

impl Ctx<'_> {
    fn deadline(&self) -> Instant {
        Instant::now() + self.step_timeout
    }

    fn url(&self, path: &str) -> Result<String> {
        Ok(endpoint(self.base, path)?.to_string())
    }

    pub async fn page_state(&self) -> PageState {
        match self.session.execute(page::PAGE_STATE_JS, vec![]).await {
            Ok(v) => serde_json::from_value(v).unwrap_or_default(),
            Err(e) => PageState {
                text: format!("(page state unavailable: {e})"),
                ..Default::default()
            },
        }
    }

    /// (requests seen, requests pending) on this page; (0, 0) without the recorder.
    async fn request_activity(&self) -> Result<(u64, u64)> {
        let v = self
            .session
            .execute(page::REQUEST_ACTIVITY_JS, vec![])
            .await?;
        Ok((
            v.get(0).and_then(|n| n.as_u64()).unwrap_or(0),
            v.get(1).and_then(|n| n.as_u64()).unwrap_or(0),
        ))
    }

    /// Requests of the page still waiting for an answer (0 when the recorder is missing: then
    /// nothing can be known, and nothing is waited for).
    async fn pending_requests(&self) -> Result<u64> {
        let v = self
            .session
            .execute(page::PENDING_REQUESTS_JS, vec![])
            .await?;
        Ok(v.as_u64().unwrap_or(0))
    }

    /// An element that is displayed and enabled, or `None`.
    async fn usable(&self, css: &str) -> Result<Option<Element>> {
        match self.session.find(css).await? {
            Some(el)
                if self.session.is_displayed(&el).await?
                    && self.session.is_enabled(&el).await? =>
            {
                Ok(Some(el))
            }
            _ => Ok(None),
        }
    }

    /// Navigate, turning a failed navigation (refused connection, DNS, timeout) into a message.
    async fn goto(&self, path: &str) -> Result<()> {
        let url = self.url(path)?;
        self.session
            .goto(&url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    /// Requests of this page whose URL contains `fragment`.
    async fn requests_to(&self, fragment: &str) -> Result<Vec<RecordedRequest>> {
        let v = self
            .session
            .execute(page::RECORDED_REQUESTS_JS, vec![json!(fragment)])
            .await?;
        serde_json::from_value(v).context("reading the recorded requests")
    }
}

/// How long the page's network must be idle (nothing pending, nothing new) to count as settled.
pub const NETWORK_QUIET: Duration = Duration::from_millis(1000);

/// Tracks when the page's request activity last changed.
#[derive(Debug, Default)]
pub struct NetworkQuiet {
    last: Option<((u64, u64), Instant)>,
}

impl NetworkQuiet {
    /// Record `(seen, pending)` at `now`; true once nothing is pending and nothing changed for
    /// [`NETWORK_QUIET`].
    pub fn observe(&mut self, activity: (u64, u64), now: Instant) -> bool {
        match self.last {
            Some((before, since)) if before == activity => {
                activity.1 == 0 && now.duration_since(since) >= NETWORK_QUIET
            }
            _ => {
                self.last = Some((activity, now));
                false
            }
        }
    }
}

/// Replace the value behind `slot`, returning the old one (a poisoned lock counts as empty).
fn set_previous<T>(slot: &std::sync::Mutex<Option<T>>, value: Option<T>) -> Option<T> {
    match slot.lock() {
        Ok(mut guard) => std::mem::replace(&mut *guard, value),
        Err(_) => None,
    }
}

/// Fetch the page's scripts without following redirects and name those not served as
/// JavaScript: the usual sign of static files not collected (InvenTree answers a missing static
/// file with a redirect to `/web`, which the browser then refuses as a module script).
pub async fn diagnose_scripts(urls: &[String]) -> Vec<String> {
    let Ok(http) = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
    else {
        return Vec::new();
    };
    let mut bad = Vec::new();
    for url in urls.iter().take(6) {
        let verdict = match http.get(url).send().await {
            Err(e) => Some(format!("{url} ({e})")),
            Ok(resp) => {
                let status = resp.status();
                let ctype = resp
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let location = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(|l| format!(" to {l}"))
                    .unwrap_or_default();
                script_problem(status.as_u16(), &ctype)
                    .map(|p| format!("{} ({p}{location})", path_of(url)))
            }
        };
        bad.extend(verdict);
    }
    bad
}

/// Why a script response is not a script, or `None` when it is one.
pub fn script_problem(status: u16, content_type: &str) -> Option<String> {
    if status != 200 {
        Some(format!("HTTP {status}"))
    } else if !content_type.contains("javascript") {
        Some(format!("served as {content_type:?}"))
    } else {
        None
    }
}

fn path_of(url: &str) -> String {
    Url::parse(url)
        .map(|u| u.path().to_string())
        .unwrap_or_else(|_| url.to_string())
}

/// Save a screenshot of the current page as `dir/name`; the caller makes a failure a note of the
/// report, never a failed step.
pub async fn screenshot(session: &Session, dir: &Path, name: &str) -> anyhow::Result<String> {
    let png = session.screenshot().await.context("no screenshot")?;
    std::fs::write(dir.join(name), png).with_context(|| format!("writing screenshot {name}"))?;
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_is_quiet_only_after_a_full_second_without_change() {
        let t0 = Instant::now();
        let mut q = NetworkQuiet::default();
        assert!(!q.observe((2, 1), t0));
        // The session check answered, /api/user/me/ not yet sent: a moment with nothing pending.
        assert!(!q.observe((2, 0), t0 + Duration::from_millis(250)));
        assert!(!q.observe((3, 1), t0 + Duration::from_millis(260)));
        assert!(!q.observe((3, 0), t0 + Duration::from_millis(500)));
        assert!(!q.observe((3, 0), t0 + Duration::from_millis(1400)));
        assert!(q.observe((3, 0), t0 + Duration::from_millis(1500)));
    }

    #[test]
    fn pending_requests_never_count_as_quiet() {
        let t0 = Instant::now();
        let mut q = NetworkQuiet::default();
        q.observe((1, 1), t0);
        assert!(!q.observe((1, 1), t0 + Duration::from_secs(10)));
    }

    #[test]
    fn a_redirected_or_html_script_is_a_problem() {
        assert_eq!(script_problem(302, "text/html"), Some("HTTP 302".into()));
        assert_eq!(
            script_problem(200, "text/html; charset=utf-8"),
            Some("served as \"text/html; charset=utf-8\"".into())
        );
        assert_eq!(
            script_problem(200, "text/javascript; charset=\"utf-8\""),
            None
        );
        assert_eq!(script_problem(200, "application/javascript"), None);
    }
}
