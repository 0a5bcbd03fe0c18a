//! `inventree-harness host [FIXTURE]`: run a fixture on this host exactly as the module would
//! (setup, server, worker), print where it is, and keep it running until Ctrl-C — for
//! reproducing a report by hand or pointing `inventree-harness probe` at it.

use std::{process::ExitCode, time::Duration};

use anyhow::Context as _;

use crate::{
    cli::HostArgs,
    context::Context,
    eval::{batch::Target, prerequisites::eval_prerequisites},
    host::{
        self, plan,
        postgres::{self, PgServer},
        scenarios, HostEnv, Instance,
    },
    probe::Credentials,
};

pub async fn run(ctx: &Context, args: HostArgs) -> anyhow::Result<ExitCode> {
    let env = host::host_prerequisites(ctx)
        .await
        .map_err(|skip| anyhow::anyhow!("cannot run on this host: {}", skip.reason))?
        .prepared(&ctx.flake_dir)
        .await?;
    eprintln!("host: {}", env.described);
    let plan = load_plan(ctx, &args.fixture).await?;
    let mut instance = Instance::create_on_port(&env, &plan, args.port)?;
    let root = instance.layout.root.clone();
    if args.keep {
        instance.keep_dir();
    }
    eprintln!("host: instance directory {}", root.display());
    let pg = start_postgres_if_configured(&env, &instance, &plan).await?;

    eprintln!("host: running setup (migrating an empty database takes a minute or more)…");
    let setup = instance.setup_ok().await?;
    eprint!("{}", setup.output);
    let credentials = instance.probe_credentials().await?;
    instance.start()?;
    let report = instance
        .wait_healthy(&credentials, scenarios::HEALTHY_BUDGET)
        .await?;
    print!("{}", report.render_human());
    print_where_it_is(&instance, &credentials)?;

    wait_for_ctrl_c_or_server_death(&mut instance).await;
    eprintln!("host: stopping…");
    instance.stop().await?;
    if let Some(mut pg) = pg {
        pg.stop().await?;
    }
    eprintln!(
        "host: stopped; nothing left running{}",
        if args.keep {
            format!("; kept {}", root.display())
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// A PostgreSQL server for the instance when its settings name a PostgreSQL database (see
/// [`postgres::server_for`]), after checking this host can run one.
async fn start_postgres_if_configured(
    env: &HostEnv,
    instance: &Instance,
    plan: &plan::HostPlan,
) -> anyhow::Result<Option<PgServer>> {
    let engine = instance.settings()["database"]["ENGINE"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if engine.contains("postgresql") {
        if let Some(why) = scenarios::postgres_unavailable(env).await {
            anyhow::bail!("fixture {} needs PostgreSQL: {why}", plan.fixture);
        }
    }
    let server = postgres::server_for(instance).await?;
    if let Some(server) = &server {
        eprintln!(
            "host: PostgreSQL listening in {}",
            server.socket_dir.display()
        );
    }
    Ok(server)
}

/// The URL, a credentials file (`INVENTREE_API_*`, mode 0600) for tools, the logs and the worker's
/// process group, so the running instance can be reached and poked by hand.
fn print_where_it_is(instance: &Instance, credentials: &Credentials) -> anyhow::Result<()> {
    let credentials_file = instance.layout.root.join("harness-credentials.txt");
    if let Credentials::Password { username, password } = credentials {
        crate::host::layout::write_mode(
            &credentials_file,
            &format!(
                "INVENTREE_API_HOST={}\nINVENTREE_API_USERNAME={username}\nINVENTREE_API_PASSWORD={password}\n",
                instance.url()
            ),
            0o600,
        )?;
    }
    println!("URL:          {}", instance.url());
    println!(
        "credentials:  {} (INVENTREE_API_* variables)",
        credentials_file.display()
    );
    println!("logs:         {}", instance.layout.logs_dir.display());
    println!(
        "environment:  {} (source it, then \"$INVENTREE_PYTHON\" -m inventree_runtime manage …)",
        instance.write_environment_file()?.display()
    );
    if let Some(cluster) = &instance.cluster {
        println!(
            "worker group: {} (kill -KILL -- -{} to simulate a dead worker)",
            cluster.pgid, cluster.pgid
        );
    }
    println!("Ctrl-C stops everything.");
    Ok(())
}

/// Keep the instance running until Ctrl-C, or until its server dies (said on stderr).
async fn wait_for_ctrl_c_or_server_death(instance: &mut Instance) {
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {
                if let Err(e) = instance.check_server_alive() {
                    eprintln!("host: {e:#}");
                    break;
                }
            }
        }
    }
}

async fn load_plan(ctx: &Context, fixture: &str) -> anyhow::Result<plan::HostPlan> {
    if fixture.ends_with(".nix") || fixture.contains('/') {
        let env = eval_prerequisites(ctx).await.map_err(|skip| {
            anyhow::anyhow!("a module file needs the eval tier: {}", skip.reason)
        })?;
        let path =
            std::fs::canonicalize(fixture).with_context(|| format!("module file {fixture}"))?;
        let target = Target {
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path,
            render: true,
        };
        let mut plans = plan::evaluate_targets(ctx, &env, &[target]).await?;
        return plans.pop().context("the evaluation returned no plan");
    }
    let (mut plans, origin) = plan::load(ctx, &[fixture]).await?;
    eprintln!("host: {origin}");
    plans.pop().context("no plan")
}
