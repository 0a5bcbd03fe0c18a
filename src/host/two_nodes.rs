//! Two nodes start at the same moment against one PostgreSQL (host tier, `postgresql-local`
//! fixture twice): each runs its own setup, as each machine's `inventree-setup` unit would, on
//! an empty database. Exactly one migrates; the other waits on the database's migration lock
//! (`runtime/inventree_runtime/migration_lock.py`, a PostgreSQL advisory lock — not a timing
//! guess), saying so and for how long, then finds nothing to apply. Both then serve the same
//! data: a part made through node A is read through node B.
//!
//! The nodes share what a multi-node deployment shares: the database and the secret key (queued
//! tasks are signed with it). Each has its own data directory and setup state.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use serde_json::json;

use super::{
    instance::Instance,
    plan::HostPlan,
    postgres::{FixtureDatabase, PgServer},
    prerequisites::HostEnv,
    scenarios::{healthy, teardown, token_client, ScenarioReport},
};
use crate::probe;

/// What one node's setup printed about the lock.
#[derive(Debug, PartialEq)]
pub enum LockTurn {
    /// Took the lock at once and migrated.
    First,
    /// Waited this long for the other node.
    Waited(f64),
}

/// Reads a setup's output: how it got the migration lock.
pub fn lock_turn(setup_output: &str) -> anyhow::Result<LockTurn> {
    for line in setup_output.lines() {
        if let Some(rest) = line.split("migrations: lock taken after waiting ").nth(1) {
            let seconds = rest
                .split(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .with_context(|| format!("unreadable wait in {line:?}"))?;
            return Ok(LockTurn::Waited(seconds));
        }
        if line.contains("migrations: lock taken (") {
            return Ok(LockTurn::First);
        }
    }
    anyhow::bail!("the setup output says nothing of the migration lock:\n{setup_output}")
}

/// How many migrations a setup's Django `migrate` applied (its "Applying …" lines).
pub fn applied_count(setup_output: &str) -> usize {
    setup_output
        .lines()
        .filter(|l| l.trim_start().starts_with("Applying "))
        .count()
}

pub async fn two_nodes(host: &HostEnv, plan: &HostPlan) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("two nodes, one PostgreSQL");
    let mut a = Instance::create(host, plan)?;
    let FixtureDatabase {
        socket_dir,
        name,
        user,
    } = FixtureDatabase::from_settings(&a.settings()["database"], &plan.fixture)?;
    let mut pg = PgServer::start(&a.layout.root.join("pg"), &PathBuf::from(&socket_dir)).await?;
    pg.create_role_and_database(&user, &name).await?;
    let result = async {
        let mut b = second_node(host, plan, &a, &socket_dir)?;
        report.check(format!(
            "nodes A and B: one PostgreSQL ({socket_dir}, database {name}), one secret key, a data directory each"
        ));
        setups_at_once(&a, &b, &mut report).await?;
        both_serve(&mut a, &mut b, &mut report).await?;
        teardown(&mut a, &mut report).await?;
        teardown(&mut b, &mut report).await
    }
    .await;
    let stopped = pg.stop().await;
    result?;
    stopped.with_context(|| format!("stopping PostgreSQL:\n{}", pg.log()))?;
    Ok(report)
}

/// Node B: the same fixture with its own directory, A's database socket and A's secret key.
fn second_node(
    host: &HostEnv,
    plan: &HostPlan,
    a: &Instance,
    socket_dir: &str,
) -> anyhow::Result<Instance> {
    let b = joining_node(host, plan, socket_dir)?;
    share_secret_key(&[a, &b])?;
    Ok(b)
}

/// Another node of `plan` (its own directory) whose PostgreSQL socket directory — moved under
/// its own root, as every path of a node is — is the shared server's `socket_dir`.
pub fn joining_node(host: &HostEnv, plan: &HostPlan, socket_dir: &str) -> anyhow::Result<Instance> {
    let node = Instance::create(host, plan)?;
    let own = FixtureDatabase::from_settings(&node.settings()["database"], &plan.fixture)?;
    share_path(&PathBuf::from(own.socket_dir), &PathBuf::from(socket_dir))?;
    Ok(node)
}

