//! A minimal W3C WebDriver client: the dozen commands the browser check uses, JSON over HTTP to a
//! local chromedriver.
//!
//! Why not `fantoccini`/`thirtyfour`: either pulls a second HTTP stack and, through `hyper-rustls`'
//! defaults, `aws-lc-sys` (a C/cmake build) into the whole crate, for a protocol that is plain JSON
//! over loopback HTTP. With `reqwest` (already a dependency) every command also gets its own
//! deadline, which the check needs: nothing may hang.

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use base64::Engine as _;
use reqwest::{Client, Method};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::util::truncate;

/// The key under which W3C WebDriver returns element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// An error reported by the WebDriver server (`{"value": {"error": ..., "message": ...}}`).
#[derive(Debug, thiserror::Error)]
#[error("{command}: {error}: {message}")]
pub struct WebDriverError {
    /// The command that failed, e.g. `POST /session/…/element`.
    pub command: String,
    /// The W3C error code, e.g. `no such element`, `timeout`.
    pub error: String,
    pub message: String,
}

impl WebDriverError {
    pub fn is_no_such_element(&self) -> bool {
        self.error == "no such element"
    }
}

#[derive(Debug, Deserialize)]
struct ErrorValue {
    error: String,
    #[serde(default)]
    message: String,
}

/// Interpret a WebDriver response body: the `value` on success, a [`WebDriverError`] otherwise.
pub fn parse_response(command: &str, status: u16, body: &str) -> Result<Value> {
    let parsed: Value = serde_json::from_str(body).with_context(|| {
        format!(
            "{command}: HTTP {status}, body is not JSON: {}",
            truncate(body, 300)
        )
    })?;
    let value = parsed.get("value").cloned().unwrap_or(Value::Null);
    // W3C: errors, and only errors, come with a 4xx/5xx status; a script's own result may well be
    // an object with an `error` key.
    if status >= 400 {
        if let Ok(err) = serde_json::from_value::<ErrorValue>(value) {
            return Err(WebDriverError {
                command: command.to_string(),
                error: err.error,
                message: first_line(&err.message).to_string(),
            }
            .into());
        }
        return Err(anyhow!("{command}: HTTP {status}: {}", truncate(body, 300)));
    }
    Ok(value)
}

/// The element id in a WebDriver element reference.
pub fn element_id(value: &Value) -> Result<String> {
    value
        .get(ELEMENT_KEY)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| anyhow!("not a WebDriver element reference: {value}"))
}

