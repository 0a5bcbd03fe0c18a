//! The module's nginx virtual host, run by Debian's nginx in front of a host-tier instance.
//!
//! The eval gives the virtual host as NixOS holds it (`services.nginx.virtualHosts.<name>`:
//! locations with `alias`, `proxyPass`, `extraConfig`, `recommendedProxySettings`, and the
//! `inventree` upstream). [`render`] writes it the way nixpkgs' nginx module does (`mkLocations`
//! and `upstreamConfig` in nixos/modules/services/web-servers/nginx/default.nix: the same
//! directives in the same order, the recommended proxy headers inline instead of an `include` of
//! a store file), with the paths moved under the instance's directory and the upstream at the
//! instance's port. What nixpkgs adds around it (TLS, ACME, the port-80 redirect) is left out:
//! the subject is the module's locations — `/media/` behind InvenTree's `/auth/`.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;
use serde_json::Value;

use super::layout;
use crate::process::{
    isolated::{self, Spec},
    Running,
};

/// nixpkgs' `recommendedProxyConfig` (the file a location with `recommendedProxySettings`
/// includes).
const RECOMMENDED_PROXY_HEADERS: &str = "proxy_set_header        Host $host;
proxy_set_header        X-Real-IP $remote_addr;
proxy_set_header        X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header        X-Forwarded-Proto $scheme;
proxy_set_header        X-Forwarded-Host $host;
proxy_set_header        X-Forwarded-Server $hostname;
";

/// Where nginx is (Debian's `nginx`; `/usr/sbin` may not be on a user's PATH).
pub fn find() -> anyhow::Result<PathBuf> {
    which::which("nginx")
        .or_else(|_| which::which("/usr/sbin/nginx"))
        .map_err(|_| {
            anyhow::anyhow!("no nginx: install Debian's `nginx` package (scripts/setup-dev)")
        })
}

/// The server name of the virtual host (its `serverName`, else its attribute name).
pub fn host_name(vhost: &Value) -> anyhow::Result<String> {
    vhost["serverName"]
        .as_str()
        .or_else(|| vhost["hostName"].as_str())
        .map(str::to_string)
        .context("the virtual host has neither serverName nor hostName")
}

