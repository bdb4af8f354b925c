//! Answers that end an operation in an error: typed kinds and reasons, how they render, bad
//! monitor headers, a refused scheme, and a failure delivered as a response when asked.

use super::*;

#[test]
fn bad_answers_are_typed_errors() {
    const SUBMIT: R = r(202, &[("operation-location", "https://s.example/o")], "");
    #[rustfmt::skip]
    let rows: &[(R, ErrorKind, fn(&Reason) -> bool)] = &[
        (r(404, &[], "gone"), ErrorKind::UnexpectedStatus, |r| matches!(r, Reason::Rejected { status } if status.as_u16() == 404)),
        (r(410, &[], ""), ErrorKind::UnexpectedStatus, |r| matches!(r, Reason::Rejected { status } if status.as_u16() == 410)),
        (r(401, &[], ""), ErrorKind::UnexpectedStatus, |r| matches!(r, Reason::Rejected { status } if status.as_u16() == 401)),
        (r(200, &[], "<html>"), ErrorKind::Protocol, |r| matches!(r, Reason::StatusBody { error: StatusBodyError::NotJson(_), .. })),
        (r(200, &[], "[]"), ErrorKind::Protocol, |r| matches!(r, Reason::StatusBody { error: StatusBodyError::NotObject, .. })),
        (r(200, &[], "{}"), ErrorKind::Protocol, |r| matches!(r, Reason::StatusBody { error: StatusBodyError::MissingStatus, .. })),
        (r(200, &[], "{\"status\":1}"), ErrorKind::Protocol, |r| matches!(r, Reason::StatusBody { error: StatusBodyError::StatusNotString, .. })),
        (r(200, &[], "{\"status\":\"Runn"), ErrorKind::Protocol, |r| matches!(r, Reason::StatusBody { error: StatusBodyError::NotJson(_), .. })),
        (r(204, &[], ""), ErrorKind::Protocol, |r| matches!(r, Reason::StatusBody { error: StatusBodyError::Empty, .. })),
        (r(200, &[], "{\"status\":\"Failed\"}"), ErrorKind::OperationFailed, |r| matches!(r, Reason::OperationFailed { error: None, .. })),
    ];
    for (resp, kind, reason) in rows {
        let run = drive(cfg(), "POST", "https://s.example/j", &[], SUBMIT, &[*resp]);
        let e = failed(&run);
        assert_eq!(e.kind(), *kind, "{}", resp.body);
        assert!(reason(e.reason()), "{e:?}");
        assert_eq!(e.url(), Some("https://s.example/o"));
    }
}

/// The one place message text is checked: what `Display` renders for each reason.
#[test]
fn errors_render_their_reasons() {
    const SUBMIT: R = r(202, &[("operation-location", "https://s.example/o")], "");
    #[rustfmt::skip]
    let rows: &[(R, &str)] = &[
        (r(404, &[], "gone"), "long-running operation poll rejected: https://s.example/o answered 404 Not Found"),
        (r(200, &[], "{}"), "long-running operation protocol error: https://s.example/o answered 200 OK with a JSON object without a `status` field"),
        (r(200, &[], "{\"status\":\"Failed\"}"), "long-running operation failed: https://s.example/o answered 200 OK: operation Failed (no error details)"),
        (FAILED, "long-running operation failed: https://s.example/o answered 200 OK: operation Failed: InvalidFeature: The provided feature is invalid."),
        // What a server sent is escaped (ESC, OSC 52, CR, LF, NUL, bidi) and bounded.
        (r(200, &[], "{\"status\":\"Failed\",\"error\":{\"code\":\"\\u001b]52;c;ZXZpbA==\\u0007\",\"message\":\"ok\\r\\n\\u0000forged \\u202e\"}}"),
            "long-running operation failed: https://s.example/o answered 200 OK: operation Failed: \\x1b]52;c;ZXZpbA==\\x07: ok\\r\\n\\0forged \\u{202e}"),
        (r(200, &[], "{\"status\":\"Failed\",\"error\":{\"message\":\"\\u001b[2J\"}}"),
            "long-running operation failed: https://s.example/o answered 200 OK: operation Failed: \\x1b[2J"),
    ];
    for (resp, text) in rows {
        let run = drive(cfg(), "POST", "https://s.example/j", &[], SUBMIT, &[*resp]);
        assert_eq!(failed(&run).to_string(), *text);
    }
    // A long message is cut after `LIMIT` characters, with a marker.
    let long = format!(
        "{{\"status\":\"Failed\",\"error\":{{\"message\":\"{}\"}}}}",
        "m".repeat(100_000)
    );
    let long: &'static str = Box::leak(long.into_boxed_str());
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        SUBMIT,
        &[r(200, &[], long)],
    );
    assert_eq!(
        failed(&run).to_string(),
        format!(
            "long-running operation failed: https://s.example/o answered 200 OK: operation Failed: {}…[{} more bytes]",
            "m".repeat(300),
            100_000 - 300
        )
    );
    // A status word as sent (unrecognised: polled until the limit), escaped; one poll, not "1 polls".
    const ODD: R = r(200, &[], "{\"status\":\"Run\\u001b[31mning\\n200 OK\"}");
    let mut c = cfg();
    c.max_polls = 1;
    let run = drive(c, "POST", "https://s.example/j", &[], SUBMIT, &[ODD]);
    assert_eq!(
        failed(&run).to_string(),
        "long-running operation exceeded the poll limit: https://s.example/o still Run\\x1b[31mning\\n200 OK after 1 poll (limit 1)"
    );
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        r(202, &[("operation-location", "ftp://x.example/o")], ""),
        &[],
    );
    assert_eq!(
        failed(&run).to_string(),
        "long-running operation refused an insecure URL: https://s.example/j answered 202 Accepted with operation-location \"ftp://x.example/o\": scheme `ftp` is not http or https"
    );
}

