//! What the upgrade drill stores through the API before an upgrade, and how it finds all of it
//! again after: a category, a part with an image (and its thumbnails), a stock item with
//! history, an attachment, a printed label and report, and an undeclared user with a password.
//! (`attach` and `ATTACHMENT_TEXT` serve the media-directory and backup scenarios too.)

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{json, Value};

use crate::{
    printing,
    probe::{self, api::Listing, client::ApiClient, Credentials},
};

/// A 16×16 RGB PNG with correct chunk checksums: Django's ImageField runs Pillow's `verify()` on
/// uploads, and stdimage makes the thumbnail and preview from it.
pub const PART_IMAGE: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x91, 0x68,
    0x36, 0x00, 0x00, 0x00, 0x16, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x38, 0x61, 0xA3, 0x41,
    0x12, 0x62, 0x18, 0xD5, 0x30, 0xAA, 0x61, 0xF8, 0x6A, 0x00, 0x00, 0x1E, 0x04, 0x2C, 0x10, 0x31,
    0xDF, 0x9A, 0xA9, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];
/// What the uploaded attachment holds: the drill, the host tier's media-directory scenario and
/// the systemd tier's backup drill check the file against it.
pub const ATTACHMENT_TEXT: &[u8] = b"datasheet that upgrades, restores and faults must keep\n";
/// The undeclared user the drill makes through the API, and its password.
pub const UNDECLARED_USER: &str = "upgrade-drill-user";
const UNDECLARED_PASSWORD: &str = "drill-password-5f2c9a";

/// The records and files made before the upgrade.
#[derive(Debug, Clone)]
pub struct Stored {
    pub category: u64,
    pub part: u64,
    pub stock: u64,
    pub stock_quantity: f64,
    pub tracking_entries: usize,
    pub attachment: u64,
    /// Files under `media_root`: the part image, its thumbnails, the attachment, the prints.
    pub media_files: Vec<String>,
    /// Every part there was (the drill's and the label's): each must be there after.
    pub parts: Vec<u64>,
}

/// Everything the drill stores; `media_root` is where the instance keeps uploads.
pub async fn store(client: &ApiClient, media_root: &Path) -> anyhow::Result<Stored> {
    let category: Value = client
        .post(
            "/api/part/category/",
            &json!({"name": "Upgrade drill", "description": "made before the upgrade"}),
        )
        .await
        .context("creating the category")?;
    let category = pk(&category, "category")?;
    let part: Value = client
        .post_file(
            "/api/part/",
            &[
                ("name", "upgrade drill resistor".into()),
                ("description", "10k, made before the upgrade".into()),
                ("category", category.to_string()),
                ("component", "true".into()),
            ],
            "image",
            "resistor.png",
            PART_IMAGE.to_vec(),
        )
        .await
        .context("creating the part with an image")?;
    let part_pk = pk(&part, "part")?;
    let mut media_files = image_files(&part, media_root)?;
    let (stock, stock_quantity) = stock_with_history(client, part_pk).await?;
    let (attachment, attachment_file) = attach(client, part_pk).await?;
    media_files.push(attachment_file);
    for printed in printing::print_label_and_report(client, "upgrade-drill").await? {
        media_files.push(printed.media_path);
    }
    make_undeclared_user(client).await?;
    Ok(Stored {
        category,
        part: part_pk,
        stock,
        stock_quantity,
        tracking_entries: tracking_entries(client, stock).await?,
        attachment,
        media_files,
        parts: part_pks(client).await?,
    })
}

/// The part image and the thumbnail and preview stdimage made of it, as `media_root` paths.
fn image_files(part: &Value, media_root: &Path) -> anyhow::Result<Vec<String>> {
    let image = part["image"]
        .as_str()
        .filter(|url| !url.is_empty())
        .context("the part came back without its image")?;
    let image = printing::media_path(image)?;
    let (stem, extension) = image
        .rsplit_once('.')
        .with_context(|| format!("the image {image} has no extension"))?;
    let files = vec![
        image.clone(),
        format!("{stem}.thumbnail.{extension}"),
        format!("{stem}.preview.{extension}"),
    ];
    for file in &files {
        anyhow::ensure!(
            media_root.join(file).is_file(),
            "{file} is not in media_root ({}) after the upload",
            media_root.display()
        );
    }
    Ok(files)
}

/// A new stock item of `part` holding `quantity`: its pk. (`POST /api/stock/` answers the list
/// of items it made.)
pub async fn stock_item(client: &ApiClient, part: u64, quantity: u32) -> anyhow::Result<u64> {
    let created: Listing<Value> = client
        .post("/api/stock/", &json!({"part": part, "quantity": quantity}))
        .await
        .context("creating the stock item")?;
    created
        .into_items()
        .first()
        .and_then(|item| item["pk"].as_u64())
        .context("POST /api/stock/ made no stock item")
}

/// A stock item of 10, then 5 added: two tracking entries.
async fn stock_with_history(client: &ApiClient, part: u64) -> anyhow::Result<(u64, f64)> {
    let stock = stock_item(client, part, 10).await?;
    let _: Value = client
        .post(
            "/api/stock/add/",
            &json!({"items": [{"pk": stock, "quantity": 5}], "notes": "counted before the upgrade"}),
        )
        .await
        .context("adding stock (a tracking entry)")?;
    Ok((stock, 15.0))
}

