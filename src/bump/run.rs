//! The bump itself: resolve the target release, prefetch what the pin needs, rewrite the pin,
//! regenerate the Python lock, then run the eval, build and VM tiers on the result and write the
//! report. A dry run does all of it in a copy of the checkout (`target/bump-runs/<time>/workspace`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use super::feed;
use super::hashes::{self, FAKE_HASH};
use super::lockdiff::{self, LockDiff};
use super::pin::{Change, Pin, PinFile, PIN_FILE};
use super::process;
use super::rehearsal;
use super::report::{BumpReport, FieldChange, Outcome, Step};
use super::sources;
use super::version::{classify, Version};
use crate::context::Context;
use crate::nix::NixError;
use crate::tiers::TierOutcome;
use crate::util::{tail, unix_now, utc_timestamp};
use crate::vm;

#[derive(Debug, Clone)]
pub enum Target {
    Version(Version),
    /// The latest stable release of the feed: a recorded file, or GitHub's API.
    Latest {
        feed: Option<PathBuf>,
    },
}

#[derive(Debug, Clone)]
pub struct BumpOptions {
    pub target: Target,
    pub dry_run: bool,
    /// The release's backend requirements; default: from the prefetched source.
    pub requirements: Option<PathBuf>,
    /// Where reports (and a dry run's workspace) go; default `<flake>/target/bump-runs`.
    pub runs_root: Option<PathBuf>,
    /// Python that runs `scripts/lock-python-deps` (stdlib only).
    pub python: String,
    /// The Python 3.13 uv locks for (`--interpreter` of the lock script); default: uv finds one.
    pub interpreter: Option<PathBuf>,
    /// Run the eval, host, build and VM tiers after the rewrite (off: stop after the lock).
    pub tiers: bool,
    /// The release's source tree, instead of the prefetched one: the lock's requirements, the
    /// migrations it adds, and the tree the host tier runs.
    pub source: Option<PathBuf>,
}

pub struct BumpOutcome {
    pub report: BumpReport,
    pub report_dir: PathBuf,
}

const NETWORK_TIMEOUT: Duration = Duration::from_secs(120);
const PREFETCH_TIMEOUT: Duration = Duration::from_secs(900);
const LOCK_TIMEOUT: Duration = Duration::from_secs(1800);
const PLACEHOLDER_COMMIT: &str = "0000000000000000000000000000000000000000";

struct Steps(Vec<Step>);

impl Steps {
    fn push(
        &mut self,
        name: &str,
        started: Instant,
        outcome: Outcome,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        let step = Step {
            name: name.to_owned(),
            outcome,
            summary: summary.into(),
            detail: detail.into(),
            seconds: started.elapsed().as_secs_f64(),
        };
        eprintln!(
            "bump: {:<10} {:<7} {}",
            step.name,
            match outcome {
                Outcome::Passed => "passed",
                Outcome::Failed => "FAILED",
                Outcome::Skipped => "skipped",
            },
            step.summary
        );
        self.0.push(step);
    }
}