/// `nginx.conf` for `vhost` on `127.0.0.1:listen`, each upstream's servers replaced by the web
/// nodes the harness runs (`127.0.0.1:<port>` for each of `upstream_ports`), paths moved under
/// `root`, nginx's own files in `run_dir`.
pub fn render(
    vhost: &Value,
    listen: u16,
    upstream_ports: &[u16],
    root: &Path,
    run_dir: &Path,
) -> anyhow::Result<String> {
    let run = run_dir.display();
    let mut conf = format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\nuser root;\npid {run}/nginx.pid;\n\
         error_log {run}/error.log;\nevents {{}}\nhttp {{\n  include /etc/nginx/mime.types;\n  \
         default_type application/octet-stream;\n  access_log {run}/access.log;\n  \
         client_body_temp_path {run}/client_body;\n  proxy_temp_path {run}/proxy;\n  \
         fastcgi_temp_path {run}/fastcgi;\n  uwsgi_temp_path {run}/uwsgi;\n  \
         scgi_temp_path {run}/scgi;\n"
    );
    conf.push_str(&upstreams(vhost, upstream_ports)?);
    conf.push_str(&format!(
        "  server {{\n    listen 127.0.0.1:{listen};\n    server_name {};\n",
        host_name(vhost)?
    ));
    if let Some(extra) = vhost["extraConfig"].as_str().filter(|s| !s.is_empty()) {
        conf.push_str(&indent(extra, 4));
    }
    for (name, location) in sorted_locations(vhost)? {
        conf.push_str(&render_location(&name, location, root));
    }
    conf.push_str("  }\n}\n");
    Ok(conf)
}

/// `upstream` blocks, their servers the nodes' ports.
fn upstreams(vhost: &Value, upstream_ports: &[u16]) -> anyhow::Result<String> {
    let upstreams = vhost["upstreams"]
        .as_object()
        .context("the eval gives no upstreams with the virtual host")?;
    anyhow::ensure!(!upstream_ports.is_empty(), "no web node to proxy to");
    let mut out = String::new();
    for (name, upstream) in upstreams {
        out.push_str(&format!("  upstream {name} {{\n"));
        for port in upstream_ports {
            out.push_str(&format!("    server 127.0.0.1:{port};\n"));
        }
        if let Some(extra) = upstream["extraConfig"].as_str().filter(|s| !s.is_empty()) {
            out.push_str(&indent(extra, 4));
        }
        out.push_str("  }\n");
    }
    Ok(out)
}

/// Locations in nixpkgs' order (`sortProperties`: priority, then name).
fn sorted_locations(vhost: &Value) -> anyhow::Result<Vec<(String, &Value)>> {
    let locations = vhost["locations"]
        .as_object()
        .context("the virtual host has no locations")?;
    let mut sorted: Vec<(String, &Value)> = locations
        .iter()
        .map(|(name, value)| (name.clone(), value))
        .collect();
    sorted.sort_by_key(|(name, value)| (value["priority"].as_i64().unwrap_or(1000), name.clone()));
    Ok(sorted)
}

/// One `location` block, directives in `mkLocations`' order.
fn render_location(name: &str, location: &Value, root: &Path) -> String {
    let mut out = format!("    location {name} {{\n");
    let proxy_pass = location["proxyPass"].as_str();
    if let Some(target) = proxy_pass {
        out.push_str(&format!("      proxy_pass {target};\n"));
    }
    if location["proxyWebsockets"].as_bool() == Some(true) {
        out.push_str("      proxy_http_version 1.1;\n      proxy_set_header Upgrade $http_upgrade;\n      proxy_set_header Connection $connection_upgrade;\n");
    }
    for (key, directive) in [
        ("index", "index"),
        ("tryFiles", "try_files"),
        ("root", "root"),
        ("alias", "alias"),
    ] {
        if let Some(value) = location[key].as_str() {
            out.push_str(&format!(
                "      {directive} {};\n",
                layout::relocate(value, root)
            ));
        }
    }
    if let Some(extra) = location["extraConfig"].as_str() {
        out.push_str(&indent(extra, 6));
    }
    if proxy_pass.is_some() && location["recommendedProxySettings"].as_bool() == Some(true) {
        out.push_str(&indent(RECOMMENDED_PROXY_HEADERS, 6));
    }
    out.push_str("    }\n");
    out
}

fn indent(text: &str, by: usize) -> String {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{}{}\n", " ".repeat(by), l.trim()))
        .collect()
}

/// A running nginx; stopped (its process group killed) when dropped.
pub struct Nginx {
    pub port: u16,
    pub run_dir: PathBuf,
    running: Running,
}

impl Nginx {
    /// Writes `conf` into `run_dir`, has nginx check it (`-t`), starts it and waits until it
    /// accepts connections on `port`.
    pub async fn start(run_dir: &Path, conf: &str, port: u16) -> anyhow::Result<Nginx> {
        let program = find()?;
        std::fs::create_dir_all(run_dir)
            .with_context(|| format!("creating {}", run_dir.display()))?;
        let conf_file = run_dir.join("nginx.conf");
        std::fs::write(&conf_file, conf)
            .with_context(|| format!("writing {}", conf_file.display()))?;
        let spec = |name: &str, extra: &[&str]| Spec {
            name: name.into(),
            program: program.clone(),
            // `-e`: nginx opens its error log before reading the configuration.
            args: [
                "-p",
                &run_dir.display().to_string(),
                "-e",
                &run_dir.join("error.log").display().to_string(),
                "-c",
                &conf_file.display().to_string(),
            ]
            .iter()
            .chain(extra)
            .map(|a| a.to_string())
            .collect(),
            env: std::collections::BTreeMap::from([("PATH".into(), "/usr/sbin:/usr/bin".into())]),
            cwd: run_dir.to_path_buf(),
            log: run_dir.join(format!("{name}.log")),
            parent_death_signal: nix::sys::signal::Signal::SIGKILL,
        };
        let test = isolated::run(&spec("nginx-test", &["-t"]), Duration::from_secs(30)).await?;
        anyhow::ensure!(
            test.success,
            "nginx refuses the rendered configuration:\n{}\n--- nginx.conf\n{conf}",
            test.output
        );
        let running = isolated::start(&spec("nginx", &[]))?;
        let nginx = Nginx {
            port,
            run_dir: run_dir.to_path_buf(),
            running,
        };
        nginx.wait_listening(Duration::from_secs(20)).await?;
        Ok(nginx)
    }

    async fn wait_listening(&self, budget: Duration) -> anyhow::Result<()> {
        anyhow::ensure!(
            crate::util::accepts_within(self.port, budget).await,
            "nginx did not listen on 127.0.0.1:{} within {} s: {}",
            self.port,
            budget.as_secs(),
            std::fs::read_to_string(self.run_dir.join("error.log")).unwrap_or_default()
        );
        Ok(())
    }

    /// Stops nginx and checks its process group is gone.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.running.stop(Duration::from_secs(5)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vhost() -> Value {
        serde_json::json!({
            "extraConfig": "",
            "hostName": "inventree.example.org",
            "serverName": null,
            "locations": {
                "/": {
                    "extraConfig": "client_max_body_size 100M;\nproxy_buffering off;\n",
                    "priority": 1000,
                    "proxyPass": "http://inventree",
                    "proxyWebsockets": false,
                    "recommendedProxySettings": true
                },
                "/media/": {
                    "alias": "/var/lib/inventree/media/",
                    "extraConfig": "auth_request /_inventree_auth;\nadd_header Content-Disposition \"attachment\";\n",
                    "priority": 1000,
                    "proxyWebsockets": false,
                    "recommendedProxySettings": false
                },
                "= /_inventree_auth": {
                    "extraConfig": "internal;\nproxy_pass_request_body off;\n",
                    "priority": 1000,
                    "proxyPass": "http://inventree/auth/",
                    "proxyWebsockets": false,
                    "recommendedProxySettings": true
                }
            },
            "upstreams": {"inventree": {"extraConfig": "", "servers": {"127.0.0.1:8000": {"backup": false}}}}
        })
    }

    #[test]
    fn the_virtual_host_renders_as_nixpkgs_writes_it_with_paths_and_ports_moved() {
        let conf = render(
            &vhost(),
            18080,
            &[18000],
            Path::new("/tmp/instance"),
            Path::new("/tmp/instance/nginx"),
        )
        .unwrap();
        insta::assert_snapshot!(conf);
    }

    #[test]
    fn every_web_node_is_a_server_of_the_upstream() {
        let conf = render(
            &vhost(),
            1,
            &[18001, 18002],
            Path::new("/r"),
            Path::new("/r/n"),
        )
        .unwrap();
        assert!(conf.contains(
            "upstream inventree {\n    server 127.0.0.1:18001;\n    server 127.0.0.1:18002;\n  }"
        ));
    }

    #[test]
    fn a_virtual_host_without_upstreams_is_an_error_naming_them() {
        let mut vhost = vhost();
        vhost["upstreams"] = Value::Null;
        let err = render(&vhost, 1, &[2], Path::new("/r"), Path::new("/r/n")).unwrap_err();
        assert!(err.to_string().contains("upstreams"), "{err}");
    }
}
