//! Demanded tiers: tiers that must run on this machine. A demanded tier whose prerequisite is
//! missing fails, naming the prerequisite, instead of skipping, so CI cannot go green by running
//! nothing.
//!
//! The demanded tiers are those named in `INVENTREE_HARNESS_REQUIRE_TIERS` (a comma list such as
//! `eval,host,browser,systemd`; set but empty demands none), else those in the user config file's
//! `[ci] require_tiers`. An unknown tier name is an error listing the valid ones.
//!
//! [`configured_tiers`] says which tiers the user config names the prerequisites of; `.ci/run`
//! demands those (`inventree-harness doctor --configured-tiers`).

use std::{
    collections::BTreeSet,
    fmt,
    path::{Path, PathBuf},
};

use anyhow::bail;
use clap::ValueEnum;

use crate::{
    overrides::{default_config_path, read_config_file, ConfigFile, Source},
    tiers::{report_skip, Skip, Tier},
};

/// The environment variable naming the demanded tiers.
pub const ENV_REQUIRE_TIERS: &str = "INVENTREE_HARNESS_REQUIRE_TIERS";

/// Which tiers must run, and where that was said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demand {
    pub tiers: BTreeSet<Tier>,
    /// `None` when nothing demands any tier.
    pub source: Option<Source>,
}

/// A skip of a demanded tier: the failure it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemandedSkip<'a>(pub &'a Skip);

impl fmt::Display for DemandedSkip<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DEMANDED {} would skip: {}", self.0.tier, self.0.reason)
    }
}

/// Every tier name, as the error for an unknown one lists them.
pub fn valid_tier_names() -> String {
    Tier::value_variants()
        .iter()
        .map(|tier| tier.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Tier names (surrounding blanks and empty entries ignored) → tiers; `origin` names where the
/// names came from, for the error.
pub fn parse_tier_names<'a>(
    names: impl IntoIterator<Item = &'a str>,
    origin: &str,
) -> anyhow::Result<BTreeSet<Tier>> {
    let mut tiers = BTreeSet::new();
    for name in names.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
        match Tier::from_str(name, true) {
            Ok(tier) => tiers.insert(tier),
            Err(_) => bail!(
                "unknown tier {name:?} in {origin}; valid tiers: {}",
                valid_tier_names()
            ),
        };
    }
    Ok(tiers)
}

/// A comma list (`eval,host`) → tiers.
pub fn parse_tier_list(list: &str, origin: &str) -> anyhow::Result<BTreeSet<Tier>> {
    parse_tier_names(list.split(','), origin)
}

/// The tiers whose prerequisites the user config file names, plus those it demands in
/// `[ci] require_tiers`: eval when `[inputs]` overrides an input; host when `[host]` names both
/// `inventree_src` and `python`; browser when host is configured and `[browser]` names
/// `inventree_src`; systemd when host is configured and `[systemd]` names `rootfs`; upgrade when
/// host is configured and `[upgrade]` names `from_src` and `from_python`.
pub fn configured_tiers(file: &ConfigFile, path: &Path) -> anyhow::Result<BTreeSet<Tier>> {
    let mut tiers = config_demand(file, path)?;
    let host = file.host.inventree_src.is_some() && file.host.python.is_some();
    for (tier, named) in [
        (Tier::Eval, !file.inputs.is_empty()),
        (Tier::Host, host),
        (Tier::Browser, host && file.browser.inventree_src.is_some()),
        (Tier::Systemd, host && file.systemd.rootfs.is_some()),
        (
            Tier::Upgrade,
            host && file.upgrade.from_src.is_some() && file.upgrade.from_python.is_some(),
        ),
    ] {
        if named {
            tiers.insert(tier);
        }
    }
    Ok(tiers)
}

/// Tiers as a comma list, cheapest first (the form `INVENTREE_HARNESS_REQUIRE_TIERS` takes).
pub fn tier_list(tiers: &BTreeSet<Tier>) -> String {
    tiers
        .iter()
        .map(|tier| tier.name())
        .collect::<Vec<_>>()
        .join(",")
}

