//! Hostile servers (issue 3): every bad input a status monitor can send, and the security
//! rules of spec §7.
//!
//! Most tests drive the service through `tower-test` mocks with Tokio's clock paused, so poll
//! times are exact. The credential tests use two real loopback listeners (two origins: same
//! host, different ports) and a real hyper-util client, and so run on the real clock with the
//! waits shrunk to a few milliseconds.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body as _;
use http_body_util::Full;
use tokio::time::Instant;
use tower::{Layer, ServiceExt};
use tower_lro::__private::{Reason, UrlProblem};
use tower_lro::{ErrorKind, LroLayer, LroMetadata, LroOptions, OperationStatus, StatusMeaning};
use tower_test::mock;

use crate::support::mock::{body_text, ol, submit, MONITOR, SUB};
use crate::support::{self, lro_error, resp, submission, Op, Req, RUNNING, SUCCEEDED};

// ----------------------------------------------------------------------------------------------
// Wait hints

/// Malformed and negative wait hints are ignored: the first poll comes at exactly the poll
/// interval (1 s), and the next one too.
#[tokio::test(start_paused = true)]
async fn malformed_or_negative_retry_after_is_ignored() {
    let long_digits = "9".repeat(65);
    let values: &[&[u8]] = &[
        b"abc",
        b"-5",
        b"-1",
        b"1.5",
        b"",
        b" ",
        b"5s",
        b"0x10",
        b"+3",
        b"1e3",
        b"/bar",
        b"Sun, 32 Nov 1994 08:49:37 GMT",
        b"Mon, 06 Nov 1994 08:49:37 XYZ",
        b"\xff\xfe9",
        long_digits.as_bytes(),
    ];
    for name in ["retry-after", "retry-after-ms", "x-ms-retry-after-ms"] {
        for value in values {
            let mut op = submit(
                LroLayer::new(),
                resp(
                    202,
                    &[("operation-location", MONITOR.as_bytes()), (name, value)],
                    "",
                ),
            )
            .await;
            op.answer(resp(200, &[(name, value)], RUNNING)).await;
            assert_eq!(
                op.elapsed(),
                Duration::from_secs(1),
                "{name}: {:?}",
                String::from_utf8_lossy(value)
            );
            op.answer(resp(200, &[], SUCCEEDED)).await;
            assert_eq!(op.elapsed(), Duration::from_secs(2));
            assert_eq!(op.finish().await.unwrap().status(), 200);
        }
    }
}

/// A bad millisecond hint does not hide a good `Retry-After`.
#[tokio::test(start_paused = true)]
async fn a_bad_millisecond_hint_falls_through_to_retry_after() {
    let mut op = submit(
        LroLayer::new(),
        resp(
            202,
            &[
                ("operation-location", MONITOR.as_bytes()),
                ("retry-after-ms", b"-250"),
                ("x-ms-retry-after-ms", b"soon"),
                ("retry-after", b"7"),
            ],
            "",
        ),
    )
    .await;
    op.answer(resp(200, &[("retry-after-ms", b"1500")], RUNNING))
        .await;
    assert_eq!(op.elapsed(), Duration::from_secs(7));
    op.answer(resp(200, &[], SUCCEEDED)).await;
    assert_eq!(op.elapsed(), Duration::from_millis(8_500));
    op.finish().await.unwrap();
}

/// BUG (src/header.rs `retry_after`): an HTTP-date in the past is read as "wait 0" and the poll
/// goes out at once. Spec §2 says a negative value is ignored (and the brief for this issue:
/// "past-date Retry-After: ignored, default wait used"); both Azure SDKs fall back to their
/// interval for a wait that is 0 or less. Fix: return `None` for a date at or before the
/// reference (`at.duration_since(reference)` is `Err` or zero) so the default wait applies.
#[tokio::test(start_paused = true)]
async fn a_past_retry_after_date_uses_the_default_wait() {
    let mut op = submit(
        LroLayer::new(),
        resp(
            202,
            &[
                ("operation-location", MONITOR.as_bytes()),
                ("retry-after", b"Sun, 06 Nov 1994 08:49:37 GMT"),
            ],
            "",
        ),
    )
    .await;
    op.answer(resp(200, &[], SUCCEEDED)).await;
    assert_eq!(op.elapsed(), Duration::from_secs(1));
    op.finish().await.unwrap();
}

/// A past date is ignored (the default wait applies), and a server's own `Date` header is the
/// reference: a date that is past for us but future for the server is honoured.
#[tokio::test(start_paused = true)]
async fn a_past_retry_after_date_is_never_negative_or_huge() {
    let mut op = submit(
        LroLayer::new(),
        resp(
            202,
            &[
                ("operation-location", MONITOR.as_bytes()),
                ("date", b"Sun, 06 Nov 1994 08:50:37 GMT"),
                ("retry-after", b"Sun, 06 Nov 1994 08:49:37 GMT"),
            ],
            "",
        ),
    )
    .await;
    // Relative to its own Date header the server asked for 30 s (a future date there).
    op.answer(resp(
        200,
        &[
            ("date", b"Sun, 06 Nov 1994 08:49:07 GMT"),
            ("retry-after", b"Sun, 06 Nov 1994 08:49:37 GMT"),
        ],
        RUNNING,
    ))
    .await;
    assert!(op.elapsed() <= Duration::from_secs(1));
    let first = op.elapsed();
    op.answer(resp(200, &[], SUCCEEDED)).await;
    assert_eq!(op.elapsed() - first, Duration::from_secs(30));
    op.finish().await.unwrap();
}

