//! What the check asks the page itself, as JavaScript run through WebDriver, and the Rust types
//! of the answers.
//!
//! WebDriver has no network view, but the check must know whether clicking "Log In" really sent
//! `POST /api/auth/v1/auth/login` and what came back (clicking before the app is ready silently
//! sends nothing; a CSRF or host mismatch answers 403). So before clicking it installs a small
//! recorder around `XMLHttpRequest` and `fetch` (the app's axios uses XHR), and reads it back.

use serde::Deserialize;

/// CSS selectors of InvenTree's React UI (1.x), by the `aria-label`s the app sets itself.
pub mod selectors {
    pub const LOGIN_USERNAME: &str = "input[aria-label='login-username']";
    pub const LOGIN_PASSWORD: &str = "input[aria-label='login-password']";
    pub const LOGIN_SUBMIT: &str = "form button[type='submit']";
    /// The search button in the header: present on every page of the logged-in layout.
    pub const HEADER_SEARCH: &str = "[aria-label='open-search']";
    pub const TABLE_SEARCH: &str = "input[aria-label='table-search-input']";
}

/// The state of the page's data table (mantine-datatable, as InvenTree's tables use): whether
/// it is fetching, its data rows' text (the placeholder row of an empty table is not one), and
/// the pagination text ("1 - 1 / 1").
pub const TABLE_STATE_JS: &str = r#"
const rows = Array.from(document.querySelectorAll('table tbody tr.mantine-datatable-row'));
const pager = document.querySelector('.mantine-datatable-pagination-text');
return {
  fetching: document.querySelector('.mantine-datatable-loader-fetching') !== null,
  rows: rows.map((r) => r.innerText),
  pagination: pager ? pager.innerText : null,
};
"#;

#[derive(Debug, Clone, Deserialize, Default)]
pub struct TableState {
    pub fetching: bool,
    pub rows: Vec<String>,
    pub pagination: Option<String>,
}

impl TableState {
    /// Loaded: not fetching, and at least one data row.
    pub fn loaded_with_rows(&self) -> bool {
        !self.fetching && !self.rows.is_empty()
    }

    /// Rows whose text contains `needle`.
    pub fn rows_containing(&self, needle: &str) -> usize {
        self.rows.iter().filter(|r| r.contains(needle)).count()
    }
}

/// Path fragment of the login request (allauth headless API).
pub const LOGIN_API_PATH: &str = "/api/auth/v1/auth/login";

/// Install (once per page) a recorder of XHR and fetch requests in `window.__harnessRequests`.
/// Plain statements: it runs both as a script on every new document (before the app's own code)
/// and as the body of an executed function.
pub const INSTALL_RECORDER_JS: &str = r#"
if (!window.__harnessRequests) {
  const rec = [];
  window.__harnessRequests = rec;
  const open = XMLHttpRequest.prototype.open;
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__harness = { method: String(method).toUpperCase(), url: String(url) };
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    if (this.__harness) {
      const e = { method: this.__harness.method, url: this.__harness.url, status: null, body: null };
      rec.push(e);
      this.addEventListener('loadend', () => {
        e.status = this.status;
        try { e.body = String(this.responseText || '').slice(0, 600); } catch (_) { e.body = ''; }
      });
    }
    return send.apply(this, arguments);
  };
  if (window.fetch) {
    const origFetch = window.fetch;
    window.fetch = function (input, init) {
      const url = typeof input === 'string' ? input : (input && input.url) || String(input);
      const method = String((init && init.method) || (input && input.method) || 'GET').toUpperCase();
      const e = { method: method, url: url, status: null, body: null };
      rec.push(e);
      return origFetch.apply(this, arguments).then(
        (r) => { e.status = r.status; return r; },
        (err) => { e.status = 0; e.body = String(err); throw err; });
    };
  }
}
"#;

/// `[requests seen, requests pending]` on this page (`[0, 0]` without the recorder).
pub const REQUEST_ACTIVITY_JS: &str = r#"
const rec = window.__harnessRequests || [];
return [rec.length, rec.filter((r) => r.status === null).length];
"#;

