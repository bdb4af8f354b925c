//! Resuming an operation after a timeout, across a process-like boundary: the handle goes to JSON,
//! everything that sent the submission is dropped, and a brand-new client stack picks the
//! operation up with fresh credentials, without re-sending the submission. Real loopback sockets
//! and real time, with small numbers.

use crate::support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderValue, Method, StatusCode};
use http_body_util::Full;
use tower_lro::{ErrorKind, LroLayer, LroMetadata, ResumeHandle};

use support::{body_bytes, lro_client, post, send, MockServer, Reply};

const STALE: &str = "Bearer stale-token-4c1d";
const FRESH: &str = "Bearer fresh-token-9e2a";
const SUB_KEY: &str = "sub-key-value-77f0";
const TRACE: &str = "trace-value-1b3c";

#[tokio::test]
async fn a_timed_out_operation_resumes_from_json_with_fresh_credentials() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/jobs",
        Reply::new(202)
            .header("operation-location", &server.url("/ops/1"))
            .header("retry-after-ms", "100"),
    );
    // The operation finishes only for a caller with the fresh token: whoever polls with the
    // stale one sees it running forever.
    let resource = server.url("/things/1");
    server.route(Method::GET, "/ops/1", move |r, _| {
        if r.header("authorization") == Some(FRESH) {
            Reply::new(200)
                .header("resource-location", &resource)
                .json(r#"{"operationId":"op-1","status":"Succeeded"}"#)
        } else {
            Reply::new(200)
                .header("retry-after-ms", "100")
                .json(r#"{"operationId":"op-1","status":"Running"}"#)
        }
    });
    server.always(
        Method::GET,
        "/things/1",
        Reply::new(200).json(r#"{"id":"thing-1"}"#),
    );

    // --- First life: submit, time out. ---
    let json = {
        let svc = lro_client(LroLayer::new().deadline(Duration::from_millis(300)));
        let mut req = post(&server.url("/jobs?api-version=2.0"), r#"{"input":1}"#);
        let h = req.headers_mut();
        h.insert(AUTHORIZATION, HeaderValue::from_static(STALE));
        h.insert(
            "ocp-apim-subscription-key",
            HeaderValue::from_static(SUB_KEY),
        );
        h.insert("x-trace", HeaderValue::from_static(TRACE));
        let started = Instant::now();
        let err = send(&svc, req).await.expect_err("the operation times out");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "took {took:?}");

        let err = err.downcast::<tower_lro::Error>().expect("an LRO error");
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        let handle = err
            .resume_handle()
            .expect("a timeout carries a resume handle");
        // The monitor as the server gave it; `api-version` is carried from the request URL.
        assert_eq!(handle.operation_url(), server.url("/ops/1"));
        assert_eq!(handle.operation_id(), Some("op-1"));
        let json = serde_json::to_string(handle).unwrap();
        // Service, client and error all go away here.
        drop(err);
        drop(svc);
        json
    };

    for secret in [STALE, SUB_KEY, TRACE, "stale-token", "Bearer"] {
        assert!(!json.contains(secret), "{secret:?} leaked into {json}");
    }
    let names: serde_json::Value = serde_json::from_str(&json).unwrap();
    let names = names["header_names"].as_array().expect("header_names");
    assert!(
        names.iter().any(|n| n == "authorization"),
        "carried header names are recorded: {names:?}"
    );
    let before = server.requests().len();
    let stale_polls = server.requests_to("/ops/1");
    assert!(!stale_polls.is_empty(), "the first life polled");
    assert!(stale_polls
        .iter()
        .all(|r| r.header("authorization") == Some(STALE)));

    // --- Second life: a brand-new client stack, the handle from JSON, fresh credentials. ---
    let svc = lro_client(support::fast_layer());
    let handle: ResumeHandle = serde_json::from_str(&json).unwrap();
    let mut req = handle.into_request::<Full<Bytes>>();
    req.headers_mut()
        .insert(AUTHORIZATION, HeaderValue::from_static(FRESH));
    let response = send(&svc, req)
        .await
        .expect("the resumed operation succeeds");

    assert_eq!(response.status(), StatusCode::OK);
    let meta = response
        .extensions()
        .get::<LroMetadata>()
        .expect("metadata")
        .clone();
    assert_eq!(meta.operation_id(), Some("op-1"));
    assert_eq!(meta.resource_url(), Some(server.url("/things/1").as_str()));
    assert_eq!(
        body_bytes(response.into_body()).await,
        r#"{"id":"thing-1"}"#
    );

    // The submission went out once, in the first life only.
    assert_eq!(server.hits(&Method::POST, "/jobs"), 1);
    let resumed = &server.requests()[before..];
    let paths: Vec<String> = resumed.iter().map(|r| r.uri.to_string()).collect();
    assert_eq!(
        paths,
        ["/ops/1?api-version=2.0", "/things/1?api-version=2.0"]
    );
    for r in resumed {
        support::assert_bodiless_get(r);
        assert_eq!(r.header("authorization"), Some(FRESH), "{}", r.uri);
    }
}

/// The deadline can also strike while a poll is in flight (a slow status monitor): the timeout
/// still carries a handle, and resuming it does not re-send the submission either.
#[tokio::test]
async fn a_poll_cut_off_by_the_deadline_still_resumes() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("operation-location", &server.url("/ops/slow")),
    );
    // The first poll hangs past the deadline; later ones answer at once.
    server.route(Method::GET, "/ops/slow", |_, n| {
        let reply = Reply::new(200)
            .header("resource-location", "/things/2")
            .json(r#"{"status":"Succeeded"}"#);
        if n == 0 {
            reply.delay(Duration::from_millis(1500))
        } else {
            reply
        }
    });
    server.always(Method::GET, "/things/2", Reply::new(200).body("thing-2"));

    let svc = lro_client(
        LroLayer::new()
            .poll_interval(Duration::ZERO)
            .deadline(Duration::from_millis(200)),
    );
    let started = Instant::now();
    let err = send(&svc, post(&server.url("/jobs"), "{}"))
        .await
        .expect_err("the slow poll is cut off");
    let took = started.elapsed();
    let err = err.downcast::<tower_lro::Error>().expect("an LRO error");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        took < Duration::from_millis(1200),
        "the deadline cut the poll off, not the server: {took:?}"
    );
    let json = serde_json::to_string(err.resume_handle().expect("a handle")).unwrap();
    drop((err, svc));

    let svc = lro_client(LroLayer::new());
    let handle: ResumeHandle = serde_json::from_str(&json).unwrap();
    let response = send(&svc, handle.into_request()).await.expect("resumed");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_bytes(response.into_body()).await, "thing-2");
    assert_eq!(server.hits(&Method::POST, "/jobs"), 1);
    assert_eq!(server.hits(&Method::GET, "/ops/slow"), 2);
}