/// A future HTTP-date in an answer without a `Date` is measured against our wall clock (read
/// only then: the driver gives the core its monotonic reading alone): a date 5 s ahead, at the
/// date's one-second grain, is a wait of 4–5 s.
#[tokio::test(start_paused = true)]
async fn a_future_retry_after_date_without_date_is_measured_against_our_clock() {
    let mut op = submit(
        LroLayer::new(),
        resp(202, &[("operation-location", MONITOR.as_bytes())], ""),
    )
    .await;
    let at = std::time::SystemTime::now() + Duration::from_secs(5);
    let date = httpdate::fmt_http_date(at);
    op.answer(resp(200, &[("retry-after", date.as_bytes())], RUNNING))
        .await;
    let first = op.elapsed();
    op.answer(resp(200, &[], SUCCEEDED)).await;
    let waited = op.elapsed() - first;
    assert!(
        (Duration::from_secs(4)..=Duration::from_secs(5)).contains(&waited),
        "{waited:?}"
    );
    op.finish().await.unwrap();
}

/// `Retry-After: 99999999999` (and values that overflow `u64`) are clamped to `max_wait`
/// (5 min): polls at 300/600/900 s; the next wait would end past the 1000 s deadline, so the
/// layer fails at once at 900 s with a `Timeout` that can be resumed.
#[tokio::test(start_paused = true)]
async fn an_absurd_retry_after_is_clamped_then_times_out_with_a_resume_handle() {
    for (name, value) in [
        ("retry-after", "99999999999"),
        ("retry-after", "99999999999999999999999999999"),
        ("retry-after-ms", "18446744073709551615"),
        ("x-ms-retry-after-ms", "99999999999999999999"),
        ("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"),
    ] {
        let layer = LroLayer::new().deadline(Duration::from_secs(1_000));
        let mut op = submit(
            layer,
            resp(
                202,
                &[
                    ("operation-location", MONITOR.as_bytes()),
                    (name, value.as_bytes()),
                ],
                "",
            ),
        )
        .await;
        for n in 1..=3u64 {
            op.answer(resp(200, &[(name, value.as_bytes())], RUNNING))
                .await;
            assert_eq!(
                op.elapsed(),
                Duration::from_secs(300 * n),
                "{name}: {value}"
            );
        }
        let t = op.elapsed();
        let err = lro_error(op.finish().await);
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(err.is_timeout());
        assert_eq!(t, Duration::from_secs(900));
        let handle = err.resume_handle().expect("a resume handle");
        assert_eq!(handle.operation_url(), MONITOR);
        assert_eq!(handle.polls(), 3);
        assert_eq!(
            err.operation_status(),
            Some(&OperationStatus::parse("Running"))
        );
        let json = serde_json::to_string(handle).unwrap();
        assert!(!json.contains("secret"), "{json}");
    }
}

// ----------------------------------------------------------------------------------------------
// Monitor headers

/// A `202` with nothing to poll is handed back untouched.
#[tokio::test(start_paused = true)]
async fn a_202_without_a_monitor_header_passes_through() {
    let op = submit(LroLayer::new(), resp(202, &[("x-marker", b"1")], "queued")).await;
    let response = op.finish().await.unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["x-marker"], "1");
    assert!(response.extensions().get::<LroMetadata>().is_none());
    assert_eq!(support::body_bytes(response.into_body()).await, "queued");
}

/// Unusable `Operation-Location`, `Azure-AsyncOperation` and `Location` values: a typed error
/// that names the header and the value, carries the submission response, and sends no poll.
#[tokio::test(start_paused = true)]
async fn unusable_monitor_headers_are_typed_errors_naming_header_and_value() {
    let rows: &[(&[u8], ErrorKind)] = &[
        (b"", ErrorKind::Protocol),
        (b"\"\"", ErrorKind::Protocol),
        (b"   ", ErrorKind::Protocol),
        (b"https://svc.example/op/\xff\xfe", ErrorKind::Protocol),
        (b"not a url", ErrorKind::Protocol),
        (b"http://", ErrorKind::Protocol),
        (b"http://[::1", ErrorKind::Protocol),
        (b"https://:443/op", ErrorKind::Protocol),
        (b"ftp://svc.example/op", ErrorKind::Insecure),
        (b"javascript:alert(1)", ErrorKind::Insecure),
        (b"file:///etc/passwd", ErrorKind::Insecure),
        (b"data:text/plain,x", ErrorKind::Insecure),
    ];
    for header in ["operation-location", "azure-asyncoperation", "location"] {
        for (value, kind) in rows {
            let op = submit(
                LroLayer::new(),
                resp(202, &[(header, value), ("x-marker", b"sub")], "accepted"),
            )
            .await;
            let err = lro_error(op.finish().await);
            assert_eq!(err.kind(), *kind, "{header}: {err}");
            assert!(err.is_protocol(), "{err}");
            assert!(
                matches!(
                    err.reason(),
                    Reason::BadHeader { status, name, value: sent, .. }
                        if *status == StatusCode::ACCEPTED
                            && name.as_str() == header
                            && sent.as_bytes() == *value
                ),
                "{header} {:?}: {:?}",
                String::from_utf8_lossy(value),
                err.reason()
            );
            assert_eq!(err.status(), Some(StatusCode::ACCEPTED), "{err}");
            assert_eq!(err.headers().unwrap()["x-marker"], "sub");
            assert_eq!(err.url(), Some(SUB));
        }
    }
}