/// The release feed's text: a recorded file, or GitHub's releases API.
async fn read_feed(path: Option<&Path>) -> Result<String> {
    if let Some(path) = path {
        return std::fs::read_to_string(path)
            .with_context(|| format!("reading the release feed {}", path.display()));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent("nixos-inventree-harness")
        .build()
        .context("creating the HTTP client")?;
    let mut request = client
        .get(feed::RELEASES_URL)
        .header("Accept", "application/vnd.github+json");
    if let Ok(token) = std::env::var("GITHUB_TOKEN") {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("fetching the release feed {}", feed::RELEASES_URL))?;
    let status = response.status();
    let body = response.text().await.context("reading the release feed")?;
    if !status.is_success() {
        bail!(
            "the release feed answered HTTP {status}: {}",
            tail(&body, 5)
        );
    }
    Ok(body)
}

/// Copy the files git tracks (what the flake sees) into `dest`.
async fn copy_checkout(src: &Path, dest: &Path) -> Result<usize> {
    let argv = ["git", "ls-files", "-z"].map(String::from);
    let out = process::run(&argv, src, Duration::from_secs(60)).await?;
    if !out.success {
        bail!(
            "`git ls-files` in {} failed: {}",
            src.display(),
            out.stderr.trim()
        );
    }
    let files: Vec<String> = out
        .stdout
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    let (src, dest) = (src.to_path_buf(), dest.to_path_buf());
    // The whole checkout: copied on a blocking-pool thread, not on an async worker.
    tokio::task::spawn_blocking(move || copy_files(&files, &src, &dest))
        .await
        .context("the copying thread failed")?
}

/// Copies each of `files` (relative paths) from `src` to `dest`; how many were there to copy.
fn copy_files(files: &[String], src: &Path, dest: &Path) -> Result<usize> {
    let mut copied = 0;
    for file in files {
        let from = src.join(file);
        if !from.is_file() {
            continue; // deleted in the work tree
        }
        let to = dest.join(file);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::copy(&from, &to)
            .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        copied += 1;
    }
    Ok(copied)
}

async fn prefetch(ctx: &Context, url: &str) -> Result<hashes::Prefetched> {
    let output = crate::nix::NixCommand::new(["store", "prefetch-file"])
        .args(["--json", "--hash-type", "sha256", "--unpack", url])
        .timeout(PREFETCH_TIMEOUT.min(ctx.nix_timeout.max(NETWORK_TIMEOUT)))
        .run()
        .await?;
    Ok(hashes::parse_prefetch(&output.stdout)?)
}

async fn tag_commit(tag: &str) -> Result<String> {
    let argv = vec![
        "git".to_owned(),
        "ls-remote".to_owned(),
        sources::REPOSITORY.to_owned(),
        format!("refs/tags/{tag}"),
        format!("refs/tags/{tag}^{{}}"),
    ];
    let out = process::run(&argv, Path::new("/"), NETWORK_TIMEOUT).await?;
    if !out.success {
        bail!(
            "`{}` failed: {}",
            argv.join(" "),
            tail(out.stderr.trim(), 3)
        );
    }
    sources::commit_from_ls_remote(&out.stdout, tag)
        .with_context(|| format!("{} has no tag {tag}", sources::REPOSITORY))
}

/// `YYYY-MM-DD` of a commit: a shallow, tree-less fetch of the tag into a scratch repository.
async fn commit_date(tag: &str, commit: &str) -> Result<String> {
    let scratch = tempfile::tempdir().context("creating a scratch repository")?;
    let dir = scratch.path();
    let git = |args: &[&str]| -> Vec<String> {
        std::iter::once("git")
            .chain(args.iter().copied())
            .map(str::to_owned)
            .collect()
    };
    let tag_ref = format!("refs/tags/{tag}");
    for argv in [
        git(&["init", "-q", "--bare", "."]),
        git(&[
            "fetch",
            "-q",
            "--depth=1",
            "--filter=tree:0",
            sources::REPOSITORY,
            &tag_ref,
        ]),
    ] {
        let out = process::run(&argv, dir, NETWORK_TIMEOUT).await?;
        if !out.success {
            bail!(
                "`{}` failed: {}",
                argv.join(" "),
                tail(out.stderr.trim(), 3)
            );
        }
    }
    let argv = git(&[
        "show",
        "-s",
        "--format=%cs",
        &format!("{commit}^{{commit}}"),
    ]);
    let out = process::run(&argv, dir, NETWORK_TIMEOUT).await?;
    let date = out.stdout.trim().to_owned();
    if out.success && date.len() == 10 {
        Ok(date)
    } else {
        bail!(
            "`{}` failed: {}",
            argv.join(" "),
            tail(out.stderr.trim(), 3)
        )
    }
}

/// A value a step obtained, or kept from the pin for the same version, or a placeholder.
enum Obtained {
    New(String),
    Kept(String),
    Placeholder(String),
}

impl Obtained {
    fn value(&self) -> &str {
        match self {
            Obtained::New(v) | Obtained::Kept(v) | Obtained::Placeholder(v) => v,
        }
    }
}

/// Record a network step: passed with the new value; when it failed, keep the pinned value if the
/// version is unchanged (skipped), else a placeholder (failed).
fn settle(
    steps: &mut Steps,
    name: &str,
    started: Instant,
    result: Result<String>,
    pinned_same_version: Option<&str>,
    placeholder: &str,
) -> Obtained {
    match (result.map_err(|e| format!("{e:#}")), pinned_same_version) {
        (Ok(value), _) => {
            steps.push(name, started, Outcome::Passed, value.clone(), "");
            Obtained::New(value)
        }
        (Err(e), Some(pinned)) => {
            steps.push(
                name,
                started,
                Outcome::Skipped,
                format!(
                    "kept the pinned value for the same version ({})",
                    first_line(&e)
                ),
                e,
            );
            Obtained::Kept(pinned.to_owned())
        }
        (Err(e), None) => {
            steps.push(name, started, Outcome::Failed, first_line(&e), e);
            Obtained::Placeholder(placeholder.to_owned())
        }
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| l.trim_start().starts_with("error:"))
        .or_else(|| text.lines().next())
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// One bump under way: what every step reads, and the steps recorded so far.
struct Bump<'a> {
    ctx: &'a Context,
    opts: &'a BumpOptions,
    started_at: u64,
    report_dir: PathBuf,
    steps: Steps,
}

/// What step 3 obtained for the pin, and where the source was unpacked (step 5 reads the
/// release's requirements from it).
struct PinInputs {
    commit: Obtained,
    commit_date: Option<String>,
    src_hash: Obtained,
    frontend_hash: Obtained,
    source_path: Option<PathBuf>,
}

impl PinInputs {
    /// The pin keys that hold a placeholder because their step failed.
    fn placeholders(&self) -> Vec<&'static str> {
        [
            ("commit", &self.commit),
            ("srcHash", &self.src_hash),
            ("frontendHash", &self.frontend_hash),
        ]
        .iter()
        .filter(|(_, o)| matches!(o, Obtained::Placeholder(_)))
        .map(|(f, _)| *f)
        .collect()
    }
}

