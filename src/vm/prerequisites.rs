//! What the build and VM tiers need, and why they cannot run when they cannot: a store that can
//! build (a reachable binary cache for nixpkgs, the network for the pinned sources), and for VMs
//! also KVM and the `kvm`/`nixos-test` system features.

use std::time::Duration;

use serde::Deserialize;

use crate::context::Context;
use crate::nix::NixCommand;
use crate::tiers::{Prerequisite, Skip, Tier};

/// Where the pinned sources come from (fetchFromGitHub, the release's frontend zip).
pub const SOURCE_HOST: (&str, u16) = ("github.com", 443);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(4);

/// The parts of `nix config show --json` the tiers look at.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NixSettings {
    pub substituters: Vec<String>,
    pub system_features: Vec<String>,
}

pub fn parse_settings(json: &str) -> Result<NixSettings, serde_json::Error> {
    #[derive(Deserialize)]
    struct Setting {
        #[serde(default)]
        value: serde_json::Value,
    }
    let all: std::collections::BTreeMap<String, Setting> = serde_json::from_str(json)?;
    let list = |key: &str| -> Vec<String> {
        match all.get(key).map(|s| &s.value) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(serde_json::Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    };
    Ok(NixSettings {
        substituters: list("substituters"),
        system_features: list("system-features"),
    })
}

/// `host:port` of a substituter URL (`https://cache.nixos.org/` → `cache.nixos.org:443`); `None`
/// for local stores (`file://`, `daemon`), which cannot be probed over the network.
pub fn substituter_address(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme {
        "https" => 443,
        "http" => 80,
        "ssh" | "ssh-ng" => 22,
        _ => return None,
    };
    let authority = rest.split('/').next()?.rsplit('@').next()?;
    match authority.rsplit_once(':') {
        Some((host, port)) => port.parse().ok().map(|p| (host.to_owned(), p)),
        None if !authority.is_empty() => Some((authority.to_owned(), default_port)),
        None => None,
    }
}

/// Whether a TCP connection to `host:port` opens within a few seconds (the answer or the error).
pub async fn reachable(host: &str, port: u16) -> anyhow::Result<()> {
    match tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => anyhow::bail!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
    }
}

