//! Templates read the body, the answer's headers, the status URL and the submission's URL;
//! body templates fill JSON strings; malformed templates are refused when read.

use super::*;
use serde_json::json;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn template(text: &str) -> Template {
    Template::try_from(text.to_owned()).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn placeholders_read_headers_and_urls() {
    let body = json!({"job": {"id": "j 1"}});
    let mut headers = HeaderMap::new();
    headers.insert("x-amz-job-id", " 9f/2 ".parse().unwrap());
    let status = url("https://svc.example/jobs/9f?x=1");
    let submission = url("https://svc.example/v1/submit");
    let src = Sources {
        body: &body,
        headers: &headers,
        status_url: Some(&status),
        submission_url: Some(&submission),
    };
    let rows = [
        ("/jobs/{header:x-amz-job-id}", Some("/jobs/9f%2F2")),
        (
            "/jobs/{header:X-Amz-Job-Id}/{/job/id}",
            Some("/jobs/9f%2F2/j%201"),
        ),
        ("{status_url}", Some("https://svc.example/jobs/9f?x=1")),
        (
            "{submission_url}/status",
            Some("https://svc.example/v1/submit/status"),
        ),
        ("/jobs/{header:x-missing}", None),
        ("{status_url}", Some("https://svc.example/jobs/9f?x=1")),
        // The status URL in two parts (Durable Functions' terminate URL: its path and more,
        // then its query, which holds the task hub and the key).
        (
            "{status_url_path}/terminate?reason=r&{status_url_query}",
            Some("https://svc.example/jobs/9f/terminate?reason=r&x=1"),
        ),
    ];
    for (text, want) in rows {
        let got = template(text).expand(&src).map(|(_, u)| u);
        assert_eq!(got.as_deref(), want, "{text}");
    }
    // Before the status URL is known (a `status_url` template), it finds nothing.
    let early = Sources {
        status_url: None,
        ..src
    };
    assert_eq!(template("{status_url}/x").expand(&early), None);
    assert_eq!(template("{status_url_path}/x").expand(&early), None);
    assert_eq!(template("{status_url_query}").expand(&early), None);
    // A status URL without a query has an empty one; a fragment is in neither part.
    let bare = url("https://svc.example/jobs/9f#frag");
    let bare = Sources {
        status_url: Some(&bare),
        ..src
    };
    let parts = template("{status_url_path}|{status_url_query}").expand(&bare);
    assert_eq!(
        parts.map(|(_, u)| u).as_deref(),
        Some("https://svc.example/jobs/9f|")
    );
}

/// A value is one path segment: `/` is escaped, and a value that is a dot segment (`.`, `..`),
/// which a URL parser removes however it is spelled (`%2E%2E` too), finds nothing rather than
/// moving the URL up a level. An empty value is no segment either: it would name the
/// collection (`/v1/jobs//cancel`, or `/v1/jobs/` at a template's end, the list of every job).
#[test]
fn a_value_never_climbs_out_of_its_segment() {
    let status = url("https://svc.example/jobs/9f");
    for (id, want) in [
        ("..", None),
        ("", None),
        (".", None),
        ("../admin", Some("/v1/jobs/..%2Fadmin/cancel")),
        ("...", Some("/v1/jobs/.../cancel")),
        ("a..b", Some("/v1/jobs/a..b/cancel")),
    ] {
        let body = json!({ "id": id });
        let mut headers = HeaderMap::new();
        headers.insert("x-id", id.parse().unwrap());
        let src = Sources {
            body: &body,
            headers: &headers,
            status_url: Some(&status),
            submission_url: None,
        };
        for text in ["/v1/jobs/{/id}/cancel", "/v1/jobs/{header:x-id}/cancel"] {
            let got = template(text).expand(&src).map(|(_, u)| u);
            assert_eq!(got.as_deref(), want, "{text} with {id:?}");
        }
    }
}

#[test]
fn malformed_placeholders_are_refused_with_what_to_write() {
    for (text, want) in [
        ("/x/{id}", "`{id}` is not a placeholder"),
        ("/x/{header:}", "`` is not a header name"),
        ("/x/{header:a b}", "`a b` is not a header name"),
        ("/x/{/a", "without a `}`"),
        ("/x/}", "without a `{`"),
        ("/x/{/a[b}", "not a JSON pointer"),
        ("/x/{STATUS_URL}", "is not a placeholder"),
    ] {
        let e = Template::try_from(text.to_owned()).unwrap_err();
        assert!(e.contains(want), "{text}: {e}");
    }
}

#[test]
fn body_templates_fill_strings_and_keep_the_rest() {
    let t = BodyTemplate::try_from(json!({
        "TranscriptionJobName": "{/TranscriptionJob/TranscriptionJobName}",
        "n": 3,
        "list": ["a{header:x-id}b", null, true],
        "url": "{status_url}",
    }))
    .unwrap();
    let body = json!({"TranscriptionJob": {"TranscriptionJobName": "my \"job\""}});
    let mut headers = HeaderMap::new();
    headers.insert("x-id", "7".parse().unwrap());
    let status = url("https://transcribe.example/");
    let src = Sources {
        body: &body,
        headers: &headers,
        status_url: Some(&status),
        submission_url: None,
    };
    let filled: Value = serde_json::from_slice(&t.expand(&src).unwrap()).unwrap();
    assert_eq!(
        filled,
        json!({"TranscriptionJobName": "my \"job\"", "n": 3, "list": ["a7b", null, true],
            "url": "https://transcribe.example/"})
    );
    // A placeholder that finds nothing is named.
    let e = t.expand(&Sources::body(&json!({}))).unwrap_err();
    assert!(
        e.contains("{/TranscriptionJob/TranscriptionJobName}"),
        "{e}"
    );
    // Written back as it was read.
    assert_eq!(Value::from(t.clone())["list"][0], json!("a{header:x-id}b"));
    assert!(BodyTemplate::try_from(json!({"a": "{bad}"})).is_err());
}

#[test]
fn with_a_base_every_relative_form_stays_on_its_origin() {
    let at = url("https://svc.example/v1/jobs");
    let base = url("https://api.example/root");
    for raw in [
        "//evil.example/x",
        "\\\\evil.example/x",
        "/\\evil.example/x",
        "\t//evil.example/x",
    ] {
        let got = resolve(raw, &at, Some(&base)).unwrap();
        assert_eq!(got.origin(), base.origin(), "{raw}");
        assert_eq!(got.path(), "/root/evil.example/x", "{raw}");
    }
    // Without a base, a network-path reference names its host: the origin rules judge it.
    let got = resolve("//evil.example/x", &at, None).unwrap();
    assert_eq!(got.host_str(), Some("evil.example"));
    // Relative result templates resolve against the status URL (the response's URL).
    let status = url("https://svc.example/v1/jobs/7/status");
    assert_eq!(
        resolve("../output", &status, None).unwrap().as_str(),
        "https://svc.example/v1/jobs/output"
    );
}

/// `{number:…}` reads a number (or a string that is one, as an operation id is kept): a body
/// string that is that placeholder alone becomes a JSON number (Databricks' `run_id` is an
/// int64); elsewhere it is text. A value JSON would write otherwise finds nothing.
#[test]
fn a_number_placeholder_fills_a_json_number() {
    let body_of = |doc: &Value, text: &str| {
        let t = BodyTemplate::try_from(json!({ "run_id": text })).unwrap();
        t.expand(&Sources::body(doc))
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
    };
    for (value, want) in [
        (json!(455644833), Some(r#"{"run_id":455644833}"#)),
        (json!("455644833"), Some(r#"{"run_id":455644833}"#)),
        (json!(-3), Some(r#"{"run_id":-3}"#)),
        (json!("1.5"), Some(r#"{"run_id":1.5}"#)),
        (json!("012"), None),
        (json!("1e3"), None),
        (json!(" 12"), None),
        (json!("12a"), None),
        (json!(true), None),
        (json!(null), None),
    ] {
        let doc = json!({ "id": value });
        assert_eq!(
            body_of(&doc, "{number:/id}").ok().as_deref(),
            want,
            "{value}"
        );
    }
    let doc = json!({"id": "7"});
    // Beside other text it is text; a plain pointer stays a string.
    assert_eq!(
        body_of(&doc, "run-{number:/id}").unwrap(),
        r#"{"run_id":"run-7"}"#
    );
    assert_eq!(body_of(&doc, "{/id}").unwrap(), r#"{"run_id":"7"}"#);
    let got = template("/runs/{number:/id}").expand(&Sources::body(&doc));
    assert_eq!(got.map(|(_, u)| u).as_deref(), Some("/runs/7"));
    // It reads a pointer, and counts as one.
    assert_eq!(template("{number:/id}").pointers().count(), 1);
    for bad in ["{number:id}", "{number:/a[}"] {
        assert!(Template::try_from(bad.to_owned()).is_err(), "{bad}");
    }
}

/// A number JSON writes with an exponent finds nothing: an id past 64 bits is held as a
/// rounded float (`18446744073709551617` is kept as `1.8446744073709552e19`), and a cancel
/// sent with it would name another operation.
#[test]
fn a_number_placeholder_refuses_what_json_writes_with_an_exponent() {
    let t = BodyTemplate::try_from(json!({ "run_id": "{number:/id}" })).unwrap();
    let rounded: Value = serde_json::from_str("18446744073709551617").unwrap();
    for value in [
        rounded,
        json!(1e20),
        json!("1e300"),
        json!("1.8446744073709552e19"),
    ] {
        let doc = json!({ "id": value });
        assert!(t.expand(&Sources::body(&doc)).is_err(), "{value}");
    }
    // The largest ids JSON holds exactly are numbers still.
    let doc = json!({ "id": u64::MAX });
    let body = t.expand(&Sources::body(&doc)).unwrap();
    assert_eq!(
        &body[..],
        format!(r#"{{"run_id":{}}}"#, u64::MAX).as_bytes()
    );
}
