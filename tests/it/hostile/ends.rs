//! Timeouts, transient failures and the resource fetch.

use super::*;

/// An operation that runs forever ends with a `Timeout` inside the deadline: unhinted waits of
/// 1,1,1,1,1,2,4,8,16 s put polls at 1,2,3,4,5,7,11,19,35 s; the next (30 s) would end at 65 s,
/// past the 60 s deadline, so the layer fails at 35 s.
#[tokio::test(start_paused = true)]
async fn running_forever_times_out_within_the_deadline() {
    let mut op = submit(
        LroLayer::new().deadline(Duration::from_secs(60)),
        ol(MONITOR),
    )
    .await;
    let mut times = Vec::new();
    for _ in 0..9 {
        op.answer(resp(200, &[], RUNNING)).await;
        times.push(op.elapsed().as_secs());
    }
    assert_eq!(times, [1, 2, 3, 4, 5, 7, 11, 19, 35]);
    let err = lro_error(op.finish().await);
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    let handle = err.resume_handle().unwrap();
    assert_eq!(handle.operation_url(), MONITOR);
    assert_eq!(handle.polls(), 9);
    assert_eq!(err.operation_id(), Some("op1"));
}

/// The poll budget ends a server that keeps saying "poll again now".
#[tokio::test(start_paused = true)]
async fn retry_after_zero_forever_ends_at_the_poll_limit() {
    let mut op = submit(
        LroLayer::new().max_polls(20),
        resp(
            202,
            &[
                ("operation-location", MONITOR.as_bytes()),
                ("retry-after", b"0"),
            ],
            "",
        ),
    )
    .await;
    for _ in 0..20 {
        op.answer(resp(200, &[("retry-after", b"0")], RUNNING))
            .await;
    }
    let err = lro_error(op.finish().await);
    assert_eq!(err.kind(), ErrorKind::PollLimit, "{err}");
    assert!(err.resume_handle().is_some());
}

/// Transport errors and `429`/`5xx` on polls are retried with backoff, up to the budget; then
/// `RetriesExhausted` with the attempts counted and the last response inside.
#[tokio::test(start_paused = true)]
async fn transient_failures_exhaust_the_retry_budget() {
    let mut op = submit(LroLayer::new().transient_retries(3), ol(MONITOR)).await;
    op.fail_transport().await;
    op.answer(resp(503, &[], "busy")).await;
    op.answer(resp(429, &[("retry-after", b"0")], "slow down"))
        .await;
    op.answer(resp(502, &[("x-marker", b"last")], "bad gateway"))
        .await;
    // First poll at 1 s, then backoff 1 s, 2 s, then the 429's own `Retry-After: 0`.
    assert_eq!(op.elapsed(), Duration::from_secs(4));
    let err = lro_error(op.finish().await);
    assert_eq!(err.kind(), ErrorKind::RetriesExhausted, "{err}");
    assert_eq!(err.attempts(), Some(4));
    assert_eq!(err.status(), Some(StatusCode::BAD_GATEWAY));
    assert_eq!(err.headers().unwrap()["x-marker"], "last");
}

/// `Succeeded`, then the resource URL answers `404`: the caller gets that `404`, body and all,
/// with the `LroMetadata` of the resolution.
#[tokio::test(start_paused = true)]
async fn succeeded_then_a_missing_resource_returns_the_404_with_metadata() {
    let mut op = submit(LroLayer::new(), ol(MONITOR)).await;
    op.answer(resp(
        200,
        &[],
        r#"{"operationId":"op1","status":"Succeeded","resourceLocation":"/things/1"}"#,
    ))
    .await;
    let fetch = op
        .answer(resp(404, &[("x-marker", b"gone")], "no such thing"))
        .await;
    assert_eq!(fetch.uri(), "https://svc.example/things/1?api-version=1");
    let response = op.finish().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()["x-marker"], "gone");
    let meta = response.extensions().get::<LroMetadata>().unwrap().clone();
    assert_eq!(meta.status(), &OperationStatus::parse("Succeeded"));
    // The URL the operation named (the request also carried `api-version`).
    assert_eq!(meta.resource_url(), Some("https://svc.example/things/1"));
    assert_eq!(meta.operation_url(), MONITOR);
    assert_eq!(meta.polls(), 1);
    assert_eq!(
        support::body_bytes(response.into_body()).await,
        "no such thing"
    );
}

/// A hostile `resourceLocation` / `Resource-Location`: refused, never fetched.
#[tokio::test(start_paused = true)]
async fn hostile_resource_locations_are_refused() {
    let rows: &[(&str, &[u8])] = &[
        ("body", b"ftp://svc.example/thing"),
        ("body", b"javascript:alert(1)"),
        ("body", b"http://svc.example/downgrade"),
        ("body", b"http://[::1"),
        ("header", b"file:///etc/passwd"),
        ("header", b"http://svc.example/downgrade"),
        ("header", b"\xff\xfe"),
    ];
    for (place, value) in rows {
        let mut op = submit(LroLayer::new(), ol(MONITOR)).await;
        let shown = String::from_utf8_lossy(value).into_owned();
        let response = if *place == "body" {
            let body = serde_json::json!({"status": "Succeeded", "resourceLocation": shown});
            resp(200, &[], body.to_string())
        } else {
            resp(200, &[("resource-location", value)], SUCCEEDED)
        };
        op.answer(response).await;
        let err = lro_error(op.finish().await);
        assert!(err.is_protocol(), "{place} {shown:?}: {err}");
    }
}
