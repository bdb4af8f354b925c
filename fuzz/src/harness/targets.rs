//! The fuzz entry points of the `machine`, `parsers` and `dialects` targets, and the
//! checks of their own.

use super::*;

/// The `machine` fuzz entry point: decode and run; undecodable inputs are skipped.
pub fn fuzz_machine(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok(s) = Scenario::decode(&mut u) {
        run(&s);
    }
}

/// The parsers fuzz entry point: `retry_after`, `parse_url_value`, `unquote`,
/// `StatusDocument::parse`/`parse_status`, with consistency checks.
pub fn fuzz_parsers(data: &[u8]) {
    use tower_lro::__private::{
        parse_url_str, parse_url_value, retry_after, unquote, StatusDocument,
    };

    let mut u = Unstructured::new(data);
    let Ok(selector) = u.int_in_range(0u8..=3) else {
        return;
    };
    match selector {
        0 => {
            let Ok(headers) = decode_headers(&mut u) else {
                return;
            };
            let map = header_map(&headers);
            if let Some(got) = retry_after(&map, wall0()) {
                check_retry_hint(&map, got);
            }
        }
        1 => {
            let Ok(raw) = decode_url(&mut u) else {
                return;
            };
            let Ok(base) = u.choose(SUBMISSIONS) else {
                return;
            };
            let base = base_url(base);
            if let Ok(text) = std::str::from_utf8(&raw) {
                let _ = unquote(text);
                if let Ok(url) = parse_url_str(text, &base) {
                    check_url(&url);
                }
            }
            if let Ok(v) = HeaderValue::from_bytes(&raw) {
                if let Ok(url) = parse_url_value(&v, &base) {
                    check_url(&url);
                }
            }
        }
        _ => {
            let body = u.take_rest();
            let parsed = StatusDocument::parse(body);
            match StatusDocument::parse_status(body) {
                Ok(doc) => {
                    assert!(doc.status.is_some());
                    assert!(parsed.is_ok());
                }
                Err(_) => {
                    if let Ok(doc) = parsed {
                        assert!(doc.status.is_none() || doc.status_wrong_type);
                    }
                }
            }
        }
    }
}

/// A URL the parsers accepted is `http(s)` with a host.
pub fn check_url(url: &url::Url) {
    assert!(matches!(url.scheme(), "http" | "https"), "{url}");
    assert!(url.host_str().is_some_and(|h| !h.is_empty()), "{url}");
}

/// The URL a submission URI stands for: origin-form ones on the core's placeholder origin.
pub fn base_url(submission: &str) -> url::Url {
    if submission.starts_with('/') {
        url::Url::parse("http://origin-form.invalid/")
            .unwrap()
            .join(submission)
            .unwrap()
    } else {
        url::Url::parse(submission).unwrap()
    }
}

/// A wait hint `retry_after` found comes from a header that is there and reads as the digits
/// (in its unit) or the HTTP-date it returned.
pub fn check_retry_hint(
    map: &http::HeaderMap,
    (d, src): (std::time::Duration, tower_lro::HintSource),
) {
    use tower_lro::HintSource;
    let name = match src {
        HintSource::RetryAfterMs => "retry-after-ms",
        HintSource::XMsRetryAfterMs => "x-ms-retry-after-ms",
        HintSource::RetryAfterSeconds | HintSource::RetryAfterDate => "retry-after",
        // `HintSource` is non-exhaustive: a new source needs a check here.
        other => panic!("a hint source the harness does not know: {other:?}"),
    };
    let raw = map.get(name).expect("the hint came from a present header");
    let text = raw.to_str().expect("hints are ASCII").trim();
    if src == HintSource::RetryAfterDate {
        assert!(httpdate::parse_http_date(text).is_ok(), "{text:?}");
    } else {
        assert!(
            !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()),
            "{text:?}"
        );
        let n = text.parse::<u64>().unwrap_or(u64::MAX);
        let want = if src == HintSource::RetryAfterSeconds {
            std::time::Duration::from_secs(n)
        } else {
            std::time::Duration::from_millis(n)
        };
        assert_eq!(d, want);
    }
}

// ----------------------------------------------------------------------------------------------
// The `dialects` target

/// The `dialects` fuzz entry point: `Dialect::from_json` on raw text, structured descriptions
/// driven through the core with arbitrary answers, and `Dialect::google_with_base`. Whatever
/// is accepted round-trips through a resume handle.
pub fn fuzz_dialects(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(selector) = u.int_in_range(0u8..=2) else {
        return;
    };
    match selector {
        0 => {
            let text = String::from_utf8_lossy(u.take_rest()).into_owned();
            check_declared_text(&text);
        }
        1 => {
            let Ok(json) = declared_json(&mut u) else {
                return;
            };
            if check_declared_text(&json) {
                let spec = DialectSpec::Declared(json);
                if let Ok(s) = Scenario::decode_with(&mut u, spec) {
                    run(&s);
                }
            }
        }
        3 => {
            let text = match u.ratio(1u8, 2) {
                Ok(true) => u.arbitrary::<String>().unwrap_or_default(),
                _ => pick(&mut u, POINTERS).map_or("", |p| *p).to_owned(),
            };
            if let Ok(doc) = declared_doc(&mut u) {
                check_pointer(&text, &doc);
            }
        }
        _ => {
            let base = String::from_utf8_lossy(u.take_rest()).into_owned();
            if let Ok(d) = Dialect::google_with_base(&base) {
                let handle = handle_with(serde_json::json!({ "google": { "base": base } }));
                let h2 = check_handle_round_trip(&d, &handle);
                let base2 = serde_json::to_value(&h2).expect("handle serializes");
                let base2 = base2
                    .pointer("/dialect/google/base")
                    .and_then(|b| b.as_str());
                let back = Dialect::google_with_base(base2.expect("the handle keeps the base"));
                assert_eq!(back.as_ref(), Ok(&d), "google base {base:?} → {base2:?}");
            }
        }
    }
}

