//! The host tier's web-login check (`host::web_login`) against a mock InvenTree on 127.0.0.1:
//! what passes, and how a session that does not hold is reported.

use inventree_harness::host::web_login::session_login_holds;
use wiremock::{
    matchers::{body_json, header, header_regex, method, path},
    Mock, MockServer, ResponseTemplate,
};

const CSRF: &str = "csrf-sentinel";

/// `/session` sets the CSRF cookie; the login (with the token) answers 200 and a session.
async fn mount_login(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/auth/v1/auth/session"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("set-cookie", format!("csrftoken={CSRF}; Path=/").as_str()),
        )
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/auth/v1/auth/login"))
        .and(header("X-CSRFToken", CSRF))
        .and(body_json(
            serde_json::json!({"username": "admin", "password": "pw"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("set-cookie", "sessionid=s1; HttpOnly; Path=/")
                .set_body_json(
                    serde_json::json!({"status": 200, "meta": {"is_authenticated": true}}),
                ),
        )
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/auth/"))
        .respond_with(ResponseTemplate::new(200))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_session_that_holds_passes() {
    let server = MockServer::start().await;
    mount_login(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/user/me/"))
        // The jar sends its cookies in no fixed order.
        .and(header_regex("cookie", "(^|; )sessionid=s1(;|$)"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"pk": 1, "username": "admin"})),
        )
        .expect(3)
        .mount(&server)
        .await;
    let line = session_login_holds(&server.uri(), "admin", "pw", 3)
        .await
        .expect("the session holds");
    assert_eq!(
        line,
        "session login as admin held for /auth/ and 3 requests to /api/user/me/"
    );
}

#[tokio::test]
async fn a_session_the_server_ends_after_the_login_is_reported_as_not_holding() {
    let server = MockServer::start().await;
    mount_login(&server).await;
    // What InvenTree did when the first session-carrying request created LOGIN_ENFORCE_MFA.
    Mock::given(method("GET"))
        .and(path("/api/user/me/"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header(
                    "set-cookie",
                    "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/",
                )
                .set_body_json(
                    serde_json::json!({"detail": "Authentication credentials were not provided."}),
                ),
        )
        .mount(&server)
        .await;
    let err = session_login_holds(&server.uri(), "admin", "pw", 2)
        .await
        .expect_err("the session did not hold")
        .to_string();
    assert!(
        err.contains("after GET /auth/, request 1 to /api/user/me/"),
        "{err}"
    );
    assert!(err.contains("answered 401 Unauthorized"), "{err}");
    assert!(
        err.contains("session cookie deleted by the server"),
        "{err}"
    );
}

#[tokio::test]
async fn a_refused_login_names_its_status_and_answer() {
    let server = MockServer::start().await;
    mount_login(&server).await;
    // allauth's answer to a wrong password (headless browser API).
    Mock::given(method("POST"))
        .and(path("/api/auth/v1/auth/login"))
        .and(body_json(
            serde_json::json!({"username": "admin", "password": "wrong"}),
        ))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "status": 400,
            "errors": [{
                "message": "The username and/or password you specified are not correct.",
                "code": "username_password_mismatch",
                "param": "password"
            }]
        })))
        .mount(&server)
        .await;
    let err = session_login_holds(&server.uri(), "admin", "wrong", 1)
        .await
        .expect_err("wrong password")
        .to_string();
    assert!(
        err.contains("POST /api/auth/v1/auth/login as admin answered 400 Bad Request"),
        "{err}"
    );
    assert!(
        err.contains("The username and/or password you specified are not correct."),
        "{err}"
    );
}
