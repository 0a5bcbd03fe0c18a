//! The load benchmark of issue 15: the `multi-node` deployment (`nodes`: web nodes A and B,
//! worker node W, one PostgreSQL, one Redis) behind the module's nginx virtual host, first with
//! one web node as its upstream, then with both; a bounded load (`load`) on a list endpoint and
//! a write endpoint through nginx each time. Printed side by side: requests per second, p50 and
//! p95 latency, errors, with the gunicorn worker count. On two cores two nodes are not faster:
//! the figures are for comparing runs measured the same way, and zero errors is the check.

use std::{sync::Arc, time::Duration};

use serde_json::Value;

use super::{
    load::{self, LoadResult, LoadSpec, MakeRequest},
    nginx::{self, Nginx},
    nginx_media::api_token,
    nodes::{setups_together, start_deployment, stop_deployment, Deployment},
    plan::HostPlan,
    prerequisites::HostEnv,
    scenarios::{healthy, ScenarioReport},
};

/// The endpoints loaded: InvenTree's part list (25 a page) and part creation.
pub const LIST: &str = "/api/part/?limit=25";
pub const WRITE: &str = "/api/part/";

/// One measured row.
#[derive(Debug, Clone)]
pub struct Row {
    pub endpoint: &'static str,
    pub web_nodes: usize,
    pub result: LoadResult,
}

/// The figures of one benchmark run.
#[derive(Debug, Clone)]
pub struct Bench {
    pub rows: Vec<Row>,
    /// gunicorn workers per web node (the server command's `--workers`).
    pub gunicorn_workers: String,
    pub read: LoadSpec,
    pub write: LoadSpec,
}

impl Bench {
    /// The side-by-side table.
    pub fn render(&self) -> String {
        let mut out = format!(
            "load through nginx on loopback; gunicorn workers per web node: {}; reads: {} requests, {} at once; writes: {} requests, {} at once\n",
            self.gunicorn_workers,
            self.read.requests,
            self.read.concurrency,
            self.write.requests,
            self.write.concurrency
        );
        out.push_str(
            "endpoint                   web nodes  requests  errors    req/s   p50 ms   p95 ms\n",
        );
        for row in &self.rows {
            out.push_str(&format!(
                "{:<26} {:>9}  {:>8}  {:>6}  {:>7.1}  {:>7.1}  {:>7.1}\n",
                format!(
                    "{} {}",
                    if row.endpoint == WRITE { "POST" } else { "GET" },
                    row.endpoint
                ),
                row.web_nodes,
                row.result.sent,
                row.result.errors,
                row.result.per_second(),
                row.result.percentile(50.0).as_secs_f64() * 1000.0,
                row.result.percentile(95.0).as_secs_f64() * 1000.0
            ));
        }
        out
    }

    pub fn errors(&self) -> usize {
        self.rows.iter().map(|r| r.result.errors).sum()
    }
}

/// Runs the deployment, the load with one and with two web nodes behind nginx, and stops it.
pub async fn bench_nodes(
    host: &HostEnv,
    plan: &HostPlan,
    vhost: &Value,
    read: LoadSpec,
    write: LoadSpec,
) -> anyhow::Result<Bench> {
    let mut nodes = start_deployment(host, plan).await?;
    let mut report = ScenarioReport::new("load benchmark");
    let measured = measure(&mut nodes, vhost, read, write, &mut report).await;
    let stopped = stop_deployment(&mut nodes, &mut report).await;
    let rows = measured?;
    stopped?;
    Ok(Bench {
        rows,
        gunicorn_workers: gunicorn_workers(plan),
        read,
        write,
    })
}

fn gunicorn_workers(plan: &HostPlan) -> String {
    let argv = plan.command("server").unwrap_or(&[]);
    argv.iter()
        .position(|a| a == "--workers")
        .and_then(|i| argv.get(i + 1))
        .cloned()
        .unwrap_or_else(|| "gunicorn's default".into())
}

async fn measure(
    nodes: &mut Deployment,
    vhost: &Value,
    read: LoadSpec,
    write: LoadSpec,
    report: &mut ScenarioReport,
) -> anyhow::Result<Vec<Row>> {
    setups_together(nodes, report).await?;
    let credentials = nodes.a.probe_credentials().await?;
    nodes.a.start_server()?;
    nodes.b.start_server()?;
    nodes.w.start_cluster()?;
    healthy(&mut nodes.a, &credentials).await?;
    healthy(&mut nodes.b, &credentials).await?;
    let token = api_token(&nodes.a, &credentials).await?;
    let host_name = nginx::host_name(vhost)?;
    let mut rows = Vec::new();
    for upstream in [
        vec![nodes.a.layout.port],
        vec![nodes.a.layout.port, nodes.b.layout.port],
    ] {
        let port = crate::util::free_port()?;
        let run_dir = nodes
            .a
            .layout
            .root
            .join(format!("nginx-{}", upstream.len()));
        let conf = nginx::render(vhost, port, &upstream, &nodes.a.layout.root, &run_dir)?;
        let proxy = Nginx::start(&run_dir, &conf, port).await?;
        eprintln!(
            "   load: {} web node(s) behind nginx on 127.0.0.1:{port}",
            upstream.len()
        );
        let client = client(&host_name, port, &token)?;
        let base = format!("http://{host_name}:{port}");
        for (endpoint, spec) in [(LIST, read), (WRITE, write)] {
            let result = load::run(&client, request(&base, endpoint, upstream.len()), spec).await;
            rows.push(Row {
                endpoint,
                web_nodes: upstream.len(),
                result,
            });
        }
        proxy.stop().await?;
    }
    Ok(rows)
}

/// A client reaching the virtual host by name on nginx's port, with the API token.
fn client(host_name: &str, port: u16, token: &str) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Token {token}").parse()?,
    );
    Ok(reqwest::Client::builder()
        .resolve(
            host_name,
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        )
        .default_headers(headers)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// Request `i` to `endpoint`: a read, or a part with a name no other request uses.
fn request(base: &str, endpoint: &'static str, web_nodes: usize) -> MakeRequest {
    let url = format!("{base}{endpoint}");
    Arc::new(move |client, i| {
        if endpoint == WRITE {
            client.post(&url).json(&serde_json::json!({
                "name": format!("load {web_nodes} node(s) #{i}"),
                "description": "load benchmark",
            }))
        } else {
            client.get(&url)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_each_endpoint_for_one_and_two_nodes_side_by_side() {
        let result = |ms: u64, errors| LoadResult {
            sent: 4,
            errors,
            first_error: None,
            elapsed: Duration::from_secs(1),
            latencies: vec![Duration::from_millis(ms); 4 - errors],
        };
        let spec = LoadSpec {
            requests: 4,
            concurrency: 2,
            limit: Duration::from_secs(60),
        };
        let bench = Bench {
            rows: vec![
                Row {
                    endpoint: LIST,
                    web_nodes: 1,
                    result: result(20, 0),
                },
                Row {
                    endpoint: WRITE,
                    web_nodes: 2,
                    result: result(40, 1),
                },
            ],
            gunicorn_workers: "2".into(),
            read: spec,
            write: spec,
        };
        insta::assert_snapshot!(bench.render());
        assert_eq!(bench.errors(), 1);
    }
}