#[test]
fn bad_monitor_headers_name_the_header_and_value() {
    #[rustfmt::skip]
    let rows: &[(&[(&str, &str)], ErrorKind, fn(&Reason) -> bool)] = &[
        (&[("operation-location", "")], ErrorKind::Protocol, |r| matches!(r, Reason::BadHeader { name, why: UrlProblem::Unreadable(UrlHeaderError::Empty), .. } if name == OPERATION_LOCATION)),
        (&[("operation-location", "ftp://x.example/o")], ErrorKind::Insecure, |r| matches!(r, Reason::BadHeader { why: UrlProblem::Unreadable(UrlHeaderError::Scheme(s)), .. } if s == "ftp")),
        (&[("azure-asyncoperation", "http://a b")], ErrorKind::Protocol, |r| matches!(r, Reason::BadHeader { name, value, why: UrlProblem::Unreadable(UrlHeaderError::Invalid(_)), .. } if name == "azure-asyncoperation" && value == "http://a b")),
        (&[("location", "\"\"")], ErrorKind::Protocol, |r| matches!(r, Reason::BadHeader { name, why: UrlProblem::Unreadable(UrlHeaderError::Empty), .. } if name == "location")),
        (&[("operation-location", "http://s.example/o")], ErrorKind::Insecure, |r| matches!(r, Reason::BadHeader { why: UrlProblem::Downgrade { .. }, .. })),
    ];
    for (h, kind, reason) in rows {
        let h: &'static [(&str, &str)] = Box::leak(h.to_vec().into_boxed_slice());
        let run = drive(
            cfg(),
            "POST",
            "https://s.example/j",
            &[],
            r(202, h, ""),
            &[],
        );
        let e = failed(&run);
        assert_eq!(e.kind(), *kind, "{h:?}");
        assert!(reason(e.reason()), "{e:?}");
        assert_eq!(e.url(), Some("https://s.example/j"));
    }
    // Not UTF-8.
    let mut h = HeaderMap::new();
    h.insert(
        OPERATION_LOCATION,
        HeaderValue::from_bytes(b"https://\xff.example/").unwrap(),
    );
    let now = Now::new(Instant::now(), SystemTime::now());
    let e = start(cfg(), "https://s.example/j", &h, now).unwrap_err();
    assert!(matches!(
        e.reason(),
        Reason::BadHeader {
            why: UrlProblem::Unreadable(UrlHeaderError::NotAscii),
            ..
        }
    ));
}

#[test]
fn failure_as_response_delivers_the_terminal_status() {
    let mut c = cfg();
    c.failure_as_response = true;
    let run = drive(c, "POST", SUBMIT_URL, &[], V2_SUBMIT, &[FAILED]);
    let (i, meta) = delivered(&run);
    assert_eq!((i, meta.status()), (0, &OperationStatus::parse("Failed")));
}

#[test]
fn a_refused_scheme_is_insecure_wherever_it_comes_from() {
    const SUBMIT: R = r(202, &[("location", "https://s.example/ops/1")], "");
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        SUBMIT,
        &[r(202, &[("location", "ftp://s.example/ops/2")], "")],
    );
    assert_eq!(failed(&run).kind(), ErrorKind::Insecure, "{}", failed(&run));
    const OL: R = r(202, &[("operation-location", "https://s.example/o")], "");
    let body_rl = r(
        200,
        &[],
        r#"{"status":"Succeeded","resourceLocation":"file:///etc/passwd"}"#,
    );
    let run = drive(cfg(), "POST", "https://s.example/j", &[], OL, &[body_rl]);
    assert_eq!(failed(&run).kind(), ErrorKind::Insecure, "{}", failed(&run));
}

/// A monitor header the layer cannot use is quoted in the error with its credentials masked,
/// in the spelling the layer reads too: white space and one pair of double quotes around the
/// URL (`Location: "https://…"`, as Azure Maps Creator's documents print it).
#[test]
fn an_unusable_quoted_monitor_header_is_shown_masked() {
    for value in [
        "\"https://user:LEAKED@h.example/ops/\u{e9}?sig=LEAKED\"",
        " \"//user:LEAKED@h.example/ops/\u{e9}\" ",
        "\"https://user:LEAKED@h.example:99999/ops/1\"",
        "\"/ops/1?code=LEAKED&x=\u{e9}\"",
    ] {
        let mut h = HeaderMap::new();
        let v = HeaderValue::from_bytes(value.as_bytes()).unwrap();
        h.insert(OPERATION_LOCATION, v);
        let now = Now::new(Instant::now(), SystemTime::now());
        let e = start(cfg(), "https://s.example/j", &h, now).unwrap_err();
        assert!(
            matches!(e.reason(), Reason::BadHeader { value: v, .. } if v.as_bytes() == value.as_bytes()),
            "{value:?}: {:?}",
            e.reason()
        );
        let shown = e.to_string();
        assert!(!shown.contains("LEAKED"), "{value:?}: {shown}");
    }
}
