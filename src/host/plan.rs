//! What the host tier runs: a fixture's `services.inventree.internal` (and its tmpfiles rules),
//! taken from the eval tier's batch evaluation — or, on a machine without Nix, from the plan the
//! eval rendered earlier and committed under `tests/data/host/<fixture>.json`. Every run says
//! which one it used.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::{
    context::Context,
    eval::{
        batch::{self, Target},
        prerequisites::eval_prerequisites,
        types::{Internal, Outcome, Rendered, Script},
    },
};

/// The fixtures the host and systemd tiers run (files `fixtures/valid/<name>.nix`); their plans
/// are recorded under `tests/data/host/` for machines without Nix.
pub const FIXTURES: &[&str] = &[
    "defaults-sqlite",
    "users",
    "postgresql-local",
    "backups",
    "email",
    "redis-cache",
    "plugins",
    "nginx",
    "multi-node",
];

/// One fixture as the host tier needs it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HostPlan {
    pub fixture: String,
    pub internal: Internal,
    /// systemd-tmpfiles lines for InvenTree (`d '<path>' <mode> …`): the directories systemd
    /// would create before setup runs.
    pub tmpfiles: Vec<String>,
    /// What NixOS installs for the units (the systemd tier installs exactly this).
    #[serde(default)]
    pub system: SystemPlan,
    /// The nginx virtual host the module configures (`services.inventree.nginx.enable`), with
    /// its upstreams: the host tier runs it with Debian's nginx (`host::nginx`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nginx: Option<serde_json::Value>,
}

/// The units as NixOS writes them, the accounts it creates and the scripts the units run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SystemPlan {
    /// Full unit name → its file and the units that pull it in.
    pub units: BTreeMap<String, UnitFile>,
    /// `users.users` / `users.groups` of the service user and group (`accounts` of the eval).
    pub accounts: serde_json::Value,
    /// Store path → script (see `eval::types::Script`).
    pub scripts: BTreeMap<String, Script>,
}

/// One unit file and the `.wants`/`.requires` links NixOS makes for it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UnitFile {
    pub text: String,
    #[serde(default)]
    pub wanted_by: Vec<String>,
    #[serde(default)]
    pub required_by: Vec<String>,
}

impl HostPlan {
    /// `LoadCredential=NAME:PATH` entries of every unit: (name, path), each once.
    pub fn load_credentials(&self) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for unit in self.system.units.values() {
            for line in unit.text.lines() {
                let Some(value) = line.strip_prefix("LoadCredential=") else {
                    continue;
                };
                if let Some((name, path)) = value.split_once(':') {
                    let entry = (name.to_string(), path.to_string());
                    if !found.contains(&entry) {
                        found.push(entry);
                    }
                }
            }
        }
        found
    }

    /// `services.inventree.dataDir`, which every path rewrite starts from.
    pub fn data_dir(&self) -> anyhow::Result<&str> {
        self.internal
            .environment
            .get("INVENTREE_DATA_DIR")
            .map(String::as_str)
            .with_context(|| {
                format!(
                    "{}: internal.environment has no INVENTREE_DATA_DIR",
                    self.fixture
                )
            })
    }

    /// The declared users file content (`usersJson`).
    pub fn users(&self) -> anyhow::Result<UsersDeclaration> {
        serde_json::from_value(self.internal.users.clone()).with_context(|| {
            format!(
                "{}: internal users are not the documented JSON",
                self.fixture
            )
        })
    }

    pub fn command(&self, name: &str) -> anyhow::Result<&[String]> {
        self.internal
            .commands
            .get(name)
            .map(Vec::as_slice)
            .with_context(|| format!("{}: internal.commands has no {name}", self.fixture))
    }
}

/// `INVENTREE_USERS_FILE` (docs/ARCHITECTURE.md, "Declared users").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UsersDeclaration {
    #[serde(default = "keep")]
    pub undeclared: String,
    #[serde(default)]
    pub users: BTreeMap<String, DeclaredUser>,
}

fn keep() -> String {
    "keep".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeclaredUser {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub is_superuser: bool,
    #[serde(default)]
    pub is_staff: bool,
    #[serde(default = "yes")]
    pub is_active: bool,
    #[serde(default)]
    pub password_credential: Option<String>,
}

fn yes() -> bool {
    true
}

/// Where the plans came from.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanOrigin {
    /// Evaluated now, in one nix process.
    Evaluated { seconds: f64 },
    /// Read from plans the eval rendered earlier (no Nix or inputs here).
    Recorded { dir: PathBuf, why: String },
}

impl std::fmt::Display for PlanOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanOrigin::Evaluated { seconds } => write!(
                f,
                "plans evaluated from the module now (one nix process, {seconds:.1} s)"
            ),
            PlanOrigin::Recorded { dir, why } => write!(
                f,
                "plans RECORDED earlier from the eval ({}), because the eval tier cannot run here: {why}",
                dir.display()
            ),
        }
    }
}

pub fn recorded_dir(ctx: &Context) -> PathBuf {
    ctx.flake_dir.join("tests/data/host")
}

