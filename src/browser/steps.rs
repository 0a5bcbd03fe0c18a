//! The steps of the check, each bounded by a deadline, each leaving a screenshot.

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

    /// Step `login-page`: `/web/login` shows the username and password fields and the submit
    /// button, all displayed and enabled.
    pub async fn login_page(&self) -> Result<String> {
        let start = Instant::now();
        self.goto("web/login").await?;
        let deadline = self.deadline();
        // Ready = all three usable, the same elements on two polls in a row (the app re-renders
        // the form once its server settings arrive, and input typed into the first rendering is
        // lost), and the network quiet for NETWORK_QUIET: the app's own "am I logged in?"
        // requests (session, then /api/user/me/, chained) answered: their 401 clears the app's
        // user state, so a login must not race them.
        let previous = std::sync::Mutex::new(None::<Vec<Element>>);
        let network = std::sync::Mutex::new(NetworkQuiet::default());
        let waited = wait_for(deadline, "the login form", || async {
            let mut found = Vec::new();
            for css in [
                selectors::LOGIN_USERNAME,
                selectors::LOGIN_PASSWORD,
                selectors::LOGIN_SUBMIT,
            ] {
                match self.usable(css).await? {
                    Some(el) => found.push(el),
                    None => {
                        set_previous(&previous, None);
                        return Ok(None);
                    }
                }
            }
            let stable = set_previous(&previous, Some(found.clone())).as_ref() == Some(&found);
            let activity = self.request_activity().await?;
            let quiet = match network.lock() {
                Ok(mut n) => n.observe(activity, Instant::now()),
                Err(_) => false,
            };
            Ok((stable && quiet).then_some(()))
        })
        .await;
        if let Err(e) = waited {
            let state = self.page_state().await;
            let scripts = diagnose_scripts(&state.scripts).await;
            let scripts = if scripts.is_empty() {
                String::new()
            } else {
                format!("; app scripts not served: {}", scripts.join(", "))
            };
            bail!("{e}; {}{scripts}", state.describe());
        }
        let state = self.page_state().await;
        Ok(format!(
            "login form ready {:.1}s after opening {} (title {:?})",
            start.elapsed().as_secs_f64(),
            state.path,
            state.title
        ))
    }

    /// Fill the login form once and confirm the app took the input (React keeps its own state;
    /// text typed before the app is live is lost, and the click then sends nothing).
    async fn try_fill_login_form(&self) -> Result<Option<()>> {
        for (css, text, secret) in [
            (selectors::LOGIN_USERNAME, self.user, false),
            (selectors::LOGIN_PASSWORD, self.password, true),
        ] {
            let Some(el) = self.usable(css).await? else {
                return Ok(None);
            };
            self.session.clear(&el).await?;
            self.session.send_keys(&el, text).await?;
            let value = self.session.property(&el, "value").await?;
            if value.as_str() != Some(text) {
                let shown = if secret {
                    "(hidden)".to_string()
                } else {
                    value.to_string()
                };
                bail!("field {css} holds {shown} after typing");
            }
        }
        Ok(Some(()))
    }

    /// Fill the login form, retrying (until the deadline) while the form is not ready: an input
    /// not yet interactable, re-rendered, or not holding what was typed.
    async fn fill_login_form(&self, deadline: Instant) -> Result<()> {
        wait_for(deadline, "a login form that keeps what is typed", || {
            self.try_fill_login_form()
        })
        .await
        .map_err(|e| anyhow!("login form not ready: {e}"))
    }

    /// Requests of this page whose URL contains `fragment`.
    async fn requests_to(&self, fragment: &str) -> Result<Vec<RecordedRequest>> {
        let v = self
            .session
            .execute(page::RECORDED_REQUESTS_JS, vec![json!(fragment)])
            .await?;
        serde_json::from_value(v).context("reading the recorded requests")
    }

    async fn login_requests(&self) -> Result<Vec<RecordedRequest>> {
        let all = self.requests_to(page::LOGIN_API_PATH).await?;
        Ok(all.into_iter().filter(|r| r.method == "POST").collect())
    }

    /// What happened after the login request: the app's next requests with their statuses
    /// (a 401 right after a 200 login means the session did not hold), and the cookies held.
    async fn after_login_summary(&self) -> String {
        let all = self.requests_to("/").await.unwrap_or_default();
        let after: Vec<String> = all
            .iter()
            .skip_while(|r| !(r.method == "POST" && r.url.contains(page::LOGIN_API_PATH)))
            .skip(1)
            .take(6)
            .map(|r| {
                let status = r.status.map(|s| s.to_string()).unwrap_or("pending".into());
                let path = Url::parse(&r.url)
                    .map(|u| u.path().to_string())
                    .unwrap_or_else(|_| r.url.clone());
                format!("{} {path} {status}", r.method)
            })
            .collect();
        let cookies = self
            .session
            .cookie_names()
            .await
            .map(|c| c.join(", "))
            .unwrap_or_else(|e| format!("unknown ({e})"));
        format!(
            "requests after the login: [{}]; cookies held: [{cookies}]",
            after.join(", ")
        )
    }

    async fn click_submit(&self) -> Result<()> {
        let submit = self
            .usable(selectors::LOGIN_SUBMIT)
            .await?
            .ok_or_else(|| anyhow!("the login button is not displayed and enabled"))?;
        self.session.click(&submit).await
    }

    /// Step `login`: type the credentials, click, and wait for the answer to
    /// `POST /api/auth/v1/auth/login`; then for the app to leave the login page. The click is
    /// retried once, only when the form was confirmed ready and no request went out.
    pub async fn login(&self) -> Result<String> {
        let deadline = self.deadline();
        self.fill_login_form(deadline).await?;
        // Normally installed before the app started (see `run`); this is the fallback.
        self.session
            .execute(page::INSTALL_RECORDER_JS, vec![])
            .await
            .context("installing the request recorder")?;

        let mut notes = self.submit_login(deadline).await?;
        self.wait_login_answered_200(deadline).await?;
        self.wait_left_login_page(deadline).await?;

        // Best effort, for the step's screenshot: the layout the login led to rather than the
        // blank page in between (the dashboard step checks that layout).
        let shown_by = (Instant::now() + LAYOUT_AFTER_LOGIN_WITHIN).min(deadline);
        let _ = wait_for(shown_by, "the logged-in layout", || async {
            Ok(self.usable(selectors::HEADER_SEARCH).await?.map(|_| ()))
        })
        .await;

        notes.insert(0, format!("POST {} answered 200", page::LOGIN_API_PATH));
        Ok(notes.join("; "))
    }

    /// Click the login button until the login request goes out: a second click (form filled
    /// again) only when the first sent nothing. Notes on what it took.
    async fn submit_login(&self, deadline: Instant) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        self.click_submit().await?;
        if self.login_request_sent(deadline).await {
            return Ok(notes);
        }
        notes.push(format!(
            "first click sent no login request within {}s; clicked again",
            CLICK_SENT_WITHIN.as_secs()
        ));
        self.fill_login_form(deadline).await?;
        self.click_submit().await?;
        if !self.login_request_sent(deadline).await {
            bail!(
                "clicking the login button twice sent no POST {} (form was filled and \
                 enabled); {}",
                page::LOGIN_API_PATH,
                self.page_state().await.describe()
            );
        }
        Ok(notes)
    }

    /// Whether a login request went out within [`CLICK_SENT_WITHIN`] (or by `deadline`).
    async fn login_request_sent(&self, deadline: Instant) -> bool {
        let sent_by = (Instant::now() + CLICK_SENT_WITHIN).min(deadline);
        wait_for(sent_by, "the login request", || async {
            Ok(self.login_requests().await?.into_iter().next())
        })
        .await
        .is_ok()
    }

    /// The last answered login request must have answered 200; else its status and body.
    async fn wait_login_answered_200(&self, deadline: Instant) -> Result<()> {
        let answered = wait_for(deadline, "the answer to the login request", || async {
            Ok(self
                .login_requests()
                .await?
                .into_iter()
                .rev()
                .find(|r| r.status.is_some()))
        })
        .await?;
        let status = answered.status.unwrap_or(0);
        if status != 200 {
            let body = answered.body.unwrap_or_default();
            let reason = if status == 0 {
                "no response (network error)".to_string()
            } else {
                format!("HTTP {status}")
            };
            bail!(
                "POST {} answered {reason}: {}",
                page::LOGIN_API_PATH,
                truncate(&body.split_whitespace().collect::<Vec<_>>().join(" "), 300)
            );
        }
        Ok(())
    }

    /// After a 200 login the app must leave the login page; if it stays, what the page did next.
    async fn wait_left_login_page(&self, deadline: Instant) -> Result<()> {
        let left = wait_for(deadline, "the app to leave the login page", || async {
            let path = self
                .session
                .execute("return location.pathname;", vec![])
                .await?;
            let path = path.as_str().unwrap_or_default().to_string();
            Ok((!path.contains("/login")).then_some(()))
        })
        .await;
        if let Err(e) = left {
            bail!(
                "login answered 200 but {e}; {}",
                self.after_login_summary().await
            );
        }
        Ok(())
    }

    /// Step `dashboard`: the logged-in layout with its header, and the dashboard page title.
    pub async fn dashboard(&self) -> Result<String> {
        let deadline = self.deadline();
        let current = self
            .session
            .execute("return location.pathname;", vec![])
            .await?;
        if !current.as_str().unwrap_or_default().contains("/home") {
            self.goto("web/home").await?;
        }
        let waited = wait_for(deadline, "the dashboard", || async {
            let title = self.session.title().await?;
            let header = self.usable(selectors::HEADER_SEARCH).await?;
            let settled = self.pending_requests().await? == 0;
            Ok((title.contains("Dashboard") && header.is_some() && settled).then_some(title))
        })
        .await;
        match waited {
            Ok(title) => {
                let state = self.page_state().await;
                Ok(format!("{} with title {title:?}", state.path))
            }
            Err(e) => bail!("{e}; {}", self.page_state().await.describe()),
        }
    }

    /// Step `api-part`: a token by basic auth, then `POST /api/part/`.
    pub async fn api_part(&self, name: &str) -> Result<(Api, CreatedPart)> {
        let api = Api::login(self.base, self.user, self.password, self.step_timeout)
            .await
            .context("getting an API token with basic auth")?;
        let part = api.create_part(name).await.context("creating a part")?;
        Ok((api, part))
    }

    async fn table_state(&self) -> Result<TableState> {
        let v = self.session.execute(page::TABLE_STATE_JS, vec![]).await?;
        serde_json::from_value(v).context("reading the table state")
    }

    /// Step `parts-list`: the parts table has fetched its data and shows at least one row.
    pub async fn parts_list(&self) -> Result<String> {
        let deadline = self.deadline();
        self.goto("web/part/category/index/parts").await?;
        let waited = wait_for(deadline, "rows in the parts table", || async {
            if self.usable(selectors::TABLE_SEARCH).await?.is_none()
                || self.pending_requests().await? > 0
            {
                return Ok(None);
            }
            let table = self.table_state().await?;
            Ok(table.loaded_with_rows().then_some(table))
        })
        .await;
        match waited {
            Ok(table) => Ok(format!(
                "parts table shows {} row(s) (pagination {:?})",
                table.rows.len(),
                table.pagination.unwrap_or_default()
            )),
            Err(e) => bail!("{e}; {}", self.page_state().await.describe()),
        }
    }

    /// Step `part-in-list`: searching the table for the part's name shows its row.
    pub async fn part_in_list(&self, part: &CreatedPart) -> Result<String> {
        let deadline = self.deadline();
        let search = self
            .usable(selectors::TABLE_SEARCH)
            .await?
            .ok_or_else(|| anyhow!("the table search field is gone"))?;
        self.session.clear(&search).await?;
        self.session.send_keys(&search, &part.name).await?;
        // The search field debounces: the table must have fetched with the search term (seen by
        // the recorder) before its rows say anything about the part.
        let query = format!("search={}", part.name);
        let waited = wait_for(deadline, "a row with the part's name", || async {
            let searched = self.requests_to(&query).await?;
            if !searched.iter().any(|r| r.status.is_some()) || self.pending_requests().await? > 0 {
                return Ok(None);
            }
            let table = self.table_state().await?;
            Ok((!table.fetching && table.rows_containing(&part.name) > 0).then_some(table))
        })
        .await;
        match waited {
            Ok(table) => Ok(format!(
                "row for part #{} {:?} shown after searching ({} of {} row(s) match)",
                part.pk,
                part.name,
                table.rows_containing(&part.name),
                table.rows.len()
            )),
            Err(e) => {
                let rows = self.table_state().await.map(|t| t.rows).unwrap_or_default();
                bail!(
                    "{e}; table rows: {:?}; {}",
                    rows.iter().map(|r| truncate(r, 60)).collect::<Vec<_>>(),
                    self.page_state().await.describe()
                )
            }
        }
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
