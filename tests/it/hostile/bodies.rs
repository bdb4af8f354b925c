//! Status bodies that are not status documents, too long, or say a failure without details;
//! polls answered `4xx` or `3xx`.

use super::*;

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
