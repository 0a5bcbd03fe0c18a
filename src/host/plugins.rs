//! Plugins, host tier: the `plugins` fixture (the KiCad library plugin from PyPI, declared in a
//! uv workspace and listed in `activePlugins`). Its packages join the interpreter as
//! `pkgs/python.nix` joins them to the Nix environment (`plugin_site`), then setup — from the
//! migrated template, as an upgrade to plugins would run — activates the plugin and applies its
//! own migrations; the plugin is listed active in `/api/plugins/` and its own API works on its own
//! tables: a part category selected for KiCad through the plugin, then KiCad's HTTP library view
//! of it listing the category and its part. A declared plugin that cannot be imported stops setup
//! with a message naming it and the import error.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{json, Value};

use super::{
    instance::Instance,
    plan::HostPlan,
    plugin_site,
    prerequisites::HostEnv,
    scenarios::{healthy, teardown, token_client, ScenarioReport, Template},
};
use crate::probe::client::ApiClient;

/// The slug `activePlugins` names in the fixture.
pub const KICAD_SLUG: &str = "kicad-library-plugin";

/// The setting `pluginSettings` declares in the fixture.
pub const DECLARED_SETTING: &str = "KICAD_ENABLE_STOCK_COUNT";

/// The fixture's plugin workspace (`fixtures/valid/plugins.nix` names it).
pub fn workspace(flake_dir: &Path) -> PathBuf {
    flake_dir.join("fixtures/plugin-workspaces/kicad")
}

pub async fn plugins(
    host: &HostEnv,
    plan: &HostPlan,
    template: &Template,
    workspace: &Path,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("plugins");
    let site = plugin_site::prepare(&host.python, workspace).await?;
    let mut instance = Instance::create(host, plan)?;
    instance.python_path.push(site);
    instance.copy_template(template).await?;
    let setup = instance.setup_ok().await?;
    report.figure("setup: plugin activated and migrated", setup.elapsed);
    check_setup_activated(&setup.output, "setup's output")?;
    report.check(format!(
        "setup activated {KICAD_SLUG} and applied its migrations (inventree_kicad 0001…)"
    ));
    let credentials = instance.probe_credentials().await?;
    instance.start()?;
    healthy(&mut instance, &credentials).await?;
    let client = token_client(&instance, &credentials).await?;
    check_listed_active(&client, &mut report).await?;
    check_declared_setting(&client, &mut report).await?;
    check_kicad_library(&client, &mut report).await?;
    teardown(&mut instance, &mut report).await?;
    check_broken_plugin_stops_setup(&mut instance, &mut report).await?;
    Ok(report)
}

/// Setup's output (or journal, `where_`) says it activated the plugin and applied its migrations.
pub fn check_setup_activated(output: &str, where_: &str) -> anyhow::Result<()> {
    for line in [
        format!("plugins: active {KICAD_SLUG}"),
        "Applying inventree_kicad.0001_initial... OK".to_string(),
    ] {
        anyhow::ensure!(
            output.contains(&line),
            "{where_} does not say {line:?}:\n{}",
            crate::util::tail(output, 40)
        );
    }
    Ok(())
}

/// `/api/plugins/` lists the plugin active and mandatory (declared, not clicked).
pub async fn check_listed_active(
    client: &ApiClient,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let listed: Value = client
        .get("/api/plugins/?active=true")
        .await
        .context("GET /api/plugins/")?;
    let entries = listed.get("results").unwrap_or(&listed);
    let plugin = entries
        .as_array()
        .and_then(|all| all.iter().find(|p| p["key"] == KICAD_SLUG))
        .with_context(|| format!("{KICAD_SLUG} is not among the active plugins: {listed}"))?;
    anyhow::ensure!(
        plugin["active"] == true && plugin["is_mandatory"] == true,
        "{KICAD_SLUG} is listed but not active and mandatory: {plugin}"
    );
    report.check(format!(
        "/api/plugins/: {KICAD_SLUG} active, mandatory (no click in the admin UI)"
    ));
    Ok(())
}

/// The fixture's declared setting (`pluginSettings`), off by default in the plugin, reads as set.
pub async fn check_declared_setting(
    client: &ApiClient,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let path = format!("/api/plugins/{KICAD_SLUG}/settings/{DECLARED_SETTING}/");
    let setting: Value = client
        .get(&path)
        .await
        .with_context(|| format!("GET {path}"))?;
    anyhow::ensure!(
        setting["value"] == true
            || setting["value"]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        "the declared setting {DECLARED_SETTING} is not on: {setting}"
    );
    report.check(format!(
        "{path}: {} (declared in pluginSettings; the plugin's default is off)",
        setting["value"]
    ));
    Ok(())
}