/// Relative, dot-segment, network-path and quoted references resolve against the request URL
/// (RFC 3986 §5); `api-version` is carried on.
#[tokio::test(start_paused = true)]
async fn relative_monitor_urls_resolve_against_the_request() {
    let rows = [
        ("/ops/1", "https://svc.example/ops/1?api-version=1"),
        ("ops/2", "https://svc.example/a/b/ops/2?api-version=1"),
        ("../c/3", "https://svc.example/a/c/3?api-version=1"),
        ("./4?x=1", "https://svc.example/a/b/4?x=1&api-version=1"),
        (
            "\"/quoted/5\"",
            "https://svc.example/quoted/5?api-version=1",
        ),
        (
            "  /padded/6  ",
            "https://svc.example/padded/6?api-version=1",
        ),
        (
            "/ops/7?api-version=2",
            "https://svc.example/ops/7?api-version=2",
        ),
        (
            "https://svc.example/ops/8#frag",
            "https://svc.example/ops/8?api-version=1",
        ),
    ];
    for header in ["operation-location", "location"] {
        for (value, want) in rows {
            let mut op = submit(
                LroLayer::new(),
                resp(202, &[(header, value.as_bytes())], ""),
            )
            .await;
            let poll = op.answer(resp(200, &[], SUCCEEDED)).await;
            assert_eq!(poll.uri(), want, "{header}: {value}");
            assert_eq!(poll.method(), Method::GET);
            op.finish().await.unwrap();
        }
    }
    // An origin-form submission gets origin-form polls.
    let mut op = Op::start(
        LroLayer::new(),
        submission(Method::POST, "/jobs?api-version=9"),
    );
    op.answer(ol("ops/1")).await;
    let poll = op.answer(resp(200, &[], SUCCEEDED)).await;
    assert_eq!(poll.uri(), "/ops/1?api-version=9");
    op.finish().await.unwrap();
}

/// A `Location` poll that answers `202` with a new, unusable `Location` ends with an error that
/// names it.
#[tokio::test(start_paused = true)]
async fn an_unusable_location_on_a_poll_is_an_error() {
    for (value, kind) in [
        (&b"http://[::1"[..], ErrorKind::Protocol),
        (b"", ErrorKind::Protocol),
        (b"ftp://svc.example/next", ErrorKind::Insecure),
        (b"http://svc.example/next", ErrorKind::Insecure),
    ] {
        let mut op = submit(LroLayer::new(), resp(202, &[("location", b"/ops/1")], "")).await;
        op.answer(resp(202, &[("location", value)], "")).await;
        let err = lro_error(op.finish().await);
        assert!(err.is_protocol(), "{err}");
        assert_eq!(err.kind(), kind, "{err}");
        // It names the header and the value it was given, or, for a URL that reads but is
        // refused, that URL.
        let names_it = match err.reason() {
            Reason::BadHeader {
                status,
                name,
                value: sent,
                ..
            } => {
                *status == StatusCode::ACCEPTED
                    && *name == http::header::LOCATION
                    && sent.as_bytes() == value
            }
            Reason::Refused(_) => err.url().map(str::as_bytes) == Some(value),
            _ => false,
        };
        assert!(
            names_it,
            "{:?}: {:?} at {:?}",
            String::from_utf8_lossy(value),
            err.reason(),
            err.url()
        );
    }
}

// ----------------------------------------------------------------------------------------------
// Status bodies

/// Bodies that are not status documents: a `Protocol` error naming the monitor, with the
/// response (status, headers, body) inside; never a panic, never another poll.
#[tokio::test(start_paused = true)]
async fn status_bodies_that_are_not_status_documents_are_protocol_errors() {
    let bodies: &[&[u8]] = &[
        b"",
        b"   \r\n",
        b"<html><body>Service Unavailable</body></html>",
        b"[1,2,3]",
        b"\"Running\"",
        b"null",
        b"42",
        b"{}",
        b"{\"state\":\"Running\"}",
        b"{\"status\":null}",
        b"{\"status\":3}",
        b"{\"status\":true}",
        b"{\"status\":[\"Succeeded\"]}",
        b"{\"status\":{\"value\":\"Succeeded\"}}",
        b"{\"status\":\"Runn",
        b"{\"status\":\"Succeeded\"",
        b"{\"status\":\"Succeeded\"} trailing",
        b"\xff\xfe\x00{",
        b"\xEF\xBB\xBF",
    ];
    for body in bodies {
        let mut op = submit(LroLayer::new(), ol(MONITOR)).await;
        op.answer(resp(
            200,
            &[("x-marker", b"poll")],
            Bytes::copy_from_slice(body),
        ))
        .await;
        let err = lro_error(op.finish().await);
        let shown = String::from_utf8_lossy(body);
        assert_eq!(err.kind(), ErrorKind::Protocol, "{shown:?}: {err}");
        assert_eq!(err.url(), Some(MONITOR));
        assert_eq!(err.status(), Some(StatusCode::OK));
        assert_eq!(err.body().map(|b| &b[..]), Some(*body));
        assert_eq!(err.headers().unwrap()["x-marker"], "poll");
        assert!(
            matches!(err.reason(), Reason::StatusBody { status, .. } if *status == StatusCode::OK),
            "{shown:?}: {:?}",
            err.reason()
        );
    }
}

