use std::{os::unix::process::ExitStatusExt, path::Path};

use super::*;

fn sh(script: &str) -> Spec {
    Spec::new("/bin/sh").args(["-c", script])
}

/// The pid a script wrote to `file` (`echo $$ > file`): the group's leader, so its pgid.
async fn pid_written_to(file: &Path) -> Pid {
    for _ in 0..100 {
        if let Some(pid) = std::fs::read_to_string(file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
        {
            return Pid::from_raw(pid);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{} was never written", file.display());
}

#[tokio::test]
async fn run_captures_stdout_stderr_and_the_exit_code() {
    let done = run(
        &sh("echo out; echo err >&2; exit 3"),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            done.success,
            done.code,
            done.stdout.as_str(),
            done.stderr.as_str()
        ),
        (false, Some(3), "out\n", "err\n")
    );
    assert_eq!(done.output, "out\nerr\n");
}

#[tokio::test]
async fn run_feeds_stdin_and_closes_it() {
    let done = run(&sh("cat").stdin("hello"), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.stdout, "hello");
}

#[tokio::test]
async fn streamed_output_is_captured_as_well() {
    let done = run(
        &sh("echo progress >&2; echo result").stream("  test: "),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(
        (done.stdout.as_str(), done.stderr.as_str()),
        ("result\n", "progress\n")
    );
}

#[tokio::test]
async fn a_logged_run_returns_only_what_it_appended_to_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    std::fs::write(&log, "earlier run\n").unwrap();
    let done = run(&sh("echo this run").log(&log), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.output, "this run\n");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "earlier run\nthis run\n"
    );
}

#[tokio::test]
async fn a_cleared_environment_holds_only_the_variables_set() {
    let spec = Spec::new("/usr/bin/env").env("ONLY", "this").clear_env();
    let done = run(&spec, Duration::from_secs(10)).await.unwrap();
    assert_eq!(done.stdout, "ONLY=this\n");
}

#[tokio::test]
async fn an_inherited_environment_adds_the_variables_set() {
    let spec = Spec::new("/usr/bin/env").env("ADDED", "1");
    let done = run(&spec, Duration::from_secs(10)).await.unwrap();
    assert!(
        done.stdout.lines().any(|l| l == "ADDED=1"),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout.lines().any(|l| l.starts_with("PATH=")),
        "{}",
        done.stdout
    );
}

#[tokio::test]
async fn a_program_outliving_its_timeout_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!(
        "echo $$ > {}; echo started; sleep 100 & sleep 100",
        pidfile.display()
    );
    let started = Instant::now();
    let err = run(&sh(&script), Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let pgid = pid_written_to(&pidfile).await;
    assert_eq!(group_members(pgid), Vec::<i32>::new());
    assert!(matches!(err, RunError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn a_timeout_error_names_the_command_and_quotes_the_output_tail() {
    let err = run(
        &sh("echo last words; sleep 100"),
        Duration::from_millis(300),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("did not finish within 0.3 s"), "{err}");
    assert!(
        err.contains("/bin/sh -c 'echo last words; sleep 100'"),
        "{err}"
    );
    assert!(err.ends_with("its last output:\nlast words"), "{err}");
}

#[tokio::test]
async fn a_dropped_run_kills_its_whole_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!("echo $$ > {}; sleep 100 & wait", pidfile.display());
    let spec = sh(&script);
    let cancelled = tokio::time::timeout(
        Duration::from_millis(500),
        run(&spec, Duration::from_secs(60)),
    )
    .await;
    assert!(cancelled.is_err(), "the run was still going when dropped");
    let pgid = pid_written_to(&pidfile).await;
    assert_eq!(
        group::wait_group_gone(pgid, Duration::from_secs(2)).await,
        Ok(())
    );
}

#[tokio::test]
async fn stop_escalates_to_sigkill_when_sigterm_is_ignored() {
    // A parent and a forked child that both ignore SIGTERM: only SIGKILL ends them.
    let mut running = start(&sh("trap '' TERM; sleep 100 & wait")).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(group_members(running.pgid).len(), 2);
    running.stop(Duration::from_millis(300)).await.unwrap();
    assert_eq!(running.exited().and_then(|s| s.signal()), Some(9));
    assert!(!group_alive(running.pgid));
}

#[tokio::test]
async fn stop_ends_a_program_that_honours_sigterm_with_sigterm() {
    let mut running = start(&Spec::new("sleep").arg("100")).unwrap();
    running.stop(Duration::from_secs(5)).await.unwrap();
    assert_eq!(running.exited().and_then(|s| s.signal()), Some(15));
}

#[tokio::test]
async fn dropping_a_running_program_kills_its_group() {
    let running = start(&sh("sleep 100 & wait")).unwrap();
    let pgid = running.pgid;
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(running);
    assert_eq!(
        group::wait_group_gone(pgid, Duration::from_secs(2)).await,
        Ok(())
    );
}

#[test]
fn a_program_dies_with_the_thread_that_started_it() {
    // PDEATHSIG: the kernel kills the program when the thread that forked it ends, even though
    // no Drop runs (the handle is leaked, as when the harness itself is killed).
    let pid = std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let running = start(&Spec::new("sleep").arg("100")).unwrap();
            let pid = running.pgid.as_raw();
            std::mem::forget(running);
            pid
        })
    })
    .join()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while process_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !process_alive(pid),
        "sleep {pid} outlived the thread that started it"
    );
}

#[tokio::test]
async fn a_program_that_cannot_start_is_named() {
    let err = run(
        &Spec::new("/nonexistent/program").arg("x"),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    match err {
        RunError::Start { command, source } => {
            assert_eq!(command, "/nonexistent/program x");
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn require_success_names_the_command_its_status_and_output_tail() {
    let done = run(&sh("echo why; exit 2"), Duration::from_secs(10))
        .await
        .unwrap();
    let err = done.require_success().unwrap_err().to_string();
    assert_eq!(
        err,
        "/bin/sh -c 'echo why; exit 2' failed (exit status: 2); its last output:\nwhy"
    );
}

#[test]
fn shell_quote_quotes_what_a_shell_would_split() {
    assert_eq!(shell_quote("x: x.a"), "'x: x.a'");
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote("path:/np"), "path:/np");
}
