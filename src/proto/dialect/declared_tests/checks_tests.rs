//! What a description may say and what found URLs may be: descriptions that cannot work say
//! why, found URLs that cannot be used are errors, templates escape each value as one segment,
//! found URLs resolve, and a layer's vocabulary takes the dialect's words.

use super::*;

#[test]
fn descriptions_that_cannot_work_say_why() {
    // (description, fragment of the message)
    let rows: &[(&str, &str)] = &[
        (
            r#"{"status_url": {"header": "Location"}, "status_wrod": "/status"}"#,
            "unknown field `status_wrod`",
        ),
        (
            r#"{"status_url": {"header": "Location"}}"#,
            "`status_word`: missing: give a pointer, `{\"header\": …}`, or `status_codes`",
        ),
        (
            r#"{"status_url": {"headr": "Location"}, "status_word": "/s"}"#,
            "unknown variant `headr`",
        ),
        (
            r#"{"status_url": [{"pointer": "/a", "header": "b"}], "status_word": "/s"}"#,
            "expected map with a single key",
        ),
        (
            r#"{"status_url": [], "status_word": "/s"}"#,
            "`status_url`: no source given",
        ),
        (
            r#"{"status_url": {"pointer": "links/self"}, "status_word": "/s"}"#,
            "`links/self` is not a JSON pointer",
        ),
        (
            r#"{"status_url": {"header": "Bad Header"}, "status_word": "/s"}"#,
            "`Bad Header` is not a header name",
        ),
        (
            r#"{"status_url": {"template": "https://x/{/id"}, "status_word": "/s"}"#,
            "without a `}`",
        ),
        (
            r#"{"status_url": {"template": "https://x/}"}, "status_word": "/s"}"#,
            "without a `{`",
        ),
        (
            r#"{"status_url": {"template": "https://x/{id}"}, "status_word": "/s"}"#,
            "`{id}` is not a placeholder",
        ),
        (
            r#"{"status_url": {"template": "https://x/{header:bad name}"}, "status_word": "/s"}"#,
            "`bad name` is not a header name",
        ),
        (
            r#"{"status_url": {"template": "{status_url}/x"}, "status_word": "/s"}"#,
            "reads the status URL it is to find",
        ),
        (
            r#"{"status_url": {"template": "{status_url_path}/x"}, "status_word": "/s"}"#,
            "reads the status URL it is to find",
        ),
        (
            r#"{"status_url": {"template": "/x?{status_url_query}"}, "status_word": "/s"}"#,
            "reads the status URL it is to find",
        ),
        (
            r#"{"status_url": "self", "status_request": {"method": "HEAD"}, "status_word": "/s"}"#,
            "a `HEAD` answer has no body",
        ),
        (
            r#"{"status_url": "self", "status_request": {"method": "DELETE"}, "status_word": "/s"}"#,
            "unknown variant `DELETE`, expected one of `GET`, `HEAD`, `POST`",
        ),
        (
            r#"{"status_url": "self", "status_request": {"body": {}}, "status_word": "/s"}"#,
            "a `body` is sent with `\"method\": \"POST\"` only",
        ),
        (
            r#"{"status_url": "self", "status_request": {"method": "POST", "headers": {"Authorization": "x"}}, "status_word": "/s"}"#,
            "`Authorization` may not be set by a description",
        ),
        (
            r#"{"status_url": "self", "status_request": {"method": "POST", "headers": {"Content-Length": "3"}}, "status_word": "/s"}"#,
            "`Content-Length` may not be set",
        ),
        (
            r#"{"status_url": "self", "status_request": {"method": "POST", "body": {"a": "{nope}"}}, "status_word": "/s"}"#,
            "`{nope}` is not a placeholder",
        ),
        (
            r#"{"status_url": "self", "result_request": {"method": "HEAD"}, "status_word": "/s"}"#,
            "a result is not fetched with `HEAD`",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "status"}"#,
            "`status` is not a JSON pointer: a pointer starts with `/`",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "start_on": [303]}"#,
            "303 is not a 2xx status",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "start_on": []}"#,
            "no status given",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "status_body_on": [200]}"#,
            "200 is not a 4xx or 5xx",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "base_url": "/v1.0"}"#,
            "not an absolute http(s) URL",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "base_url": "ftp://x/"}"#,
            "not an absolute http(s) URL",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "words": {"done": ["x"]}}"#,
            "unknown field `done`",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "words": {"failed": ["Done"], "succeeded": ["DONE"]}}"#,
            "listed as both succeeded and failed",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "words": {"running": ["-"]}}"#,
            "is empty",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "result": {"embedded": "output"}}"#,
            "`output` is not a JSON pointer",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "error": "e"}"#,
            "`e` is not a JSON pointer",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "result": {"embedded_json": "out"}}"#,
            "`out` is not a JSON pointer",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "partial_result": ["expired"], "words": {"failed": ["expired"]}}"#,
            "`partial_result`: no `result` says where the partial result is",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "partial_result": ["Succeeded"], "result": {"pointer": "/out"}}"#,
            "`partial_result`: `Succeeded` means succeeded, not failed or canceled",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "partial_result": ["stale"], "result": {"pointer": "/out"}}"#,
            "`stale` means running, not failed or canceled",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/links[rel=self"}"#,
            "is not closed; a `[` in a name is written `~2`",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": {"header": "Bad Header"}}"#,
            "`status_word`: `Bad Header` is not a header name",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": {"headr": "x"}}"#,
            "unknown variant `headr`",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": 3}"#,
            "`{\"header\": …}`",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "progress": {"header": "a b"}}"#,
            "`progress`: `a b` is not a header name",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_codes": {"302": "running"}}"#,
            "a 3xx is followed as a redirect",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_codes": {"6xx": "failed"}}"#,
            "is not a status (`202`) or a class (`4xx`)",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_codes": {"abc": "failed"}}"#,
            "is not a status (`202`)",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_codes": {"200": "done"}}"#,
            "unknown variant `done`",
        ),
        ("[]", "expected struct DeclaredDialect"),
        ("{", "EOF"),
    ];
    for (text, fragment) in rows {
        let err = DeclaredDialect::from_json(text).unwrap_err().to_string();
        assert!(
            err.contains(fragment),
            "{text}\n  gave: {err}\n  want: {fragment}"
        );
    }
    // The operation id is a place like the others: a header name is checked, a pointer parsed.
    let id = |place: &str| {
        DeclaredDialect::from_json(&format!(
            r#"{{"status_url": {{"header": "Location"}}, "status_word": "/s", "operation_id": {place}}}"#
        ))
        .map(|d| d.operation_id)
    };
    assert!(matches!(
        id(r#"{"header": "a b"}"#),
        Err(DialectError::Invalid {
            field: "operation_id",
            ..
        })
    ));
    assert!(matches!(id("3"), Err(DialectError::Parse(_))));
    assert!(matches!(
        id(r#""/items[rel=""#),
        Err(DialectError::Parse(_))
    ));
    assert!(matches!(
        id(r#"{"pointr": "/id"}"#),
        Err(DialectError::Parse(_))
    ));
    assert_eq!(
        id(r#"{"header": "X-Job-Id"}"#),
        Ok(Some(Place::Header {
            header: "X-Job-Id".into()
        }))
    );
    assert!(matches!(id(r#""/job/id""#), Ok(Some(Place::Pointer(_)))));
    // The same words twice in one meaning are fine.
    let ok = r#"{"status_url": {"header": "Location"}, "status_word": "/s", "words": {"failed": ["Bad", "BAD"]}}"#;
    let d = DeclaredDialect::from_json(ok).unwrap();
    assert_eq!(d.start_on, [202]);
    assert_eq!(d.error_marks_failure, None);
}

#[test]
fn found_urls_that_cannot_be_used_are_errors() {
    let d = DeclaredDialect::from_json(
        r#"{"status_url": [{"header": "Operation-Location"}, {"pointer": "/self"}], "status_word": "/s"}"#,
    )
    .unwrap();
    let at = url("https://svc.example.com/v1/jobs");
    let err = d
        .status_url(
            &headers(&[("operation-location", "ftp://elsewhere/1")]),
            None,
            &at,
        )
        .unwrap_err();
    assert_eq!(err.source, "header `Operation-Location`");
    assert_eq!(err.value, "ftp://elsewhere/1");
    assert!(err.to_string().contains("not an http(s) URL"), "{err}");
    let err = d
        .status_url(
            &HeaderMap::new(),
            Some(&json!({"self": "http://[::1"})),
            &at,
        )
        .unwrap_err();
    assert_eq!(err.source, "pointer `/self`");
    // Nothing found anywhere: no status URL, not an error.
    assert_eq!(
        d.status_url(&HeaderMap::new(), Some(&json!({"self": 7})), &at),
        Ok(None)
    );
    assert_eq!(d.status_url(&HeaderMap::new(), None, &at), Ok(None));
}

#[test]
fn templates_escape_each_value_as_one_segment() {
    let body = json!({"id": "a b/c?d", "n": 42, "nested": {"k": "x"},
        "links": [{"rel": "up", "id": "u"}, {"rel": "self", "id": "s 1"}]});
    let rows = [
        (
            "https://svc/v2/actions/{/n}",
            Some("https://svc/v2/actions/42"),
        ),
        ("https://svc/{/id}/x", Some("https://svc/a%20b%2Fc%3Fd/x")),
        ("https://svc/{/nested/k}-{/n}", Some("https://svc/x-42")),
        ("https://svc/{/missing}", None),
        ("https://svc/{/nested}", None), // an object is not a segment
        (
            "https://svc/{/links[rel=self]/id}",
            Some("https://svc/s%201"),
        ),
        ("no placeholders", Some("no placeholders")),
    ];
    for (template, want) in rows {
        assert_eq!(
            Template::try_from(template.to_owned())
                .unwrap()
                .expand(&Sources::body(&body))
                .map(|(_, u)| u)
                .as_deref(),
            want,
            "{template}"
        );
    }
}

#[test]
fn resolving_found_urls() {
    let at = url("https://svc.example.com/v1/jobs/submit?x=1");
    let graph = url("https://graph.microsoft.com/v1.0");
    let slash = url("https://api.example.com/base/");
    // (raw, base, resolved)
    let rows: &[(&str, Option<&Url>, &str)] = &[
        (
            "https://other.example.com/ops/1",
            None,
            "https://other.example.com/ops/1",
        ),
        (
            "https://other.example.com/ops/1#frag",
            Some(&graph),
            "https://other.example.com/ops/1",
        ),
        ("/ops/1", None, "https://svc.example.com/ops/1"),
        ("ops/1", None, "https://svc.example.com/v1/jobs/ops/1"),
        (
            "../ops/1?api-version=2",
            None,
            "https://svc.example.com/v1/ops/1?api-version=2",
        ),
        ("//cdn.example.com/r", None, "https://cdn.example.com/r"),
        (
            "/teams('a')/operations('b')",
            Some(&graph),
            "https://graph.microsoft.com/v1.0/teams('a')/operations('b')",
        ),
        (
            "/teams('a')?$select=id#x",
            Some(&graph),
            "https://graph.microsoft.com/v1.0/teams('a')?$select=id",
        ),
        ("/ops/1", Some(&slash), "https://api.example.com/base/ops/1"),
        (
            "ops/1",
            Some(&graph),
            "https://graph.microsoft.com/v1.0/ops/1",
        ),
        // With a base, a network-path reference stays on the base's origin (issue 15 item 3).
        (
            "//evil.example/x",
            Some(&graph),
            "https://graph.microsoft.com/v1.0/evil.example/x",
        ),
        (
            "///evil.example/x?q=1",
            Some(&slash),
            "https://api.example.com/base/evil.example/x?q=1",
        ),
        (
            "\\\\evil.example/x",
            Some(&graph),
            "https://graph.microsoft.com/v1.0/evil.example/x",
        ),
        (
            " //evil.example/x",
            Some(&graph),
            "https://graph.microsoft.com/v1.0/evil.example/x",
        ),
    ];
    for &(raw, base, want) in rows {
        assert_eq!(
            resolve(raw, &at, base).unwrap().as_str(),
            want,
            "{raw} with {base:?}"
        );
    }
    for raw in [
        "mailto:ops@example.com",
        "file:///etc/passwd",
        "http://[::1",
    ] {
        assert!(resolve(raw, &at, None).is_err(), "{raw}");
    }
}

#[test]
fn a_layer_vocabulary_takes_the_dialect_words() {
    let d = fixture("durable-functions");
    let mut vocab = Vocabulary::new().with_word(Meaning::Succeeded, "Finished");
    d.extend(&mut vocab);
    assert_eq!(vocab.classify("Terminated").meaning, Meaning::Canceled);
    assert_eq!(vocab.classify("finished").meaning, Meaning::Succeeded);
    assert!(!Vocabulary::new().classify("Terminated").recognised);
}