/// The decision, from what was probed: each substituter with its reachability, and the source
/// host's.
pub fn decide_build(
    substituters: &[(String, anyhow::Result<()>)],
    sources: &anyhow::Result<()>,
) -> Prerequisite<String> {
    let skip = |reason: String| Err(Skip::new(Tier::Build, reason));
    let reachable: Vec<&str> = substituters
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(s, _)| s.as_str())
        .collect();
    let describe_substituters = || {
        if substituters.is_empty() {
            "none configured".to_owned()
        } else {
            substituters
                .iter()
                .map(|(s, r)| match r {
                    Ok(()) => format!("{s}: reachable"),
                    Err(e) => format!("{s}: {e}"),
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
    };
    let source = format!("{}:{}", SOURCE_HOST.0, SOURCE_HOST.1);
    match (reachable.is_empty(), sources) {
        (true, Err(e)) => skip(format!(
            "build tier unavailable: no substituter and no network (substituters: {}; {source}: {e})",
            describe_substituters()
        )),
        (false, Err(e)) => skip(format!(
            "build tier unavailable: the pinned sources cannot be fetched ({source}: {e})"
        )),
        (true, Ok(())) => skip(format!(
            "build tier unavailable: no reachable substituter, so all of nixpkgs would be built from source (substituters: {})",
            describe_substituters()
        )),
        (false, Ok(())) => Ok(format!(
            "substituters reachable: {}; {source} reachable",
            reachable.join(", ")
        )),
    }
}

/// System features a VM test run derivation requires (`requiredSystemFeatures`).
pub const VM_FEATURES: &[&str] = &["kvm", "nixos-test"];

pub fn missing_features(settings: &NixSettings) -> Vec<&'static str> {
    VM_FEATURES
        .iter()
        .copied()
        .filter(|f| !settings.system_features.iter().any(|have| have == f))
        .collect()
}

async fn nix_settings(ctx: &Context) -> anyhow::Result<NixSettings> {
    let output = NixCommand::new(["config", "show"])
        .arg("--json")
        .timeout(ctx.nix_timeout.min(Duration::from_secs(60)))
        .run()
        .await?;
    parse_settings(&output.stdout)
        .map_err(|e| anyhow::anyhow!("unexpected `nix config show --json` output: {e}"))
}

/// The build tier: nix, and a store that can build what the flake pins.
pub async fn build_prerequisites(ctx: &Context) -> Prerequisite<String> {
    let skip = |reason: String| Skip::new(Tier::Build, reason);
    let (a, b, c) = crate::nix::nix_version()
        .await
        .map_err(|e| skip(e.to_string()))?;
    let settings = nix_settings(ctx)
        .await
        .map_err(|e| skip(format!("{e:#}")))?;
    let mut probed = Vec::new();
    for url in &settings.substituters {
        let result = match substituter_address(url) {
            Some((host, port)) => reachable(&host, port).await,
            None => Ok(()), // a local store needs no network
        };
        probed.push((url.clone(), result));
    }
    let sources = reachable(SOURCE_HOST.0, SOURCE_HOST.1).await;
    decide_build(&probed, &sources).map(|found| format!("nix {a}.{b}.{c}; {found}"))
}

/// The VM tier: the build tier, KVM, and the system features VM tests require.
pub async fn vm_prerequisites(ctx: &Context) -> Prerequisite<String> {
    let skip = |reason: String| Skip::new(Tier::Vm, reason);
    if !ctx.flake_dir.join("vm-tests/default.nix").is_file() {
        return Err(skip(format!(
            "no vm-tests/default.nix in {}",
            ctx.flake_dir.display()
        )));
    }
    let build = build_prerequisites(ctx)
        .await
        .map_err(|s| skip(format!("needs the build tier: {}", s.reason)))?;
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        return Err(skip(format!("/dev/kvm cannot be opened read-write: {e}")));
    }
    let settings = nix_settings(ctx)
        .await
        .map_err(|e| skip(format!("{e:#}")))?;
    let missing = missing_features(&settings);
    if !missing.is_empty() {
        return Err(skip(format!(
            "nix lacks the system features {} (set `system-features` in nix.conf)",
            missing.join(", ")
        )));
    }
    Ok(format!(
        "{build}; /dev/kvm usable; system features {}",
        VM_FEATURES.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = include_str!("../../tests/data/vm/nix-config-show.json");

    #[test]
    fn reads_substituters_and_features_from_recorded_config() {
        let s = parse_settings(CONFIG).unwrap();
        assert!(s.substituters.is_empty());
        assert!(s.system_features.contains(&"kvm".to_owned()));
        assert!(missing_features(&s).is_empty());
    }

    #[test]
    fn substituter_urls_become_addresses() {
        assert_eq!(
            substituter_address("https://cache.nixos.org/"),
            Some(("cache.nixos.org".into(), 443))
        );
        assert_eq!(
            substituter_address("http://cache.local:5000"),
            Some(("cache.local".into(), 5000))
        );
        assert_eq!(
            substituter_address("ssh-ng://builder@build.example"),
            Some(("build.example".into(), 22))
        );
        assert_eq!(substituter_address("file:///srv/cache"), None);
        assert_eq!(substituter_address("daemon"), None);
    }

    #[test]
    fn no_substituter_and_no_network_is_said_so() {
        let skip = decide_build(&[], &Err(anyhow::anyhow!("Could not resolve host"))).unwrap_err();
        assert_eq!(skip.tier, Tier::Build);
        assert!(
            skip.reason
                .starts_with("build tier unavailable: no substituter and no network"),
            "{}",
            skip.reason
        );
        assert!(
            skip.reason.contains("substituters: none configured"),
            "{}",
            skip.reason
        );
    }

    #[test]
    fn an_unreachable_substituter_counts_as_none() {
        let subs = [(
            "https://cache.nixos.org/".to_owned(),
            Err(anyhow::anyhow!("timed out")),
        )];
        let skip = decide_build(&subs, &Err(anyhow::anyhow!("down"))).unwrap_err();
        assert!(
            skip.reason.contains("https://cache.nixos.org/: timed out"),
            "{}",
            skip.reason
        );
    }

    #[test]
    fn cache_without_source_host_cannot_fetch_sources() {
        let subs = [("https://cache.nixos.org/".to_owned(), Ok(()))];
        let skip = decide_build(&subs, &Err(anyhow::anyhow!("refused"))).unwrap_err();
        assert!(
            skip.reason.contains("pinned sources cannot be fetched"),
            "{}",
            skip.reason
        );
    }

    #[test]
    fn cache_and_network_make_the_build_tier() {
        let subs = [("https://cache.nixos.org/".to_owned(), Ok(()))];
        assert!(decide_build(&subs, &Ok(())).is_ok());
    }

    #[test]
    fn missing_features_are_named() {
        let s = NixSettings {
            substituters: vec![],
            system_features: vec!["kvm".into()],
        };
        assert_eq!(missing_features(&s), ["nixos-test"]);
    }
}
