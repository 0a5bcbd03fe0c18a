//! serde types of what crosses between Rust and `inspect.nix`: the request written as JSON for
//! nix to read, and the per-fixture inspection nix prints on stdout.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What `inspect.nix` reads (`request.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    /// Store path of the nixpkgs every system is evaluated with.
    pub nixpkgs: String,
    pub system: String,
    pub fixtures: Vec<RequestFixture>,
    /// Modules added to every fixture's system (absolute paths).
    #[serde(rename = "extraModules")]
    pub extra_modules: Vec<String>,
    /// Without `tryEval`: a failing fixture aborts with nix's own message (used to re-evaluate
    /// one fixture the batch reported as failing, to get that message).
    pub strict: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestFixture {
    pub name: String,
    pub path: String,
    /// Render units, config, users…; `false` evaluates only assertions and warnings.
    pub render: bool,
}

/// What `inspect.nix` prints.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchOutput {
    #[serde(rename = "sharedPackages")]
    pub shared_packages: bool,
    pub fixtures: Vec<RawInspection>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawInspection {
    pub name: String,
    #[serde(rename = "checksOk")]
    pub checks_ok: bool,
    #[serde(rename = "failedAssertions")]
    pub failed_assertions: Option<Vec<String>>,
    pub warnings: Option<Vec<String>>,
    /// When the checks failed: the type error found in the batch, worded as nix words it.
    #[serde(default)]
    pub diagnosis: Option<String>,
    #[serde(rename = "renderOk")]
    pub render_ok: Option<bool>,
    pub rendered: Option<Rendered>,
}

/// Everything a fixture's system renders for InvenTree.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rendered {
    /// The attrset rendered to config.yaml.
    pub settings: Value,
    /// Every `inventree*` unit by full unit name (`inventree-server.service`, …).
    pub units: BTreeMap<String, Unit>,
    /// The service user and group, and users joining the group.
    pub accounts: Value,
    /// tmpfiles rules concerning InvenTree.
    pub tmpfiles: Vec<String>,
    /// The nginx virtual host, when enabled.
    pub nginx: Option<Value>,
    /// Database and cache servers, firewall ports, admin commands.
    pub services: Value,
    /// `services.inventree.internal`, which the host tier consumes.
    pub internal: Internal,
    /// Scripts the units and admin commands run, by store path (the systemd tier installs them).
    #[serde(default)]
    pub scripts: BTreeMap<String, Script>,
    /// With plugins declared: the Python environment's drvPath, the packages the plugins add and
    /// whether each package of the overrides file is overridden (src/eval/inspect.nix, pluginsOf).
    #[serde(default)]
    pub plugins: Option<Value>,
}

/// A script the module writes to the store (`writeShellScript`, `writeShellScriptBin`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Script {
    pub text: String,
    /// Where the file lies inside the store path (`/bin/inventree-manage`), empty when the store
    /// path is the file itself.
    #[serde(default)]
    pub destination: String,
    #[serde(default)]
    pub executable: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Unit {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(
        rename = "serviceConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub service_config: Option<BTreeMap<String, Value>>,
    /// `[Unit]` settings that are not dependencies: start limits, conditions.
    #[serde(
        rename = "unitConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub unit_config: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub dependencies: BTreeMap<String, Vec<String>>,
    #[serde(rename = "startAt", default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    #[serde(rename = "preStart", default, skip_serializing_if = "Option::is_none")]
    pub pre_start: Option<String>,
    /// The unit file as systemd reads it.
    pub text: String,
}

/// `services.inventree.internal` (docs/ARCHITECTURE.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Internal {
    pub environment: BTreeMap<String, String>,
    pub credentials: BTreeMap<String, String>,
    pub settings: Value,
    pub commands: BTreeMap<String, Vec<String>>,
    #[serde(rename = "configFile")]
    pub config_file: String,
    /// `usersJson`, parsed.
    pub users: Value,
}

/// The result for one fixture.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Inspection {
    pub name: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The system evaluated: its failed assertions, warnings and (when asked) what it renders.
    Evaluated {
        failed_assertions: Vec<String>,
        warnings: Vec<String>,
        rendered: Option<Box<Rendered>>,
        /// Rendering failed although the assertions could be evaluated (nix's message).
        render_error: Option<String>,
    },
    /// The system did not evaluate at all; nix's message (the innermost error).
    Failed { message: String },
}

impl Inspection {
    /// Failed assertions, or the evaluation error, as messages: what an invalid fixture raises.
    pub fn errors(&self) -> Vec<String> {
        match &self.outcome {
            Outcome::Evaluated {
                failed_assertions,
                render_error,
                ..
            } => failed_assertions
                .iter()
                .cloned()
                .chain(render_error.clone())
                .collect(),
            Outcome::Failed { message } => vec![message.clone()],
        }
    }

    pub fn rendered(&self) -> Option<&Rendered> {
        match &self.outcome {
            Outcome::Evaluated { rendered, .. } => rendered.as_deref(),
            Outcome::Failed { .. } => None,
        }
    }

    pub fn warnings(&self) -> &[String] {
        match &self.outcome {
            Outcome::Evaluated { warnings, .. } => warnings,
            Outcome::Failed { .. } => &[],
        }
    }
}
