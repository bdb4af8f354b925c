//! The named dialects of the open standards (`fhir`, `ogc-processes`) through the protocol
//! core, one run per case of `tests/fixtures/dialects/*-named-cases.json` (each case cites the
//! part of the standard it follows; `cli/tests/it/named_dialects.rs` replays the same cases over
//! real sockets through `lro --dialect NAME`).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::Value;

use crate::error::ErrorKind;
use crate::proto::dialect::Dialect;
use crate::proto::*;
use crate::vocab::Meaning;

const BASE: &str = "https://standards.example";

fn cases(file: &str) -> (Dialect, Vec<Value>) {
    let text = match file {
        "fhir" => include_str!("../../../tests/fixtures/dialects/fhir-named-cases.json"),
        "ogc-processes" => {
            include_str!("../../../tests/fixtures/dialects/ogc-processes-named-cases.json")
        }
        other => panic!("no cases {other}"),
    };
    let doc: Value = serde_json::from_str(text).unwrap();
    let dialect: Dialect = doc["dialect"].as_str().unwrap().parse().unwrap();
    assert_eq!(dialect.name(), file);
    (dialect, doc["cases"].as_array().unwrap().clone())
}

fn header_map(v: &Value) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in v.as_object().into_iter().flatten() {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
        );
    }
    h
}

/// A case's body: a string as it is, any other JSON written out.
fn body(v: &Value) -> Bytes {
    match v {
        Value::Null => Bytes::new(),
        Value::String(s) => Bytes::from(s.clone()),
        other => Bytes::from(other.to_string()),
    }
}

/// What a run came to, and what it reported on the way.
struct Ran {
    outcome: Result<LroMetadata, Error>,
    texts: Vec<String>,
    percents: Vec<f64>,
}

fn run(dialect: &Dialect, case: &Value) -> Ran {
    let name = case["name"].as_str().unwrap();
    let answers = case["answers"].as_array().unwrap();
    let request = &case["request"];
    let url = format!("{BASE}{}", request["path"].as_str().unwrap());
    let (t0, wall0) = (Instant::now(), std::time::SystemTime::UNIX_EPOCH);
    let head = RequestHead::new(
        request["method"].as_str().unwrap().parse().unwrap(),
        url.parse().unwrap(),
        header_map(&request["headers"]),
    );
    let cfg = Arc::new(Config::default());
    let params = Params::new(&cfg).dialect(dialect.clone());
    let first = &answers[0];
    let begin = Submission::new(cfg, head, params, Now::new(t0, wall0)).start(
        StatusCode::from_u16(first["status"].as_u64().unwrap() as u16).unwrap(),
        &header_map(&first["headers"]),
        Some(&body(&first["body"])),
    );
    let Ok(Begin::Lro(mut machine, plan)) = begin else {
        panic!("{name}: no operation started: {begin:?}");
    };
    let (mut texts, mut percents) = (Vec::new(), Vec::new());
    let mut action = Action::from(plan);
    for (i, answer) in answers.iter().enumerate().skip(1) {
        let Action::Send { at, request } = action else {
            panic!("{name}: ended before answer {i}: {action:?}");
        };
        let to = answer["to"].as_str().unwrap();
        let path = to.split_once(' ').unwrap().1;
        assert_eq!(request.uri().to_string(), format!("{BASE}{path}"), "{name}");
        let status = StatusCode::from_u16(answer["status"].as_u64().unwrap() as u16).unwrap();
        let (headers, bytes) = (header_map(&answer["headers"]), body(&answer["body"]));
        let now = Now::new(at, wall0 + at.duration_since(t0));
        let body = machine.wants_body(status).then_some(&bytes);
        let answer = Answer {
            status,
            headers: &headers,
            body,
        };
        action = machine.handle_answer(now, answer);
        if let Some(p) = machine.poll_progress(at) {
            texts.extend(p.progress_text().map(str::to_owned));
            percents.extend(p.percent_complete());
        }
    }
    let outcome = match action {
        Action::Deliver(d) => Ok(d.metadata),
        Action::Fail(e) => Err(e),
        Action::Send { request, .. } => panic!("{name}: the script ran out at {request:?}"),
        Action::Cancel { request, .. } => panic!("{name}: cancels unasked at {request:?}"),
    };
    Ran {
        outcome,
        texts,
        percents,
    }
}

