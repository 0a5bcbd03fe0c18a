//! The login steps: the login page renders, the form logs in as the browser does it (the
//! session request answered 200, the login page left).

use super::*;

impl Ctx<'_> {
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
}
