//! The steps after the login: the dashboard, a part made through the API, the parts list showing
//! it.

use super::*;

impl Ctx<'_> {
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