/// An attachment (`ATTACHMENT_TEXT`) uploaded to `part`: its pk and its file under `media_root`.
pub async fn attach(client: &ApiClient, part: u64) -> anyhow::Result<(u64, String)> {
    let attachment: Value = client
        .post_file(
            "/api/attachment/",
            &[
                ("model_type", "part".into()),
                ("model_id", part.to_string()),
                ("comment", "upgrade drill".into()),
            ],
            "attachment",
            "datasheet.txt",
            ATTACHMENT_TEXT.to_vec(),
        )
        .await
        .context("uploading the attachment")?;
    let url = attachment["attachment"]
        .as_str()
        .context("the attachment has no file URL")?;
    Ok((pk(&attachment, "attachment")?, printing::media_path(url)?))
}

/// A user made through the API as an admin does: created (InvenTree gives it an unusable
/// password, `POST /api/user/` ignores one), then a password set by the superuser
/// (`PUT /api/user/<pk>/set-password/`).
async fn make_undeclared_user(client: &ApiClient) -> anyhow::Result<()> {
    let user: Value = client
        .post(
            "/api/user/",
            &json!({
                "username": UNDECLARED_USER,
                "email": "drill@example.org",
                "first_name": "Upgrade",
                "last_name": "Drill",
                "is_active": true,
            }),
        )
        .await
        .context("creating an undeclared user through the API")?;
    let pk = pk(&user, "user")?;
    let _: Value = client
        .put(
            &format!("/api/user/{pk}/set-password/"),
            &json!({"password": UNDECLARED_PASSWORD, "override_warning": true}),
        )
        .await
        .context("setting the undeclared user's password through the API")?;
    Ok(())
}

/// The undeclared user's credentials.
pub fn undeclared_credentials() -> Credentials {
    Credentials::Password {
        username: UNDECLARED_USER.into(),
        password: UNDECLARED_PASSWORD.into(),
    }
}

async fn tracking_entries(client: &ApiClient, stock: u64) -> anyhow::Result<usize> {
    count(client, &format!("/api/stock/track/?item={stock}")).await
}

async fn part_pks(client: &ApiClient) -> anyhow::Result<Vec<u64>> {
    let listing: Listing<Value> = client.get("/api/part/").await.context("GET /api/part/")?;
    Ok(listing
        .into_items()
        .iter()
        .filter_map(|part| part["pk"].as_u64())
        .collect())
}

async fn count(client: &ApiClient, path: &str) -> anyhow::Result<usize> {
    let listing: Listing<Value> = client
        .get(path)
        .await
        .with_context(|| format!("GET {path}"))?;
    Ok(listing.into_items().len())
}

fn pk(record: &Value, what: &str) -> anyhow::Result<u64> {
    record["pk"]
        .as_u64()
        .with_context(|| format!("the new {what} has no pk: {record}"))
}

/// Everything stored is there after the upgrade, through the API and on disk; the lines say
/// what was found.
pub async fn find_again(
    client: &ApiClient,
    media_root: &Path,
    stored: &Stored,
) -> anyhow::Result<Vec<String>> {
    let get = |path: String| async move {
        client
            .get::<Value>(&path)
            .await
            .with_context(|| format!("GET {path} after the upgrade"))
    };
    let part = get(format!("/api/part/{}/", stored.part)).await?;
    anyhow::ensure!(
        part["category"].as_u64() == Some(stored.category),
        "the part lost its category {}: {part}",
        stored.category
    );
    let stock = get(format!("/api/stock/{}/", stored.stock)).await?;
    let quantity = stock["quantity"].as_f64().unwrap_or(f64::NAN);
    anyhow::ensure!(
        quantity == stored.stock_quantity,
        "stock item {} holds {quantity}, not {}",
        stored.stock,
        stored.stock_quantity
    );
    get(format!("/api/attachment/{}/", stored.attachment)).await?;
    let tracking = tracking_entries(client, stored.stock).await?;
    anyhow::ensure!(
        tracking == stored.tracking_entries,
        "after the upgrade: {tracking} tracking entries of stock item {}, were {}",
        stored.stock,
        stored.tracking_entries
    );
    // The probe adds a part of its own after the upgrade: every earlier one must be there.
    let parts = part_pks(client).await?;
    let lost: Vec<&u64> = stored
        .parts
        .iter()
        .filter(|pk| !parts.contains(pk))
        .collect();
    anyhow::ensure!(lost.is_empty(), "parts gone after the upgrade: {lost:?}");
    let missing: Vec<PathBuf> = stored
        .media_files
        .iter()
        .map(|f| media_root.join(f))
        .filter(|f| !f.is_file())
        .collect();
    anyhow::ensure!(missing.is_empty(), "media files gone: {missing:?}");
    let attachment = stored
        .media_files
        .iter()
        .find(|f| f.ends_with(".txt"))
        .map(|f| std::fs::read(media_root.join(f)).unwrap_or_default());
    anyhow::ensure!(
        attachment.as_deref() == Some(ATTACHMENT_TEXT),
        "the attachment's file changed"
    );
    Ok(vec![
        format!(
            "category {}, part {} in it, stock item {} holding {quantity} with {tracking} tracking entries, attachment {}; all {} parts of before",
            stored.category, stored.part, stored.stock, stored.attachment, stored.parts.len()
        ),
        format!(
            "{} media files still in media_root: {}",
            stored.media_files.len(),
            stored.media_files.join(", ")
        ),
    ])
}

/// A token for `credentials` (a login that works), or the API's refusal.
pub async fn logs_in(client: &ApiClient, credentials: &Credentials) -> anyhow::Result<()> {
    probe::auth::authenticate(client, credentials, "upgrade-drill")
        .await
        .map(drop)
        .map_err(|e| anyhow::anyhow!("{e}"))
}