/// An error message with the WebDriver session and element ids taken out of the command
/// (`POST http://127.0.0.1:4/session/abc/element/f.1.e.2/value: …` → `POST element/…/value: …`):
/// the ids mean nothing to a reader.
pub fn short_command(message: &str) -> String {
    let Some(at) = message.find("/session/") else {
        return message.to_string();
    };
    let method_end = message[..at].find(' ').map(|i| i + 1).unwrap_or(0);
    let rest = &message[at + "/session/".len()..];
    // Drop the session id.
    let rest = rest.find(['/', ':']).map(|i| &rest[i..]).unwrap_or(rest);
    let rest = rest.trim_start_matches('/');
    let (path, tail) = match rest.find(':') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let path = path
        .split('/')
        .enumerate()
        .map(|(i, seg)| {
            if i > 0 && path.split('/').nth(i - 1) == Some("element") {
                "…"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    let path = if path.is_empty() {
        "session".to_string()
    } else {
        path
    };
    format!("{}{path}{tail}", &message[..method_end])
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// A session on a WebDriver server.
pub struct Session {
    http: Client,
    base: String,
    id: String,
    /// Deadline for each single command (navigation included).
    command_timeout: Duration,
}

/// An element of the current page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(pub String);

impl Session {
    /// Open a session on the WebDriver server at `server` (e.g. `http://127.0.0.1:9515`).
    pub async fn new(server: &str, capabilities: Value, command_timeout: Duration) -> Result<Self> {
        let http = Client::builder()
            .no_proxy()
            .build()
            .context("building the HTTP client for WebDriver")?;
        let base = server.trim_end_matches('/').to_string();
        // Starting the browser can take a while on a loaded machine; allow more than one command.
        let value = request(
            &http,
            Method::POST,
            &format!("{base}/session"),
            Some(json!({ "capabilities": capabilities })),
            command_timeout * 2,
        )
        .await
        .context("starting a browser session through chromedriver")?;
        let id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("new session response has no sessionId: {value}"))?
            .to_string();
        Ok(Session {
            http,
            base,
            id,
            command_timeout,
        })
    }

    async fn cmd(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}/session/{}{}", self.base, self.id, path);
        request(&self.http, method, &url, body, self.command_timeout).await
    }

    pub async fn goto(&self, url: &str) -> Result<()> {
        self.cmd(Method::POST, "/url", Some(json!({ "url": url })))
            .await?;
        Ok(())
    }

    pub async fn current_url(&self) -> Result<String> {
        let v = self.cmd(Method::GET, "/url", None).await?;
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("current URL is not a string: {v}"))
    }

    pub async fn title(&self) -> Result<String> {
        let v = self.cmd(Method::GET, "/title", None).await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// The first element matching a CSS selector, or `None` when there is none yet.
    pub async fn find(&self, css: &str) -> Result<Option<Element>> {
        let body = json!({ "using": "css selector", "value": css });
        match self.cmd(Method::POST, "/element", Some(body)).await {
            Ok(v) => Ok(Some(Element(element_id(&v)?))),
            Err(e) => match e.downcast_ref::<WebDriverError>() {
                Some(w) if w.is_no_such_element() => Ok(None),
                _ => Err(e),
            },
        }
    }

    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        let body = json!({ "using": "css selector", "value": css });
        let v = self.cmd(Method::POST, "/elements", Some(body)).await?;
        v.as_array()
            .ok_or_else(|| anyhow!("elements response is not a list: {v}"))?
            .iter()
            .map(|e| element_id(e).map(Element))
            .collect()
    }

    pub async fn click(&self, el: &Element) -> Result<()> {
        self.cmd(
            Method::POST,
            &format!("/element/{}/click", el.0),
            Some(json!({})),
        )
        .await?;
        Ok(())
    }

    pub async fn clear(&self, el: &Element) -> Result<()> {
        self.cmd(
            Method::POST,
            &format!("/element/{}/clear", el.0),
            Some(json!({})),
        )
        .await?;
        Ok(())
    }

    /// Type text into an element as key events (so React sees real input events).
    pub async fn send_keys(&self, el: &Element, text: &str) -> Result<()> {
        self.cmd(
            Method::POST,
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": text })),
        )
        .await?;
        Ok(())
    }

    pub async fn is_displayed(&self, el: &Element) -> Result<bool> {
        let v = self
            .cmd(Method::GET, &format!("/element/{}/displayed", el.0), None)
            .await?;
        Ok(v.as_bool().unwrap_or(false))
    }

    pub async fn is_enabled(&self, el: &Element) -> Result<bool> {
        let v = self
            .cmd(Method::GET, &format!("/element/{}/enabled", el.0), None)
            .await?;
        Ok(v.as_bool().unwrap_or(false))
    }

    /// A DOM property of an element (e.g. `value`), as JSON.
    pub async fn property(&self, el: &Element, name: &str) -> Result<Value> {
        self.cmd(
            Method::GET,
            &format!("/element/{}/property/{name}", el.0),
            None,
        )
        .await
    }

    /// Run a synchronous script in the page; `arguments[i]` are the given args.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.cmd(
            Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Run `source` in every new document before its own scripts (Chromium's DevTools command
    /// `Page.addScriptToEvaluateOnNewDocument`, through chromedriver's CDP passthrough).
    pub async fn add_init_script(&self, source: &str) -> Result<()> {
        self.cmd(
            Method::POST,
            "/goog/cdp/execute",
            Some(json!({
                "cmd": "Page.addScriptToEvaluateOnNewDocument",
                "params": { "source": source }
            })),
        )
        .await?;
        Ok(())
    }

    /// Names of the cookies the browser holds for the current page (HttpOnly ones included).
    pub async fn cookie_names(&self) -> Result<Vec<String>> {
        let v = self.cmd(Method::GET, "/cookie", None).await?;
        Ok(v.as_array()
            .map(|cookies| {
                cookies
                    .iter()
                    .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// A PNG screenshot of the viewport.
    pub async fn screenshot(&self) -> Result<Vec<u8>> {
        let v = self.cmd(Method::GET, "/screenshot", None).await?;
        let b64 = v
            .as_str()
            .ok_or_else(|| anyhow!("screenshot is not a string"))?;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .context("decoding the screenshot (base64)")
    }

    /// The browser console log since the last call (chromedriver's legacy log endpoint; needs
    /// `goog:loggingPrefs` in the capabilities). Each entry as `LEVEL message`.
    pub async fn browser_log(&self) -> Result<Vec<String>> {
        let v = self
            .cmd(Method::POST, "/se/log", Some(json!({ "type": "browser" })))
            .await?;
        Ok(v.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {}",
                            e.get("level").and_then(Value::as_str).unwrap_or("?"),
                            e.get("message").and_then(Value::as_str).unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// End the session (closes the browser). Best effort under a short deadline.
    pub async fn close(self) -> Result<()> {
        let url = format!("{}/session/{}", self.base, self.id);
        request(
            &self.http,
            Method::DELETE,
            &url,
            None,
            Duration::from_secs(10),
        )
        .await?;
        Ok(())
    }
}

async fn request(
    http: &Client,
    method: Method,
    url: &str,
    body: Option<Value>,
    timeout: Duration,
) -> Result<Value> {
    let command = short_command(&format!("{method} {url}"));
    let mut req = http.request(method, url).timeout(timeout);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.map_err(|e| {
        if e.is_timeout() {
            anyhow!("{command}: no answer within {}s", timeout.as_secs())
        } else {
            anyhow!("{command}: {e}")
        }
    })?;
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .with_context(|| format!("{command}: reading the response"))?;
    parse_response(&command, status, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_response_yields_its_value() {
        let v = parse_response("GET /title", 200, r#"{"value":"Dashboard"}"#).unwrap();
        assert_eq!(v, json!("Dashboard"));
    }

    #[test]
    fn null_value_is_success() {
        let v = parse_response("POST /url", 200, r#"{"value":null}"#).unwrap();
        assert_eq!(v, Value::Null);
    }

    #[test]
    fn error_response_carries_code_and_first_message_line() {
        let body = r##"{"value":{"error":"no such element","message":"no such element: Unable to locate element\n  (Session info: chrome=156)","stacktrace":"#0 ..."}}"##;
        let err = parse_response("POST /element", 404, body).unwrap_err();
        let wd = err
            .downcast_ref::<WebDriverError>()
            .expect("a WebDriverError");
        assert!(wd.is_no_such_element());
        assert_eq!(wd.message, "no such element: Unable to locate element");
    }

    #[test]
    fn script_result_with_an_error_key_is_not_an_error() {
        let v = parse_response("POST /execute/sync", 200, r#"{"value":{"error":"x"}}"#).unwrap();
        assert_eq!(v, json!({"error": "x"}));
    }

    #[test]
    fn non_json_error_body_is_reported_with_status() {
        let err = parse_response("GET /status", 502, "Bad Gateway").unwrap_err();
        assert!(err.to_string().contains("HTTP 502"), "{err}");
    }

    #[test]
    fn element_reference_is_decoded() {
        let v = json!({ ELEMENT_KEY: "f.1.e.2" });
        assert_eq!(element_id(&v).unwrap(), "f.1.e.2");
        assert!(element_id(&json!({"x": 1})).is_err());
    }

    #[test]
    fn commands_in_messages_lose_session_and_element_ids() {
        let msg = "POST http://127.0.0.1:44821/session/6390/element/f.8B.d.F8.e.2/value: element not interactable: element not interactable";
        assert_eq!(
            short_command(msg),
            "POST element/…/value: element not interactable: element not interactable"
        );
        assert_eq!(
            short_command("GET http://127.0.0.1:1/session/abc/title: no answer within 30s"),
            "GET title: no answer within 30s"
        );
        assert_eq!(short_command("plain"), "plain");
    }
}
