//! Unit tier of the probe: its parsing and decisions against responses recorded from a real
//! InvenTree (`tests/data/probe/`, see its README), served by a local mock HTTP server on
//! 127.0.0.1 (wiremock). Nothing here needs InvenTree, Python or Nix.

use std::{path::PathBuf, time::Duration};

use inventree_harness::probe::{
    self,
    api::{ApiRoot, Listing, Part, TaskDetail, TaskOverview, TokenResponse},
    report::{self, AuthOutcome, EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_UNREACHABLE},
    worker, Credentials, ProbeOptions, ProbeReport, Verdict, WorkerCheck,
};
use rstest::rstest;
use wiremock::{
    matchers::{body_json, header, method, path, query_param},
    Mock, MockServer, ResponseTemplate,
};

/// The part name the recorded session used (`--part-name inventree-probe`).
const RECORDED_PART_NAME: &str = "inventree-probe";
const RECORDED_TOKEN: &str = "inv-46bb68a961345b06442d6bfc55b7cfb400ada91e-20261126";

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/probe")
}

fn recorded(name: &str) -> String {
    let file = data_dir().join(name);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()))
}

fn json_response(status: u16, name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(recorded(name), "application/json")
}

fn token_auth() -> wiremock::matchers::HeaderExactMatcher {
    header("Authorization", format!("Token {RECORDED_TOKEN}").as_str())
}