pub async fn run(ctx: &Context, opts: &BumpOptions) -> Result<BumpOutcome> {
    let started_at = unix_now();
    let report_dir = opts
        .runs_root
        .clone()
        .unwrap_or_else(|| ctx.flake_dir.join("target/bump-runs"))
        .join(vm::run::run_dir_name(started_at));
    std::fs::create_dir_all(&report_dir)
        .with_context(|| format!("creating {}", report_dir.display()))?;
    let mut bump = Bump {
        ctx,
        opts,
        started_at,
        report_dir,
        steps: Steps(Vec::new()),
    };

    // 1. The target release.
    let Some(target) = bump.resolve_target().await else {
        // Still a report: the nightly job publishes what broke.
        return bump.publish_unresolved();
    };
    let tag = sources::tag_of(&target);

    // 2. Where the bump happens.
    let pin_file = PinFile::load(&ctx.flake_dir);
    let from = match &pin_file {
        Ok(p) => p.pin.version.clone(),
        Err(_) => "unpinned".to_owned(),
    };
    let workspace = bump.prepare_workspace().await?;
    let ws_ctx = Context {
        flake_dir: workspace.clone(),
        overrides: ctx.overrides.clone(),
        nix_timeout: ctx.nix_timeout,
    };
    let same = pin_file
        .as_ref()
        .ok()
        .filter(|p| p.pin.version == tag)
        .map(|p| p.pin.clone());

    // 3. What the pin needs: the tag's commit, the source and frontend hashes.
    let inputs = bump.obtain_pin_inputs(&tag, same.as_ref()).await;

    // 4. The pin.
    let mut pin_changes = bump.write_pin(&pin_file, &workspace, &tag, same.as_ref(), &inputs)?;

    // 5. The Python lock, and the migrations the release adds.
    let source = opts.source.clone().or(inputs.source_path.clone());
    let lock = bump
        .lock_python(&workspace, &tag, source.as_deref())
        .await?;
    let migrations = bump.migrations_added(source.as_deref());

    // 6. The tiers, on the rewritten tree.
    if opts.tiers {
        run_tiers(&ws_ctx, &mut bump.steps, &mut pin_changes).await;
        bump.host_step(&ws_ctx, source.as_deref(), lock.is_some())
            .await;
    }

    let report = BumpReport {
        from: from.clone(),
        to: tag.clone(),
        change: match from.parse::<Version>() {
            Ok(f) => classify(&f, &target),
            Err(_) => super::version::Change::Major,
        },
        dry_run: opts.dry_run,
        started_at: utc_timestamp(started_at),
        workspace: workspace.display().to_string(),
        pin: pin_changes,
        lock,
        migrations,
        steps: bump.steps.0,
    };
    publish(bump.report_dir, report)
}

