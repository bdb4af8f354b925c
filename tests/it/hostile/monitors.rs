//! Monitor headers: missing, unusable and relative monitor URLs.

use super::*;

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