/// Serves the anonymous `/api/`, the token exchange for admin and `/api/user/me/`.
async fn mount_server_and_auth(server: &MockServer, scenario: &str) {
    Mock::given(method("GET"))
        .and(path("/api/"))
        .respond_with(json_response(
            200,
            &format!("{scenario}/api-root-anon.json"),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/user/token/"))
        // base64("admin:probe-sentinel-pw")
        .and(header(
            "Authorization",
            "Basic YWRtaW46cHJvYmUtc2VudGluZWwtcHc=",
        ))
        .respond_with(json_response(200, "healthy/token.json"))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/user/token/"))
        .respond_with(json_response(401, "refused/token-bad-password.json"))
        .with_priority(10)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/user/me/"))
        .and(token_auth())
        .respond_with(json_response(200, "healthy/user-me.json"))
        .mount(server)
        .await;
}

async fn mount_existing_probe_part(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/part/"))
        .and(query_param("search", RECORDED_PART_NAME))
        .and(query_param("assembly", "true"))
        .respond_with(json_response(200, "healthy/part-search-found.json"))
        .mount(server)
        .await;
}

fn options(server: &MockServer) -> ProbeOptions {
    let mut options = ProbeOptions::new(server.uri());
    options.credentials = Some(Credentials::Password {
        username: "admin".into(),
        password: "probe-sentinel-pw".into(),
    });
    options.ready_timeout = Duration::from_secs(5);
    options.task_timeout = Duration::from_secs(5);
    options.part_name = RECORDED_PART_NAME.into();
    options
}

fn reasons(report: &ProbeReport) -> Vec<String> {
    match &report.verdict {
        Verdict::Unhealthy { reasons } => reasons.clone(),
        other => panic!("expected unhealthy, got {other:?}"),
    }
}

#[rstest]
#[case::healthy("healthy/api-root-anon.json")]
#[case::healthy_staff("healthy/api-root-staff.json")]
#[case::dead_worker("dead-worker/api-root-anon.json")]
#[case::no_worker("no-worker/api-root-anon.json")]
fn every_recorded_api_root_parses_and_passes_the_server_checks(#[case] file: &str) {
    let root: ApiRoot = serde_json::from_str(&recorded(file)).unwrap();
    let info = probe::readiness::check_root(&root, Some("1.3.0"), Duration::ZERO).unwrap();
    assert_eq!(info.server, "InvenTree");
    assert_eq!(info.api_version, 477);
}

#[rstest]
#[case::queued("healthy/bom-validate-queued.json", "waiting")]
#[case::pending("healthy/task-pending.json", "waiting")]
#[case::complete("healthy/task-complete.json", "finished")]
#[case::dead_worker_queued("dead-worker/bom-validate-queued.json", "waiting")]
#[case::dead_worker_pending("dead-worker/task-pending.json", "waiting")]
#[case::inline("no-worker/bom-validate-inline.json", "inline")]
#[case::unknown("refused/task-unknown.json", "unknown")]
fn every_recorded_task_answer_is_classified(#[case] file: &str, #[case] expected: &str) {
    let detail: TaskDetail = serde_json::from_str(&recorded(file)).unwrap();
    let state = match worker::classify(&detail) {
        worker::TaskState::RanInline => "inline",
        worker::TaskState::Waiting { .. } => "waiting",
        worker::TaskState::Unknown { .. } => "unknown",
        worker::TaskState::Finished { success: true, .. } => "finished",
        worker::TaskState::Finished { success: false, .. } => "failed",
    };
    assert_eq!(state, expected);
}

#[test]
fn recorded_queue_overviews_and_listings_parse() {
    let overview: TaskOverview =
        serde_json::from_str(&recorded("dead-worker/bg-overview.json")).unwrap();
    assert_eq!(overview.pending_tasks, 1);
    assert!(overview.is_running, "InvenTree claims a dead worker runs");
    let token: TokenResponse = serde_json::from_str(&recorded("healthy/token.json")).unwrap();
    assert!(token.token.starts_with("inv-"));
    let found: Listing<Part> =
        serde_json::from_str(&recorded("healthy/part-search-found.json")).unwrap();
    assert_eq!(found.into_items().len(), 1);
    let empty: Listing<Part> =
        serde_json::from_str(&recorded("healthy/part-search-empty.json")).unwrap();
    assert!(empty.into_items().is_empty());
}

#[tokio::test]
async fn healthy_instance_completes_the_task_and_reports_queue_figures() {
    let server = MockServer::start().await;
    mount_server_and_auth(&server, "healthy").await;
    mount_existing_probe_part(&server).await;
    Mock::given(method("PUT"))
        .and(path("/api/part/1/bom-validate/"))
        .and(token_auth())
        .and(body_json(serde_json::json!({ "valid": true })))
        .respond_with(json_response(200, "healthy/bom-validate-queued.json"))
        .mount(&server)
        .await;
    let task = "/api/background-task/32bc0ff045ad45628453e386b36e8bac/";
    // Pending twice, then complete — as recorded.
    Mock::given(method("GET"))
        .and(path(task))
        .respond_with(json_response(200, "healthy/task-pending.json"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(task))
        .respond_with(json_response(200, "healthy/task-complete.json"))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/background-task/"))
        .and(token_auth())
        .respond_with(json_response(200, "healthy/bg-overview.json"))
        .mount(&server)
        .await;

    let report = probe::run(&options(&server)).await.unwrap();

    assert_eq!(
        report.verdict,
        Verdict::Healthy,
        "{}",
        report.render_human()
    );
    assert_eq!(report.verdict.exit_code(), EXIT_HEALTHY);
    match &report.worker {
        WorkerCheck::Completed {
            task_id, part_pk, ..
        } => {
            assert_eq!(task_id, "32bc0ff045ad45628453e386b36e8bac");
            assert_eq!(*part_pk, 1);
        }
        other => panic!("expected a completed task, got {other:?}"),
    }
    assert_eq!(
        report.queue,
        Some(probe::queue::QueueFigures::Known {
            pending: 0,
            scheduled: 25,
            failed: 0,
            is_running: true
        })
    );
}

#[tokio::test]
async fn dead_worker_is_unhealthy_naming_the_worker_although_api_claims_it_runs() {
    let server = MockServer::start().await;
    mount_server_and_auth(&server, "dead-worker").await;
    mount_existing_probe_part(&server).await;
    Mock::given(method("PUT"))
        .and(path("/api/part/1/bom-validate/"))
        .respond_with(json_response(200, "dead-worker/bom-validate-queued.json"))
        .mount(&server)
        .await;
    // The task stays queued forever, as it did after the recorded instance's qcluster was killed.
    Mock::given(method("GET"))
        .and(path(
            "/api/background-task/e5e9891cadf140d58b764c90bf6bd893/",
        ))
        .respond_with(json_response(200, "dead-worker/task-pending.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/background-task/"))
        .respond_with(json_response(200, "dead-worker/bg-overview.json"))
        .mount(&server)
        .await;
    let mut options = options(&server);
    options.task_timeout = Duration::from_millis(1500);

    let started = std::time::Instant::now();
    let report = probe::run(&options).await.unwrap();
    let took = started.elapsed();

    assert_eq!(report.verdict.exit_code(), EXIT_UNHEALTHY);
    let reasons = reasons(&report);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("background worker"), "{}", reasons[0]);
    assert!(reasons[0].contains("still queued"), "{}", reasons[0]);
    assert!(
        reasons[0].contains("worker_running: true"),
        "the claim it contradicts is quoted: {}",
        reasons[0]
    );
    assert_eq!(
        report.server.as_ref().unwrap().worker_running,
        Some(true),
        "the recorded /api/ claims the dead worker runs"
    );
    assert!(
        took < Duration::from_secs(4),
        "reported within its deadline (+ request time), took {took:?}"
    );
}

#[tokio::test]
async fn task_run_inline_means_no_worker_even_though_it_succeeded() {
    let server = MockServer::start().await;
    mount_server_and_auth(&server, "no-worker").await;
    mount_existing_probe_part(&server).await;
    let inline = Mock::given(method("PUT"))
        .and(path("/api/part/1/bom-validate/"))
        .respond_with(json_response(200, "no-worker/bom-validate-inline.json"))
        .expect(2..)
        .named("bom-validate, retried while no worker shows up")
        .mount_as_scoped(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/background-task/"))
        .respond_with(json_response(200, "no-worker/bg-overview.json"))
        .mount(&server)
        .await;
    let mut options = options(&server);
    options.task_timeout = Duration::from_millis(1200);

    let report = probe::run(&options).await.unwrap();

    assert!(
        matches!(report.worker, WorkerCheck::NoWorker { attempts, .. } if attempts >= 2),
        "{:?}",
        report.worker
    );
    let reasons = reasons(&report);
    assert!(reasons[0].starts_with("no worker:"), "{}", reasons[0]);
    drop(inline);
}

#[tokio::test]
async fn missing_probe_part_is_created_once_as_an_assembly() {
    let server = MockServer::start().await;
    mount_server_and_auth(&server, "healthy").await;
    Mock::given(method("GET"))
        .and(path("/api/part/"))
        .respond_with(json_response(200, "healthy/part-search-empty.json"))
        .mount(&server)
        .await;
    let create = Mock::given(method("POST"))
        .and(path("/api/part/"))
        .and(wiremock::matchers::body_partial_json(serde_json::json!({
            "name": RECORDED_PART_NAME,
            "assembly": true
        })))
        .respond_with(json_response(201, "healthy/part-create.json"))
        .expect(1)
        .mount_as_scoped(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/part/1/bom-validate/"))
        .respond_with(json_response(200, "healthy/task-complete.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/background-task/"))
        .respond_with(json_response(200, "healthy/bg-overview.json"))
        .mount(&server)
        .await;

    let report = probe::run(&options(&server)).await.unwrap();

    assert_eq!(
        report.verdict,
        Verdict::Healthy,
        "{}",
        report.render_human()
    );
    drop(create); // verifies the expectation: exactly one POST
}

#[tokio::test]
async fn wrong_password_is_unhealthy_naming_the_user() {
    let server = MockServer::start().await;
    mount_server_and_auth(&server, "healthy").await;
    let mut options = options(&server);
    options.credentials = Some(Credentials::Password {
        username: "admin".into(),
        password: "wrong".into(),
    });

    let report = probe::run(&options).await.unwrap();

    let reasons = reasons(&report);
    assert_eq!(
        reasons,
        vec!["authentication failed for user admin (basic auth): Invalid username/password."]
    );
    assert!(matches!(report.auth, AuthOutcome::Failed { .. }));
}

#[tokio::test]
async fn user_without_part_permissions_is_refused_and_queue_is_unavailable() {
    let server = MockServer::start().await;
    mount_server_and_auth(&server, "healthy").await;
    Mock::given(method("GET"))
        .and(path("/api/part/"))
        .respond_with(json_response(200, "healthy/part-search-found.json"))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/part/1/bom-validate/"))
        .respond_with(json_response(403, "refused/bom-validate-nonstaff.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/background-task/"))
        .respond_with(json_response(403, "refused/bg-overview-nonstaff.json"))
        .mount(&server)
        .await;

    let report = probe::run(&options(&server)).await.unwrap();

    assert!(
        matches!(&report.worker, WorkerCheck::Refused { message } if message.contains("permission")),
        "{:?}",
        report.worker
    );
    assert_eq!(
        report.queue,
        Some(probe::queue::QueueFigures::Unavailable {
            reason: "the queue endpoints need a staff user".into()
        })
    );
    assert_eq!(report.verdict.exit_code(), EXIT_UNHEALTHY);
}

#[tokio::test]
async fn nothing_listening_is_unreachable_after_the_ready_timeout() {
    // Bind and drop a listener to get a loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut options = ProbeOptions::new(format!("http://127.0.0.1:{port}"));
    options.ready_timeout = Duration::from_millis(700);

    let started = std::time::Instant::now();
    let report = probe::run(&options).await.unwrap();

    assert_eq!(report.verdict.exit_code(), EXIT_UNREACHABLE);
    assert!(started.elapsed() < Duration::from_secs(3));
    match &report.verdict {
        Verdict::Unreachable { reason } => {
            assert!(reason.contains("Connection refused"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn server_answering_503_while_starting_is_retried_until_ready() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/"))
        .respond_with(ResponseTemplate::new(503).set_body_string("maintenance"))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/"))
        .respond_with(json_response(200, "healthy/api-root-anon.json"))
        .with_priority(2)
        .mount(&server)
        .await;
    let mut options = ProbeOptions::new(server.uri());
    options.skip_worker = true;

    let report = probe::run(&options).await.unwrap();

    assert_eq!(
        report.verdict,
        Verdict::Healthy,
        "{}",
        report.render_human()
    );
    assert!(report.server.unwrap().ready_after_ms >= 100, "it waited");
}

#[tokio::test]
async fn a_server_that_is_not_inventree_is_unhealthy_not_unreachable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({ "server": "Paperless", "version": "2.0", "apiVersion": 9 }),
        ))
        .mount(&server)
        .await;

    let report = probe::run(&ProbeOptions::new(server.uri())).await.unwrap();

    assert_eq!(
        reasons(&report),
        vec!["the server at /api/ is \"Paperless\", not InvenTree"]
    );
}

#[tokio::test]
async fn no_credentials_leave_the_worker_unchecked_and_the_instance_not_healthy() {
    let server = MockServer::start().await;
    mount_server_and_auth(&server, "healthy").await;

    let report = probe::run(&ProbeOptions::new(server.uri())).await.unwrap();

    let reasons = reasons(&report);
    assert!(
        reasons[0].starts_with("worker not checked: no credentials"),
        "{reasons:?}"
    );
}

#[test]
fn dead_worker_summary_reads_as_documented() {
    let root: ApiRoot = serde_json::from_str(&recorded("dead-worker/api-root-anon.json")).unwrap();
    let server = probe::readiness::check_root(&root, None, Duration::from_millis(120)).unwrap();
    let worker = WorkerCheck::NotCompleted {
        task_id: "e5e9891cadf140d58b764c90bf6bd893".into(),
        part_pk: 1,
        waited_ms: 30_012,
        pending: true,
        exists: true,
        last_error: None,
    };
    let auth = AuthOutcome::Authenticated(probe::auth::Identity {
        username: "admin".into(),
        is_staff: true,
        is_superuser: true,
        method: "password",
    });
    let overview: TaskOverview =
        serde_json::from_str(&recorded("dead-worker/bg-overview.json")).unwrap();
    let report = ProbeReport {
        url: "http://127.0.0.1:8000".into(),
        verdict: report::decide(&server, &auth, &worker),
        server: Some(server),
        auth,
        worker,
        queue: Some(probe::queue::QueueFigures::Known {
            pending: overview.pending_tasks,
            scheduled: overview.scheduled_tasks,
            failed: overview.failed_tasks,
            is_running: overview.is_running,
        }),
        system: None,
        elapsed_ms: 30_500,
    };
    insta::assert_snapshot!(report.render_human());
}

#[test]
fn probe_cli_exits_2_when_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let assert = assert_cmd::Command::cargo_bin("inventree-harness")
        .unwrap()
        .env_remove("INVENTREE_API_TOKEN")
        .env_remove("INVENTREE_API_USERNAME")
        .env_remove("INVENTREE_API_PASSWORD")
        .args([
            "probe",
            &format!("http://127.0.0.1:{port}"),
            "--ready-timeout",
            "0.5",
            "--json",
        ])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(EXIT_UNREACHABLE);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout);
    assert!(stdout.contains("\"status\": \"unreachable\""), "{stdout}");
}

#[tokio::test]
async fn post_file_sends_the_fields_and_the_file_as_multipart_form_data() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/attachment/"))
        .and(header("authorization", "Token t0k"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({"pk": 9})))
        .expect(1)
        .mount(&server)
        .await;
    let client = probe::client::ApiClient::new(&server.uri())
        .unwrap()
        .with_auth(probe::client::Auth::Token("t0k".into()));
    let answer: serde_json::Value = client
        .post_file(
            "/api/attachment/",
            &[("model_type", "part".into()), ("model_id", "3".into())],
            "attachment",
            "datasheet.txt",
            b"resistor datasheet".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(answer["pk"], 9);
    let requests = server.received_requests().await.unwrap();
    let content_type = requests[0].headers["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    let body = String::from_utf8_lossy(&requests[0].body).into_owned();
    for expected in [
        "name=\"model_type\"\r\n\r\npart",
        "name=\"model_id\"\r\n\r\n3",
        "name=\"attachment\"; filename=\"datasheet.txt\"",
        "resistor datasheet",
    ] {
        assert!(body.contains(expected), "{expected:?} not in {body}");
    }
}

#[test]
fn a_fresh_instance_without_email_reports_system_health_false_naming_inve_w7() {
    let root: ApiRoot = serde_json::from_str(&recorded("healthy/api-root-staff.json")).unwrap();
    match probe::system::from_root(&root) {
        probe::system::SystemHealth::Failing { reasons } => {
            assert_eq!(reasons.len(), 1, "{reasons:?}");
            assert!(
                reasons[0].starts_with("INVE-W7: no e-mail backend"),
                "{reasons:?}"
            );
        }
        other => panic!("recorded staff /api/ of a fresh instance: {other:?}"),
    }
}