impl Bump<'_> {
    /// Step 6's host tier: the release's tree under the rewritten module, with a venv from the
    /// regenerated lock; skipped without a tree or a lock.
    async fn host_step(&mut self, ws_ctx: &Context, source: Option<&Path>, locked: bool) {
        let t = Instant::now();
        let host = match (source, locked) {
            (None, _) => TierOutcome::Skipped {
                reason: "no source tree of the release (prefetch failed; pass --source DIR)".into(),
            },
            (_, false) => TierOutcome::Skipped {
                reason: "the lock step did not pass".into(),
            },
            (Some(tree), true) => {
                rehearsal::host_on_new_version(
                    ws_ctx,
                    tree,
                    &self.report_dir,
                    self.opts.interpreter.as_deref(),
                )
                .await
            }
        };
        outcome_step(&mut self.steps, "host", t, host);
    }

    /// Step 1: the release to move to; `None` when the feed could not say (the step failed).
    async fn resolve_target(&mut self) -> Option<Version> {
        let t = Instant::now();
        let path = match &self.opts.target {
            Target::Version(v) => {
                let summary = format!("{v} (given)");
                self.steps.push("resolve", t, Outcome::Passed, summary, "");
                return Some(v.clone());
            }
            Target::Latest { feed: path } => path,
        };
        let chosen = read_feed(path.as_deref())
            .await
            .and_then(|text| Ok(feed::latest_stable(&feed::parse(&text)?)?));
        match chosen {
            Ok(c) => {
                let summary = format!(
                    "{} is the latest stable release{}",
                    c.version,
                    c.published_at
                        .map(|p| format!(" (published {p})"))
                        .unwrap_or_default()
                );
                self.steps.push("resolve", t, Outcome::Passed, summary, "");
                Some(c.version)
            }
            Err(e) => {
                let summary = format!(
                    "cannot resolve the latest release: {}",
                    first_line(&format!("{e:#}"))
                );
                self.steps
                    .push("resolve", t, Outcome::Failed, summary, format!("{e:#}"));
                None
            }
        }
    }

    /// The report of a bump whose target could not be resolved: step 1 failed, nothing else ran.
    fn publish_unresolved(self) -> Result<BumpOutcome> {
        let from = PinFile::load(&self.ctx.flake_dir)
            .map(|p| p.pin.version)
            .unwrap_or_else(|_| "unpinned".into());
        let report = BumpReport {
            from,
            to: "unknown".into(),
            change: super::version::Change::Same,
            dry_run: self.opts.dry_run,
            started_at: utc_timestamp(self.started_at),
            workspace: self.ctx.flake_dir.display().to_string(),
            pin: Vec::new(),
            lock: None,
            migrations: None,
            steps: self.steps.0,
        };
        publish(self.report_dir, report)
    }

    /// Step 2: the checkout itself, or for a dry run a copy of it in the report directory.
    async fn prepare_workspace(&mut self) -> Result<PathBuf> {
        if !self.opts.dry_run {
            return Ok(self.ctx.flake_dir.clone());
        }
        let ws = self.report_dir.join("workspace");
        let t = Instant::now();
        let n = copy_checkout(&self.ctx.flake_dir, &ws).await?;
        init_workspace_repository(&ws).await?;
        self.steps.push(
            "workspace",
            t,
            Outcome::Passed,
            format!("copied {n} tracked files to {}", ws.display()),
            "",
        );
        Ok(ws)
    }

    /// Step 3: the tag's commit and its date, the source and frontend hashes. A failed network
    /// step keeps the pinned value for the same version, else leaves a placeholder.
    async fn obtain_pin_inputs(&mut self, tag: &str, same: Option<&Pin>) -> PinInputs {
        let t = Instant::now();
        let commit = settle(
            &mut self.steps,
            "commit",
            t,
            tag_commit(tag).await,
            same.map(|p| p.commit.as_str()),
            PLACEHOLDER_COMMIT,
        );
        let commit_date = self.settle_commit_date(tag, &commit, same).await;
        let t = Instant::now();
        let source = prefetch(self.ctx, &sources::source_url(tag)).await;
        let source_path = source.as_ref().ok().map(|p| PathBuf::from(&p.store_path));
        let src_hash = settle(
            &mut self.steps,
            "source",
            t,
            source.map(|p| p.hash),
            same.map(|p| p.src_hash.as_str()),
            FAKE_HASH,
        );
        let t = Instant::now();
        let frontend = prefetch(self.ctx, &sources::frontend_url(tag))
            .await
            .map(|p| p.hash);
        let frontend_hash = settle(
            &mut self.steps,
            "frontend",
            t,
            frontend,
            same.map(|p| p.frontend_hash.as_str()),
            FAKE_HASH,
        );
        PinInputs {
            commit,
            commit_date,
            src_hash,
            frontend_hash,
            source_path,
        }
    }

    /// The date only labels the build (commit_date.txt); unknown is allowed (null).
    async fn settle_commit_date(
        &mut self,
        tag: &str,
        commit: &Obtained,
        same: Option<&Pin>,
    ) -> Option<String> {
        match (commit, same) {
            (Obtained::Kept(_), Some(pinned)) => pinned.commit_date.clone(),
            (Obtained::New(sha), _) => {
                let t = Instant::now();
                match commit_date(tag, sha).await {
                    Ok(date) => {
                        self.steps
                            .push("date", t, Outcome::Passed, date.clone(), "");
                        Some(date)
                    }
                    Err(e) => {
                        let e = format!("{e:#}");
                        let summary =
                            format!("commit date unknown, pinned as null ({})", first_line(&e));
                        self.steps.push("date", t, Outcome::Skipped, summary, e);
                        None
                    }
                }
            }
            _ => None,
        }
    }

    /// Step 4: rewrite the pin in the workspace; the changed keys, for the report. Outside a dry
    /// run a pin with placeholders is not written; a dry run writes it so the later steps can run.
    fn write_pin(
        &mut self,
        pin_file: &Result<PinFile>,
        workspace: &Path,
        tag: &str,
        same: Option<&Pin>,
        inputs: &PinInputs,
    ) -> Result<Vec<FieldChange>> {
        let t = Instant::now();
        let original = match pin_file {
            Ok(original) => original,
            Err(e) => {
                let summary = format!("{PIN_FILE} not found");
                self.steps
                    .push("pin", t, Outcome::Failed, summary, format!("{e:#}"));
                return Ok(Vec::new());
            }
        };
        let new = new_pin(&original.pin, tag, same, inputs);
        let placeholders = inputs.placeholders();
        if !placeholders.is_empty() && !self.opts.dry_run {
            let summary = format!("not written: unknown {}", placeholders.join(", "));
            self.steps.push("pin", t, Outcome::Failed, summary, "");
            return Ok(Vec::new());
        }
        let pin_changes = field_changes(&original.pin, &new);
        let mut file = PinFile::load(workspace)?;
        let (outcome, summary) = match file.update(&new) {
            Ok(fields) if placeholders.is_empty() => (
                Outcome::Passed,
                if fields.is_empty() {
                    "unchanged".to_owned()
                } else {
                    format!("rewrote {}", fields.join(", "))
                },
            ),
            Ok(_) => (
                Outcome::Failed,
                format!(
                    "written with placeholders for {} (dry run, so the later steps can run)",
                    placeholders.join(", ")
                ),
            ),
            Err(e) => (Outcome::Failed, format!("{e:#}")),
        };
        self.steps.push("pin", t, outcome, summary, "");
        Ok(pin_changes)
    }

    /// Step 5: regenerate uv.lock in the workspace from the release's backend requirements; its
    /// difference from the checkout's lock when locking succeeded.
    async fn lock_python(
        &mut self,
        workspace: &Path,
        tag: &str,
        source_path: Option<&Path>,
    ) -> Result<Option<LockDiff>> {
        let t = Instant::now();
        let requirements = self.opts.requirements.clone().or_else(|| {
            source_path
                .map(|p| p.join(sources::REQUIREMENTS_PATH))
                .filter(|p| p.is_file())
        });
        let Some(req) = requirements else {
            self.steps.push(
                "lock",
                t,
                Outcome::Failed,
                "no requirements file: the source could not be prefetched; pass --requirements FILE",
                "",
            );
            return Ok(None);
        };
        let before =
            std::fs::read_to_string(self.ctx.flake_dir.join("uv.lock")).unwrap_or_default();
        let argv = lock_script_argv(self.opts, workspace, &req, tag);
        match lock_from_scratch(&argv, workspace).await? {
            Ok(out) if out.success => self.record_lock(t, &before, &out, workspace, &req),
            Ok(out) => {
                self.steps.push(
                    "lock",
                    t,
                    Outcome::Failed,
                    format!("`{}` failed ({})", argv.join(" "), out.status),
                    tail(&format!("{}{}", out.stdout, out.stderr), 30),
                );
                Ok(None)
            }
            Err(e) => {
                self.steps
                    .push("lock", t, Outcome::Failed, format!("{e:#}"), "");
                Ok(None)
            }
        }
    }

    /// A lock that succeeded: its difference from `before` summarises the step, and the lock
    /// script's output is kept as `lock.log` in the report directory.
    fn record_lock(
        &mut self,
        t: Instant,
        before: &str,
        out: &process::ProcessOutput,
        workspace: &Path,
        requirements: &Path,
    ) -> Result<Option<LockDiff>> {
        let after = std::fs::read_to_string(workspace.join("uv.lock")).unwrap_or_default();
        match lockdiff::diff(before, &after) {
            Ok(diff) => {
                self.steps.push(
                    "lock",
                    t,
                    Outcome::Passed,
                    lock_summary(&diff, requirements),
                    out.stdout.clone(),
                );
                std::fs::write(
                    self.report_dir.join("lock.log"),
                    format!("{}{}", out.stdout, out.stderr),
                )
                .with_context(|| format!("writing {}", self.report_dir.display()))?;
                Ok(Some(diff))
            }
            Err(e) => {
                self.steps
                    .push("lock", t, Outcome::Failed, format!("{e:#}"), "");
                Ok(None)
            }
        }
    }
}

