//! The idempotency headers a layer stamps on a keyed submission, never on polls (tower-test
//! mock, paused clock).

use http::Method;
use tower_lro::{IdempotencyHeader, LroLayer, LroOptions};

use crate::support::{resp, submission, Op};

fn keyed(key: &str) -> crate::support::Req {
    let mut req = submission(Method::POST, "https://svc.example/jobs");
    req.extensions_mut()
        .insert(LroOptions::new().idempotency_key(key));
    req
}

async fn run(layer: LroLayer, req: crate::support::Req) -> (http::HeaderMap, http::HeaderMap) {
    let mut op = Op::start(layer, req);
    let sub = op
        .answer(resp(
            202,
            &[("operation-location", b"https://svc.example/ops/1")],
            "",
        ))
        .await;
    let poll = op.answer(resp(200, &[], r#"{"status":"Succeeded"}"#)).await;
    op.finish().await.expect("the operation succeeds");
    (sub.headers().clone(), poll.headers().clone())
}

#[tokio::test(start_paused = true)]
async fn the_ietf_key_is_on_the_submission_only() {
    let layer = LroLayer::new().idempotency_header(IdempotencyHeader::IdempotencyKey);
    let (sub, poll) = run(layer, keyed("8e03978e-40d5")).await;
    assert_eq!(sub["idempotency-key"], "\"8e03978e-40d5\"");
    assert!(!poll.contains_key("idempotency-key"));
}

#[tokio::test(start_paused = true)]
async fn repeatability_headers_are_on_the_submission_only() {
    let layer = LroLayer::new().idempotency_header(IdempotencyHeader::Repeatability);
    let (sub, poll) = run(layer, keyed("req-7")).await;
    assert_eq!(sub["repeatability-request-id"], "req-7");
    let first_sent = sub["repeatability-first-sent"].to_str().unwrap();
    assert!(
        httpdate::parse_http_date(first_sent).is_ok(),
        "{first_sent}"
    );
    assert!(first_sent.ends_with(" GMT"));
    for name in ["repeatability-request-id", "repeatability-first-sent"] {
        assert!(!poll.contains_key(name), "{name} on a poll");
    }
}

/// Without the layer's opt-in, or without a key, nothing is stamped; a key the caller already
/// stamped stays as it is.
#[tokio::test(start_paused = true)]
async fn nothing_is_stamped_without_opt_in_and_a_key() {
    let (sub, _) = run(LroLayer::new(), keyed("k")).await;
    assert!(!sub.contains_key("idempotency-key"));
    let layer = LroLayer::new().idempotency_header(IdempotencyHeader::IdempotencyKey);
    let (sub, _) = run(
        layer.clone(),
        submission(Method::POST, "https://svc.example/jobs"),
    )
    .await;
    assert!(!sub.contains_key("idempotency-key"));
    let mut req = keyed("k");
    req.headers_mut().insert(
        "idempotency-key",
        http::HeaderValue::from_static("\"mine\""),
    );
    let (sub, _) = run(layer, req).await;
    assert_eq!(sub["idempotency-key"], "\"mine\"");
}
