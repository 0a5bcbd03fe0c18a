//! The Redis cache dies under a running InvenTree (host tier, `redis-cache` fixture, a
//! throw-away `redis-server` with the credential's password on a free port). InvenTree reads
//! settings through the cache but falls back to the database when it fails, so the API must keep
//! answering; the background worker's broker is Redis too (Django-Q2's `django_redis`), so tasks
//! wait until Redis is back, and then the worker completes them without a restart.

use std::time::Instant;

use anyhow::Context as _;

use super::{
    instance::Instance,
    plan::HostPlan,
    prerequisites::HostEnv,
    redis::RedisServer,
    scenarios::{
        healthy, healthy_from_template, parts_listed_and_one_created, teardown, token_client,
        ScenarioReport, Template,
    },
};

pub async fn cache_down(
    host: &HostEnv,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("cache down");
    let port = crate::util::free_port()?;
    let mut plan = plan.clone();
    let cache = plan.internal.settings["cache"]
        .as_object_mut()
        .with_context(|| format!("fixture {} configures no cache", plan.fixture))?;
    cache.insert("port".into(), port.into());
    let mut instance = Instance::create(host, &plan)?;
    let password = instance
        .layout
        .credentials
        .get("INVENTREE_CACHE_PASSWORD")
        .cloned()
        .context("the fixture has no INVENTREE_CACHE_PASSWORD credential")?;
    let mut redis =
        RedisServer::start(&instance.layout.root.join("redis"), port, &password).await?;
    let credentials = healthy_from_template(&mut instance, template).await?;
    report.check(format!(
        "cache and task broker on Redis (127.0.0.1:{port}, password from INVENTREE_CACHE_PASSWORD): healthy"
    ));

    redis.kill().await?;
    let client = token_client(&instance, &credentials).await?;
    let asked = Instant::now();
    let (listed, part) =
        parts_listed_and_one_created(&client, "while Redis was down", "host tier").await?;
    report.figure("part list + part created with Redis down", asked.elapsed());
    instance.check_server_alive()?;
    report.check(format!(
        "Redis killed: the API still answers ({} parts listed, part {} created), the server kept running",
        listed,
        part.pk
    ));

    let back = Instant::now();
    redis.start_again().await?;
    healthy(&mut instance, &credentials).await?;
    report.figure(
        "Redis back to healthy (worker task included)",
        back.elapsed(),
    );
    report.check("Redis back: the worker completed the probe's task without a restart");
    teardown(&mut instance, &mut report).await?;
    redis.kill().await?;
    Ok(report)
}