/// A 10 MiB status body is over the 1 MiB default limit: `Protocol` error, no endless read.
/// The same goes for a small limit.
#[tokio::test(start_paused = true)]
async fn an_oversized_status_body_is_a_protocol_error() {
    let huge = Bytes::from(vec![b' '; 10 * 1024 * 1024]);
    for (layer, body, max) in [
        (LroLayer::new(), huge, 1024 * 1024),
        (
            LroLayer::new().status_body_limit(64),
            Bytes::from(format!(
                "{{\"status\":\"Running\",\"pad\":\"{}\"}}",
                "x".repeat(64)
            )),
            64,
        ),
    ] {
        let mut op = submit(layer, ol(MONITOR)).await;
        op.answer(resp(200, &[], body)).await;
        let err = lro_error(op.finish().await);
        assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
        assert!(
            matches!(
                err.reason(),
                Reason::BodyTooLarge { status, limit } if *status == StatusCode::OK && *limit == max
            ),
            "{:?}",
            err.reason()
        );
        assert_eq!(err.status(), Some(StatusCode::OK));
    }
}

/// A 10 MiB answer to a `PUT` (read for `provisioningState`) is too long to inspect: it comes
/// back whole and untouched, not truncated and not an error.
#[tokio::test(start_paused = true)]
async fn an_oversized_put_answer_comes_back_whole() {
    let mut big = b"{\"properties\":{\"provisioningState\":\"Creating\"},\"pad\":\"".to_vec();
    big.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    big.extend(b"\"}");
    let big = Bytes::from(big);
    let mut op = Op::start(LroLayer::new(), submission(Method::PUT, SUB));
    op.answer(resp(201, &[], big.clone())).await;
    let response = op.finish().await.unwrap();
    assert_eq!(response.status(), 201);
    assert!(response.extensions().get::<LroMetadata>().is_none());
    assert_eq!(support::body_bytes(response.into_body()).await, big);
}

/// `Failed` / `Canceled` without an `error` object: `OperationFailed`, no OData error, the
/// terminal response still reachable.
#[tokio::test(start_paused = true)]
async fn failed_without_error_details_is_operation_failed() {
    for (status_word, want) in [
        ("Failed", StatusMeaning::Failed),
        ("failed", StatusMeaning::Failed),
        ("Canceled", StatusMeaning::Canceled),
        ("Cancelled", StatusMeaning::Canceled),
    ] {
        let body = format!("{{\"operationId\":\"op9\",\"status\":\"{status_word}\"}}");
        let mut op = submit(LroLayer::new(), ol(MONITOR)).await;
        op.answer(resp(200, &[("x-marker", b"end")], body.clone()))
            .await;
        let err = lro_error(op.finish().await);
        assert_eq!(err.kind(), ErrorKind::OperationFailed, "{err}");
        assert!(err.is_operation_failed());
        assert!(err.odata_error().is_none());
        let st = err.operation_status().unwrap();
        assert_eq!((st.as_str(), st.meaning()), (status_word, want));
        assert_eq!(err.operation_id(), Some("op9"));
        assert_eq!(err.operation_url(), Some(MONITOR));
        assert_eq!(err.status(), Some(StatusCode::OK));
        let back = err.to_response().unwrap();
        assert_eq!(back.body(), &body);
        assert_eq!(back.headers()["x-marker"], "end");
        assert!(
            matches!(
                err.reason(),
                Reason::OperationFailed { status, state, error: None }
                    if *status == StatusCode::OK && state.as_str() == status_word
            ),
            "{:?}",
            err.reason()
        );
    }
}

