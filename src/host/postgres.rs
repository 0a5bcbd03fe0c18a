//! A throw-away PostgreSQL server for the PostgreSQL fixture: `initdb` into a temporary
//! directory, `pg_ctl start` listening only on a unix socket in the directory the fixture names
//! (relocated), a role and database as the module's `ensureUsers`/`ensureDatabases` would make.
//! Local connections are trusted (the module uses peer authentication for the service user,
//! which the harness, running as another user, cannot mimic). Every step runs under a timeout;
//! the server is stopped by `stop`, or shut down immediately (SIGQUIT, no waiting) on drop.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;

use crate::process::{self, Spec};

/// The database a PostgreSQL fixture's rendered `database` settings name: its socket directory
/// (`HOST`), database and role (`USER`, else the database's name).
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureDatabase {
    pub socket_dir: String,
    pub name: String,
    pub user: String,
}

impl FixtureDatabase {
    pub fn from_settings(db: &serde_json::Value, fixture: &str) -> anyhow::Result<Self> {
        let field = |k: &str| db[k].as_str().map(str::to_string);
        anyhow::ensure!(
            field("ENGINE").is_some_and(|e| e.contains("postgresql")),
            "fixture {fixture} is not a PostgreSQL one: {db}"
        );
        let socket_dir = field("HOST").context("no database HOST (socket directory)")?;
        anyhow::ensure!(
            socket_dir.starts_with('/'),
            "database HOST {socket_dir} is not a socket directory"
        );
        let name = field("NAME").context("no database NAME")?;
        let user = field("USER").unwrap_or_else(|| name.clone());
        Ok(FixtureDatabase {
            socket_dir,
            name,
            user,
        })
    }
}

/// A throw-away PostgreSQL server for `instance` when its settings name a PostgreSQL database,
/// with the role and database they name (under the instance's directory); `None` for any other
/// database.
pub async fn server_for(instance: &super::Instance) -> anyhow::Result<Option<PgServer>> {
    let settings = instance.settings();
    let db = &settings["database"];
    if !db["ENGINE"]
        .as_str()
        .is_some_and(|engine| engine.contains("postgresql"))
    {
        return Ok(None);
    }
    let FixtureDatabase {
        socket_dir,
        name,
        user,
    } = FixtureDatabase::from_settings(db, &instance.plan.fixture)?;
    let server = PgServer::start(&instance.layout.root.join("pg"), Path::new(&socket_dir)).await?;
    server.create_role_and_database(&user, &name).await?;
    Ok(Some(server))
}

/// Where Debian (and most distributions) put the server binaries when they are not on PATH.
const SEARCH_DIRS: &[&str] = &["/usr/lib/postgresql", "/usr/local/pgsql"];

/// The directory holding `initdb`, `pg_ctl` and `postgres`, or why there is none.
pub fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(pg_ctl) = which::which("pg_ctl") {
        let resolved = pg_ctl.canonicalize().unwrap_or(pg_ctl);
        if let Some(dir) = resolved.parent() {
            if dir.join("initdb").is_file() && dir.join("postgres").is_file() {
                return Ok(dir.to_path_buf());
            }
        }
    }
    for base in SEARCH_DIRS {
        let mut versions: Vec<PathBuf> = std::fs::read_dir(base)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path().join("bin"))
                    .collect()
            })
            .unwrap_or_default();
        versions.sort();
        if let Some(dir) = versions
            .into_iter()
            .rev()
            .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
        {
            return Ok(dir);
        }
    }
    anyhow::bail!(
        "no PostgreSQL server binaries (initdb, pg_ctl): install Debian's `postgresql` package"
    )
}

/// `initdb` refuses to run as root: as root, the server runs as this account.
const SERVER_ACCOUNT: &str = "postgres";

fn account_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&name) && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

pub struct PgServer {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    pub socket_dir: PathBuf,
    ids: Option<(u32, u32)>,
    log: PathBuf,
    running: bool,
}

