//! Cancelling operations (issue 15 item 8): explicitly from a resume handle over real loopback
//! sockets — Google's `POST …:cancel`, the default dialect's `DELETE` on the monitor, a declared
//! `cancel` — with the rules of polls (credentials stripped on a foreign origin, the SSRF guard);
//! and the opt-in cancel when the layer gives up, under Tokio's paused clock.

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{HeaderValue, Method, Request, StatusCode};
use tower::ServiceExt;
use tower_lro::__private::Reason;
use tower_lro::{
    CancelOutcome, Dialect, ErrorKind, LroLayer, LroOptions, LroService, PollKind, ResumeHandle,
};

use support::{lro_client, post, resp, send, submission, MockServer, Op, Reply};

const TOKEN: &str = "Bearer cancel-token-5a1e";

/// Times out an operation started by `submit` (polls answer "running"): its resume handle.
async fn timed_out(
    layer: LroLayer,
    submit: Request<http_body_util::Full<bytes::Bytes>>,
) -> ResumeHandle {
    let svc = lro_client(layer.deadline(Duration::from_millis(200)));
    let err = send(&svc, submit).await.expect_err("it times out");
    let err = err.downcast::<tower_lro::Error>().expect("an LRO error");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.cancellation().is_none(), "no cancel without the opt-in");
    err.resume_handle().expect("a handle").clone()
}

/// The handle as a request, with a fresh credential.
fn carrier(handle: &ResumeHandle) -> Request<http_body_util::Full<bytes::Bytes>> {
    let mut req: Request<_> = handle.clone().into_request();
    req.headers_mut()
        .insert(AUTHORIZATION, HeaderValue::from_static(TOKEN));
    req
}

fn running(server: &MockServer, path: &str) {
    server.always(
        Method::GET,
        path,
        Reply::new(200)
            .header("retry-after-ms", "50")
            .json(r#"{"status":"Running","done":false,"name":"projects/p/operations/op-1"}"#),
    );
}

#[tokio::test]
async fn a_google_operation_is_cancelled_with_post_cancel() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/v1/projects/p/instances",
        Reply::new(200).json(r#"{"name":"projects/p/operations/op-1","done":false}"#),
    );
    running(&server, "/v1/projects/p/operations/op-1");
    server.always(
        Method::POST,
        "/v1/projects/p/operations/op-1:cancel",
        Reply::new(200).json("{}"),
    );
    let layer = LroLayer::new().dialect(Dialect::google());
    let handle = timed_out(
        layer.clone(),
        post(&server.url("/v1/projects/p/instances"), "{}"),
    )
    .await;
    server.clear_requests();

    // The hook shapes the cancel as it shapes polls (to sign it), and can tell it apart.
    let svc = lro_client(layer.on_poll_request(|r| {
        let kind = r
            .extensions()
            .get::<tower_lro::LroRequest>()
            .map(|i| i.kind());
        if kind == Some(PollKind::Cancel) {
            r.headers_mut()
                .insert("x-signed", HeaderValue::from_static("cancel"));
        }
    }));
    let done = svc.cancel(carrier(&handle)).await.expect("accepted");
    assert_eq!(done.outcome(), CancelOutcome::Accepted);
    assert_eq!(done.method(), Method::POST);
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "one request: {seen:?}");
    assert_eq!(seen[0].method, Method::POST);
    assert_eq!(seen[0].path(), "/v1/projects/p/operations/op-1:cancel");
    assert_eq!(seen[0].header("authorization"), Some(TOKEN));
    assert_eq!(seen[0].header("x-signed"), Some("cancel"));
}

