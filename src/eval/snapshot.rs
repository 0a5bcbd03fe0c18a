//! What a fixture's snapshot shows, and how it is written: one YAML document per fixture with
//! config.yaml as YAML, every unit (settings, dependencies, environment beyond the shared one),
//! users, tmpfiles, nginx, database/cache servers and the shared internal values; store hashes
//! redacted.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{
    redact::redact_value,
    types::{Inspection, Unit},
};

/// The structured view of one inspection (unredacted).
pub fn view(inspection: &Inspection) -> Value {
    let mut doc = Map::new();
    doc.insert("fixture".into(), json!(inspection.name));
    let errors = inspection.errors();
    if !errors.is_empty() {
        doc.insert("errors".into(), json!(errors));
    }
    doc.insert("warnings".into(), json!(inspection.warnings()));
    if let Some(r) = inspection.rendered() {
        doc.insert("config.yaml".into(), r.settings.clone());
        let units: Map<String, Value> = r
            .units
            .iter()
            .map(|(name, unit)| (name.clone(), unit_view(unit, &r.internal.environment)))
            .collect();
        doc.insert("units".into(), Value::Object(units));
        doc.insert("accounts".into(), r.accounts.clone());
        doc.insert("tmpfiles".into(), json!(r.tmpfiles));
        if let Some(nginx) = &r.nginx {
            doc.insert("nginx".into(), nginx.clone());
        }
        doc.insert("services".into(), r.services.clone());
        doc.insert(
            "internal".into(),
            json!({
                "environment": r.internal.environment,
                "credentials": r.internal.credentials,
                "commands": r.internal.commands,
                "configFile": r.internal.config_file,
                "users": r.internal.users,
            }),
        );
    }
    Value::Object(doc)
}

/// One unit's settings, leaving out what is empty; its environment only as it differs from
/// `shared_env`.
fn unit_view(unit: &Unit, shared_env: &BTreeMap<String, String>) -> Value {
    let mut u = Map::new();
    if let Some(d) = &unit.description {
        u.insert("description".into(), json!(d));
    }
    if !unit.dependencies.is_empty() {
        u.insert("dependencies".into(), json!(unit.dependencies));
    }
    if let Some(env) = &unit.environment {
        insert_environment_difference(&mut u, env, shared_env);
    }
    if let Some(uc) = unit.unit_config.as_ref().filter(|c| !c.is_empty()) {
        u.insert("unitConfig".into(), json!(uc));
    }
    if let Some(sc) = &unit.service_config {
        u.insert("serviceConfig".into(), json!(sc));
    }
    if let Some(at) = unit.start_at.as_ref().filter(|a| !a.is_empty()) {
        u.insert("startAt".into(), json!(at));
    }
    for (key, value) in [("script", &unit.script), ("preStart", &unit.pre_start)] {
        if let Some(text) = value.as_ref().filter(|t| !t.trim().is_empty()) {
            u.insert(key.into(), json!(text));
        }
    }
    if unit.kind != "service" {
        u.insert("text".into(), json!(unit.text));
    }
    Value::Object(u)
}

/// The shared environment is shown once (internal.environment); a unit shows only what it adds
/// or changes, and which shared variables it lacks.
fn insert_environment_difference(
    u: &mut Map<String, Value>,
    env: &BTreeMap<String, String>,
    shared_env: &BTreeMap<String, String>,
) {
    let own: Map<String, Value> = env
        .iter()
        .filter(|(k, v)| shared_env.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let missing: Vec<&String> = shared_env
        .keys()
        .filter(|k| !env.contains_key(*k))
        .collect();
    if !own.is_empty() {
        u.insert(
            "environment (beyond internal.environment)".into(),
            Value::Object(own),
        );
    }
    if !missing.is_empty() {
        u.insert("environment lacks".into(), json!(missing));
    }
}

/// The snapshot text: the view, store hashes redacted, as YAML.
pub fn snapshot_text(inspection: &Inspection) -> String {
    to_yaml(&redact_value(&view(inspection)))
}

pub fn to_yaml(value: &Value) -> String {
    // serde_json values always serialise to YAML; an error here would be a serde_norway bug.
    serde_norway::to_string(value).unwrap_or_else(|e| format!("# YAML rendering failed: {e}\n"))
}

/// The content of an accepted insta snapshot file (`snapshots/<name>.snap`): everything after
/// the metadata header, or `None` when the file has no header.
pub fn snap_file_content(file_text: &str) -> Option<&str> {
    let rest = file_text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    Some(&rest[end + "\n---\n".len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::types::Outcome;

    #[test]
    fn insta_header_is_stripped_from_snapshot_files() {
        let file = "---\nsource: tests/eval.rs\nexpression: text\n---\nfixture: valid/x\n";
        assert_eq!(snap_file_content(file), Some("fixture: valid/x\n"));
        assert_eq!(snap_file_content("no header"), None);
    }

    #[test]
    fn failed_fixture_view_lists_its_error() {
        let inspection = Inspection {
            name: "invalid/x".into(),
            outcome: Outcome::Failed {
                message: "boom".into(),
            },
        };
        assert_eq!(
            snapshot_text(&inspection),
            "errors:\n- boom\nfixture: invalid/x\nwarnings: []\n"
        );
    }
}
