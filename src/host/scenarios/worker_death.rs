//! The worker killed: the probe says so, and a restarted worker completes what waited.

use super::*;

/// worker death: the probe says unhealthy (naming the worker) within its deadline although
/// `/api/` claims the worker runs; a restarted worker completes the task left pending.
pub async fn worker_death(
    host: &HostEnv,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("worker death");
    let mut instance = Instance::create(host, plan)?;
    let credentials = healthy_from_template(&mut instance, template).await?;
    instance.kill_cluster().await?;
    report.check("worker killed (SIGKILL to its process group; nothing of it left)");

    let dead = probe_with_dead_worker(&instance, &credentials, &mut report).await?;
    let task_id = match &dead.worker {
        WorkerCheck::NotCompleted { task_id, .. } => task_id.clone(),
        other => anyhow::bail!("expected a task left pending, got {other:?}"),
    };
    let client = token_client(&instance, &credentials).await?;
    let restarted = Instant::now();
    instance.start_cluster()?;
    let deadline = restarted + Duration::from_secs(90);
    wait_task_completed(&client, &instance, &task_id, deadline).await?;
    report.figure(
        "worker restart to pending task completed",
        restarted.elapsed(),
    );
    report.check(format!(
        "restarted worker completed the pending task {task_id}"
    ));
    let (after, _) = healthy(&mut instance, &credentials).await?;
    report.figure(
        "task round trip after restart",
        completed_round_trip(&after)?,
    );
    teardown(&mut instance, &mut report).await?;
    Ok(report)
}

/// The probe with the worker dead: unhealthy within [`DEAD_WORKER_DEADLINE`], for a reason
/// naming the worker, while `/api/` (wrongly) claims `worker_running: true`. The probe's report.
async fn probe_with_dead_worker(
    instance: &Instance,
    credentials: &Credentials,
    report: &mut ScenarioReport,
) -> anyhow::Result<probe::ProbeReport> {
    let mut options = ProbeOptions::new(instance.url());
    options.credentials = Some(credentials.clone());
    options.task_timeout = DEAD_WORKER_DEADLINE;
    let started = Instant::now();
    let dead = probe::run(&options).await?;
    let took = started.elapsed();
    let reasons = match &dead.verdict {
        Verdict::Unhealthy { reasons } => reasons.clone(),
        other => anyhow::bail!(
            "with the worker dead the probe said {other:?}:\n{}",
            dead.render_human()
        ),
    };
    anyhow::ensure!(
        reasons.iter().any(|r| r.contains("worker")),
        "the reason must name the worker: {reasons:?}"
    );
    anyhow::ensure!(
        took <= DEAD_WORKER_DEADLINE + Duration::from_secs(10),
        "the probe took {took:?}, deadline {DEAD_WORKER_DEADLINE:?}"
    );
    let claimed = dead.server.as_ref().and_then(|s| s.worker_running);
    report.check(format!(
        "probe unhealthy in {:.1} s (deadline {} s): {} — /api/ worker_running: {:?}",
        took.as_secs_f64(),
        DEAD_WORKER_DEADLINE.as_secs(),
        reasons.join("; "),
        claimed
    ));
    anyhow::ensure!(
        claimed == Some(true),
        "expected /api/ to (wrongly) claim worker_running: true, got {claimed:?}"
    );
    report.check("/api/ claimed worker_running: true while the worker was dead");
    report.figure("probe verdict with a dead worker", took);
    Ok(dead)
}

/// Poll background task `task_id` until it is complete, which must be by `deadline` and a
/// success.
async fn wait_task_completed(
    client: &ApiClient,
    instance: &Instance,
    task_id: &str,
    deadline: Instant,
) -> anyhow::Result<()> {
    loop {
        let detail: TaskDetail = client
            .get(&format!("/api/background-task/{task_id}/"))
            .await?;
        if detail.complete {
            anyhow::ensure!(
                detail.success,
                "the pending task {task_id} failed after the restart"
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "task {task_id} still not complete 90 s after the worker restarted:\n{}",
                log_tail(instance, "cluster")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
