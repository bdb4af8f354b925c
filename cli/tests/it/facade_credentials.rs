//! The façade's takeover of an operation started with a query credential (`?code=`, carried
//! onto polls with `--carry-query code`): the store keeps no credential value, so the proxy
//! that takes it over uses the one the asking status request carries, and, when it carries
//! none, answers `400 CredentialRequired` rather than polling without it (an upstream's `401`
//! would have ended the operation `Failed`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use tokio::process::Child;

use crate::support::client::{accepted, json, send, until_terminal};
use crate::support::{proxy_on, resp, temp_dir, Mock};

/// The upstream's answers to an authorized request: a job, its monitor (`Succeeded` once
/// `finished`), its result.
fn job(method: &str, path: &str, base: &str, finished: &AtomicBool) -> Response<Full<Bytes>> {
    match (method, path) {
        ("POST", "/jobs") => resp(202, &[("operation-location", format!("{base}/ops/1"))], ""),
        ("GET", "/ops/1") if finished.load(Ordering::SeqCst) => resp(
            200,
            &[],
            r#"{"status":"Succeeded","resourceLocation":"/things/1"}"#,
        ),
        ("GET", "/ops/1") => resp(
            200,
            &[("retry-after-ms", "50".into())],
            r#"{"status":"Running"}"#,
        ),
        ("GET", "/things/1") => resp(200, &[], r#"{"thing":"ok"}"#),
        _ => resp(404, &[], ""),
    }
}

/// The credential header of the header tests' upstream.
const AUTH: (&str, &str) = ("authorization", "Bearer s3cret");

/// An upstream that answers `job`'s routes to requests carrying [`AUTH`], `401` to others.
async fn bearer_upstream(finished: Arc<AtomicBool>) -> Mock {
    Mock::start(move |req, base| {
        let authorized = req.headers.get(AUTH.0).is_some_and(|v| v == AUTH.1);
        if !authorized {
            return resp(401, &[], r#"{"error":{"code":"Unauthorized"}}"#);
        }
        job(&req.method, &req.target, base, &finished)
    })
    .await
}

/// A proxy's arguments on the file store `store` (quick polls, a half-second lease), then
/// `extra`.
fn on_file_store<'a>(store: &'a std::path::Path, extra: &[&'a str]) -> Vec<&'a str> {
    let store = store.to_str().unwrap();
    let mut args = vec![
        "--poll-interval",
        "0.05",
        "--store",
        store,
        "--store-lease",
        "0.5",
    ];
    args.extend_from_slice(extra);
    args
}

/// A first proxy (on the store `args` name) accepts the job (`submit`: its path and headers)
/// and polls it; it is killed (`SIGKILL`: no hand-over, its lease is left to lapse), the job
/// finishes (`done`), and a second proxy starts on the same store. The second proxy, kept
/// running, and the operation's status URL on it.
async fn taken_over(
    mock: &Mock,
    args: &[&str],
    (path, headers): (&str, &[(&str, &str)]),
    done: &AtomicBool,
) -> (Child, String) {
    let (mut first, base, _) = proxy_on("127.0.0.1:0", &mock.base, args).await;
    let location = accepted(&format!("{base}{path}"), headers).await;
    for _ in 0..200 {
        if mock.count("/ops/1") > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(mock.count("/ops/1") > 0, "the first proxy polled");
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    done.store(true, Ordering::SeqCst);
    let (second, base, _) = proxy_on("127.0.0.1:0", &mock.base, args).await;
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    (second, format!("{base}{location}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_credential_operation_is_taken_over_with_the_askers_credential() {
    let done = Arc::new(AtomicBool::new(false));
    let finished = done.clone();
    let mock = Mock::start(move |req, base| {
        let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
        if !query.split('&').any(|p| p == "code=s3cret") {
            return resp(401, &[], r#"{"error":{"code":"Unauthorized"}}"#);
        }
        job(&req.method, path, base, &finished)
    })
    .await;
    let dir = temp_dir("facade-query-credential");
    let store = dir.join("ops.redb");
    let args = on_file_store(&store, &["--carry-query", "code"]);
    let (_second, url) = taken_over(&mock, &args, ("/jobs?code=s3cret", &[]), &done).await;
    // Without the credential: a typed refusal, nothing polled without it.
    let (status, _, body) = send("GET", &url, &[], "").await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(json(&body)["error"]["code"], "CredentialRequired");
    // With it: taken over, the polls carry it, the operation ends.
    let with = format!("{url}?code=s3cret");
    let (_, _, body) = until_terminal(&with).await;
    assert_eq!(
        json(&body)["status"],
        "Succeeded",
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _, result) = send("GET", &format!("{url}/result?code=s3cret"), &[], "").await;
    assert_eq!(
        (status, json(&result)["thing"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let unauthorized = mock
        .requests()
        .into_iter()
        .filter(|r| !r.target.contains("code=s3cret"))
        .count();
    assert_eq!(unauthorized, 0, "no request went without the credential");
    assert_eq!(mock.count("/jobs"), 1, "taken over, not submitted again");
    let _ = std::fs::remove_dir_all(dir);
}

/// The same for a credential header (`Authorization`): the store keeps none of its value, and a
/// status request without it (a browser's `EventSource` cannot send one) is answered `400
/// CredentialRequired` rather than taking the operation over without it: its polls' `401`
/// ended the operation `Failed` for its owner too.
#[tokio::test(flavor = "multi_thread")]
async fn a_header_credential_operation_is_not_taken_over_without_it() {
    let done = Arc::new(AtomicBool::new(false));
    let mock = bearer_upstream(done.clone()).await;
    let dir = temp_dir("facade-header-credential");
    let store = dir.join("ops.redb");
    let args = on_file_store(&store, &[]);
    let (_second, url) = taken_over(&mock, &args, ("/jobs", &[AUTH]), &done).await;
    // Without the header: a typed refusal, nothing polled without it.
    let (status, _, body) = send("GET", &url, &[], "").await;
    assert_eq!(
        (status, json(&body)["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("CredentialRequired")),
        "{}",
        String::from_utf8_lossy(&body)
    );
    // An event stream without it does not take it over either.
    let (status, _, _) = send("GET", &url, &[("accept", "text/event-stream")], "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // With it: taken over, the polls carry it, the operation ends.
    let mut last = serde_json::Value::Null;
    for _ in 0..200 {
        let (status, _, body) = send("GET", &url, &[AUTH], "").await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        last = json(&body);
        if !matches!(last["status"].as_str(), Some("NotStarted" | "Running")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(last["status"], "Succeeded", "{last}");
    let (status, _, result) = send("GET", &format!("{url}/result"), &[AUTH], "").await;
    assert_eq!(
        (status, json(&result)["thing"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let unauthorized = mock
        .requests()
        .into_iter()
        .filter(|r| r.headers.get(AUTH.0).is_none_or(|v| v != AUTH.1))
        .count();
    assert_eq!(unauthorized, 0, "no request went without the credential");
    assert_eq!(mock.count("/jobs"), 1, "taken over, not submitted again");
    let _ = std::fs::remove_dir_all(dir);
}

/// A takeover with a WRONG credential (anyone who knows the id can ask): the upstream refuses
/// its first poll `401`, and the asker gets that refusal (`401 CredentialRejected`) while the
/// record stays as it was, free for the owner: a later takeover with the right credential
/// ends the operation `Succeeded` (the refused one used to end it `Failed` for its owner).
#[tokio::test(flavor = "multi_thread")]
async fn a_takeover_with_a_wrong_credential_does_not_end_the_operation() {
    const WRONG: (&str, &str) = ("authorization", "Bearer guessed");
    let done = Arc::new(AtomicBool::new(false));
    let mock = bearer_upstream(done.clone()).await;
    let dir = temp_dir("facade-wrong-credential");
    let store = dir.join("ops.redb");
    let args = on_file_store(&store, &[]);
    let (_second, url) = taken_over(&mock, &args, ("/jobs", &[AUTH]), &done).await;
    // A wrong credential: polled once, refused, and the refusal is the asker's.
    let (status, _, body) = send("GET", &url, &[WRONG], "").await;
    let refusal = json(&body);
    assert_eq!(
        (status, refusal["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("CredentialRejected")),
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(refusal["error"]["upstreamStatus"], 401, "{refusal}");
    // The record is the owner's still: with the right credential it is taken over and ends.
    let mut last = serde_json::Value::Null;
    for _ in 0..200 {
        let (status, _, body) = send("GET", &url, &[AUTH], "").await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        last = json(&body);
        if !matches!(last["status"].as_str(), Some("NotStarted" | "Running")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(last["status"], "Succeeded", "{last}");
    let (status, _, result) = send("GET", &format!("{url}/result"), &[AUTH], "").await;
    assert_eq!(
        (status, json(&result)["thing"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    assert_eq!(mock.count("/jobs"), 1, "taken over, not submitted again");
    let _ = std::fs::remove_dir_all(dir);
}