#[tokio::test]
async fn a_default_monitor_gets_delete_and_its_answer_is_reported_as_is() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("operation-location", &server.url("/ops/1")),
    );
    running(&server, "/ops/1");
    server.sequence(
        Method::DELETE,
        "/ops/1",
        vec![
            Reply::new(202),
            Reply::new(405),
            Reply::new(409).body("busy\u{1b}[2J"),
        ],
    );
    let handle = timed_out(
        LroLayer::new(),
        post(&server.url("/jobs?api-version=2"), "{}"),
    )
    .await;
    server.clear_requests();
    let svc = lro_client(LroLayer::new());

    let accepted = svc.cancel(carrier(&handle)).await.unwrap();
    assert_eq!(accepted.outcome(), CancelOutcome::Accepted);
    assert_eq!(accepted.status(), Some(StatusCode::ACCEPTED));
    let not_supported = svc.cancel(carrier(&handle)).await.unwrap();
    assert_eq!(not_supported.outcome(), CancelOutcome::NotSupported);
    let refused = svc.cancel(carrier(&handle)).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::UnexpectedStatus);
    assert_eq!(
        refused.reason(),
        &Reason::CancelRefused {
            method: Method::DELETE,
            status: StatusCode::CONFLICT
        }
    );
    // What the server said of its refusal is kept.
    assert_eq!(refused.body().map(|b| &b[..]), Some(&b"busy\x1b[2J"[..]));
    assert!(!refused.to_string().contains('\u{1b}'), "{refused}");
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    for r in &seen {
        assert_eq!((r.method.clone(), r.path()), (Method::DELETE, "/ops/1"));
        // The carried query, as on polls.
        assert_eq!(r.query("api-version").as_deref(), Some("2"));
        assert!(r.body.is_empty());
    }
}

#[tokio::test]
async fn a_declared_cancel_is_followed_and_a_foreign_one_gets_no_credentials() {
    let server = MockServer::start().await;
    let other = MockServer::start().await;
    server.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("location", "/jobs/1"),
    );
    running(&server, "/jobs/1");
    server.always(Method::POST, "/jobs/1/dismiss", Reply::new(204));
    other.always(Method::POST, "/cancel/1", Reply::new(200));
    let dialect = |url: &str| {
        Dialect::from_json(&format!(
            r#"{{"status_url": {{"header": "Location"}}, "status_word": "/status",
                "cancel": {{"method": "POST", "url": {{"template": "{url}"}}}}}}"#
        ))
        .unwrap()
    };
    for (url, foreign) in [("1/dismiss", false), (&other.url("/cancel/1")[..], true)] {
        let layer = LroLayer::new().dialect(dialect(url));
        let mut submit = post(&server.url("/jobs"), "{}");
        submit
            .headers_mut()
            .insert(AUTHORIZATION, HeaderValue::from_static(TOKEN));
        let handle = timed_out(layer.clone(), submit).await;
        server.clear_requests();
        let mut req = carrier(&handle);
        req.headers_mut()
            .insert("x-trace", HeaderValue::from_static("t-1"));
        let done = lro_client(layer).cancel(req).await.expect("accepted");
        assert_eq!(done.outcome(), CancelOutcome::Accepted);
        let seen = if foreign {
            other.requests()
        } else {
            server.requests()
        };
        assert_eq!(seen.len(), 1, "{url}: {seen:?}");
        assert_eq!(seen[0].method, Method::POST);
        assert_eq!(seen[0].header("x-trace"), Some("t-1"));
        let auth = seen[0].header("authorization");
        assert_eq!(auth, (!foreign).then_some(TOKEN), "{url}");
    }
}

