//! Label and report printing through the API, the way the web UI prints: a part label
//! (`POST /api/label/print/`, the built-in `inventreelabel` plugin) and a stock item's test report
//! (`POST /api/report/print/`). InvenTree hands both to the background worker, which renders the
//! PDF with WeasyPrint (Pango + fontconfig) into `media_root/data_output/`; the output record
//! (`/api/data-output/<pk>/`) says when it is complete. The tiers read the file from the media
//! root and check its text ([`pdf_text`]): a PDF rendered without fonts has none.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use serde::Deserialize;

use crate::{
    probe::{
        api::{Listing, Part},
        client::ApiClient,
    },
    process::{self, Spec},
};

/// How long the worker may take to render one document (a cold WeasyPrint, fonts scanned once).
pub const RENDER_BUDGET: Duration = Duration::from_secs(180);

/// `GET /api/label/template/` and `/api/report/template/`, the fields used here.
#[derive(Debug, Clone, Deserialize)]
pub struct Template {
    pub pk: u64,
    pub name: String,
    #[serde(default)]
    pub enabled: bool,
}

/// `/api/data-output/<pk>/` and the answer to a print request.
#[derive(Debug, Clone, Deserialize)]
pub struct DataOutput {
    pub pk: u64,
    pub complete: bool,
    /// The file's URL (`/media/data_output/….pdf`), once complete.
    pub output: Option<String>,
    #[serde(default)]
    pub errors: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
struct StockItem {
    pk: u64,
}

/// What was printed, and the text it must hold.
#[derive(Debug, Clone)]
pub struct Printed {
    /// "part label" or "stock item report".
    pub what: &'static str,
    pub template: String,
    /// The file under `media_root`, e.g. `data_output/part_label_….pdf`.
    pub media_path: String,
    /// Text the document must show: the part's name (and for the report the stock item's id).
    pub expected: Vec<String>,
    /// From the print request to the output record saying complete.
    pub elapsed: Duration,
}

/// Makes a part and a stock item of it, then prints the part's label and the item's test
/// report with InvenTree's default templates; waits for both to complete.
pub async fn print_label_and_report(client: &ApiClient, tag: &str) -> anyhow::Result<Vec<Printed>> {
    let name = format!("Printed resistor {tag}");
    let part: Part = client
        .post(
            "/api/part/",
            &serde_json::json!({"name": name, "description": "printed by the harness", "component": true}),
        )
        .await
        .context("creating the part to print")?;
    // `POST /api/stock/` answers the list of items it made (one here).
    let items: Listing<StockItem> = client
        .post(
            "/api/stock/",
            &serde_json::json!({"part": part.pk, "quantity": 7}),
        )
        .await
        .context("creating the stock item to print")?;
    let item = items
        .into_items()
        .into_iter()
        .next()
        .context("POST /api/stock/ made no stock item")?;

    let label = template(client, "label", "part").await?;
    let label_output: DataOutput = client
        .post(
            "/api/label/print/",
            &serde_json::json!({"template": label.pk, "items": [part.pk]}),
        )
        .await
        .with_context(|| format!("printing the label template {:?}", label.name))?;
    let label_printed = wait_complete(client, label_output, "part label", &label.name).await?;

    let report = template(client, "report", "stockitem").await?;
    let report_output: DataOutput = client
        .post(
            "/api/report/print/",
            &serde_json::json!({"template": report.pk, "items": [item.pk]}),
        )
        .await
        .with_context(|| format!("printing the report template {:?}", report.name))?;
    let report_printed =
        wait_complete(client, report_output, "stock item report", &report.name).await?;

    Ok(vec![
        Printed {
            expected: vec![name.clone()],
            ..label_printed
        },
        Printed {
            expected: vec![name, format!("Stock Item ID: {}", item.pk)],
            ..report_printed
        },
    ])
}

/// The first enabled template of `kind` ("label" or "report") for `model_type`; InvenTree
/// installs its defaults when the server first starts.
async fn template(client: &ApiClient, kind: &str, model_type: &str) -> anyhow::Result<Template> {
    let path = format!("/api/{kind}/template/?model_type={model_type}&enabled=true");
    let listing: Listing<Template> = client
        .get(&path)
        .await
        .with_context(|| format!("listing {kind} templates"))?;
    listing
        .into_items()
        .into_iter()
        .find(|t| t.enabled)
        .with_context(|| {
            format!("GET {path}: no enabled {kind} template for {model_type} (InvenTree's defaults were not installed)")
        })
}

/// Polls the output record until the worker marks it complete (or reports errors).
async fn wait_complete(
    client: &ApiClient,
    first: DataOutput,
    what: &'static str,
    template: &str,
) -> anyhow::Result<Printed> {
    let started = Instant::now();
    let mut output = first;
    loop {
        if let Some(errors) = output.errors.as_ref().filter(|e| !e.is_null()) {
            anyhow::bail!("printing the {what} ({template:?}) failed: {errors}");
        }
        if output.complete {
            let url = output.output.as_deref().with_context(|| {
                format!("the {what} output {} is complete without a file", output.pk)
            })?;
            return Ok(Printed {
                what,
                template: template.to_string(),
                media_path: media_path(url)?,
                expected: Vec::new(),
                elapsed: started.elapsed(),
            });
        }
        anyhow::ensure!(
            started.elapsed() < RENDER_BUDGET,
            "the {what} ({template:?}) was not rendered within {RENDER_BUDGET:?}: is the worker running?"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        output = client
            .get(&format!("/api/data-output/{}/", output.pk))
            .await
            .with_context(|| format!("reading the {what} output {}", output.pk))?;
    }
}

/// `/media/data_output/x.pdf` or `http://host/media/data_output/x.pdf` → `data_output/x.pdf`.
pub fn media_path(url: &str) -> anyhow::Result<String> {
    let (_, rest) = url
        .split_once("/media/")
        .with_context(|| format!("the output URL {url:?} is not under /media/"))?;
    anyhow::ensure!(
        !rest.is_empty() && !rest.split('/').any(|part| part == ".."),
        "the output URL {url:?} names no file under the media root"
    );
    Ok(rest.to_string())
}

/// Extracts a PDF's text with pypdf, run by `python` (InvenTree's environment, which has it:
/// WeasyPrint depends on it).
pub async fn pdf_text(python: &Path, pdf: &Path) -> anyhow::Result<String> {
    const EXTRACT: &str = "import sys, pypdf\n\
        r = pypdf.PdfReader(sys.argv[1])\n\
        print('\\n'.join(p.extract_text() or '' for p in r.pages))";
    let spec = Spec::new(python)
        .name("pdf-text")
        .args(["-c", EXTRACT])
        .arg(pdf.display().to_string());
    let finished = process::run(&spec, Duration::from_secs(60))
        .await
        .with_context(|| format!("reading the text of {}", pdf.display()))?
        .require_success()?;
    Ok(finished.stdout)
}

/// Checks the printed file under `media_root`: a PDF holding every expected text.
pub async fn check_pdf(
    python: &Path,
    media_root: &Path,
    printed: &Printed,
) -> anyhow::Result<PathBuf> {
    let file = media_root.join(&printed.media_path);
    let bytes = std::fs::read(&file)
        .with_context(|| format!("reading the printed {} {}", printed.what, file.display()))?;
    anyhow::ensure!(
        bytes.starts_with(b"%PDF-"),
        "the printed {} {} is not a PDF",
        printed.what,
        file.display()
    );
    let text = pdf_text(python, &file).await?;
    let normalised = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Compared without whitespace: a label breaks lines where the name does not fit.
    let unspaced = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    for expected in &printed.expected {
        anyhow::ensure!(
            unspaced(&text).contains(&unspaced(expected)),
            "the printed {} ({}) does not show {expected:?}; its text is {:?} (no fonts for the renderer?)",
            printed.what,
            file.display(),
            crate::util::truncate(&normalised, 400)
        );
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("/media/data_output/part_label.pdf", "data_output/part_label.pdf")]
    #[case("http://127.0.0.1:8000/media/data_output/r.pdf", "data_output/r.pdf")]
    fn media_path_is_the_part_after_media(#[case] url: &str, #[case] expected: &str) {
        assert_eq!(media_path(url).unwrap(), expected);
    }

    #[rstest]
    #[case("/static/x.pdf")]
    #[case("/media/")]
    #[case("/media/../secret_key.txt")]
    fn media_path_refuses_what_is_not_a_file_under_media(#[case] url: &str) {
        assert!(media_path(url).is_err());
    }
}
