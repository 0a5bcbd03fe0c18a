//! Web and worker nodes sharing PostgreSQL, Redis and media (host tier, `multi-node` fixture):
//! two web nodes (A, B: the web server only, as `role = "web"` runs) and one worker node (W:
//! the worker only, `role = "worker"`), each with its own data directory, sharing one
//! throw-away PostgreSQL, one Redis with the credential's password, one secret key and one
//! media directory (linked into each node's `media_root`, as a network mount would be).
//!
//! - the three setups started together: one migrates, the others wait on the database lock;
//! - a task enqueued through A (the probe's) and one through B are completed by W;
//! - a part made through A is read through B; a file uploaded through A is served through B's
//!   media path (the module's nginx virtual host on B, upstream B, media from B's `media_root`);
//! - W killed: the probe is unhealthy on both web nodes, naming the worker; W restarted: healthy;
//! - Redis killed: both web nodes keep answering (reads and writes); Redis back: healthy.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::{
    instance::Instance,
    plan::HostPlan,
    postgres::{FixtureDatabase, PgServer},
    prerequisites::HostEnv,
    redis::RedisServer,
    scenarios::{
        healthy, parts_listed_and_one_created, teardown, token_client, ScenarioReport,
        DEAD_WORKER_DEADLINE,
    },
    two_nodes::{applied_count, joining_node, share_path, share_secret_key},
    upgrade_data::{attach, ATTACHMENT_TEXT},
};
use super::{
    nginx::{self, Nginx},
    nginx_media::{api_token, ThroughNginx},
};
use crate::probe::{self, Credentials, ProbeOptions, Verdict};

/// The three nodes and the servers they share. PostgreSQL lives in A's directory: it is
/// stopped ([`stop_deployment`]) while the nodes, A among them, still exist.
pub(super) struct Deployment {
    pub a: Instance,
    pub b: Instance,
    pub w: Instance,
    pub redis: RedisServer,
    pub redis_port: u16,
    pg: PgServer,
}

/// `vhost`: the module's nginx virtual host (the `nginx` fixture's), run on web node B.
pub async fn web_and_worker_nodes(
    host: &HostEnv,
    plan: &HostPlan,
    vhost: &serde_json::Value,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("web and worker nodes");
    let mut nodes = start_deployment(host, plan).await?;
    report.check(format!(
        "web nodes A, B and worker node W: one PostgreSQL, one Redis (127.0.0.1:{}, password from INVENTREE_CACHE_PASSWORD), one secret key, one media directory",
        nodes.redis_port
    ));
    let outcome = exercise(&mut nodes, vhost, &mut report).await;
    let stopped = stop_deployment(&mut nodes, &mut report).await;
    outcome?;
    stopped?;
    Ok(report)
}

/// PostgreSQL (with the fixture's role and database), Redis on a free port with the
/// credential's password, and nodes A, B and W of `plan` joined to them.
pub(super) async fn start_deployment(
    host: &HostEnv,
    plan: &HostPlan,
) -> anyhow::Result<Deployment> {
    let mut plan = plan.clone();
    let redis_port = crate::util::free_port()?;
    plan.internal.settings["cache"]["port"] = redis_port.into();
    let a = Instance::create(host, &plan)?;
    let database = FixtureDatabase::from_settings(&a.settings()["database"], &plan.fixture)?;
    let mut pg = PgServer::start(
        &a.layout.root.join("pg"),
        std::path::Path::new(&database.socket_dir),
    )
    .await?;
    pg.create_role_and_database(&database.user, &database.name)
        .await?;
    match deploy(host, &plan, a, &database.socket_dir, redis_port).await {
        Ok((a, b, w, redis)) => Ok(Deployment {
            a,
            b,
            w,
            redis,
            redis_port,
            pg,
        }),
        Err(e) => {
            let _ = pg.stop().await;
            Err(e)
        }
    }
}