#[tokio::test]
async fn an_internal_cancel_url_is_refused_before_any_connection() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("location", "/jobs/1"),
    );
    running(&server, "/jobs/1");
    let dialect = Dialect::from_json(
        r#"{"status_url": {"header": "Location"}, "status_word": "/status",
            "cancel": {"method": "DELETE", "url": {"template": "http://169.254.169.254/latest/meta-data"}}}"#,
    )
    .unwrap();
    let layer = LroLayer::new().dialect(dialect);
    let handle = timed_out(layer.clone(), post(&server.url("/jobs"), "{}")).await;
    // Every call of the inner service is counted: none may happen.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let inner = support::http_client().map_request(move |r| {
        counted.fetch_add(1, Ordering::SeqCst);
        r
    });
    let svc = LroService::new(inner, layer);
    let err = svc.cancel(carrier(&handle)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Insecure);
    assert!(matches!(err.reason(), Reason::Refused(_)), "{err:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn compute_and_undeclared_cancels_send_nothing() {
    let svc = LroService::new(
        tower::service_fn(|_: Request<String>| async {
            panic!("nothing may be sent");
            #[allow(unreachable_code)]
            Ok::<http::Response<String>, std::convert::Infallible>(http::Response::default())
        }),
        LroLayer::new(),
    );
    let json = r#"{"version":1,"rule":"compute-operation","method":"POST",
      "request_url":"https://compute.googleapis.com/compute/v1/projects/p/zones/z/instances",
      "operation_url":"https://compute.googleapis.com/compute/v1/projects/p/zones/z/operations/op-1",
      "final_state":"auto","origin":"https://compute.googleapis.com","polls":1,"dialect":"compute"}"#;
    let handle: ResumeHandle = serde_json::from_str(json).unwrap();
    let err = svc.cancel(handle.into_request()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotCancellable);
    // No handle at all: a typed refusal too.
    let err = svc.cancel(Request::new(String::new())).await.unwrap_err();
    assert!(matches!(err.reason(), Reason::BadHandle { .. }), "{err:?}");
}

const RUNNING: &str = r#"{"status":"Running"}"#;

/// An operation on a monitor that never finishes, polled every 2 s under a 10 s deadline.
fn never_finishing(layer: LroLayer, options: Option<LroOptions>) -> Op {
    let layer = layer
        .deadline(Duration::from_secs(10))
        .poll_interval(Duration::from_secs(2));
    let mut req = submission(Method::POST, "https://svc.example/jobs");
    if let Some(options) = options {
        req.extensions_mut().insert(options);
    }
    Op::start(layer, req)
}

/// Answers the submission with a monitor and every poll with "running" until the call ends;
/// any other request is a cancel, answered with `cancel_status` (or left hanging). The result,
/// and the cancels seen.
async fn to_the_end(
    op: &mut Op,
    cancel_status: Option<u16>,
) -> (support::mock::Out, Vec<support::Req>) {
    let monitor: &[u8] = b"https://svc.example/ops/1";
    op.answer(resp(202, &[("operation-location", monitor)], ""))
        .await;
    let (mut cancels, mut hanging) = (Vec::new(), Vec::new());
    for _ in 0..50 {
        tokio::select! {
            out = &mut op.call => return (out.expect("the call task"), cancels),
            next = op.handle.next_request() => {
                // Every clone of the service is gone: the call has ended.
                let Some((req, send)) = next else {
                    return ((&mut op.call).await.expect("the call task"), cancels);
                };
                if req.method() == Method::GET {
                    send.send_response(resp(200, &[], RUNNING));
                    continue;
                }
                match cancel_status {
                    Some(status) => send.send_response(resp(status, &[], "")),
                    None => hanging.push(send),
                }
                cancels.push(req);
            }
        }
    }
    panic!("the operation did not end");
}

/// After the call ended: the mock may still hold the poll that was in flight at the deadline
/// (never taken), and nothing else.
async fn only_polls_after(op: &mut Op) {
    for _ in 0..3 {
        match op.handle.next_request().await {
            None => return,
            Some((req, _)) => assert_eq!(req.method(), Method::GET, "{req:?}"),
        }
    }
    panic!("requests after the end");
}

#[tokio::test(start_paused = true)]
async fn giving_up_at_the_deadline_cancels_when_asked() {
    for (layer, options) in [
        (
            LroLayer::new().tag_requests(true),
            Some(LroOptions::new().cancel_on_give_up(true)),
        ),
        (
            LroLayer::new().cancel_on_give_up(true).tag_requests(true),
            None,
        ),
    ] {
        let mut op = never_finishing(layer, options);
        let (out, cancels) = to_the_end(&mut op, Some(202)).await;
        assert_eq!(cancels.len(), 1, "one cancel");
        let cancel = &cancels[0];
        assert_eq!(cancel.method(), Method::DELETE);
        assert_eq!(cancel.uri(), "https://svc.example/ops/1");
        assert_eq!(cancel.headers()["authorization"], "Bearer secret");
        assert!(cancel.headers().get("content-type").is_none());
        let info = cancel.extensions().get::<tower_lro::LroRequest>().unwrap();
        assert_eq!(info.kind(), PollKind::Cancel);
        assert!(
            op.elapsed() <= Duration::from_secs(10),
            "{:?}",
            op.elapsed()
        );
        let err = support::lro_error(out);
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        let c = err.cancellation().expect("the cancel is noted");
        assert_eq!(
            (c.outcome(), c.method()),
            (CancelOutcome::Accepted, &Method::DELETE)
        );
        assert!(err.resume_handle().is_some());
        assert!(err.to_string().contains("cancel sent"), "{err}");
        only_polls_after(&mut op).await;
    }
}