/// Make the dry run's copy its own git repository (files added, nothing committed): nix then reads
/// the copy as a flake of its own instead of as untracked files of the enclosing checkout.
impl Bump<'_> {
    /// Step 5b: the migrations the release's tree adds over the host tier's tree (the pinned
    /// release as this machine has it); `None` when either tree is missing.
    fn migrations_added(&mut self, source: Option<&Path>) -> Option<Vec<String>> {
        let t = Instant::now();
        let pinned = self
            .ctx
            .overrides
            .inventree_src
            .as_ref()
            .map(|s| s.value.clone());
        let (Some(new), Some(old)) = (source, pinned) else {
            self.steps.push(
                "migrations",
                t,
                Outcome::Skipped,
                "needs the release's tree (--source or a prefetch) and the host tier's tree (the pinned release)",
                "",
            );
            return None;
        };
        match rehearsal::migrations_added(&old, new) {
            Ok(added) => {
                let summary = format!("{} migrations added over {}", added.len(), old.display());
                self.steps
                    .push("migrations", t, Outcome::Passed, summary, added.join("\n"));
                Some(added)
            }
            Err(e) => {
                self.steps
                    .push("migrations", t, Outcome::Failed, format!("{e:#}"), "");
                None
            }
        }
    }
}

async fn init_workspace_repository(ws: &Path) -> Result<()> {
    for argv in [
        ["git", "init", "-q"].as_slice(),
        ["git", "add", "-A"].as_slice(),
    ] {
        let argv: Vec<String> = argv.iter().map(|a| (*a).to_owned()).collect();
        let out = process::run(&argv, ws, Duration::from_secs(60)).await?;
        if !out.success {
            bail!(
                "`{}` in {} failed: {}",
                argv.join(" "),
                ws.display(),
                out.stderr.trim()
            );
        }
    }
    Ok(())
}