/// A poll answered `4xx` (not transient) or `3xx`: `UnexpectedStatus` carrying that response,
/// for status-monitor and `Location` polling.
#[tokio::test(start_paused = true)]
async fn polls_answered_4xx_or_3xx_are_unexpected_status_with_the_response() {
    let statuses = [404u16, 410, 401, 403, 400, 405, 409, 300, 304];
    for header in ["operation-location", "location"] {
        for status in statuses {
            let mut op = submit(
                LroLayer::new(),
                resp(202, &[(header, MONITOR.as_bytes())], ""),
            )
            .await;
            op.answer(resp(
                status,
                &[
                    ("location", b"https://svc.example/elsewhere"),
                    ("x-marker", b"p"),
                ],
                "nope",
            ))
            .await;
            let err = lro_error(op.finish().await);
            assert_eq!(err.kind(), ErrorKind::UnexpectedStatus, "{status}: {err}");
            assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
            assert_eq!(err.body().unwrap(), "nope");
            assert_eq!(err.headers().unwrap()["x-marker"], "p");
            assert_eq!(err.url(), Some(MONITOR));
            assert!(
                matches!(err.reason(), Reason::Rejected { status: s } if s.as_u16() == status),
                "{status}: {:?}",
                err.reason()
            );
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Timeouts, transient failures, the resource fetch

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

// ----------------------------------------------------------------------------------------------
// Security, against mocks

/// An `https` submission is never polled (nor its resource fetched) over `http`.
#[tokio::test(start_paused = true)]
async fn an_https_submission_is_never_polled_over_http() {
    // The monitor itself.
    for header in ["operation-location", "azure-asyncoperation", "location"] {
        let op = submit(
            LroLayer::new(),
            resp(202, &[(header, b"http://svc.example/operations/1")], ""),
        )
        .await;
        let err = lro_error(op.finish().await);
        assert_eq!(err.kind(), ErrorKind::Insecure, "{header}: {err}");
        assert!(
            matches!(
                err.reason(),
                Reason::BadHeader { name, value, why: UrlProblem::Downgrade { .. }, .. }
                    if name.as_str() == header && value == "http://svc.example/operations/1"
            ),
            "{header}: {:?}",
            err.reason()
        );
    }
    // An http submission may be polled over https (an upgrade is fine).
    let mut op = Op::start(
        LroLayer::new(),
        submission(Method::POST, "http://svc.example/jobs"),
    );
    op.answer(ol("https://svc.example/operations/1")).await;
    let poll = op.answer(resp(200, &[], SUCCEEDED)).await;
    assert_eq!(poll.uri(), "https://svc.example/operations/1");
    op.finish().await.unwrap();
}

/// The poll and the resource fetch carry none of the submission's body, connection,
/// precondition or `Host` headers, and no body.
#[tokio::test(start_paused = true)]
async fn polls_copy_no_body_connection_precondition_or_host_headers() {
    let req = Request::post(SUB)
        .header("host", "svc.example")
        .header("authorization", "Bearer secret")
        .header("content-type", "application/json")
        .header("content-length", "11")
        .header("content-encoding", "gzip")
        .header("transfer-encoding", "chunked")
        .header("expect", "100-continue")
        .header("if-match", "\"v1\"")
        .header("if-none-match", "*")
        .header("if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT")
        .header("connection", "keep-alive, x-hop")
        .header("keep-alive", "timeout=5")
        .header("x-hop", "1")
        .header("te", "trailers")
        .header("upgrade", "h2c")
        .header("idempotency-key", "abc")
        .header("accept", "application/json")
        .header("x-ms-client-request-id", "9C4D50EE")
        .body(Full::new(Bytes::from_static(b"{\"input\":1}")))
        .unwrap();
    let mut op = Op::start(LroLayer::new(), req);
    op.answer(ol(MONITOR)).await;
    let poll = op
        .answer(resp(
            200,
            &[],
            r#"{"status":"Succeeded","resourceLocation":"/things/1"}"#,
        ))
        .await;
    let fetch = op.answer(resp(200, &[], "{\"name\":\"thing\"}")).await;
    for r in [&poll, &fetch] {
        assert_eq!(r.method(), Method::GET);
        // As a set: HTTP gives the order between different names no meaning.
        let mut names: Vec<&str> = r.headers().keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["accept", "authorization", "x-ms-client-request-id"],
            "{}",
            r.uri()
        );
        assert_eq!(r.body().size_hint().exact(), Some(0));
    }
    assert_eq!(
        support::body_bytes(op.finish().await.unwrap().into_body()).await,
        "{\"name\":\"thing\"}"
    );
}

// ----------------------------------------------------------------------------------------------
// Security, two real origins

use support::{lro_client, send, MockServer, Recorded, Reply};

const CREDENTIALS: [&str; 5] = [
    "authorization",
    "cookie",
    "proxy-authorization",
    "ocp-apim-subscription-key",
    "subscription-key",
];

fn secret_submission(url: &str) -> Req {
    Request::post(url)
        .header("host", "svc.example")
        .header("authorization", "Bearer secret")
        .header("cookie", "session=secret")
        .header("proxy-authorization", "Basic secret")
        .header("ocp-apim-subscription-key", "secret")
        .header("subscription-key", "secret")
        .header("x-custom", "kept")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap()
}

fn assert_no_credentials(r: &Recorded) {
    for name in CREDENTIALS {
        assert!(
            !r.headers.contains_key(name),
            "{name} sent to {} {}",
            r.method,
            r.uri
        );
    }
    assert_eq!(
        r.query("subscription-key"),
        None,
        "key in the query of {}",
        r.uri
    );
    assert_eq!(r.header("x-custom"), Some("kept"));
    assert_eq!(r.query("api-version").as_deref(), Some("1"), "{}", r.uri);
}

fn assert_credentials(r: &Recorded) {
    for name in CREDENTIALS {
        assert!(r.headers.contains_key(name), "{name} missing on {}", r.uri);
    }
    assert_eq!(r.query("subscription-key").as_deref(), Some("secret"));
    assert_eq!(r.query("api-version").as_deref(), Some("1"));
}

/// The host a request was sent with is the target's, never the submission's `Host`.
fn assert_host(r: &Recorded, server: &MockServer) {
    assert_eq!(
        r.header("host"),
        Some(server.addr().to_string().as_str()),
        "{}",
        r.uri
    );
}

/// Submission on A; monitor on B; resource back on A. B sees no credentials (headers nor
/// query), and neither does the later fetch on A: stripping is cumulative.
#[tokio::test]
async fn credentials_never_reach_another_origin_and_stripping_is_cumulative() {
    let (a, b) = support::two_origins().await;
    b.sequence(
        Method::GET,
        "/ops/1",
        vec![
            Reply::new(200).json(RUNNING),
            Reply::new(200).json(
                serde_json::json!({"status": "Succeeded", "resourceLocation": a.url("/things/1")})
                    .to_string(),
            ),
        ],
    );
    a.always(
        Method::GET,
        "/things/1",
        Reply::new(200).json("{\"name\":\"thing\"}"),
    );
    let client = lro_client(support::maps_layer());
    let response = send(
        &client,
        secret_submission(&a.url("/jobs?api-version=1&subscription-key=secret")),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        support::body_bytes(response.into_body()).await,
        "{\"name\":\"thing\"}"
    );

    let on_a = a.requests();
    assert_eq!(on_a.len(), 2);
    assert_eq!(on_a[0].method, Method::POST);
    assert_credentials(&on_a[0]);
    assert_eq!(on_a[0].header("host"), Some("svc.example"));
    let polls = b.requests();
    assert_eq!(polls.len(), 2);
    for r in &polls {
        assert_no_credentials(r);
        assert_host(r, &b);
    }
    assert_eq!(on_a[1].path(), "/things/1");
    assert_no_credentials(&on_a[1]);
    assert_host(&on_a[1], &a);
}

/// The positive control: on the submission's own origin, polls and the fetch carry the
/// credentials (and the carried `subscription-key` query parameter), but not its `Host`.
#[tokio::test]
async fn credentials_stay_on_same_origin_polls() {
    let a = MockServer::start().await;
    a.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("operation-location", "/ops/1"),
    );
    a.always(
        Method::GET,
        "/ops/1",
        Reply::new(200).json(r#"{"status":"Succeeded","resourceLocation":"/things/1"}"#),
    );
    a.always(Method::GET, "/things/1", Reply::new(200).json("{}"));
    let client = lro_client(support::maps_layer());
    send(
        &client,
        secret_submission(&a.url("/jobs?api-version=1&subscription-key=secret")),
    )
    .await
    .unwrap();
    let seen = a.requests();
    assert_eq!(seen.len(), 3);
    for r in &seen[1..] {
        assert_credentials(r);
        assert_host(r, &a);
        assert!(!r.headers.contains_key("content-type"));
    }
}

/// `allow_origin` lets B receive credentials; nothing is stripped afterwards either.
#[tokio::test]
async fn allow_origin_lets_credentials_through() {
    let (a, b) = support::two_origins().await;
    b.always(
        Method::GET,
        "/ops/1",
        Reply::new(200).json(
            serde_json::json!({"status": "Succeeded", "resourceLocation": a.url("/things/1")})
                .to_string(),
        ),
    );
    a.always(Method::GET, "/things/1", Reply::new(200).json("{}"));
    let client = lro_client(support::maps_layer().allow_origin(b.base().parse().unwrap()));
    send(
        &client,
        secret_submission(&a.url("/jobs?api-version=1&subscription-key=secret")),
    )
    .await
    .unwrap();
    assert_credentials(&b.requests()[0]);
    assert_host(&b.requests()[0], &b);
    assert_credentials(&a.requests()[1]);
}

/// `Location` polling that hops A → B → A: the hop back to A carries no credentials.
#[tokio::test]
async fn location_hops_strip_credentials_cumulatively() {
    let a = MockServer::start().await;
    let b = MockServer::start().await;
    a.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("location", "/op1"),
    );
    a.always(
        Method::GET,
        "/op1",
        Reply::new(202).header("location", &b.url("/op2")),
    );
    b.always(
        Method::GET,
        "/op2",
        Reply::new(202).header("location", &a.url("/op3")),
    );
    a.always(
        Method::GET,
        "/op3",
        Reply::new(200).json("{\"name\":\"done\"}"),
    );
    let client = lro_client(support::maps_layer());
    let response = send(
        &client,
        secret_submission(&a.url("/jobs?api-version=1&subscription-key=secret")),
    )
    .await
    .unwrap();
    assert_eq!(
        support::body_bytes(response.into_body()).await,
        "{\"name\":\"done\"}"
    );
    let on_a = a.requests();
    let paths: Vec<&str> = on_a.iter().map(Recorded::path).collect();
    assert_eq!(paths, ["/jobs", "/op1", "/op3"]);
    assert_credentials(&on_a[1]);
    assert_no_credentials(&b.requests()[0]);
    assert_no_credentials(&on_a[2]);
    for r in &on_a[1..] {
        assert_host(r, &a);
    }
}

/// A custom credential header (`credential_header`) is stripped like the built-in ones, and a
/// hop to a different port of the same host counts as another origin.
#[tokio::test]
async fn custom_credential_headers_are_stripped_too() {
    let (a, b) = support::two_origins().await;
    b.always(Method::GET, "/ops/1", Reply::new(200).json(SUCCEEDED));
    let client = lro_client(
        support::maps_layer().credential_header(http::HeaderName::from_static("x-api-key")),
    );
    let mut req = secret_submission(&a.url("/jobs?api-version=1"));
    req.headers_mut()
        .insert("x-api-key", HeaderValue::from_static("secret"));
    send(&client, req).await.unwrap();
    let poll = &b.requests()[0];
    assert!(!poll.headers.contains_key("x-api-key"));
    assert_no_credentials(poll);
}

// ----------------------------------------------------------------------------------------------
// Bodies without a length: streamed over the limit, or never ending

/// A body of `chunks` 64 KiB chunks with no size hint; then it ends, or (`stall`) never does.
struct Trickle {
    chunks: usize,
    stall: bool,
    pulled: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

static CHUNK: [u8; 65_536] = [b' '; 65_536];

impl http_body::Body for Trickle {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.chunks == 0 {
            return if self.stall {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(None)
            };
        }
        self.chunks -= 1;
        self.pulled
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(&CHUNK)))))
    }
}