/// A declared dialect's pointer with selectors (issue 15): parsing never panics and keeps its
/// text; what it finds is what its concrete RFC 6901 pointer finds with `serde_json`, and that
/// concrete pointer is one it reads (a duplicate there would be refused); without selectors or
/// the new escapes (`~2`, `~3`, `~4`) it finds what `serde_json` finds.
pub fn check_pointer(text: &str, doc: &serde_json::Value) {
    use tower_lro::__private::proto::Pointer;
    let Ok(p) = Pointer::parse(text) else {
        return;
    };
    assert_eq!(p.as_str(), text);
    let found = p.find(doc);
    let concrete = p.concrete(doc);
    assert_eq!(
        concrete.as_deref().and_then(|c| doc.pointer(c)),
        found,
        "{text} in {doc}"
    );
    if let Some(c) = &concrete {
        assert!(p.touches(c, false), "{text} does not read {c}");
    }
    let plain = !text.contains('[') && !["~2", "~3", "~4"].iter().any(|e| text.contains(e));
    if plain {
        assert_eq!(found, doc.pointer(text), "{text} in {doc}");
    }
}

/// `Dialect::from_json` never panics; what it accepts parses the same through `FromStr`,
/// and round-trips through a resume handle. Returns whether it was accepted.
pub fn check_declared_text(text: &str) -> bool {
    let Ok(d) = Dialect::from_json(text) else {
        return false;
    };
    let _ = format!("{d:?} {}", d.name());
    assert!(!d.is_default());
    assert_eq!(
        text.parse::<Dialect>().as_ref(),
        Ok(&d),
        "FromStr disagrees"
    );
    let value: serde_json::Value = serde_json::from_str(text).expect("accepted text is JSON");
    let h2 = check_handle_round_trip(&d, &handle_with(serde_json::json!({ "declared": value })));
    let written = serde_json::to_value(&h2).expect("handle serializes");
    let declared = written
        .pointer("/dialect/declared")
        .expect("the handle carries the description");
    let back = Dialect::from_json(&declared.to_string());
    assert_eq!(back.as_ref(), Ok(&d), "{text} → {declared}");
    true
}

/// A resume handle of an operation in the given dialect (as `ResumeHandle` JSON).
pub(super) fn handle_with(dialect: serde_json::Value) -> ResumeHandle {
    let json = serde_json::json!({
        "version": 1,
        "rule": "declared",
        "method": "POST",
        "request_url": "https://svc.example/v1/jobs?api-version=1",
        "operation_url": "https://svc.example/v1/operations/1",
        "final_state": "auto",
        "origin": "https://svc.example",
        "header_names": ["accept"],
        "polls": 2,
        "dialect": dialect,
    });
    serde_json::from_value(json).expect("a handle")
}

/// `Machine::resume` takes the handle's dialect; the handle the resumed machine writes names
/// it, survives JSON, and resumes to itself. Returns that handle.
pub(super) fn check_handle_round_trip(d: &Dialect, handle: &ResumeHandle) -> ResumeHandle {
    let cfg = Arc::new(Config::default());
    let head = RequestHead::new(
        Method::POST,
        Uri::from_static("https://svc.example/v1/jobs?api-version=1"),
        HeaderMap::new(),
    );
    let params = Params::new(&cfg);
    let now = Instant::now();
    let resume = |h: &ResumeHandle| match Machine::resume(cfg.clone(), h, &head, &params, now) {
        Ok((m, Plan::Send { .. })) => m.resume_handle(),
        Ok((_, Plan::Fail(e) | Plan::Cancel { error: e, .. })) | Err(e) => {
            panic!("{d:?} does not resume: {e} ({h:?})")
        }
    };
    let h2 = resume(handle);
    assert_eq!(h2.dialect(), d.name(), "{h2:?}");
    let json = serde_json::to_string(&h2).expect("handle serializes");
    let h3: ResumeHandle = serde_json::from_str(&json).expect("handle deserializes");
    assert_eq!(h3, h2);
    // Resumed again, the same handle, one poll further (the poll the resume plans counts).
    let without_polls = |h: &ResumeHandle| {
        let mut v = serde_json::to_value(h).expect("handle serializes");
        let polls = v["polls"].take().as_u64();
        (v, polls)
    };
    let ((again, n_again), (was, n_was)) = (without_polls(&resume(&h3)), without_polls(&h2));
    assert_eq!(again, was, "a resumed handle resumes to itself");
    assert_eq!(n_again, n_was.map(|n| n + 1));
    h2
}