impl PgServer {
    /// Creates and starts a server under `base`, listening in `socket_dir` only.
    pub async fn start(base: &Path, socket_dir: &Path) -> anyhow::Result<PgServer> {
        let bin_dir = find_bin_dir()?;
        let ids = if nix::unistd::Uid::effective().is_root() {
            Some(account_ids(SERVER_ACCOUNT).with_context(|| {
                format!("running as root, initdb needs the `{SERVER_ACCOUNT}` account")
            })?)
        } else {
            None
        };
        let data_dir = base.join("pgdata");
        let log = base.join("postgresql.log");
        std::fs::create_dir_all(socket_dir)
            .with_context(|| format!("creating {}", socket_dir.display()))?;
        std::fs::create_dir_all(base).with_context(|| format!("creating {}", base.display()))?;
        if let Some((uid, gid)) = ids {
            // The server account must reach its directories through the (root-owned) temp dirs.
            for dir in base
                .ancestors()
                .take_while(|d| d.starts_with(std::env::temp_dir()))
            {
                make_traversable(dir)?;
            }
            for dir in socket_dir
                .ancestors()
                .take_while(|d| d.starts_with(base.parent().unwrap_or(base)))
            {
                make_traversable(dir)?;
            }
            std::fs::create_dir_all(&data_dir)?;
            for path in [&data_dir, &socket_dir.to_path_buf()] {
                nix::unistd::chown(
                    path.as_path(),
                    Some(nix::unistd::Uid::from_raw(uid)),
                    Some(nix::unistd::Gid::from_raw(gid)),
                )
                .with_context(|| format!("giving {} to {SERVER_ACCOUNT}", path.display()))?;
            }
            std::fs::write(&log, "")?;
            nix::unistd::chown(
                log.as_path(),
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(gid)),
            )?;
        }
        let mut server = PgServer {
            bin_dir,
            data_dir,
            socket_dir: socket_dir.to_path_buf(),
            ids,
            log,
            running: false,
        };
        let data = server.data_dir.display().to_string();
        server
            .run_tool(
                "initdb",
                &[
                    "-D",
                    &data,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ],
                Duration::from_secs(120),
            )
            .await?;
        server.start_again().await?;
        Ok(server)
    }

    /// Starts the server (again, after `stop`) on the same data and socket directory.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        let options = format!(
            "-k {} -c listen_addresses='' -c fsync=off -c full_page_writes=off",
            self.socket_dir.display()
        );
        let data = self.data_dir.display().to_string();
        let log = self.log.display().to_string();
        self.running = true;
        self.run_tool(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
            Duration::from_secs(90),
        )
        .await?;
        Ok(())
    }

    /// A role that owns a database of the same or another name, as `ensureDatabases` +
    /// `ensureUsers` with `ensureDBOwnership` create them.
    pub async fn create_role_and_database(&self, role: &str, database: &str) -> anyhow::Result<()> {
        let socket = self.socket_dir.display().to_string();
        for sql in [
            format!("CREATE ROLE \"{role}\" LOGIN"),
            format!("CREATE DATABASE \"{database}\" OWNER \"{role}\""),
        ] {
            let psql = self.bin_dir.join("psql");
            let psql = if psql.is_file() {
                psql
            } else {
                which::which("psql").context("psql not found")?
            };
            run(
                &psql,
                &[
                    "-h",
                    &socket,
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    &sql,
                ],
                None,
                Duration::from_secs(60),
            )
            .await
            .with_context(|| format!("psql: {sql}"))?;
        }
        Ok(())
    }

    async fn run_tool(
        &self,
        tool: &str,
        args: &[&str],
        timeout: Duration,
    ) -> anyhow::Result<String> {
        run(&self.bin_dir.join(tool), args, self.ids, timeout).await
    }

    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if !self.running {
            return Ok(());
        }
        let data = self.data_dir.display().to_string();
        let result = self
            .run_tool(
                "pg_ctl",
                &["-D", &data, "-m", "fast", "-w", "-t", "30", "stop"],
                Duration::from_secs(45),
            )
            .await;
        self.running = false;
        result.map(|_| ())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for PgServer {
    // Must not wait (it may run on an async thread): SIGQUIT is PostgreSQL's immediate
    // shutdown, which the postmaster carries out on its own. `stop` is the orderly way.
    fn drop(&mut self) {
        if self.running {
            if let Some(pid) = postmaster_pid(&self.data_dir) {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGQUIT);
            }
        }
    }
}

/// The postmaster's pid, from the first line of `postmaster.pid` (pg_ctl starts it in a session
/// of its own, so it is not in any process group the harness started).
fn postmaster_pid(data_dir: &Path) -> Option<nix::unistd::Pid> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    (pid > 0).then(|| nix::unistd::Pid::from_raw(pid))
}

fn make_traversable(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    let mode = meta.permissions().mode();
    if mode & 0o001 == 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o011))
            .with_context(|| format!("making {} traversable", dir.display()))?;
    }
    Ok(())
}

/// Runs a PostgreSQL tool (as the server account when there is one); its output, or an error
/// naming the command and quoting what it printed.
async fn run(
    program: &Path,
    args: &[&str],
    ids: Option<(u32, u32)>,
    timeout: Duration,
) -> anyhow::Result<String> {
    let mut spec = Spec::new(program)
        .args(args.iter().copied())
        .env("LC_ALL", "C")
        .cwd("/");
    if let Some((uid, gid)) = ids {
        spec = spec.user(uid, gid);
    }
    let done = process::run(&spec, timeout).await?.require_success()?;
    Ok(done.output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_postmaster_pid_is_the_first_line_of_postmaster_pid() {
        let data = tempfile::tempdir().unwrap();
        assert_eq!(postmaster_pid(data.path()), None);
        std::fs::write(
            data.path().join("postmaster.pid"),
            "4242\n/tmp/pgdata\n1700000000\n5432\n",
        )
        .unwrap();
        assert_eq!(
            postmaster_pid(data.path()),
            Some(nix::unistd::Pid::from_raw(4242))
        );
    }

    #[test]
    fn account_ids_come_from_passwd() {
        // root is in every /etc/passwd.
        assert_eq!(account_ids("root"), Some((0, 0)));
        assert_eq!(account_ids("no-such-account-here"), None);
    }
}