#[tokio::test(start_paused = true)]
async fn the_poll_limit_and_a_first_wait_past_the_deadline_cancel_too() {
    // The poll limit.
    let mut op = never_finishing(LroLayer::new().cancel_on_give_up(true).max_polls(2), None);
    let (out, cancels) = to_the_end(&mut op, Some(204)).await;
    assert_eq!(cancels.len(), 1);
    let err = support::lro_error(out);
    assert_eq!(err.kind(), ErrorKind::PollLimit, "{err}");
    assert_eq!(
        err.cancellation().unwrap().outcome(),
        CancelOutcome::Accepted
    );
    // The submission's answer asks for a first wait past the deadline.
    let layer = LroLayer::new()
        .deadline(Duration::from_secs(10))
        .cancel_on_give_up(true);
    let mut op = Op::start(layer, submission(Method::POST, "https://svc.example/jobs"));
    let monitor: &[u8] = b"https://svc.example/ops/1";
    op.answer(resp(
        202,
        &[("operation-location", monitor), ("retry-after", b"60")],
        "",
    ))
    .await;
    let (cancel, send) = op.next().await;
    assert_eq!(
        (cancel.method(), cancel.uri().to_string().as_str()),
        (&Method::DELETE, "https://svc.example/ops/1")
    );
    send.send_response(resp(202, &[], ""));
    let err = support::lro_error(op.outcome().await);
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.cancellation().is_some());
}

#[tokio::test(start_paused = true)]
async fn a_cancel_that_hangs_is_bounded_and_never_masks_the_timeout() {
    let mut op = never_finishing(LroLayer::new().cancel_on_give_up(true), None);
    let (out, cancels) = to_the_end(&mut op, None).await;
    assert_eq!(cancels.len(), 1);
    let err = support::lro_error(out);
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(
        err.cancellation().unwrap().outcome(),
        CancelOutcome::NoAnswer
    );
    // The deadline, then at most the cancel's own bound.
    assert!(
        op.elapsed() <= Duration::from_secs(10 + 10),
        "{:?}",
        op.elapsed()
    );
    assert!(
        op.elapsed() >= Duration::from_secs(10),
        "{:?}",
        op.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_cancel_is_noted_and_the_error_stays_a_timeout() {
    let mut op = never_finishing(LroLayer::new().cancel_on_give_up(true), None);
    let (out, _) = to_the_end(&mut op, Some(405)).await;
    let err = support::lro_error(out);
    assert_eq!(err.kind(), ErrorKind::Timeout);
    let c = err.cancellation().unwrap();
    assert_eq!(
        (c.outcome(), c.status()),
        (
            CancelOutcome::NotSupported,
            Some(StatusCode::METHOD_NOT_ALLOWED)
        )
    );
}

/// A declared cancel's headers and body go out with the cancel sent on giving up, the body
/// made by the layer's `poll_body`; a layer that cannot make one sends nothing, and the error
/// stays the timeout, with no cancel noted.
#[tokio::test(start_paused = true)]
async fn giving_up_sends_a_declared_cancel_with_its_headers_and_body() {
    use http_body_util::BodyExt;
    let dialect = Dialect::from_json(
        r#"{"status_url": {"header": "Operation-Location"}, "status_word": "/status",
            "cancel": {"method": "POST", "url": {"template": "/cancel"},
                       "headers": {"X-Amz-Target": "Jobs.Stop"},
                       "body": {"monitor": "{/status_url}", "force": true}}}"#,
    )
    .unwrap();
    for with_body in [true, false] {
        let mut layer = LroLayer::new().dialect(dialect.clone());
        if with_body {
            layer = layer.poll_body(http_body_util::Full::<bytes::Bytes>::new);
        }
        let options = LroOptions::new().cancel_on_give_up(true);
        let mut op = never_finishing(layer, Some(options));
        let (out, cancels) = to_the_end(&mut op, Some(200)).await;
        let err = support::lro_error(out);
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        if !with_body {
            assert!(cancels.is_empty(), "{cancels:?}");
            assert!(err.cancellation().is_none());
            continue;
        }
        assert_eq!(cancels.len(), 1, "one cancel");
        let cancel = cancels.into_iter().next().unwrap();
        assert_eq!(cancel.method(), Method::POST);
        assert_eq!(cancel.uri(), "https://svc.example/cancel");
        assert_eq!(cancel.headers()["x-amz-target"], "Jobs.Stop");
        assert_eq!(cancel.headers()["authorization"], "Bearer secret");
        let body = cancel.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            &body[..],
            br#"{"force":true,"monitor":"https://svc.example/ops/1"}"#
        );
        let c = err.cancellation().expect("the cancel is noted");
        assert_eq!(c.outcome(), CancelOutcome::Accepted);
    }
}