fn config_demand(file: &ConfigFile, path: &Path) -> anyhow::Result<BTreeSet<Tier>> {
    let origin = format!("[ci] require_tiers of {}", path.display());
    parse_tier_names(file.ci.require_tiers.iter().map(String::as_str), &origin)
}

impl Demand {
    /// From the environment variable `env_value` (wins when set) or the config file at
    /// `config_path` (read when it exists).
    pub fn resolve(env_value: Option<&str>, config_path: Option<&Path>) -> anyhow::Result<Self> {
        if let Some(list) = env_value {
            return Ok(Demand {
                tiers: parse_tier_list(list, ENV_REQUIRE_TIERS)?,
                source: Some(Source::Env(ENV_REQUIRE_TIERS.into())),
            });
        }
        let Some(path) = config_path.filter(|p| p.is_file()) else {
            return Ok(Demand::default());
        };
        let tiers = config_demand(&read_config_file(path)?, path)?;
        let source = (!tiers.is_empty()).then(|| Source::ConfigFile(path.to_path_buf()));
        Ok(Demand { tiers, source })
    }

    /// As `cargo test` sees it: the process environment and the default config file (the same
    /// file `Context::for_tests` reads).
    pub fn from_process_environment() -> anyhow::Result<Self> {
        let env = |key: &str| std::env::var(key).ok();
        let config: Option<PathBuf> = default_config_path(&env);
        Self::resolve(env(ENV_REQUIRE_TIERS).as_deref(), config.as_deref())
    }

    pub fn demands(&self, tier: Tier) -> bool {
        self.tiers.contains(&tier)
    }

    /// `eval, host (from environment variable INVENTREE_HARNESS_REQUIRE_TIERS)`, or `none`.
    pub fn describe(&self) -> String {
        match &self.source {
            Some(source) if !self.tiers.is_empty() => {
                let names: Vec<&str> = self.tiers.iter().map(|t| t.name()).collect();
                format!("{} (from {source})", names.join(", "))
            }
            Some(source) => format!("none (from {source})"),
            None => "none".into(),
        }
    }

    /// Report `skip` as a test's skip, or panic with [`DemandedSkip`] when its tier is demanded.
    pub fn skip_or_fail(&self, skip: &Skip) {
        if self.demands(skip.tier) {
            panic!("{}", DemandedSkip(skip));
        }
        report_skip(skip);
    }
}

/// Unwrap a [`Prerequisite`](crate::tiers::Prerequisite) in a test, or report the skip and return early (the test passes) —
/// unless the tier is demanded (`INVENTREE_HARNESS_REQUIRE_TIERS`, `[ci] require_tiers`): then the
/// test panics with `DEMANDED <tier> would skip: <reason>` (see [`crate::demand`]).
///
/// ```ignore
/// let nix = inventree_harness::require!(tiers::eval_prerequisites(&ctx).await);
/// ```
#[macro_export]
macro_rules! require {
    ($prerequisite:expr) => {
        match $prerequisite {
            Ok(value) => value,
            Err(skip) => {
                $crate::demand::skip_or_fail(&skip);
                return Default::default();
            }
        }
    };
    // With an explicit [`Demand`] instead of the process environment's.
    ($prerequisite:expr, demand = $demand:expr) => {
        match $prerequisite {
            Ok(value) => value,
            Err(skip) => {
                $crate::demand::Demand::skip_or_fail($demand, &skip);
                return Default::default();
            }
        }
    };
}