/// The pin step 3's values make for `tag`.
fn new_pin(original: &Pin, tag: &str, same: Option<&Pin>, inputs: &PinInputs) -> Pin {
    Pin {
        version: tag.to_owned(),
        commit: inputs.commit.value().to_owned(),
        commit_date: inputs.commit_date.clone(),
        src_hash: inputs.src_hash.value().to_owned(),
        frontend_hash: inputs.frontend_hash.value().to_owned(),
        // No prefetch exists for fetchYarnDeps: a new release gets the placeholder, and the build
        // of frontend-from-source reports the real hash (corrected in the build step).
        yarn_deps_hash: match same {
            Some(pinned) => pinned.yarn_deps_hash.clone(),
            None => original
                .yarn_deps_hash
                .as_ref()
                .map(|_| FAKE_HASH.to_owned()),
        },
    }
}

/// The keys `new` changes, as the report shows them.
fn field_changes(original: &Pin, new: &Pin) -> Vec<FieldChange> {
    original
        .changes(new)
        .into_iter()
        .map(|c| FieldChange {
            field: c.field.into(),
            old: Change::show(&c.old),
            new: Change::show(&c.new),
        })
        .collect()
}

/// `scripts/lock-python-deps` of the workspace, locking `requirements` for `tag` into it.
fn lock_script_argv(
    opts: &BumpOptions,
    workspace: &Path,
    requirements: &Path,
    tag: &str,
) -> Vec<String> {
    let mut argv = vec![
        opts.python.clone(),
        workspace
            .join("scripts/lock-python-deps")
            .display()
            .to_string(),
        requirements.display().to_string(),
        "--version".to_owned(),
        tag.to_owned(),
        "--output-dir".to_owned(),
        workspace.display().to_string(),
    ];
    if let Some(interpreter) = &opts.interpreter {
        argv.extend([
            "--interpreter".to_owned(),
            interpreter.display().to_string(),
        ]);
    }
    // PATH's uv, else the one scripts/setup-dev puts in its tools venv (not on PATH).
    if let Some(uv) = crate::cache::tool("uv") {
        argv.extend(["--uv".to_owned(), uv.display().to_string()]);
    }
    argv
}

/// Run the lock script with the workspace's uv.lock removed: the lock is then a function of the
/// requirements and the recorded exclude-newer alone, not of the previous lock. The previous lock
/// is put back if locking fails. The outer `Err`: the lock file could not be removed or restored.
async fn lock_from_scratch(
    argv: &[String],
    workspace: &Path,
) -> Result<Result<process::ProcessOutput>> {
    let lock_path = workspace.join("uv.lock");
    let previous = std::fs::read(&lock_path).ok();
    if previous.is_some() {
        std::fs::remove_file(&lock_path)
            .with_context(|| format!("removing {} before locking", lock_path.display()))?;
    }
    let result = process::run(argv, workspace, LOCK_TIMEOUT).await;
    if !matches!(&result, Ok(out) if out.success) {
        if let Some(previous) = &previous {
            std::fs::write(&lock_path, previous)
                .with_context(|| format!("restoring {}", lock_path.display()))?;
        }
    }
    Ok(result)
}

/// Write the report (Markdown and JSON) into its directory.
fn publish(report_dir: PathBuf, report: BumpReport) -> Result<BumpOutcome> {
    write_report(&report_dir, &report)?;
    Ok(BumpOutcome { report, report_dir })
}

fn write_report(report_dir: &Path, report: &BumpReport) -> Result<()> {
    std::fs::write(report_dir.join("report.md"), report.to_markdown())
        .with_context(|| format!("writing the report to {}", report_dir.display()))?;
    std::fs::write(report_dir.join("report.json"), report.to_json())
        .with_context(|| format!("writing the report to {}", report_dir.display()))?;
    Ok(())
}