/// B and W joined to A's database, key and media; Redis started with the credential's password.
async fn deploy(
    host: &HostEnv,
    plan: &HostPlan,
    a: Instance,
    socket_dir: &str,
    redis_port: u16,
) -> anyhow::Result<(Instance, Instance, Instance, RedisServer)> {
    let b = joining_node(host, plan, socket_dir)?;
    let w = joining_node(host, plan, socket_dir)?;
    share_secret_key(&[&a, &b, &w])?;
    let shared_media = media_root(&a)?;
    std::fs::create_dir_all(&shared_media)?;
    for node in [&b, &w] {
        share_path(&media_root(node)?, &shared_media)?;
    }
    let password = a
        .layout
        .credentials
        .get("INVENTREE_CACHE_PASSWORD")
        .cloned()
        .context("the fixture has no INVENTREE_CACHE_PASSWORD credential")?;
    let redis = RedisServer::start(&a.layout.root.join("redis"), redis_port, &password).await?;
    Ok((a, b, w, redis))
}

fn media_root(node: &Instance) -> anyhow::Result<std::path::PathBuf> {
    node.settings()["media_root"]
        .as_str()
        .map(std::path::PathBuf::from)
        .context("the rendered config has no media_root")
}

async fn exercise(
    nodes: &mut Deployment,
    vhost: &serde_json::Value,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    setups_together(nodes, report).await?;
    let credentials = nodes.a.probe_credentials().await?;
    let started = Instant::now();
    nodes.a.start_server()?;
    nodes.b.start_server()?;
    nodes.w.start_cluster()?;
    healthy(&mut nodes.a, &credentials).await?;
    healthy(&mut nodes.b, &credentials).await?;
    report.figure(
        "servers and worker started to both web nodes healthy",
        started.elapsed(),
    );
    report.check("A and B healthy: the probe's task, enqueued through each, completed by W");
    let upload = shared_data(nodes, &credentials, report).await?;
    served_through_b(nodes, vhost, &credentials, &upload, report).await?;
    worker_node_killed(nodes, &credentials, report).await?;
    redis_down(nodes, &credentials, report).await
}

/// All three setups at once: one migrates, two wait on the lock and apply nothing.
pub(super) async fn setups_together(
    nodes: &Deployment,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let (a, b, w) = tokio::join!(nodes.a.setup(), nodes.b.setup(), nodes.w.setup());
    let mut applied = Vec::new();
    for (name, setup) in [("A", a?), ("B", b?), ("W", w?)] {
        anyhow::ensure!(
            setup.success,
            "node {name}'s setup failed (exit {:?}):\n{}",
            setup.code,
            crate::util::tail(&setup.output, 40)
        );
        applied.push((name, applied_count(&setup.output)));
    }
    let migrated: Vec<_> = applied.iter().filter(|(_, n)| *n > 0).collect();
    anyhow::ensure!(
        migrated.len() == 1 && migrated[0].1 > 100,
        "exactly one node should have migrated: {applied:?}"
    );
    report.figure("three setups, started together", started.elapsed());
    report.check(format!(
        "three setups started together: node {} applied {} migrations, the other two waited on the lock and applied none",
        migrated[0].0, migrated[0].1
    ));
    Ok(())
}

/// A part made through A is read through B; an upload through A is in B's media path. The
/// upload's path under `media_root`.
async fn shared_data(
    nodes: &Deployment,
    credentials: &Credentials,
    report: &mut ScenarioReport,
) -> anyhow::Result<String> {
    let through_a = token_client(&nodes.a, credentials).await?;
    let part: probe::api::Part = through_a
        .post(
            "/api/part/",
            &serde_json::json!({"name": "made through web node A", "description": "nodes"}),
        )
        .await?;
    let read: probe::api::Part = token_client(&nodes.b, credentials)
        .await?
        .get(&format!("/api/part/{}/", part.pk))
        .await?;
    anyhow::ensure!(
        read.pk == part.pk,
        "B read part {} for {}",
        read.pk,
        part.pk
    );
    let (_, file) = attach(&through_a, part.pk).await?;
    let on_b = media_root(&nodes.b)?.join(&file);
    let content = std::fs::read(&on_b).with_context(|| {
        format!(
            "reading the upload through B's media path {}",
            on_b.display()
        )
    })?;
    anyhow::ensure!(
        content == ATTACHMENT_TEXT,
        "{} holds other bytes",
        on_b.display()
    );
    report.check(format!(
        "part {} made through A read through B; {file} uploaded through A is in B's media_root",
        part.pk
    ));
    Ok(file)
}

