use super::super::declared::{DeclaredDialect, DialectError};
use super::*;

fn read(prefer: &str) -> Result<DeclaredDialect, DialectError> {
    DeclaredDialect::from_json(&format!(
        r#"{{"status_url": {{"header": "Location"}}, "status_word": "/s", "prefer_async": {prefer}}}"#
    ))
}

fn asks(prefer: &str, method: Method, path: &str) -> bool {
    let d = read(prefer).unwrap();
    d.prefer_async.unwrap().matches(&method, path)
}

#[test]
fn every_condition_given_must_hold() {
    let ogc = r#"{"method": "POST", "last_segment": "execution"}"#;
    assert!(asks(ogc, Method::POST, "/processes/buffer/execution"));
    assert!(!asks(ogc, Method::GET, "/processes/buffer/execution"));
    assert!(!asks(ogc, Method::POST, "/processes/buffer/execution/"));
    assert!(!asks(ogc, Method::POST, "/processes/execution-log"));
    let fhir = r#"{"last_segment_prefix": "$"}"#;
    assert!(asks(fhir, Method::GET, "/r4/$export"));
    assert!(asks(fhir, Method::POST, "/Group/7/$export"));
    assert!(!asks(fhir, Method::GET, "/Patient/1"));
    assert!(!asks(fhir, Method::GET, "/$export/Patient"));
    assert!(asks("{}", Method::PUT, "/anything"));
    assert!(read(r#"{"method": "PATCH"}"#).is_ok());
}

#[test]
fn rules_that_cannot_work_are_refused_when_read() {
    let refused = |prefer: &str| match read(prefer) {
        Err(DialectError::Invalid { field, problem }) => {
            assert_eq!(field, "prefer_async", "{prefer}");
            problem
        }
        other => panic!("{prefer}: {other:?}"),
    };
    refused(r#"{"method": "PO ST"}"#);
    refused(r#"{"last_segment": "a/b"}"#);
    refused(r#"{"last_segment_prefix": ""}"#);
    refused(r#"{"last_segment": "x", "last_segment_prefix": "$"}"#);
    // serde refuses an unknown member, and says which.
    match read(r#"{"methd": "POST"}"#) {
        Err(DialectError::Parse(e)) => assert!(e.contains("unknown field `methd`"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_rule_is_written_back_as_read() {
    let d = read(r#"{"method": "POST", "last_segment": "execution"}"#).unwrap();
    let text = serde_json::to_string(&d).unwrap();
    assert_eq!(DeclaredDialect::from_json(&text).unwrap(), d);
    assert!(text.contains(r#""prefer_async":{"method":"POST","last_segment":"execution"}"#));
}
