//! The wider pattern (spec §3, §4, §4a, §7, §8) against `tower-test` mocks with Tokio's clock
//! paused, so poll times are exact: redirects on a status poll, the wider vocabulary, a terminal
//! `202` with `Content-Location`, forced resolution, internal hosts. The same pattern over real
//! sockets is in `wider.rs`.

use std::time::Duration;

use http::{HeaderValue, Method, StatusCode};
use tower_lro::{ErrorKind, LroLayer, LroMetadata, LroOptions, StatusMeaning};

use crate::support::mock::{body_text, ol, submit, MONITOR, SUB};
use crate::support::{lro_error, resp, submission, Op};

/// §4a: `303`/`302` on a status poll mean done: the `Location` is fetched and is the final
/// response; `301`/`307`/`308` mean the monitor moved, and it is polled there.
#[tokio::test(start_paused = true)]
async fn status_monitor_redirects_end_or_move_the_operation() {
    for status in [302u16, 303] {
        let mut op = submit(
            LroLayer::new(),
            resp(202, &[("location", MONITOR.as_bytes())], ""),
        )
        .await;
        op.answer(resp(status, &[("location", b"/results/7?sig=token")], ""))
            .await;
        let fetch = op.answer(resp(200, &[], "the result")).await;
        assert_eq!(
            fetch.uri(),
            "https://svc.example/results/7?sig=token&api-version=1"
        );
        assert_eq!(fetch.headers()["authorization"], "Bearer secret");
        let response = op.finish().await.unwrap();
        let meta = response.extensions().get::<LroMetadata>().unwrap().clone();
        assert_eq!(
            meta.resource_url(),
            Some("https://svc.example/results/7?sig=token"),
            "as the server wrote it"
        );
        assert!(meta.status().is_success());
        assert_eq!(body_text(response).await, "the result");
    }
    for status in [301u16, 307, 308] {
        let mut op = submit(LroLayer::new(), ol(MONITOR)).await;
        op.answer(resp(
            status,
            &[("location", b"https://svc.example/moved/1")],
            "",
        ))
        .await;
        let moved = op.answer(resp(200, &[], r#"{"status":"Running"}"#)).await;
        assert_eq!(moved.uri(), "https://svc.example/moved/1?api-version=1");
        let again = op.answer(resp(200, &[], r#"{"status":"Succeeded"}"#)).await;
        assert_eq!(
            again.uri(),
            "https://svc.example/moved/1?api-version=1",
            "polled there"
        );
        let response = op.finish().await.unwrap();
        let meta = response.extensions().get::<LroMetadata>().unwrap();
        assert_eq!(
            (meta.polls(), meta.operation_url()),
            (3, "https://svc.example/moved/1")
        );
    }
    // A redirect to another origin keeps the token the server put in its URL, not ours.
    let mut op = submit(LroLayer::new(), ol(MONITOR)).await;
    op.answer(resp(
        303,
        &[("location", b"https://blob.example/r?sv=1&sig=abc")],
        "",
    ))
    .await;
    let fetch = op.answer(resp(200, &[], "blob")).await;
    assert_eq!(
        fetch.uri(),
        "https://blob.example/r?sv=1&sig=abc&api-version=1"
    );
    assert!(!fetch.headers().contains_key("authorization"));
    op.finish().await.unwrap();
    // Without a usable Location: a protocol error naming what was sent.
    let mut op = submit(LroLayer::new(), ol(MONITOR)).await;
    op.answer(resp(303, &[], "")).await;
    let err = lro_error(op.finish().await);
    assert!(matches!(
        err.reason(),
        tower_lro::__private::Reason::RedirectWithoutLocation { status } if status.as_u16() == 303
    ));
}

/// §3: words outside Azure's five end the operation; the exact word is kept.
#[tokio::test(start_paused = true)]
async fn the_wider_vocabulary_ends_operations() {
    for (word, meaning) in [
        ("completed", StatusMeaning::Succeeded),
        ("DONE", StatusMeaning::Succeeded),
        ("partiallyCompleted", StatusMeaning::Succeeded),
        ("ValidationFailed", StatusMeaning::Failed),
        ("errored", StatusMeaning::Failed),
        ("deleteFailed", StatusMeaning::Failed),
    ] {
        let mut op = submit(LroLayer::new(), ol(MONITOR)).await;
        op.answer(resp(200, &[], format!("{{\"status\":\"{word}\"}}")))
            .await;
        let out = op.finish().await;
        assert_eq!(out.is_ok(), meaning == StatusMeaning::Succeeded, "{word}");
        let status = match out {
            Ok(r) => r
                .extensions()
                .get::<LroMetadata>()
                .unwrap()
                .status()
                .clone(),
            Err(e) => lro_error(Err(e)).operation_status().unwrap().clone(),
        };
        assert_eq!((status.as_str(), status.meaning()), (word, meaning));
    }
    // A success word beside an error that reports one is a failure (Compute Engine).
    let mut op = submit(LroLayer::new(), ol(MONITOR)).await;
    op.answer(resp(
        200,
        &[],
        r#"{"status":"DONE","error":{"errors":[{"code":"QUOTA_EXCEEDED"}]}}"#,
    ))
    .await;
    assert_eq!(
        lro_error(op.finish().await).kind(),
        ErrorKind::OperationFailed
    );
    // ... but not an empty one (Cost Management's `{"code":"0","message":null}`).
    let mut op = submit(LroLayer::new(), ol(MONITOR)).await;
    op.answer(resp(
        200,
        &[],
        r#"{"status":"Completed","error":{"code":"0","message":null}}"#,
    ))
    .await;
    op.finish().await.unwrap();
    // A configured word.
    let layer = LroLayer::new().status_word(StatusMeaning::Succeeded, "Published");
    let mut op = submit(layer, ol(MONITOR)).await;
    op.answer(resp(200, &[], r#"{"status":"published"}"#)).await;
    op.finish().await.unwrap();
}

/// §4: Graph's copy monitor answers `202 {"status":"completed"}`; `Content-Location` is a
/// monitor; OData's `AsyncResult` carries the original request's status.
#[tokio::test(start_paused = true)]
async fn terminal_202_content_location_and_async_result() {
    let mut op = submit(
        LroLayer::new(),
        resp(202, &[("location", MONITOR.as_bytes())], ""),
    )
    .await;
    op.answer(resp(
        202,
        &[],
        r#"{"status":"inProgress","percentageComplete":50}"#,
    ))
    .await;
    op.answer(resp(
        202,
        &[],
        r#"{"status":"completed","resourceId":"01AB"}"#,
    ))
    .await;
    let response = op.finish().await.unwrap();
    assert_eq!(
        response
            .extensions()
            .get::<LroMetadata>()
            .unwrap()
            .status()
            .as_str(),
        "completed"
    );

    let mut op = submit(
        LroLayer::new(),
        resp(202, &[("content-location", b"/status/9")], ""),
    )
    .await;
    let poll = op
        .answer(resp(200, &[("asyncresult", b"201")], "{\"id\":9}"))
        .await;
    assert_eq!(poll.uri(), "https://svc.example/status/9?api-version=1");
    let response = op.finish().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "the original request's status"
    );
    assert_eq!(
        response
            .extensions()
            .get::<LroMetadata>()
            .unwrap()
            .rule()
            .as_str(),
        "Content-Location"
    );

    let mut op = submit(
        LroLayer::new(),
        resp(202, &[("content-location", b"/status/9")], ""),
    )
    .await;
    op.answer(resp(200, &[("asyncresult", b"409")], "{\"error\":{}}"))
        .await;
    let err = lro_error(op.finish().await);
    assert_eq!(err.kind(), ErrorKind::OperationFailed);
    assert_eq!(err.status(), Some(StatusCode::OK));
}

/// §8: `Prefer: respond-async` gets the `202` back, unless the options force resolution; the
/// polls never carry `Prefer`.
#[tokio::test(start_paused = true)]
async fn forced_resolution_overrides_respond_async() {
    let mut req = submission(Method::POST, SUB);
    req.headers_mut()
        .insert("prefer", HeaderValue::from_static("respond-async"));
    let mut op = Op::start(LroLayer::new(), req);
    op.answer(ol(MONITOR)).await;
    assert_eq!(op.finish().await.unwrap().status(), StatusCode::ACCEPTED);

    let mut req = submission(Method::POST, SUB);
    req.headers_mut()
        .insert("prefer", HeaderValue::from_static("respond-async"));
    req.extensions_mut().insert(LroOptions::new().force());
    let mut op = Op::start(LroLayer::new(), req);
    op.answer(ol(MONITOR)).await;
    let poll = op.answer(resp(200, &[], r#"{"status":"Succeeded"}"#)).await;
    assert!(!poll.headers().contains_key("prefer"));
    assert_eq!(op.finish().await.unwrap().status(), StatusCode::OK);
}

/// §7: URLs naming internal hosts are refused before any connection (these are mocks: nothing
/// is connected to), unless the submission went to such a host or the origin is allowed.
#[tokio::test(start_paused = true)]
async fn internal_hosts_are_refused_without_a_request() {
    for monitor in [
        "https://169.254.169.254/latest/meta-data",
        "https://metadata.google.internal/computeMetadata/v1",
        "https://10.0.0.8/ops/1",
        "https://127.0.0.1:8080/ops/1",
        "https://[fe80::1]/ops/1",
        "https://localhost/ops/1",
    ] {
        let op = submit(LroLayer::new(), ol(monitor)).await;
        let err = lro_error(op.finish().await);
        assert_eq!(err.kind(), ErrorKind::Insecure, "{monitor}: {err}");
        assert!(matches!(
            err.reason(),
            tower_lro::__private::Reason::BadHeader {
                why: tower_lro::__private::UrlProblem::Internal { .. },
                ..
            }
        ));
    }
    // A redirect into the metadata service is refused too.
    let mut op = submit(LroLayer::new(), ol(MONITOR)).await;
    op.answer(resp(303, &[("location", b"https://169.254.169.254/")], ""))
        .await;
    assert_eq!(lro_error(op.finish().await).kind(), ErrorKind::Insecure);
    // An allowed origin, or the guard turned off, lifts it.
    let layer = LroLayer::new().allow_origin("https://10.0.0.8".parse().unwrap());
    let mut op = submit(layer, ol("https://10.0.0.8/ops/1")).await;
    op.answer(resp(200, &[], r#"{"status":"Succeeded"}"#)).await;
    op.finish().await.unwrap();
}

/// A monitor that redirects to itself forever (a misbehaving server) is polled at the usual
/// pace after the first move, and ends at the poll limit: bounded in count and time.
#[tokio::test(start_paused = true)]
async fn a_redirect_loop_ends_at_the_poll_limit() {
    let layer = LroLayer::new().max_polls(6);
    let mut op = submit(layer, ol(MONITOR)).await;
    for i in 0..6 {
        let target: &[u8] = if i % 2 == 0 {
            b"/operations/2"
        } else {
            b"/operations/1"
        };
        op.answer(resp(308, &[("location", target)], "")).await;
    }
    let elapsed = op.elapsed();
    let err = lro_error(op.finish().await);
    assert_eq!(err.kind(), ErrorKind::PollLimit);
    assert!(
        elapsed >= Duration::from_secs(4),
        "paced, not hammered: {elapsed:?}"
    );
}

/// A poll answer naming a new monitor, as the Azure SDKs read one: a `Location` monitor moves
/// to the `Location` of any answer that says it is still running (a `202`, or a `200` whose
/// body's `provisioningState`/`status` is in progress), under the guard and credential rules of
/// a `301`/`307`/`308`; an `Operation-Location`/`Azure-AsyncOperation` monitor keeps its URL
/// whatever headers its answers carry.
#[tokio::test(start_paused = true)]
async fn a_poll_answer_naming_a_new_monitor() {
    let loc = |url: &str| resp(202, &[("location", url.as_bytes())], "");
    for running in [
        resp(202, &[("location", b"/moved/1")], ""),
        resp(
            200,
            &[("location", b"/moved/1")],
            r#"{"provisioningState":"Creating"}"#,
        ),
        resp(200, &[("location", b"/moved/1")], r#"{"status":"Running"}"#),
    ] {
        let mut op = submit(LroLayer::new(), loc(MONITOR)).await;
        op.answer(running).await;
        let moved = op.answer(resp(200, &[], "the resource")).await;
        assert_eq!(moved.uri(), "https://svc.example/moved/1?api-version=1");
        assert_eq!(moved.headers()["authorization"], "Bearer secret");
        let response = op.finish().await.unwrap();
        let meta = response.extensions().get::<LroMetadata>().unwrap();
        assert_eq!(meta.operation_url(), "https://svc.example/moved/1");
    }
    // Moved to another origin: polled there without the caller's credentials.
    let mut op = submit(LroLayer::new(), loc(MONITOR)).await;
    op.answer(resp(
        200,
        &[("location", b"https://other.example/ops/1")],
        r#"{"status":"Running"}"#,
    ))
    .await;
    let moved = op.answer(resp(200, &[], "done")).await;
    assert_eq!(moved.uri(), "https://other.example/ops/1?api-version=1");
    assert!(!moved.headers().contains_key("authorization"));
    op.finish().await.unwrap();
    // Moved into the metadata service, or down to http: refused, nothing sent there.
    for target in [
        &b"https://169.254.169.254/latest"[..],
        b"http://svc.example/ops/1",
    ] {
        let mut op = submit(LroLayer::new(), loc(MONITOR)).await;
        op.answer(resp(
            200,
            &[("location", target)],
            r#"{"status":"Running"}"#,
        ))
        .await;
        assert_eq!(lro_error(op.finish().await).kind(), ErrorKind::Insecure);
    }
    // A status monitor stays where it was, whichever monitor header an answer names.
    for header in ["operation-location", "azure-asyncoperation", "location"] {
        let mut op = submit(LroLayer::new(), ol(MONITOR)).await;
        op.answer(resp(
            200,
            &[(header, b"https://svc.example/elsewhere/1")],
            r#"{"status":"Running"}"#,
        ))
        .await;
        let again = op.answer(resp(200, &[], r#"{"status":"Succeeded"}"#)).await;
        assert_eq!(
            again.uri(),
            "https://svc.example/operations/1?api-version=1"
        );
        op.finish().await.unwrap();
    }
}
