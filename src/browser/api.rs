//! The few InvenTree API calls the browser check makes besides the browser: a token through
//! basic auth, then a part created (and afterwards removed) through the API, so the UI can be
//! shown data it did not create itself.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use reqwest::{Client, Url};
use serde_json::{json, Value};

use crate::util::truncate;

/// Name under which the check's API token is issued (visible in the user's token list).
pub const TOKEN_NAME: &str = "inventree-harness-browser";

pub struct Api {
    http: Client,
    base: Url,
    token: String,
}

/// A part the check created.
#[derive(Debug, Clone)]
pub struct CreatedPart {
    pub pk: u64,
    pub name: String,
}

impl Api {
    /// Get a token for `user` with basic auth (`GET /api/user/token/?name=…`).
    pub async fn login(base: &Url, user: &str, password: &str, timeout: Duration) -> Result<Self> {
        let http = Client::builder()
            .no_proxy()
            .timeout(timeout)
            .build()
            .context("building the HTTP client")?;
        let url = endpoint(base, "api/user/token/")?;
        let resp = http
            .get(url.clone())
            .query(&[("name", TOKEN_NAME)])
            .basic_auth(user, Some(password))
            .header("Accept", "application/json")
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .with_context(|| format!("GET {url}: reading body"))?;
        if !status.is_success() {
            bail!(
                "GET {url} as {user}: HTTP {status}: {}",
                truncate(&body, 300)
            );
        }
        let token = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("token").and_then(Value::as_str).map(str::to_string))
            .ok_or_else(|| anyhow!("GET {url}: no token in {}", truncate(&body, 300)))?;
        Ok(Api {
            http,
            base: base.clone(),
            token,
        })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let url = endpoint(&self.base, path)?;
        let what = format!("{method} {url}");
        let mut req = self
            .http
            .request(method, url)
            .header("Authorization", format!("Token {}", self.token))
            .header("Accept", "application/json");
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.with_context(|| what.clone())?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .with_context(|| format!("{what}: reading body"))?;
        if !status.is_success() {
            bail!("{what}: HTTP {status}: {}", truncate(&text, 300));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .with_context(|| format!("{what}: body is not JSON: {}", truncate(&text, 300)))
    }

    /// Create a part named `name` (no category: it shows in the top-level parts list).
    pub async fn create_part(&self, name: &str) -> Result<CreatedPart> {
        let body = json!({
            "name": name,
            "description": "Created by inventree-harness browser check",
            "active": true,
            "component": true,
        });
        let v = self
            .send(reqwest::Method::POST, "api/part/", Some(body))
            .await?;
        let pk = v
            .get("pk")
            .and_then(Value::as_u64)
            .ok_or_else(|| anyhow!("POST api/part/: no pk in the answer {v}"))?;
        Ok(CreatedPart {
            pk,
            name: name.to_string(),
        })
    }

    /// Remove a part again: InvenTree deletes only inactive parts, so deactivate first.
    pub async fn delete_part(&self, part: &CreatedPart) -> Result<()> {
        let path = format!("api/part/{}/", part.pk);
        self.send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({ "active": false })),
        )
        .await?;
        self.send(reqwest::Method::DELETE, &path, None).await?;
        Ok(())
    }
}

/// `base` joined with an API path, keeping any path prefix of `base`.
pub fn endpoint(base: &Url, path: &str) -> Result<Url> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join(path.trim_start_matches('/'))
        .with_context(|| format!("joining {base} and {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_the_base_path() {
        let root = Url::parse("http://127.0.0.1:8000").unwrap();
        assert_eq!(
            endpoint(&root, "api/part/").unwrap().as_str(),
            "http://127.0.0.1:8000/api/part/"
        );
        let prefixed = Url::parse("https://example.org/inventree").unwrap();
        assert_eq!(
            endpoint(&prefixed, "/web/login").unwrap().as_str(),
            "https://example.org/inventree/web/login"
        );
    }
}