/// The plugin's own API on its own tables: select a category for KiCad, then read it back
/// through KiCad's HTTP library endpoints.
pub async fn check_kicad_library(
    client: &ApiClient,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let category: Value = client
        .post(
            "/api/part/category/",
            &json!({"name": "Resistors", "description": "host tier"}),
        )
        .await
        .context("creating a part category")?;
    let category_pk = category["pk"]
        .as_i64()
        .context("the new category has no pk")?;
    let part_name = "R 10k 0603";
    let _part: Value = client
        .post(
            "/api/part/",
            &json!({"name": part_name, "description": "resistor", "category": category_pk}),
        )
        .await
        .context("creating a part in the category")?;
    let plugin = format!("/plugin/{KICAD_SLUG}");
    let selected: Value = client
        .post(
            &format!("{plugin}/api/category/"),
            &json!({"category": category_pk, "default_symbol": "Device:R", "default_reference": "R"}),
        )
        .await
        .context("selecting the category for KiCad through the plugin's API")?;
    anyhow::ensure!(
        selected["default_symbol"] == "Device:R",
        "the plugin did not store the selection: {selected}"
    );
    let categories: Value = client
        .get(&format!("{plugin}/v1/categories/"))
        .await
        .context("KiCad's category list")?;
    anyhow::ensure!(
        categories
            .as_array()
            .is_some_and(|all| all.iter().any(|c| c["name"] == "Resistors"
                && c["id"].as_str() == Some(category_pk.to_string().as_str()))),
        "KiCad's category list lacks the selected category: {categories}"
    );
    let parts: Value = client
        .get(&format!("{plugin}/v1/parts/category/{category_pk}.json"))
        .await
        .context("KiCad's part list of the category")?;
    anyhow::ensure!(
        parts
            .as_array()
            .is_some_and(|all| all.iter().any(|p| p["name"] == part_name)),
        "KiCad's part list lacks {part_name:?}: {parts}"
    );
    report.check(format!(
        "plugin API: category selected for KiCad (symbol Device:R) in the plugin's own table; {plugin}/v1/categories/ lists it and its part list shows {part_name:?}"
    ));
    Ok(())
}

/// A declared plugin whose module fails to import: setup stops, naming it and the error.
async fn check_broken_plugin_stops_setup(
    instance: &mut Instance,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let broken = write_broken_plugin(&instance.layout.root.join("broken-plugin"))?;
    instance.python_path.push(broken);
    declare_active(&instance.layout.config_source, "broken-plugin")?;
    let setup = instance.setup().await?;
    anyhow::ensure!(
        !setup.success,
        "setup passed with a plugin that cannot be imported"
    );
    for needle in [
        "declared plugin(s) did not load: broken-plugin",
        "broken_plugin",
        "missing_dependency_of_the_broken_plugin",
    ] {
        anyhow::ensure!(
            setup.output.contains(needle),
            "setup's failure does not say {needle:?}:\n{}",
            crate::util::tail(&setup.output, 30)
        );
    }
    let message = setup
        .output
        .lines()
        .find(|l| l.contains("did not load"))
        .unwrap_or_default();
    report.check(format!(
        "a declared plugin that fails to import stops setup, naming it, its module and the error: {message}"
    ));
    Ok(())
}

/// An installed plugin package (entry point `inventree_plugins`) whose import fails.
fn write_broken_plugin(site: &Path) -> anyhow::Result<PathBuf> {
    let package = site.join("broken_plugin");
    let dist_info = site.join("broken_plugin-0.1.dist-info");
    for dir in [&package, &dist_info] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let files = [
        (
            package.join("__init__.py"),
            "import missing_dependency_of_the_broken_plugin\n",
        ),
        (
            dist_info.join("METADATA"),
            "Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n",
        ),
        (
            dist_info.join("entry_points.txt"),
            "[inventree_plugins]\nBrokenPlugin = broken_plugin:BrokenPlugin\n",
        ),
    ];
    for (file, text) in files {
        std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
    }
    Ok(site.to_path_buf())
}

/// Adds `slug` to `plugins_mandatory` of the instance's config source (JSON, as the module
/// renders it), as `activePlugins = [ … slug ]` would.
fn declare_active(config_source: &Path, slug: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(config_source)
        .with_context(|| format!("reading {}", config_source.display()))?;
    let mut config: Value = serde_json::from_str(&text)
        .with_context(|| format!("parsing {}", config_source.display()))?;
    let mandatory = config["plugins_mandatory"]
        .as_array_mut()
        .context("the fixture declares no active plugins")?;
    mandatory.push(json!(slug));
    std::fs::write(config_source, serde_json::to_string(&config)?)
        .with_context(|| format!("writing {}", config_source.display()))
}