/// What [`require!`](crate::require) does with a missing prerequisite: report the skip, or panic
/// when the tier is demanded (or the demand itself cannot be read).
pub fn skip_or_fail(skip: &Skip) {
    match Demand::from_process_environment() {
        Ok(demand) => demand.skip_or_fail(skip),
        Err(err) => panic!("{skip}, and the demanded tiers cannot be read: {err:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> ConfigFile {
        toml::from_str(text).unwrap()
    }

    fn host_value_or_early_return(demand: &Demand) -> Option<u32> {
        let value: u32 = require!(
            Err::<u32, _>(Skip::new(Tier::Host, "no python")),
            demand = demand
        );
        Some(value)
    }

    #[test]
    fn require_returns_default_when_prerequisite_is_missing() {
        let nothing_demanded = Demand::default();
        assert_eq!(host_value_or_early_return(&nothing_demanded), None);
    }

    #[test]
    #[should_panic(expected = "DEMANDED host would skip: no python")]
    fn require_panics_naming_the_prerequisite_when_the_tier_is_demanded() {
        let host = Demand::resolve(Some("host"), None).unwrap();
        host_value_or_early_return(&host);
    }

    #[test]
    fn tier_list_parses_names_ignoring_blanks_and_case() {
        let tiers = parse_tier_list(" eval, Host,,systemd ", ENV_REQUIRE_TIERS).unwrap();
        assert_eq!(
            tiers,
            BTreeSet::from([Tier::Eval, Tier::Host, Tier::Systemd])
        );
    }

    #[test]
    fn empty_tier_list_demands_nothing() {
        assert!(parse_tier_list("", ENV_REQUIRE_TIERS).unwrap().is_empty());
    }

    #[test]
    fn unknown_tier_name_is_an_error_listing_the_valid_names() {
        let err = parse_tier_list("eval,hots", ENV_REQUIRE_TIERS).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown tier \"hots\" in INVENTREE_HARNESS_REQUIRE_TIERS; valid tiers: \
             unit, eval, host, upgrade, systemd, browser, build, vm"
        );
    }

    #[test]
    fn environment_wins_over_the_config_file_even_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[ci]\nrequire_tiers = [\"host\"]\n").unwrap();
        let from_file = Demand::resolve(None, Some(&path)).unwrap();
        assert_eq!(from_file.tiers, BTreeSet::from([Tier::Host]));
        assert_eq!(from_file.source, Some(Source::ConfigFile(path.clone())));
        let from_env = Demand::resolve(Some(""), Some(&path)).unwrap();
        assert!(from_env.tiers.is_empty());
        assert_eq!(
            from_env.describe(),
            "none (from environment variable INVENTREE_HARNESS_REQUIRE_TIERS)"
        );
    }

    #[test]
    fn missing_config_file_demands_nothing() {
        let demand = Demand::resolve(None, Some(Path::new("/nonexistent/config.toml"))).unwrap();
        assert_eq!(demand, Demand::default());
        assert_eq!(demand.describe(), "none");
    }

    #[test]
    fn a_tier_not_demanded_skips_without_panicking() {
        let demand = Demand::resolve(Some("eval"), None).unwrap();
        demand.skip_or_fail(&Skip::new(Tier::Host, "no python"));
    }

    #[test]
    fn configured_tiers_follow_the_sections_that_name_their_prerequisites() {
        let path = Path::new("config.toml");
        let all = config(
            "[inputs]\nnixpkgs = \"path:/n\"\n[host]\ninventree_src = \"/s\"\npython = \"/p\"\n\
             [browser]\ninventree_src = \"/ui\"\n[systemd]\nrootfs = \"/r\"\n\
             [upgrade]\nfrom_src = \"/old\"\nfrom_python = \"/old-p\"\n",
        );
        assert_eq!(
            tier_list(&configured_tiers(&all, path).unwrap()),
            "eval,host,upgrade,systemd,browser"
        );
        // Browser, systemd and upgrade need the host tier's paths too; half a [host] or half an
        // [upgrade] configures nothing.
        let partial = config(
            "[host]\npython = \"/p\"\n[browser]\ninventree_src = \"/ui\"\n\
             [upgrade]\nfrom_src = \"/old\"\nfrom_python = \"/old-p\"\n",
        );
        assert!(configured_tiers(&partial, path).unwrap().is_empty());
        let half_upgrade = config(
            "[host]\ninventree_src = \"/s\"\npython = \"/p\"\n[upgrade]\nfrom_src = \"/old\"\n",
        );
        assert_eq!(
            tier_list(&configured_tiers(&half_upgrade, path).unwrap()),
            "host"
        );
    }

    #[test]
    fn configured_tiers_include_those_the_config_demands() {
        let file = config("[ci]\nrequire_tiers = [\"vm\"]\n");
        assert_eq!(
            tier_list(&configured_tiers(&file, Path::new("c.toml")).unwrap()),
            "vm"
        );
    }
}