fn trickle(status: u16, headers: &[(&str, &str)], body: Trickle) -> Response<Trickle> {
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        r.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    r
}

fn empty_trickle() -> Trickle {
    Trickle {
        chunks: 0,
        stall: false,
        pulled: Default::default(),
    }
}

/// A 10 MiB status body sent in chunks, without a length: reading stops right after the
/// 1 MiB limit (17 of 160 chunks), with a `Protocol` error.
#[tokio::test(start_paused = true)]
async fn a_chunked_oversized_status_body_is_read_only_up_to_the_limit() {
    let (svc, mut handle) = mock::pair::<Req, Response<Trickle>>();
    let call = tokio::spawn(
        LroLayer::new()
            .layer(svc)
            .oneshot(submission(Method::POST, SUB)),
    );
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(trickle(
        202,
        &[("operation-location", MONITOR)],
        empty_trickle(),
    ));
    let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(trickle(
        200,
        &[],
        Trickle {
            chunks: 160,
            stall: false,
            pulled: pulled.clone(),
        },
    ));
    let err = call.await.unwrap().unwrap_err();
    let err = err.downcast::<tower_lro::Error>().unwrap();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(
        matches!(
            err.reason(),
            Reason::BodyTooLarge { status, limit } if *status == StatusCode::OK && *limit == 1024 * 1024
        ),
        "{:?}",
        err.reason()
    );
    assert_eq!(pulled.load(std::sync::atomic::Ordering::SeqCst), 17);
}