/// Makes `path` (a node's directory, not made yet or empty) the shared `target`, as a mount
/// would.
pub fn share_path(path: &std::path::Path, target: &std::path::Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_dir(path);
    std::os::unix::fs::symlink(target, path)
        .with_context(|| format!("linking {} to {}", path.display(), target.display()))
}

/// One secret key for all `nodes` (queued tasks are signed with it), written before any setup.
pub fn share_secret_key(nodes: &[&Instance]) -> anyhow::Result<()> {
    let key = crate::util::unix_now().to_string() + "-shared-secret-key-of-every-node-0123456789";
    for node in nodes {
        let file = node
            .secret_key_file()
            .context("the fixture's secret key is not a file under the data directory")?;
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        super::layout::write_mode(&file, &key, 0o600)?;
    }
    Ok(())
}

/// Both setups started together: one migrates, the other waits on the lock and applies nothing.
async fn setups_at_once(
    a: &Instance,
    b: &Instance,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let (setup_a, setup_b) = tokio::join!(a.setup(), b.setup());
    let (setup_a, setup_b) = (setup_a?, setup_b?);
    for (node, setup) in [("A", &setup_a), ("B", &setup_b)] {
        anyhow::ensure!(
            setup.success,
            "node {node}'s setup failed (exit {:?}):\n{}",
            setup.code,
            crate::util::tail(&setup.output, 40)
        );
    }
    report.figure("both setups, started together", started.elapsed());
    let turns = (lock_turn(&setup_a.output)?, lock_turn(&setup_b.output)?);
    let (first, second, waited) = match turns {
        (LockTurn::First, LockTurn::Waited(s)) => (("A", &setup_a), ("B", &setup_b), s),
        (LockTurn::Waited(s), LockTurn::First) => (("B", &setup_b), ("A", &setup_a), s),
        other => anyhow::bail!("both setups got the lock the same way: {other:?}"),
    };
    let applied = applied_count(&first.1.output);
    anyhow::ensure!(
        applied > 100 && applied_count(&second.1.output) == 0,
        "node {} applied {applied} migrations and node {} {} (the first all, the second none expected)",
        first.0,
        second.0,
        applied_count(&second.1.output)
    );
    report.figure(
        &format!("node {} waited for the lock", second.0),
        Duration::from_secs_f64(waited),
    );
    report.check(format!(
        "setups started together: node {} took the lock and applied {applied} migrations in {:.1} s; node {} said it waited for another node, took the lock after {waited:.1} s and applied none",
        first.0,
        first.1.elapsed.as_secs_f64(),
        second.0
    ));
    Ok(())
}

/// Both nodes healthy (server and worker each); a part made through A is read through B.
async fn both_serve(
    a: &mut Instance,
    b: &mut Instance,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let credentials = a.probe_credentials().await?;
    a.start()?;
    b.start()?;
    healthy(a, &credentials).await?;
    healthy(b, &credentials).await?;
    let part: probe::api::Part = token_client(a, &credentials)
        .await?
        .post(
            "/api/part/",
            &json!({ "name": "made through node A", "description": "two nodes" }),
        )
        .await?;
    let read: probe::api::Part = token_client(b, &credentials)
        .await?
        .get(&format!("/api/part/{}/", part.pk))
        .await?;
    anyhow::ensure!(
        read.pk == part.pk,
        "node B read part {} for {}",
        read.pk,
        part.pk
    );
    report.check(format!(
        "both nodes healthy (each its server and worker); part {} made through A, read through B",
        part.pk
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_line_says_which_node_went_first_and_how_long_the_other_waited() {
        assert_eq!(
            lock_turn("x\nmigrations: lock taken (PostgreSQL advisory lock 1)\n").unwrap(),
            LockTurn::First
        );
        assert_eq!(
            lock_turn("migrations: another node is migrating this database; waiting for it (P)\nmigrations: lock taken after waiting 61.4 s (P)").unwrap(),
            LockTurn::Waited(61.4)
        );
        assert!(lock_turn("migrations: running").is_err());
    }

    #[test]
    fn applied_migrations_are_counted_from_djangos_lines() {
        let out = "Operations to perform:\n  Applying part.0001_initial... OK\n  Applying stock.0001_initial... OK\n";
        assert_eq!(applied_count(out), 2);
        assert_eq!(applied_count("  No migrations to apply.\n"), 0);
    }
}
