//! Uploads behind the module's nginx (host tier, `nginx` fixture): an attachment and a part image
//! uploaded through the API land in `media_root`, and nginx serves them — through the module's
//! `/media/` location, which asks InvenTree's `/auth/` first — to a logged-in user only: with an
//! API token they come back byte for byte (as a download), without one or with a wrong one nginx
//! answers 401 and no byte of the file. The API and the static files pass through the same
//! virtual host.

use std::net::SocketAddr;

use anyhow::Context as _;
use reqwest::StatusCode;
use serde_json::Value;

use super::{
    instance::Instance,
    nginx::{self, Nginx},
    plan::HostPlan,
    prerequisites::HostEnv,
    scenarios::{healthy_from_template, teardown, token_client, ScenarioReport, Template},
    upgrade_data::{attach, ATTACHMENT_TEXT},
};
use crate::probe::Credentials;

/// What a request through nginx brought back.
pub(super) struct Fetched {
    pub status: StatusCode,
    pub disposition: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// A client that reaches the virtual host by its name on nginx's loopback port (as a browser
/// would with the name in DNS).
pub(super) struct ThroughNginx {
    client: reqwest::Client,
    base: String,
}

impl ThroughNginx {
    pub(super) fn new(host_name: &str, port: u16) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .resolve(host_name, SocketAddr::from(([127, 0, 0, 1], port)))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(ThroughNginx {
            client,
            base: format!("http://{host_name}:{port}"),
        })
    }

    pub(super) async fn get(&self, path: &str, token: Option<&str>) -> anyhow::Result<Fetched> {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Token {token}"));
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("GET {path} through nginx"))?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (disposition, content_type) = (header("content-disposition"), header("content-type"));
        let status = response.status();
        let body = response.bytes().await?.to_vec();
        Ok(Fetched {
            status,
            disposition,
            content_type,
            body,
        })
    }
}

/// The probe user's API token (the one an API client or the InvenTree app sends), as the
/// probe's own token exchange obtained it.
pub(super) async fn api_token(
    instance: &Instance,
    credentials: &Credentials,
) -> anyhow::Result<String> {
    token_client(instance, credentials)
        .await?
        .token()
        .map(str::to_string)
        .context("the authenticated client sends no token")
}

pub async fn media_behind_nginx(
    host: &HostEnv,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("media behind nginx");
    let vhost = plan
        .nginx
        .as_ref()
        .with_context(|| format!("fixture {} configures no nginx virtual host", plan.fixture))?;
    let mut instance = Instance::create(host, plan)?;
    let credentials = healthy_from_template(&mut instance, template).await?;
    let client = token_client(&instance, &credentials).await?;
    let part: Value = client
        .post_file(
            "/api/part/",
            &[
                ("name", "nginx media resistor".into()),
                ("description", "its image is served by nginx".into()),
            ],
            "image",
            "resistor.png",
            crate::host::upgrade_data::PART_IMAGE.to_vec(),
        )
        .await
        .context("creating a part with an image")?;
    let part_pk = part["pk"].as_u64().context("the part has no pk")?;
    let image = crate::printing::media_path(part["image"].as_str().unwrap_or_default())?;
    let (_, attachment) = attach(&client, part_pk).await?;

    let port = crate::util::free_port()?;
    let upstream = instance.layout.port;
    let run_dir = instance.layout.root.join("nginx");
    let conf = nginx::render(vhost, port, &[upstream], &instance.layout.root, &run_dir)?;
    let nginx = Nginx::start(&run_dir, &conf, port).await?;
    let host_name = nginx::host_name(vhost)?;
    report.check(format!(
        "the module's virtual host {host_name} ({} locations) accepted by nginx -t and serving on 127.0.0.1:{port}, upstream 127.0.0.1:{upstream}",
        vhost["locations"].as_object().map_or(0, |l| l.len())
    ));
    let web = ThroughNginx::new(&host_name, port)?;
    let token = api_token(&instance, &credentials).await?;
    check_refused(&web, &attachment, &mut report).await?;
    check_served(&web, &token, &attachment, &image, &mut report).await?;
    check_passes_api_and_static(&web, &token, &mut report).await?;
    nginx.stop().await?;
    teardown(&mut instance, &mut report).await?;
    Ok(report)
}

/// Without a token, or with a wrong one: 401 from nginx, and none of the file.
async fn check_refused(
    web: &ThroughNginx,
    attachment: &str,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let path = format!("/media/{attachment}");
    for (who, token) in [
        ("anonymous", None),
        ("a wrong token", Some("0123456789abcdef")),
    ] {
        let fetched = web.get(&path, token).await?;
        anyhow::ensure!(
            fetched.status == StatusCode::UNAUTHORIZED,
            "{path} for {who} through nginx: {} (401 expected)",
            fetched.status
        );
        anyhow::ensure!(
            !contains(&fetched.body, ATTACHMENT_TEXT),
            "{path} for {who}: the refusal carries the file's content"
        );
        report.check(format!(
            "{path} for {who}: 401 from /auth/, no byte of the file"
        ));
    }
    Ok(())
}

/// With the token: the attachment byte for byte as a download, the image and its thumbnail as
/// PNGs, all read from `media_root` by nginx.
async fn check_served(
    web: &ThroughNginx,
    token: &str,
    attachment: &str,
    image: &str,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let path = format!("/media/{attachment}");
    let fetched = web.get(&path, Some(token)).await?;
    anyhow::ensure!(
        fetched.status == StatusCode::OK && fetched.body == ATTACHMENT_TEXT,
        "{path} with a token through nginx: {} and {} bytes (200 and the uploaded file expected)",
        fetched.status,
        fetched.body.len()
    );
    anyhow::ensure!(
        fetched.disposition.as_deref() == Some("attachment"),
        "{path}: Content-Disposition {:?}, the module's location says attachment",
        fetched.disposition
    );
    report.check(format!(
        "{path} with an API token: 200, the uploaded bytes, Content-Disposition: attachment"
    ));
    let (stem, extension) = image
        .rsplit_once('.')
        .context("the image has no extension")?;
    for file in [image.to_string(), format!("{stem}.thumbnail.{extension}")] {
        let path = format!("/media/{file}");
        let fetched = web.get(&path, Some(token)).await?;
        anyhow::ensure!(
            fetched.status == StatusCode::OK && fetched.body.starts_with(b"\x89PNG"),
            "{path} with a token: {} ({:?}), a PNG expected",
            fetched.status,
            fetched.content_type
        );
        report.check(format!(
            "{path}: 200, a PNG of {} bytes ({})",
            fetched.body.len(),
            fetched.content_type.unwrap_or_default()
        ));
    }
    Ok(())
}

/// The API answers through the `/` location, and static files need no login.
async fn check_passes_api_and_static(
    web: &ThroughNginx,
    token: &str,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let api = web.get("/api/part/", Some(token)).await?;
    let parts: Value = serde_json::from_slice(&api.body).unwrap_or_default();
    anyhow::ensure!(
        api.status == StatusCode::OK && parts.as_array().is_some_and(|p| !p.is_empty()),
        "/api/part/ through nginx: {} ({} bytes)",
        api.status,
        api.body.len()
    );
    report.check("/api/part/ through nginx with the token: 200, the parts listed");
    let favicon = "/static/img/favicon/favicon.ico";
    let fetched = web.get(favicon, None).await?;
    anyhow::ensure!(
        fetched.status == StatusCode::OK && !fetched.body.is_empty(),
        "{favicon} through nginx without login: {}",
        fetched.status
    );
    report.check(format!(
        "{favicon} without login: 200 (static files are public)"
    ));
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