/// How many recorded requests are still waiting for their answer (`null` when the recorder is
/// not installed on this page).
pub const PENDING_REQUESTS_JS: &str = r#"
if (!window.__harnessRequests) { return null; }
return window.__harnessRequests.filter((r) => r.status === null).length;
"#;

/// The recorded requests whose URL contains `arguments[0]`.
pub const RECORDED_REQUESTS_JS: &str = r#"
return (window.__harnessRequests || []).filter((r) => r.url.indexOf(arguments[0]) >= 0);
"#;

/// One request seen by the recorder.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub url: String,
    /// HTTP status once answered (0: network error), `None` while pending.
    pub status: Option<u16>,
    pub body: Option<String>,
}

/// What the page looks like right now, for progress decisions and failure messages.
pub const PAGE_STATE_JS: &str = r#"
const failed = performance.getEntriesByType('resource')
  .filter((r) => typeof r.responseStatus === 'number' && r.responseStatus >= 400)
  .map((r) => ({ url: r.name, status: r.responseStatus }));
return {
  path: location.pathname,
  title: document.title,
  readyState: document.readyState,
  text: document.body ? document.body.innerText.slice(0, 600) : '',
  failedResources: failed,
  scripts: Array.from(document.querySelectorAll('script[src]')).map((s) => s.src),
};
"#;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PageState {
    pub path: String,
    pub title: String,
    #[serde(default)]
    pub ready_state: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub failed_resources: Vec<FailedResource>,
    /// Absolute URLs of the page's external scripts (the app's bundle among them).
    #[serde(default)]
    pub scripts: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct FailedResource {
    pub url: String,
    pub status: u16,
}

impl PageState {
    /// A one-paragraph description for a failure message: title, path, failed resources (the
    /// usual sign of static files not deployed), and the start of the visible text.
    pub fn describe(&self) -> String {
        let mut out = format!("page {:?} at {}", self.title, self.path);
        if !self.failed_resources.is_empty() {
            let shown: Vec<String> = self
                .failed_resources
                .iter()
                .take(4)
                .map(|r| format!("{} (HTTP {})", r.url, r.status))
                .collect();
            out.push_str(&format!(
                "; {} resource(s) failed to load: {}",
                self.failed_resources.len(),
                shown.join(", ")
            ));
            if self.failed_resources.len() > 4 {
                out.push_str(", …");
            }
        }
        let text = self.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            out.push_str("; the page shows no text");
        } else {
            out.push_str(&format!(
                "; page text: {:?}",
                crate::util::truncate(&text, 200)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn page_state_names_failed_static_files() {
        let state: PageState = serde_json::from_value(json!({
            "path": "/web/login", "title": "InvenTree", "readyState": "complete", "text": "",
            "failedResources": [
                {"url": "http://127.0.0.1:8000/static/web/assets/index-abc.js", "status": 404}
            ]
        }))
        .unwrap();
        let d = state.describe();
        assert!(d.contains("1 resource(s) failed to load"), "{d}");
        assert!(d.contains("index-abc.js (HTTP 404)"), "{d}");
        assert!(d.contains("the page shows no text"), "{d}");
    }

    #[test]
    fn page_text_is_squeezed_and_shortened() {
        let state = PageState {
            path: "/web/".into(),
            title: "x".into(),
            text: "Bad   Request\n\n(400)".into(),
            ..Default::default()
        };
        assert!(state
            .describe()
            .ends_with(r#"page text: "Bad Request (400)""#));
    }

    #[test]
    fn a_fetching_table_is_not_loaded_even_with_rows() {
        let t: TableState = serde_json::from_value(json!({
            "fetching": true, "rows": ["old row"], "pagination": null
        }))
        .unwrap();
        assert!(!t.loaded_with_rows());
        let t = TableState {
            fetching: false,
            ..t
        };
        assert!(t.loaded_with_rows());
        assert_eq!(t.rows_containing("old"), 1);
        assert_eq!(t.rows_containing("new"), 0);
    }

    #[test]
    fn pending_request_has_no_status() {
        let r: RecordedRequest = serde_json::from_value(json!({
            "method": "POST", "url": "/api/auth/v1/auth/login", "status": null, "body": null
        }))
        .unwrap();
        assert_eq!(r.status, None);
    }
}