fn lock_summary(diff: &LockDiff, requirements: &Path) -> String {
    let what = if diff.is_empty() {
        format!("uv.lock unchanged ({} packages)", diff.after)
    } else {
        let downgrades = match diff.downgrades().len() {
            0 => String::new(),
            n => format!(", {n} of them downgrades"),
        };
        format!(
            "{} → {} packages ({} added, {} removed, {} changed{downgrades})",
            diff.before,
            diff.after,
            diff.added.len(),
            diff.removed.len(),
            diff.changed.len()
        )
    };
    format!("{what}, from {}", requirements.display())
}

fn outcome_step(steps: &mut Steps, name: &str, t: Instant, outcome: TierOutcome) {
    match outcome {
        TierOutcome::Passed { summary } => steps.push(name, t, Outcome::Passed, summary, ""),
        TierOutcome::Skipped { reason } => steps.push(name, t, Outcome::Skipped, reason, ""),
        TierOutcome::Failed { details } => steps.push(
            name,
            t,
            Outcome::Failed,
            first_line(&details),
            tail(&details, 40),
        ),
    }
}

async fn run_tiers(ws: &Context, steps: &mut Steps, pin_changes: &mut Vec<FieldChange>) {
    // eval: every package, check and VM test driver instantiates.
    let t = Instant::now();
    let eval = match crate::eval::eval_prerequisites(ws).await {
        Err(skip) => TierOutcome::Skipped {
            reason: skip.reason,
        },
        Ok(_) => instantiate_all(ws).await,
    };
    let eval_ok = matches!(eval, TierOutcome::Passed { .. });
    outcome_step(steps, "eval", t, eval);

    // build: every package; a fixed-output mismatch on a pinned hash corrects the pin.
    let t = Instant::now();
    let build = match vm::prerequisites::build_prerequisites(ws).await {
        Err(skip) => TierOutcome::Skipped {
            reason: skip.reason,
        },
        Ok(_) if !eval_ok => TierOutcome::Skipped {
            reason: "the eval step did not pass".into(),
        },
        Ok(_) => build_correcting_pin(ws, pin_changes).await,
    };
    let build_ok = matches!(build, TierOutcome::Passed { .. });
    outcome_step(steps, "build", t, build);

    // vm: every scenario.
    let t = Instant::now();
    let vm_outcome = match vm::prerequisites::vm_prerequisites(ws).await {
        Err(skip) => TierOutcome::Skipped {
            reason: skip.reason,
        },
        Ok(_) if !build_ok => TierOutcome::Skipped {
            reason: "the build step did not pass".into(),
        },
        Ok(_) => {
            let opts = vm::run::VmOptions {
                names: Vec::new(),
                timeout: vm::run::DEFAULT_TIMEOUT,
                runs_root: None,
            };
            match vm::run::run(ws, &opts).await {
                Ok(r) if r.all_passed() => TierOutcome::Passed {
                    summary: format!("{} scenarios passed", r.scenarios.len()),
                },
                Ok(r) => TierOutcome::Failed {
                    details: r.to_text(),
                },
                Err(e) => TierOutcome::Failed {
                    details: format!("{e:#}"),
                },
            }
        }
    };
    outcome_step(steps, "vm", t, vm_outcome);
}

/// Instantiate every package and every check (run derivation and driver): the same expressions
/// as the eval tier (`eval::instantiate`) and the VM tests' (`vm::instantiate`).
async fn instantiate_all(ws: &Context) -> TierOutcome {
    let Some(system) = vm::scenarios::current_system() else {
        return TierOutcome::Skipped {
            reason: "no Nix system for this host".into(),
        };
    };
    let packages = ws
        .nix_flake_command(["eval"])
        .args([
            "--json".to_owned(),
            ws.installable(&format!("packages.{system}")),
            "--apply".to_owned(),
            crate::eval::instantiate::DRV_PATHS_APPLY.to_owned(),
        ])
        .run()
        .await
        .map_err(anyhow::Error::from)
        .and_then(|out| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&out.stdout)
                .context("unexpected `nix eval` output")
        });
    let packages = match packages {
        Ok(p) => p.len(),
        Err(e) => {
            return TierOutcome::Failed {
                details: format!("packages: {e:#}"),
            }
        }
    };
    match vm::instantiate::instantiate_checks(ws, system).await {
        Ok(checks) => TierOutcome::Passed {
            summary: format!(
                "{packages} packages and {} checks (run + driver) instantiate",
                checks.len()
            ),
        },
        Err(e) => TierOutcome::Failed {
            details: format!("checks: {e}"),
        },
    }
}

/// The pin key holding `hash`, if exactly one of its hashes is it.
fn pinned_hash_field(pin: &Pin, hash: &str) -> Option<&'static str> {
    let fields = [
        ("srcHash", Some(&pin.src_hash)),
        ("frontendHash", Some(&pin.frontend_hash)),
        ("yarnDepsHash", pin.yarn_deps_hash.as_ref()),
    ];
    let matching: Vec<&'static str> = fields
        .iter()
        .filter(|(_, v)| v.is_some_and(|v| v == hash))
        .map(|(f, _)| *f)
        .collect();
    match matching.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// Replace the pinned hash `specified` by `got` (the "got:" of a mismatch) in the pin file.