/// Plans for `fixtures`, evaluated when the eval tier can run, else the recorded ones.
pub async fn load(ctx: &Context, fixtures: &[&str]) -> anyhow::Result<(Vec<HostPlan>, PlanOrigin)> {
    match eval_prerequisites(ctx).await {
        Ok(env) => {
            let started = Instant::now();
            let plans = evaluate(ctx, &env, fixtures).await?;
            Ok((
                plans,
                PlanOrigin::Evaluated {
                    seconds: started.elapsed().as_secs_f64(),
                },
            ))
        }
        Err(skip) => {
            let dir = recorded_dir(ctx);
            let plans = fixtures
                .iter()
                .map(|name| read_recorded(&dir, name))
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok((
                plans,
                PlanOrigin::Recorded {
                    dir,
                    why: skip.reason,
                },
            ))
        }
    }
}

/// Evaluates the fixtures in one nix process and extracts their plans.
pub async fn evaluate(
    ctx: &Context,
    env: &crate::eval::prerequisites::EvalEnv,
    fixtures: &[&str],
) -> anyhow::Result<Vec<HostPlan>> {
    let targets: Vec<Target> = fixtures
        .iter()
        .map(|name| Target {
            name: name.to_string(),
            path: ctx
                .flake_dir
                .join("fixtures/valid")
                .join(format!("{name}.nix")),
            render: true,
        })
        .collect();
    evaluate_targets(ctx, env, &targets).await
}

/// Evaluates module files (fixtures or any `{ ... }: { services.inventree = …; }` file).
pub async fn evaluate_targets(
    ctx: &Context,
    env: &crate::eval::prerequisites::EvalEnv,
    targets: &[Target],
) -> anyhow::Result<Vec<HostPlan>> {
    for target in targets {
        if !target.path.is_file() {
            anyhow::bail!(
                "fixture {} not found at {}",
                target.name,
                target.path.display()
            );
        }
    }
    let result = batch::inspect(ctx, env, targets, &batch::Options::default()).await?;
    result
        .inspections
        .into_iter()
        .map(|inspection| match inspection.outcome {
            Outcome::Evaluated {
                rendered: Some(rendered),
                failed_assertions,
                ..
            } if failed_assertions.is_empty() => Ok(plan_of(inspection.name, *rendered)),
            other => anyhow::bail!(
                "fixture {} did not evaluate to something the host tier can run: {}",
                inspection.name,
                serde_json::to_string(&other).unwrap_or_default()
            ),
        })
        .collect()
}

fn plan_of(fixture: String, rendered: Rendered) -> HostPlan {
    let dependency = |unit: &crate::eval::types::Unit, key: &str| {
        unit.dependencies.get(key).cloned().unwrap_or_default()
    };
    let units = rendered
        .units
        .iter()
        .map(|(name, unit)| {
            let file = UnitFile {
                text: unit.text.clone(),
                wanted_by: dependency(unit, "wantedBy"),
                required_by: dependency(unit, "requiredBy"),
            };
            (name.clone(), file)
        })
        .collect();
    HostPlan {
        fixture,
        internal: rendered.internal,
        tmpfiles: rendered.tmpfiles,
        system: SystemPlan {
            units,
            accounts: rendered.accounts,
            scripts: rendered.scripts,
        },
        nginx: rendered.nginx,
    }
}

pub fn read_recorded(dir: &Path, fixture: &str) -> anyhow::Result<HostPlan> {
    let file = dir.join(format!("{fixture}.json"));
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("reading the recorded plan {}", file.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("parsing the recorded plan {}", file.display()))
}

/// The plan as committed: store hashes replaced by a placeholder (the host tier replaces every
/// store path anyway), pretty JSON with a trailing newline, keys sorted *after* redaction — the
/// scripts are keyed by store path, and sorted by hash their order would change with every
/// change of anything they reference (a runtime file), though nothing recorded did.
pub fn render_recorded(plan: &HostPlan) -> anyhow::Result<String> {
    let json = serde_json::to_string(plan).context("serialising a plan")?;
    let redacted: serde_json::Value = serde_json::from_str(&redact_store_hashes(&json))
        .context("re-reading the redacted plan")?;
    let scripts = redacted["system"]["scripts"]
        .as_object()
        .map_or(0, |scripts| scripts.len());
    anyhow::ensure!(
        scripts == plan.system.scripts.len(),
        "two scripts of {} have the same name once store hashes are redacted",
        plan.fixture
    );
    let pretty = serde_json::to_string_pretty(&redacted).context("serialising a plan")?;
    Ok(format!("{pretty}\n"))
}

pub const REDACTED_HASH: &str = "00000000000000000000000000000000";

/// `/nix/store/<32 base32 chars>-name` → `/nix/store/0000…-name`.
pub fn redact_store_hashes(text: &str) -> String {
    const PREFIX: &str = "/nix/store/";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(PREFIX) {
        let (before, after) = rest.split_at(at + PREFIX.len());
        out.push_str(before);
        let hash_len = after
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            .count();
        if hash_len == 32 {
            out.push_str(REDACTED_HASH);
            rest = &after[32..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_hashes_are_redacted_and_names_kept() {
        assert_eq!(
            redact_store_hashes(
                "\"/nix/store/34banvnfbhg5k8xbc4zf360dgnrmak6d-inventree-config.yaml\" /nix/store/short"
            ),
            format!("\"/nix/store/{REDACTED_HASH}-inventree-config.yaml\" /nix/store/short")
        );
    }

    #[test]
    fn users_declaration_defaults_to_keep_and_active() {
        let decl: UsersDeclaration =
            serde_json::from_str(r#"{"users": {"a": {"email": "a@x"}}}"#).unwrap();
        assert_eq!(decl.undeclared, "keep");
        assert!(decl.users["a"].is_active);
        assert_eq!(decl.users["a"].password_credential, None);
    }
}
