//! The eval tier: every fixture evaluated in a real NixOS system, in ONE nix process shared by the
//! tests below. Skips (passing, naming the missing prerequisite) without Nix or the flake inputs.
//!
//! Snapshots live in `snapshots/`; after an intended change run `cargo insta test --review` (or
//! `INSTA_UPDATE=always cargo test --test eval` and review the diff with git).

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::OnceLock,
};

use inventree_harness::{
    context::Context,
    eval::{
        self, fixtures::Kind, instantiate, run_suite, security, snapshot::snapshot_text, Suite,
    },
    require,
    tiers::{Skip, Tier},
};

/// The suite, evaluated once for all tests of this file.
fn suite() -> Result<&'static Suite, Skip> {
    static SUITE: OnceLock<Result<Suite, Skip>> = OnceLock::new();
    SUITE
        .get_or_init(|| {
            let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
            runtime.block_on(async {
                let ctx = Context::for_tests().expect("harness context");
                let env = eval::eval_prerequisites(&ctx).await?;
                match run_suite(&ctx, &env, false).await {
                    Ok(suite) => {
                        eprintln!(
                            "eval tier: {} fixtures in {} nix process(es), {:.1}s",
                            suite.fixtures.len(),
                            suite.batch.processes,
                            suite.batch.elapsed.as_secs_f64()
                        );
                        Ok(suite)
                    }
                    // Prerequisites were present, so this is a failure, not a skip.
                    Err(err) => panic!("evaluating the fixtures failed: {err:#}"),
                }
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

#[test]
fn there_are_enough_fixtures_to_cover_the_option_space() {
    let ctx = Context::for_tests().unwrap();
    let all = eval::fixtures::discover(&eval::fixtures_dir(&ctx)).unwrap();
    let count = |kind| all.iter().filter(|f| f.kind == kind).count();
    let (valid, invalid, warning) = (
        count(Kind::Valid),
        count(Kind::Invalid),
        count(Kind::Warning),
    );
    assert!(valid >= 12, "only {valid} valid fixtures");
    assert!(invalid >= 20, "only {invalid} invalid fixtures");
    assert!(warning >= 10, "only {warning} warning fixtures");
}

#[test]
fn valid_fixtures_evaluate_without_errors() {
    let suite = require!(suite());
    let problems = suite.valid_problems();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn invalid_fixtures_raise_their_messages() {
    let suite = require!(suite());
    let problems = suite.invalid_problems();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every warning fixture at once: it evaluates without failed assertion, and its warnings contain
/// the text of its `.expected` file.
#[test]
fn warning_fixtures_evaluate_and_give_their_warnings() {
    let suite = require!(suite());
    let problems = suite.warning_problems();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn valid_fixtures_match_their_snapshots() {
    let suite = require!(suite());
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let mut mismatched = Vec::new();
    settings.bind(|| {
        for (fixture, inspection) in suite.pairs().filter(|(f, _)| f.kind == Kind::Valid) {
            let name = format!("eval__{}", fixture.snapshot_name());
            let text = snapshot_text(inspection);
            // Check every fixture, not just up to the first mismatch.
            if catch_unwind(AssertUnwindSafe(|| insta::assert_snapshot!(name, text))).is_err() {
                mismatched.push(fixture.name.clone());
            }
        }
    });
    assert!(
        mismatched.is_empty(),
        "snapshots differ for {mismatched:?}; review with `cargo insta review`"
    );
}

/// Every rendered unit of every valid fixture, as (fixture, unit name, unit).
fn rendered_units(suite: &Suite) -> Vec<(&str, &str, &eval::types::Unit)> {
    suite
        .inspections
        .iter()
        .filter_map(|i| i.rendered().map(|r| (i.name.as_str(), r)))
        .flat_map(|(fixture, r)| {
            r.units
                .iter()
                .map(move |(name, unit)| (fixture, name.as_str(), unit))
        })
        .collect()
}

fn depends(unit: &eval::types::Unit, kind: &str, on: &str) -> bool {
    unit.dependencies
        .get(kind)
        .is_some_and(|units| units.iter().any(|u| u == on))
}

fn setting(
    settings: &Option<std::collections::BTreeMap<String, serde_json::Value>>,
    key: &str,
) -> String {
    settings
        .as_ref()
        .and_then(|s| s.get(key))
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// docs/nixos.md, "Recovery without a human": Requires= would make one failed setup terminal.
#[test]
fn server_and_worker_want_setup_check_it_before_starting_and_restart_bounded() {
    let suite = require!(suite());
    let setup = "inventree-setup.service";
    let mut problems = Vec::new();
    for (fixture, name, unit) in rendered_units(suite) {
        if !matches!(
            name,
            "inventree-server.service" | "inventree-cluster.service"
        ) {
            continue;
        }
        let checks = [
            ("Wants= setup", depends(unit, "wants", setup)),
            ("no Requires= setup", !depends(unit, "requires", setup)),
            ("After= setup", depends(unit, "after", setup)),
            (
                "ExecStartPre= setup-check",
                setting(&unit.service_config, "ExecStartPre").contains("inventree-setup-check"),
            ),
            (
                "Restart=on-failure",
                setting(&unit.service_config, "Restart") == "\"on-failure\"",
            ),
            (
                "StartLimitBurst=",
                !setting(&unit.unit_config, "StartLimitBurst").is_empty(),
            ),
        ];
        for (what, ok) in checks {
            if !ok {
                problems.push(format!("{fixture}: {name} lacks {what}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn backup_never_pulls_setup_in_and_waits_for_its_state() {
    let suite = require!(suite());
    let setup = "inventree-setup.service";
    let backups: Vec<_> = rendered_units(suite)
        .into_iter()
        .filter(|(_, name, _)| *name == "inventree-backup.service")
        .collect();
    assert!(!backups.is_empty(), "no fixture enables backups");
    for (fixture, _, unit) in backups {
        assert!(
            !depends(unit, "requires", setup) && !depends(unit, "wants", setup),
            "{fixture}: the backup pulls setup in"
        );
        assert!(
            setting(&unit.unit_config, "ConditionPathExists").contains(".setup-state.json"),
            "{fixture}: the backup does not wait for the setup state"
        );
    }
}

#[test]
fn secret_scan_finds_nothing() {
    let suite = require!(suite());
    assert!(
        suite.secret_findings.is_empty(),
        "{}",
        suite.secret_findings.join("\n")
    );
}

#[test]
fn every_service_unit_scores_at_most_1_5() {
    let suite = require!(suite());
    if !security::available() {
        inventree_harness::demand::skip_or_fail(&Skip::new(
            Tier::Eval,
            "systemd-analyze not on PATH: unit hardening not scored",
        ));
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (scored, problems) = runtime
        .block_on(eval::hardening_problems(suite))
        .unwrap()
        .expect("systemd-analyze is available");
    assert!(scored > 0, "no unit was scored");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn every_package_and_check_instantiates() {
    let ctx = Context::for_tests().unwrap();
    let _env = require!(eval::eval_prerequisites(&ctx).await);
    let all = instantiate::instantiate_all(&ctx)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    for (set, paths) in &all {
        eprintln!("{set}: {} instantiated", paths.len());
        for (name, drv) in paths {
            assert!(
                drv.starts_with("/nix/store/") && drv.ends_with(".drv"),
                "{set}.{name}: {drv}"
            );
        }
    }
    assert!(!all["packages"].is_empty(), "the flake has no packages");
}

/// The rendered view of the valid fixture `name`.
fn rendered<'a>(suite: &'a Suite, name: &str) -> &'a eval::types::Rendered {
    let wanted = format!("valid/{name}");
    suite
        .inspections
        .iter()
        .find(|i| i.name == wanted || i.name == name)
        .and_then(|i| i.rendered())
        .unwrap_or_else(|| panic!("fixture {name} was not rendered"))
}

#[test]
fn a_plugin_workspace_adds_its_plugin_to_an_environment_that_instantiates_with_its_overrides() {
    let suite = require!(suite());
    let plugins = rendered(suite, "plugins")
        .plugins
        .as_ref()
        .expect("the plugins fixture renders its plugins");
    let drv = plugins["python"]["drvPath"].as_str().unwrap_or_default();
    assert!(
        drv.starts_with("/nix/store/") && drv.ends_with("-inventree-python-1.3.5.drv"),
        "the environment with plugins does not instantiate: {plugins:#}"
    );
    let added: Vec<&str> = plugins["added"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    assert!(
        added.contains(&"inventree-kicad-plugin-2.1.0"),
        "the KiCad plugin is not added to InvenTree's environment: {added:?}"
    );
    assert!(
        !added.iter().any(|name| name.starts_with("django-")),
        "the plugins brought their own Django packages: {added:?}"
    );
    assert_eq!(
        plugins["overrides"],
        serde_json::json!([{"name": "inventree-kicad-plugin", "applied": true}]),
        "the overrides file is not applied to the environment"
    );
}

#[test]
fn declared_plugins_enable_the_plugin_system_without_run_time_installs_and_are_mandatory() {
    let suite = require!(suite());
    let settings = &rendered(suite, "plugins").settings;
    assert_eq!(settings["plugins_enabled"], true);
    assert_eq!(settings["plugin_noinstall"], true);
    assert_eq!(
        settings["plugins_mandatory"],
        serde_json::json!(["kicad-library-plugin"])
    );
    for integration in ["ENABLE_PLUGINS_APP", "ENABLE_PLUGINS_URL"] {
        assert_eq!(
            settings["global_settings"][integration], true,
            "{integration} is not on: {settings:#}"
        );
    }
    let defaults = &rendered(suite, "defaults-sqlite");
    assert_eq!(defaults.settings["plugins_enabled"], false);
    assert!(
        defaults.plugins.is_none() && defaults.settings.get("global_settings").is_none(),
        "a configuration without plugins renders plugin settings"
    );
}

#[test]
fn a_package_scope_given_as_package_is_the_one_the_units_run() {
    let suite = require!(suite());
    let units = &rendered(suite, "package-scope").units;
    let exec = |unit: &str, key: &str| {
        units
            .get(unit)
            .map(|u| setting(&u.service_config, key))
            .unwrap_or_else(|| panic!("package-scope renders no {unit}"))
    };
    let server = exec("inventree-server.service", "ExecStart");
    assert!(
        server.contains("-inventree-server-site/bin/inventree-server"),
        "the server unit does not run the scope's replaced server: {server}"
    );
    let check = exec("inventree-server.service", "ExecStartPre");
    assert!(
        check.contains("-inventree-setup-check-1.3.5/bin/inventree-setup-check"),
        "the scope's other members are not the ones the units run: {check}"
    );
}

#[rstest::rstest]
#[case::web("web-node", true, false)]
#[case::worker("worker-node", false, true)]
#[case::both("postgresql-remote", true, true)]
fn a_nodes_role_decides_which_long_running_units_it_has_and_every_role_sets_up(
    #[case] fixture: &str,
    #[case] server: bool,
    #[case] worker: bool,
) {
    let suite = require!(suite());
    let units = &rendered(suite, fixture).units;
    let has = |name: &str| units.contains_key(name);
    assert_eq!(has("inventree-server.service"), server, "{fixture}: server");
    assert_eq!(
        has("inventree-cluster.service"),
        worker,
        "{fixture}: worker"
    );
    assert!(
        has("inventree-setup.service"),
        "{fixture}: every node runs setup"
    );
}

#[test]
fn a_media_store_outside_systemds_directories_is_mounted_before_any_inventree_unit_starts() {
    let suite = require!(suite());
    for (fixture, units) in [
        ("web-node", &rendered(suite, "web-node").units),
        ("worker-node", &rendered(suite, "worker-node").units),
    ] {
        let services: Vec<_> = units
            .iter()
            .filter(|(name, _)| name.ends_with(".service"))
            .collect();
        assert!(
            services.len() >= 2,
            "{fixture}: {} services",
            services.len()
        );
        for (name, unit) in services {
            assert!(
                unit.text
                    .lines()
                    .any(|l| l == "RequiresMountsFor=/srv/inventree-media"),
                "{fixture}: {name} does not wait for the media mount:\n{}",
                unit.text
            );
        }
    }
}

#[test]
fn nginx_in_front_of_several_web_nodes_proxies_to_each_of_them() {
    let suite = require!(suite());
    let vhost = rendered(suite, "nginx-web-nodes")
        .nginx
        .clone()
        .expect("nginx-web-nodes renders the virtual host");
    let servers: Vec<&String> = vhost["upstreams"]["inventree"]["servers"]
        .as_object()
        .map(|s| s.keys().collect())
        .unwrap_or_default();
    assert_eq!(servers, ["10.0.0.12:8000", "127.0.0.1:8000"], "{vhost:#}");
    assert_eq!(
        vhost["locations"]["/"]["proxyPass"], "http://inventree",
        "the application is proxied to the upstream of nodes"
    );
}