/// The module's nginx on B (upstream B, media from B's `media_root`) serves A's upload.
async fn served_through_b(
    nodes: &Deployment,
    vhost: &serde_json::Value,
    credentials: &Credentials,
    file: &str,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let b = &nodes.b;
    let port = crate::util::free_port()?;
    let run_dir = b.layout.root.join("nginx");
    let conf = nginx::render(vhost, port, &[b.layout.port], &b.layout.root, &run_dir)?;
    let proxy = Nginx::start(&run_dir, &conf, port).await?;
    let web = ThroughNginx::new(&nginx::host_name(vhost)?, port)?;
    let token = api_token(b, credentials).await?;
    let path = format!("/media/{file}");
    let fetched = web.get(&path, Some(&token)).await?;
    proxy.stop().await?;
    anyhow::ensure!(
        fetched.status == reqwest::StatusCode::OK && fetched.body == ATTACHMENT_TEXT,
        "{path} through B's nginx: {} and {} bytes (200 and the upload expected)",
        fetched.status,
        fetched.body.len()
    );
    report.check(format!(
        "{path}, uploaded through A, served through B's nginx from B's media_root: 200, the same bytes"
    ));
    Ok(())
}

/// The probe of `node` with the worker node dead: unhealthy, naming the worker.
async fn unhealthy_for_the_worker(
    node: &Instance,
    credentials: &Credentials,
) -> anyhow::Result<Duration> {
    let mut options = ProbeOptions::new(node.url());
    options.credentials = Some(credentials.clone());
    options.task_timeout = DEAD_WORKER_DEADLINE;
    let started = Instant::now();
    let probed = probe::run(&options).await?;
    match &probed.verdict {
        Verdict::Unhealthy { reasons } if reasons.iter().any(|r| r.contains("worker")) => {
            Ok(started.elapsed())
        }
        other => anyhow::bail!(
            "with the worker node dead the probe of {} said {other:?}",
            node.url()
        ),
    }
}

async fn worker_node_killed(
    nodes: &mut Deployment,
    credentials: &Credentials,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    nodes.w.kill_cluster().await?;
    let on_a = unhealthy_for_the_worker(&nodes.a, credentials).await?;
    let on_b = unhealthy_for_the_worker(&nodes.b, credentials).await?;
    report.check(format!(
        "worker node killed: the probe is unhealthy on A ({:.1} s) and on B ({:.1} s), naming the worker",
        on_a.as_secs_f64(),
        on_b.as_secs_f64()
    ));
    let restarted = Instant::now();
    nodes.w.start_cluster()?;
    healthy(&mut nodes.a, credentials).await?;
    healthy(&mut nodes.b, credentials).await?;
    report.figure(
        "worker node restarted to both web nodes healthy",
        restarted.elapsed(),
    );
    report.check("worker node restarted: A and B healthy again");
    Ok(())
}

async fn redis_down(
    nodes: &mut Deployment,
    credentials: &Credentials,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    nodes.redis.kill().await?;
    for (name, node) in [("A", &nodes.a), ("B", &nodes.b)] {
        let client = token_client(node, credentials).await?;
        let asked = Instant::now();
        let when = format!("while Redis was down (web node {name})");
        let (listed, part) = parts_listed_and_one_created(&client, &when, "web node").await?;
        report.check(format!(
            "Redis killed: web node {name} listed {listed} parts and created part {} in {:.1} s",
            part.pk,
            asked.elapsed().as_secs_f64()
        ));
    }
    nodes.a.check_server_alive()?;
    nodes.b.check_server_alive()?;
    let back = Instant::now();
    nodes.redis.start_again().await?;
    healthy(&mut nodes.a, credentials).await?;
    report.figure("Redis back to web node A healthy", back.elapsed());
    report.check("Redis back: A healthy (the worker node completed the probe's task)");
    Ok(())
}

/// Stops the nodes, Redis and PostgreSQL, every one of them even when another fails.
pub(super) async fn stop_deployment(
    nodes: &mut Deployment,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let a = teardown(&mut nodes.a, report).await;
    let b = teardown(&mut nodes.b, report).await;
    let w = teardown(&mut nodes.w, report).await;
    let redis = nodes.redis.kill().await;
    let pg = nodes.pg.stop().await;
    a.and(b).and(w).and(redis)?;
    pg.with_context(|| format!("stopping PostgreSQL:\n{}", nodes.pg.log()))?;
    report.check("PostgreSQL and Redis stopped");
    Ok(())
}