/// A handle is plain JSON that may have been edited: a status monitor on another origin than the
/// submission's gets no credentials on resume either (spec §7).
#[tokio::test]
async fn a_resumed_poll_to_another_origin_carries_no_credentials() {
    let home = MockServer::start().await;
    let foreign = MockServer::start().await;
    foreign.always(
        Method::GET,
        "/ops/9",
        Reply::new(200).json(r#"{"status":"Succeeded"}"#),
    );
    let json = serde_json::json!({
        "version": 1,
        "rule": "operation-location",
        "method": "POST",
        "request_url": home.url("/jobs?api-version=2.0"),
        "operation_url": foreign.url("/ops/9"),
        "final_state": "auto",
        "submission_location": null,
        "operation_id": "9",
        "origin": home.base(),
        "header_names": ["authorization", "ocp-apim-subscription-key"],
        "polls": 4
    });
    let handle: ResumeHandle = serde_json::from_value(json).unwrap();
    let mut req = handle.into_request::<Full<Bytes>>();
    req.headers_mut()
        .insert(AUTHORIZATION, HeaderValue::from_static(FRESH));
    req.headers_mut().insert(
        "ocp-apim-subscription-key",
        HeaderValue::from_static(SUB_KEY),
    );
    req.headers_mut()
        .insert("x-trace", HeaderValue::from_static(TRACE));

    let svc = lro_client(LroLayer::new());
    let response = send(&svc, req).await.expect("resumed");

    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        home.requests().is_empty(),
        "nothing went to the home origin"
    );
    let polls = foreign.requests_to("/ops/9");
    assert_eq!(polls.len(), 1);
    let poll = &polls[0];
    assert_eq!(poll.header("authorization"), None);
    assert_eq!(poll.header("ocp-apim-subscription-key"), None);
    assert_eq!(
        poll.header("x-trace"),
        Some(TRACE),
        "non-credentials still go"
    );
    assert_eq!(poll.query("api-version").as_deref(), Some("2.0"));
}

/// A handle from another format version, or with a URL the layer will not follow, is refused
/// with an error before anything is sent.
#[tokio::test]
async fn a_handle_that_cannot_be_resumed_is_refused_without_sending() {
    let server = MockServer::start().await;
    let base = serde_json::json!({
        "version": 1,
        "rule": "operation-location",
        "method": "POST",
        "request_url": server.url("/jobs"),
        "operation_url": server.url("/ops/1"),
        "final_state": "auto",
        "submission_location": null,
        "operation_id": null,
        "origin": server.base(),
        "header_names": [],
        "polls": 0
    });
    let mut future_version = base.clone();
    future_version["version"] = 2.into();
    let mut ftp = base.clone();
    ftp["operation_url"] = "ftp://files.example/ops/1".into();

    let svc = lro_client(LroLayer::new());
    for (what, json) in [("version 2", future_version), ("ftp monitor", ftp)] {
        let handle: ResumeHandle = serde_json::from_value(json).unwrap();
        let err = send(&svc, handle.into_request()).await.expect_err(what);
        let err = err
            .downcast_ref::<tower_lro::Error>()
            .unwrap_or_else(|| panic!("{what}: not an LRO error: {err}"));
        assert!(err.is_protocol(), "{what}: {err}");
    }
    assert!(server.requests().is_empty());
}