/// A status body that starts and never ends (slow loris): the deadline ends it, on time, with
/// a resume handle.
#[tokio::test(start_paused = true)]
async fn a_status_body_that_never_ends_times_out_at_the_deadline() {
    let (svc, mut handle) = mock::pair::<Req, Response<Trickle>>();
    let t0 = Instant::now();
    let call = tokio::spawn(
        LroLayer::new()
            .deadline(Duration::from_secs(120))
            .layer(svc)
            .oneshot(submission(Method::POST, SUB)),
    );
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(trickle(
        202,
        &[("operation-location", MONITOR)],
        empty_trickle(),
    ));
    let (_, send) = handle.next_request().await.unwrap();
    assert_eq!(t0.elapsed(), Duration::from_secs(1));
    send.send_response(trickle(
        200,
        &[],
        Trickle {
            chunks: 1,
            stall: true,
            pulled: Default::default(),
        },
    ));
    let err = call.await.unwrap().unwrap_err();
    assert_eq!(t0.elapsed(), Duration::from_secs(120));
    let err = err.downcast::<tower_lro::Error>().unwrap();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.resume_handle().unwrap().operation_url(), MONITOR);
}

/// A submission whose body never ends (a `PUT` answered `201`, read for `provisioningState`):
/// the deadline ends it too.
#[tokio::test(start_paused = true)]
async fn a_submission_body_that_never_ends_times_out_at_the_deadline() {
    let (svc, mut handle) = mock::pair::<Req, Response<Trickle>>();
    let t0 = Instant::now();
    let call = tokio::spawn(
        LroLayer::new()
            .deadline(Duration::from_secs(30))
            .layer(svc)
            .oneshot(submission(Method::PUT, SUB)),
    );
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(trickle(
        201,
        &[("content-type", "application/json")],
        Trickle {
            chunks: 1,
            stall: true,
            pulled: Default::default(),
        },
    ));
    let err = call.await.unwrap().unwrap_err();
    assert_eq!(t0.elapsed(), Duration::from_secs(30));
    let err = err.downcast::<tower_lro::Error>().unwrap();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

/// `start_only` returns the handle even when the submission's body runs over the limit (the
/// body comes back whole: what was read, then the rest).
#[tokio::test(start_paused = true)]
async fn start_only_keeps_its_handle_over_the_body_limit() {
    let mut req = submission(Method::POST, SUB);
    req.extensions_mut().insert(LroOptions::new().start_only());
    let mut op = Op::start(LroLayer::new().status_body_limit(8), req);
    let big = "x".repeat(100);
    op.answer(resp(
        202,
        &[("operation-location", MONITOR.as_bytes())],
        big.clone(),
    ))
    .await;
    let resp = op.finish().await.unwrap();
    let handle = resp
        .extensions()
        .get::<LroMetadata>()
        .and_then(LroMetadata::resume_handle)
        .cloned();
    assert_eq!(handle.unwrap().operation_url(), MONITOR);
    assert_eq!(body_text(resp).await, big);
}

/// An error's `Display` masks the credential values in the URLs it names (a SAS `sig=` the
/// server put in its monitor URL, userinfo), while `Error::url()` keeps the URL as it was sent.
#[tokio::test(start_paused = true)]
async fn error_display_masks_credentials_in_urls() {
    let monitor = "https://u:pw-SECRET@svc.example/operations/1?sv=1&sig=SIG-SECRET";
    let mut op = submit(LroLayer::new(), ol(monitor)).await;
    op.answer(resp(200, &[], "not json")).await;
    let err = lro_error(op.finish().await);
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert_eq!(err.url(), Some(monitor), "the raw accessor keeps the URL");
    let text = err.to_string();
    assert!(!text.contains("SECRET"), "{text}");
    assert!(
        text.contains("https://***@svc.example/operations/1?sv=1&sig=***"),
        "{text}"
    );
}

/// `{:?}` of what the layer hands out — the metadata, a progress report, a resume handle — masks
/// credential values in the URLs it shows, as `Error`'s does; the accessors stay raw.
#[tokio::test(start_paused = true)]
async fn debug_of_metadata_progress_and_handles_masks_credentials() {
    let monitor = "https://svc.example/operations/1?sv=1&sig=SIG-SECRET";
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let layer = LroLayer::new().on_progress(move |p| {
        let handle = p.resume_handle().map(|h| format!("{h:?}"));
        s.lock().unwrap().push(format!("{p:?} {handle:?}"));
    });
    let mut op = submit(layer, ol(monitor)).await;
    op.answer(resp(
        200,
        &[("retry-after", b"1")],
        r#"{"status":"Running"}"#,
    ))
    .await;
    op.answer(resp(
        200,
        &[],
        r#"{"status":"Succeeded","resourceLocation":"/things/1?sig=RES-SECRET"}"#,
    ))
    .await;
    op.answer(resp(200, &[], "{}")).await;
    let response = op.finish().await.unwrap();
    let meta = response.extensions().get::<LroMetadata>().unwrap();
    assert_eq!(meta.operation_url(), monitor, "the accessor stays raw");
    let shown = format!("{meta:?}");
    let seen = seen.lock().unwrap();
    assert!(seen.iter().any(|p| p.contains("ResumeHandle")), "{seen:?}");
    for text in seen.iter().chain([&shown]) {
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("sig=***"), "{text}");
    }
}

