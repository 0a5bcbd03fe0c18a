//! The upgrade tier: the upgrade drill ([`super::upgrade`]) from an older InvenTree tree to the
//! host tier's, on SQLite (the `users` fixture: declared users, undeclared ones deactivated) and
//! on PostgreSQL (`postgresql-local`: undeclared users kept), as `check` and the
//! `upgrade` subcommand run it.

use std::path::{Path, PathBuf};

use super::{
    plan,
    prerequisites::{upgrade_prerequisites, UpgradeEnvs},
    scenarios::{self, ScenarioReport},
    upgrade,
};
use crate::{
    context::Context,
    overrides::Sourced,
    tiers::{Tier, TierRunner},
};

/// The fixtures the drill runs on: one SQLite, one PostgreSQL.
pub const FIXTURES: &[&str] = &["users", "postgresql-local"];

pub fn tier_runner() -> TierRunner {
    TierRunner {
        tier: Tier::Upgrade,
        prerequisites: |ctx| {
            Box::pin(async move {
                upgrade_prerequisites(ctx, (None, None))
                    .await
                    .map(|envs| format!("from {}; to {}", envs.from.described, envs.to.described))
            })
        },
        run: |ctx| {
            Box::pin(async move {
                run_all(ctx, (None, None), FIXTURES)
                    .await
                    .map(|(summary, _)| summary)
                    .into()
            })
        },
    }
}

/// Both trees prepared like the package's source (see `prepared_src`).
pub async fn prepared(envs: UpgradeEnvs, flake_dir: &Path) -> anyhow::Result<UpgradeEnvs> {
    Ok(UpgradeEnvs {
        from: envs.from.prepared(flake_dir).await?,
        to: envs.to.prepared(flake_dir).await?,
    })
}

/// The drill on each of `fixtures` (a PostgreSQL one is left out, saying why, when this host
/// cannot run PostgreSQL); a one-line summary and the reports.
pub async fn run_all(
    ctx: &Context,
    from: (Option<&Sourced<PathBuf>>, Option<&Sourced<PathBuf>>),
    fixtures: &[&str],
) -> anyhow::Result<(String, Vec<ScenarioReport>)> {
    use anyhow::Context as _;
    let envs = upgrade_prerequisites(ctx, from)
        .await
        .map_err(|skip| anyhow::anyhow!("{skip}"))?;
    let envs = prepared(envs, &ctx.flake_dir).await?;
    eprintln!(
        "   from: {}\n   to:   {}",
        envs.from.described, envs.to.described
    );
    let (plans, origin) = plan::load(ctx, fixtures).await?;
    eprintln!("   {origin}");
    let mut reports = Vec::new();
    let mut summary = Vec::new();
    for name in fixtures {
        let plan = plans
            .iter()
            .find(|p| p.fixture == *name)
            .with_context(|| format!("no plan for {name}"))?;
        if plan.fixture.starts_with("postgresql") {
            if let Some(why) = scenarios::postgres_unavailable(&envs.to).await {
                eprintln!("   upgrade ({name}) skipped: {why}");
                summary.push(format!("{name} skipped: {why}"));
                continue;
            }
        }
        let report = upgrade::upgrade_drill(&envs, plan).await?;
        eprint!("{}", report.render());
        let upgrade_time = report
            .figures
            .iter()
            .find(|(figure, _)| figure.starts_with("upgrade setup"))
            .map(|(_, s)| format!("{s:.1} s"))
            .unwrap_or_else(|| "-".into());
        summary.push(format!("{name} upgraded (setup {upgrade_time})"));
        reports.push(report);
    }
    Ok((summary.join("; "), reports))
}