fn correct_pin(
    ws: &Context,
    specified: &str,
    got: &str,
    pin_changes: &mut Vec<FieldChange>,
) -> Result<&'static str> {
    let mut file = PinFile::load(&ws.flake_dir)?;
    let Some(field) = pinned_hash_field(&file.pin, specified) else {
        bail!("a mismatch for {specified}, which is not exactly one of the pinned hashes");
    };
    let mut new = file.pin.clone();
    match field {
        "srcHash" => new.src_hash = got.to_owned(),
        "frontendHash" => new.frontend_hash = got.to_owned(),
        _ => new.yarn_deps_hash = Some(got.to_owned()),
    }
    file.update(&new)?;
    match pin_changes.iter_mut().find(|c| c.field == field) {
        Some(change) => change.new = got.to_owned(),
        None => pin_changes.push(FieldChange {
            field: field.into(),
            old: specified.to_owned(),
            new: got.to_owned(),
        }),
    }
    Ok(field)
}

/// Build every package of `packages.<system>`, one nix call each; on a fixed-output hash mismatch
/// of a pinned hash, write the "got:" hash into the pin and build that package again.
async fn build_correcting_pin(ws: &Context, pin_changes: &mut Vec<FieldChange>) -> TierOutcome {
    let Some(system) = vm::scenarios::current_system() else {
        return TierOutcome::Skipped {
            reason: "no Nix system for this host".into(),
        };
    };
    let names = match ws
        .nix_flake_command(["eval"])
        .args([
            "--json".to_owned(),
            ws.installable(&format!("packages.{system}")),
            "--apply".to_owned(),
            "builtins.attrNames".to_owned(),
        ])
        .run()
        .await
        .map_err(anyhow::Error::from)
        .and_then(|o| Ok(serde_json::from_str::<Vec<String>>(&o.stdout)?))
    {
        Ok(names) => names,
        Err(e) => {
            return TierOutcome::Failed {
                details: format!("listing packages: {e:#}"),
            }
        }
    };
    let mut failed = Vec::new();
    let mut corrected = Vec::new();
    for name in &names {
        for attempt in 0..3 {
            let result = ws
                .nix_flake_command(["build"])
                .args([
                    "--no-link".to_owned(),
                    "--print-build-logs".to_owned(),
                    ws.installable(&format!("packages.{system}.{name}")),
                ])
                .timeout(vm::build::PACKAGE_TIMEOUT)
                .stream_stderr(format!("[build {name}] "))
                .run()
                .await;
            match result {
                Ok(_) => break,
                Err(NixError::HashMismatch { specified, got, .. }) if attempt < 2 => {
                    match correct_pin(ws, &specified, &got, pin_changes) {
                        Ok(field) => {
                            eprintln!("bump: {field} corrected from the build of {name}: {got}");
                            corrected.push(field);
                        }
                        Err(e) => {
                            failed.push(format!("{name}: {e:#}"));
                            break;
                        }
                    }
                }
                Err(e) => {
                    failed.push(format!("{name}: {e}"));
                    break;
                }
            }
        }
    }
    if failed.is_empty() {
        TierOutcome::Passed {
            summary: format!(
                "{} packages built{}",
                names.len(),
                if corrected.is_empty() {
                    String::new()
                } else {
                    format!("; pin corrected from mismatches: {}", corrected.join(", "))
                }
            ),
        }
    } else {
        TierOutcome::Failed {
            details: failed.join("\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bump::pin::Pin;

    fn pin() -> Pin {
        Pin::parse(include_str!("../../tests/data/bump/version-1.3.5.json")).unwrap()
    }

    #[test]
    fn a_mismatch_names_the_pin_key_holding_the_specified_hash() {
        let p = pin();
        assert_eq!(pinned_hash_field(&p, &p.src_hash), Some("srcHash"));
        assert_eq!(
            pinned_hash_field(&p, &p.frontend_hash),
            Some("frontendHash")
        );
        assert_eq!(pinned_hash_field(&p, FAKE_HASH), None);
    }

    #[test]
    fn two_placeholders_are_ambiguous() {
        let mut p = pin();
        p.src_hash = FAKE_HASH.into();
        p.frontend_hash = FAKE_HASH.into();
        assert_eq!(pinned_hash_field(&p, FAKE_HASH), None);
    }

    #[test]
    fn the_error_line_of_a_nix_failure_is_its_summary() {
        let stderr = include_str!("../../tests/data/bump/prefetch-offline.stderr");
        assert!(
            first_line(stderr).starts_with("error: unable to download"),
            "{}",
            first_line(stderr)
        );
    }
}
