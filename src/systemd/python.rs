//! The container's `inventree-python`: the host tier's interpreter and InvenTree's locked
//! packages (from the venv `uv.lock` made) merged into one self-contained directory that can live
//! at any path — what `pkgs/python.nix` is to NixOS, a Python whose `bin/python` imports every
//! dependency.
//!
//! Why not bind the venv as it is: a venv points at its base interpreter by absolute path
//! (`pyvenv.cfg`), and the base here lives under `/root` (pyenv), which the units hide
//! (`ProtectHome=true`). So the base installation is copied, the venv's site-packages copied
//! into it, and the interpreter's library path made relative (`patchelf --set-rpath
//! '$ORIGIN/../lib'`; pyenv links it to an absolute `/root/...`). Made once per interpreter and
//! package set (a cache entry).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use serde::Deserialize;

use super::prerequisites::SystemdEnv;
use crate::{
    cache,
    process::isolated::{self, Spec},
};

/// Where the interpreter keeps what the merged directory is made from.
#[derive(Debug, Deserialize)]
struct Layout {
    base: PathBuf,
    purelib: PathBuf,
    platlib: PathBuf,
    /// `3.13`
    version: String,
    /// The real interpreter binary (`.../bin/python3.13`).
    executable: PathBuf,
}

const DESCRIBE: &str = "import json, os, sys, sysconfig\n\
paths = sysconfig.get_paths()\n\
print(json.dumps({'base': sys.base_prefix, 'purelib': paths['purelib'], 'platlib': paths['platlib'],\n\
  'version': '%d.%d' % sys.version_info[:2], 'executable': os.path.realpath(sys.executable)}))";