#[tokio::test(start_paused = true)]
async fn nothing_is_cancelled_without_the_opt_in() {
    for options in [None, Some(LroOptions::new().cancel_on_give_up(false))] {
        let layer = LroLayer::new();
        let mut op = never_finishing(layer, options);
        let (out, cancels) = to_the_end(&mut op, Some(202)).await;
        assert!(cancels.is_empty(), "{cancels:?}");
        let err = support::lro_error(out);
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.cancellation().is_none());
        only_polls_after(&mut op).await;
    }
    // A layer that opts in, and a request that opts out.
    let layer = LroLayer::new().cancel_on_give_up(true);
    let mut op = never_finishing(layer, Some(LroOptions::new().cancel_on_give_up(false)));
    let (_, cancels) = to_the_end(&mut op, Some(202)).await;
    assert!(cancels.is_empty(), "{cancels:?}");
}

#[tokio::test(start_paused = true)]
async fn a_dropped_future_sends_nothing_and_the_caller_cancels_from_its_last_handle() {
    let (options, progress) = LroOptions::new().cancel_on_give_up(true).watch_progress();
    let layer = LroLayer::new().poll_interval(Duration::from_secs(2));
    let (svc, mut handle) = tower_test::mock::pair::<support::Req, support::Res>();
    let svc = tower::Layer::layer(&layer, svc);
    let mut req = submission(Method::POST, "https://svc.example/jobs");
    req.extensions_mut().insert(options);
    let call = tokio::spawn(svc.clone().oneshot(req));
    let (_, send) = handle.next_request().await.unwrap();
    let monitor: &[u8] = b"https://svc.example/ops/1";
    send.send_response(resp(202, &[("operation-location", monitor)], ""));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(resp(200, &[], r#"{"status":"Running"}"#));
    // The caller goes away while the layer waits.
    tokio::time::sleep(Duration::from_millis(500)).await;
    call.abort();
    let _ = call.await;
    let quiet = tokio::time::timeout(Duration::from_secs(60), handle.next_request()).await;
    assert!(quiet.is_err(), "a dropped future sends nothing");
    // What the docs say to do instead: cancel from the latest handle.
    let last = progress
        .borrow()
        .clone()
        .and_then(|p| p.resume_handle().cloned());
    let last = last.expect("a handle in the last report");
    let cancelling = tokio::spawn(svc.cancel(last.into_request()));
    let (cancel, send) = handle.next_request().await.unwrap();
    assert_eq!(
        (cancel.method(), cancel.uri().path()),
        (&Method::DELETE, "/ops/1")
    );
    send.send_response(resp(204, &[], ""));
    let done = cancelling.await.unwrap().unwrap();
    assert_eq!(done.outcome(), CancelOutcome::Accepted);
}