fn check(file: &str) {
    let (dialect, cases) = cases(file);
    assert!(!cases.is_empty());
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        assert!(case["doc"]
            .as_str()
            .is_some_and(|d| d.starts_with("https://")));
        let expect = &case["expect"];
        let ran = run(&dialect, case);
        match (expect["outcome"].as_str().unwrap(), &ran.outcome) {
            ("succeeded", Ok(meta)) => {
                assert_eq!(meta.dialect(), file, "{name}");
                assert_eq!(meta.status().meaning(), Meaning::Succeeded, "{name}");
            }
            (failed @ ("failed" | "canceled"), Err(e)) => {
                assert_eq!(e.kind(), ErrorKind::OperationFailed, "{name}: {e}");
                assert_eq!(e.is_canceled(), failed == "canceled", "{name}: {e}");
                let error = e.odata_error();
                let code = error.and_then(|e| e.code.as_deref());
                let message = error.and_then(|e| e.message.as_deref());
                assert_eq!(code, expect["code"].as_str(), "{name}");
                assert_eq!(message, expect["message"].as_str(), "{name}");
            }
            ("unexpected-status", Err(e)) => {
                assert_eq!(e.kind(), ErrorKind::UnexpectedStatus, "{name}: {e}");
            }
            (want, got) => panic!("{name}: expected {want}, got {got:?}"),
        }
        let texts: Vec<&str> = expect["progress_text"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(ran.texts, texts, "{name}");
        if let Some(percents) = expect["percent"].as_array() {
            let want: Vec<f64> = percents.iter().filter_map(Value::as_f64).collect();
            assert_eq!(ran.percents, want, "{name}");
        }
    }
}

#[test]
fn fhir_named_cases() {
    check("fhir");
}

#[test]
fn ogc_processes_named_cases() {
    check("ogc-processes");
}

/// The default dialect reads an `OperationOutcome` on an error answer of a `Content-Location`
/// monitor when the answer says it is FHIR (`application/fhir+json`): the operation failed,
/// with its diagnostics, after one poll. An answer that does not say so, or is not an
/// `OperationOutcome`, or comes from another monitor, is judged as before.
#[test]
fn the_default_dialect_reads_an_unambiguous_operation_outcome() {
    let outcome = serde_json::json!({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "processing", "diagnostics": "Export failed"}]});
    let case = |monitor: &str, status: u16, content_type: &str, body: &Value| {
        serde_json::json!({"name": format!("{monitor} {status} {content_type}"),
            "request": {"method": "GET", "path": "/fhir/$export"},
            "answers": [
                {"to": "GET /fhir/$export", "status": 202, "headers": {monitor: "/fhir/status/1"}},
                {"to": "GET /fhir/status/1", "status": status,
                 "headers": {"content-type": content_type}, "body": body}]})
    };
    let default = Dialect::default();
    for status in [500, 404, 410] {
        let ran = run(
            &default,
            &case(
                "content-location",
                status,
                "application/fhir+json",
                &outcome,
            ),
        );
        let e = ran.outcome.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OperationFailed, "{e}");
        let error = e.odata_error().unwrap();
        assert_eq!(error.code.as_deref(), Some("processing"));
        assert_eq!(error.message.as_deref(), Some("Export failed"));
    }
    // Ambiguous: not said to be FHIR, not an OperationOutcome, not a `Content-Location`
    // monitor. A `404` stays an unexpected status (a `500` would be retried, as before).
    let bundle = serde_json::json!({"resourceType": "Bundle"});
    for (monitor, content_type, body) in [
        ("content-location", "application/json", &outcome),
        ("content-location", "application/fhir+json", &bundle),
        ("location", "application/fhir+json", &outcome),
    ] {
        let ran = run(&default, &case(monitor, 404, content_type, body));
        let e = ran.outcome.unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::UnexpectedStatus,
            "{monitor} {content_type}: {e}"
        );
    }
}

/// An `OperationOutcome` whose issues are all transient (Bulk Data: the status request failed,
/// not the export) is retried, in the default dialect as in `fhir`.
#[test]
fn a_transient_operation_outcome_is_retried() {
    let transient = serde_json::json!({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "throttled", "diagnostics": "slow down"}]});
    let case = serde_json::json!({"name": "transient",
        "request": {"method": "GET", "path": "/fhir/$export"},
        "answers": [
            {"to": "GET /fhir/$export", "status": 202, "headers": {"content-location": "/fhir/s/2"}},
            {"to": "GET /fhir/s/2", "status": 500,
             "headers": {"content-type": "application/fhir+json"}, "body": transient},
            {"to": "GET /fhir/s/2", "status": 200, "body": {"output": []}}]});
    for dialect in [Dialect::default(), Dialect::fhir()] {
        let ran = run(&dialect, &case);
        let meta = ran.outcome.unwrap();
        assert_eq!(meta.status().meaning(), Meaning::Succeeded);
    }
}