fn spec(name: &str, program: &Path, args: &[String], logs: &Path) -> Spec {
    let env: BTreeMap<String, String> = ["PATH", "HOME", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    Spec {
        name: name.into(),
        program: program.to_path_buf(),
        args: args.to_vec(),
        env,
        cwd: logs.to_path_buf(),
        log: logs.join(format!("{name}.log")),
        parent_death_signal: nix::sys::signal::Signal::SIGKILL,
    }
}

async fn run_ok(spec: &Spec, timeout: Duration) -> anyhow::Result<String> {
    let done = isolated::run(spec, timeout).await?;
    anyhow::ensure!(
        done.success,
        "{} failed (exit {:?}):\n{}",
        spec.command_line(),
        done.code,
        crate::util::tail(&done.output, 30)
    );
    Ok(done.output)
}

async fn describe(python: &Path, logs: &Path) -> anyhow::Result<Layout> {
    let out = run_ok(
        &spec(
            "describe-python",
            python,
            &["-c".into(), DESCRIBE.into()],
            logs,
        ),
        Duration::from_secs(60),
    )
    .await?;
    let line = out.lines().last().unwrap_or_default();
    serde_json::from_str(line)
        .with_context(|| format!("{} described itself as {out}", python.display()))
}

/// The installed distributions (`*.dist-info` names carry versions): what the key depends on.
fn distributions(site: &Path) -> anyhow::Result<String> {
    let mut names: Vec<String> = std::fs::read_dir(site)
        .with_context(|| format!("listing {}", site.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dist-info"))
        .collect();
    names.sort();
    Ok(names.join("\n"))
}

/// How the merged Python is made; part of its cache key, so a changed recipe remakes it.
const RECIPE: &str = "merged, site-packages compiled";

/// Bytecode for every module of `dir`, as pyproject.nix's install hook compiles every package of
/// the Nix environment (`UV_COMPILE_BYTECODE=1`): the store is read-only, so a module without
/// its `.pyc` would be compiled again at every start of every unit. (A venv made by uv holds
/// bytecode only for what happened to be imported while it was writable.)
async fn compile_bytecode(python: &Path, dir: &Path, logs: &Path) -> anyhow::Result<()> {
    let args = [
        "-m".into(),
        "compileall".into(),
        "-q".into(),
        "-j".into(),
        "0".into(),
        dir.display().to_string(),
    ];
    run_ok(
        &spec("compileall", python, &args, logs),
        Duration::from_secs(900),
    )
    .await
    .with_context(|| format!("compiling the bytecode of {}", dir.display()))?;
    Ok(())
}

/// The merged Python (a cache entry); its `bin/python` is the interpreter.
pub async fn prepare(env: &SystemdEnv) -> anyhow::Result<PathBuf> {
    let started = Instant::now();
    let probe_dir = tempfile::tempdir().context("a scratch directory")?;
    let layout = describe(&env.host.python, probe_dir.path()).await?;
    let dists = distributions(&layout.purelib)?;
    let key = cache::key(&[
        layout.base.as_os_str().as_encoded_bytes(),
        layout.purelib.as_os_str().as_encoded_bytes(),
        dists.as_bytes(),
        RECIPE.as_bytes(),
    ]);
    let entry = cache::Entry::new("container-python", &key)?;
    if entry.exists() {
        return Ok(entry.path);
    }
    eprintln!(
        "systemd tier: merging {} and the packages of {} into {}",
        layout.base.display(),
        layout.purelib.display(),
        entry.path.display()
    );
    let scratch = entry.scratch()?;
    let logs = scratch.path();
    let made = scratch.path().join("python");
    let site = made.join(format!("lib/python{}/site-packages", layout.version));
    let copy = |from: &Path, to: &Path| {
        let args = vec![
            "-a".into(),
            "--".into(),
            format!("{}/.", from.display()),
            to.display().to_string(),
        ];
        spec("copy", Path::new("cp"), &args, logs)
    };
    std::fs::create_dir_all(&made).with_context(|| format!("creating {}", made.display()))?;
    run_ok(&copy(&layout.base, &made), Duration::from_secs(300)).await?;
    for lib in [&layout.purelib, &layout.platlib] {
        run_ok(&copy(lib, &site), Duration::from_secs(300)).await?;
    }
    let binary = made.join("bin").join(
        layout
            .executable
            .file_name()
            .context("the interpreter has a file name")?,
    );
    let rpath = [
        "--set-rpath".into(),
        "$ORIGIN/../lib".into(),
        binary.display().to_string(),
    ];
    run_ok(
        &spec("patchelf", &env.patchelf, &rpath, logs),
        Duration::from_secs(60),
    )
    .await?;
    for name in ["python", "python3"] {
        let link = made.join("bin").join(name);
        if !link.exists() {
            std::os::unix::fs::symlink(binary.file_name().unwrap_or_default(), &link)
                .with_context(|| format!("linking {}", link.display()))?;
        }
    }
    compile_bytecode(&made.join("bin/python"), &site, logs).await?;
    let check = [
        "-c".into(),
        "import django, django_q, gunicorn, weasyprint".into(),
    ];
    run_ok(
        &spec("check", &made.join("bin/python"), &check, logs),
        Duration::from_secs(120),
    )
    .await
    .context("the merged Python does not import InvenTree's dependencies")?;
    entry.publish(&made)?;
    eprintln!(
        "systemd tier: container Python ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(entry.path)
}

/// The merged Python with a plugin site's packages in its site-packages (a cache entry): what
/// `pkgs/python.nix` makes of a `pluginWorkspace`. The base is hard-linked, not copied; the
/// plugins' files are new ones, so the base entry is never written through a link.
pub async fn with_plugins(python: &Path, plugin_site: &Path) -> anyhow::Result<PathBuf> {
    let key = cache::key(&[
        python.as_os_str().as_encoded_bytes(),
        plugin_site.as_os_str().as_encoded_bytes(),
    ]);
    let entry = cache::Entry::new("container-python-plugins", &key)?;
    if entry.exists() {
        return Ok(entry.path);
    }
    let started = Instant::now();
    let scratch = entry.scratch()?;
    let logs = scratch.path();
    let made = scratch.path().join("python");
    let link = [
        "-al".into(),
        python.display().to_string(),
        made.display().to_string(),
    ];
    run_ok(
        &spec("link", Path::new("cp"), &link, logs),
        Duration::from_secs(300),
    )
    .await?;
    let site = site_packages(&made)?;
    let add = [
        "-a".into(),
        "--remove-destination".into(),
        "--".into(),
        format!("{}/.", plugin_site.display()),
        site.display().to_string(),
    ];
    run_ok(
        &spec("add-plugins", Path::new("cp"), &add, logs),
        Duration::from_secs(300),
    )
    .await?;
    compile_bytecode(&made.join("bin/python"), &site, logs).await?;
    let check = [
        "-c".into(),
        "from importlib.metadata import entry_points\n\
         print(' '.join(sorted(e.name for e in entry_points(group='inventree_plugins'))))"
            .into(),
    ];
    let found = run_ok(
        &spec("check", &made.join("bin/python"), &check, logs),
        Duration::from_secs(60),
    )
    .await
    .context("the merged Python with plugins does not run")?;
    entry.publish(&made)?;
    eprintln!(
        "systemd tier: container Python with plugins ({}) ready in {:.1} s",
        found.trim(),
        started.elapsed().as_secs_f64()
    );
    Ok(entry.path)
}

/// `lib/python3.X/site-packages` of a merged Python.
fn site_packages(python: &Path) -> anyhow::Result<PathBuf> {
    let lib = python.join("lib");
    std::fs::read_dir(&lib)
        .with_context(|| format!("reading {}", lib.display()))?
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .with_context(|| format!("no python3.X/site-packages under {}", lib.display()))
}