/// A submission URL holding the caller's own secrets (a `user:password@`, an API key in the
/// query), for the error-text tests below.
const SECRET_SUB: &str =
    "https://u:PW-SECRET@svc.example/jobs?subscription-key=KEY-SECRET&api-version=1";

/// Whether `text` holds none of the secrets the error-text tests plant.
fn holds_no_secret(text: &str) -> bool {
    !["PW-SECRET", "KEY-SECRET", "SIG-SECRET"]
        .iter()
        .any(|s| text.contains(s))
}

/// A monitor that downgrades to `http` is refused with an error that names the submission's
/// URL masked, in its message, its `Debug` and its typed reason: before, the caller's own
/// `user:password@` and `subscription-key` were quoted raw ("the submission https://u:PW@…").
#[tokio::test(start_paused = true)]
async fn a_downgrade_names_the_submission_masked() {
    let mut op = Op::start(LroLayer::new(), submission(Method::POST, SECRET_SUB));
    op.answer(ol("http://svc.example/operations/1")).await;
    let err = lro_error(op.finish().await);
    assert_eq!(err.kind(), ErrorKind::Insecure);
    let Reason::BadHeader {
        why: UrlProblem::Downgrade { submission },
        ..
    } = err.reason()
    else {
        panic!("{:?}", err.reason());
    };
    assert_eq!(
        submission,
        "https://***@svc.example/jobs?subscription-key=***&api-version=1"
    );
    assert!(holds_no_secret(&err.to_string()), "{err}");
    assert!(holds_no_secret(&format!("{err:?}")), "{err:?}");
    // The error's URL stays raw, as documented, for a caller to retry with.
    assert_eq!(err.url(), Some(SECRET_SUB));
}

/// An error's `Debug` (what `.unwrap()`, `{:?}` and `tracing`'s `?err` print) masks the
/// credentials of the values it quotes, as its `Display` does: an unusable monitor header or
/// body URL (`ftp://u:p@…?sig=…`) was printed raw inside `reason`. The typed reason keeps the
/// value as sent.
#[tokio::test(start_paused = true)]
async fn an_errors_debug_masks_the_values_it_quotes() {
    const HOSTILE: &str = "ftp://u:PW-SECRET@svc.example/x?sig=SIG-SECRET";
    // A monitor header, as it is and quoted (a spelling the layer reads).
    for value in [HOSTILE.to_owned(), format!(" \"{HOSTILE}\" ")] {
        let op = submit(LroLayer::new(), ol(&value)).await;
        let err = lro_error(op.finish().await);
        assert_eq!(err.kind(), ErrorKind::Insecure, "{value}");
        assert!(
            matches!(err.reason(), Reason::BadHeader { value: v, .. } if v == value.as_str()),
            "{:?}",
            err.reason()
        );
        assert!(holds_no_secret(&err.to_string()), "{err}");
        let debug = format!("{err:?}");
        assert!(holds_no_secret(&debug), "{debug}");
        assert!(debug.contains("ftp://***@svc.example/x?sig=***"), "{debug}");
    }
    // A URL in a status body.
    let mut op = submit(LroLayer::new(), ol(MONITOR)).await;
    let body = serde_json::json!({"status": "Succeeded", "resourceLocation": HOSTILE});
    op.answer(resp(200, &[], body.to_string())).await;
    let err = lro_error(op.finish().await);
    assert!(
        matches!(err.reason(), Reason::BadBodyUrl { value, .. } if value == HOSTILE),
        "{:?}",
        err.reason()
    );
    assert!(holds_no_secret(&err.to_string()), "{err}");
    let debug = format!("{err:?}");
    assert!(holds_no_secret(&debug), "{debug}");
    assert!(debug.contains("ftp://***@svc.example/x?sig=***"), "{debug}");
}
