use super::*;
use http::Method;

/// `ogc-processes` written out as a user's file, under a name of its own.
const OGC_FIXTURE: &str =
    include_str!("../../../tests/fixtures/dialects/ogc-api-processes-job.json");

#[test]
fn built_in_descriptions_read_and_name_themselves() {
    assert_eq!(fhir().name.as_deref(), Some("fhir"));
    assert_eq!(ogc_processes().name.as_deref(), Some("ogc-processes"));
    assert_eq!(name_of(&fhir()), Some("fhir"));
    assert_eq!(name_of(&ogc_processes()), Some("ogc-processes"));
    // The same description read again is a declared dialect, not the named one.
    let copy = Arc::new(DeclaredDialect::from_json(FHIR).unwrap());
    assert_eq!(name_of(&copy), None);
    assert!(by_name("fhir").is_some() && by_name("ogc").is_none());
}

/// The standards say where to ask for `Prefer: respond-async` in their descriptions: a copy
/// of a description read as a user's file asks exactly where the built-in does.
#[test]
fn prefer_respond_async_only_where_the_standard_kicks_off_and_a_copy_agrees() {
    let rows: &[(Method, &str, bool, bool)] = &[
        // (method, path, fhir asks, ogc asks)
        (Method::GET, "/r4/$export", true, false),
        (Method::POST, "/Group/7/$export", true, false),
        (Method::GET, "/Patient/1", false, false),
        (Method::POST, "/processes/buffer/execution", false, true),
        (Method::GET, "/processes/buffer/execution", false, false),
        (Method::POST, "/processes", false, false),
    ];
    let asks = |d: &DeclaredDialect, m: &Method, p: &str| {
        d.prefer_async.as_ref().is_some_and(|a| a.matches(m, p))
    };
    let fhir_copy = DeclaredDialect::from_json(FHIR).unwrap();
    let ogc_copy = DeclaredDialect::from_json(OGC_PROCESSES).unwrap();
    for (m, path, in_fhir, in_ogc) in rows {
        assert_eq!(asks(&fhir(), m, path), *in_fhir, "fhir {m} {path}");
        assert_eq!(asks(&fhir_copy, m, path), *in_fhir, "fhir copy {m} {path}");
        assert_eq!(asks(&ogc_processes(), m, path), *in_ogc, "ogc {m} {path}");
        assert_eq!(asks(&ogc_copy, m, path), *in_ogc, "ogc copy {m} {path}");
    }
}

#[test]
fn operation_outcome_reads_code_diagnostics_and_transience() {
    let v: Value = serde_json::from_str(
        r#"{"resourceType":"OperationOutcome","issue":[
            {"severity":"error","code":"processing","details":{"text":"Group 9 not found"}},
            {"severity":"error","code":"exception","diagnostics":"  disk full "}]}"#,
    )
    .unwrap();
    let o = operation_outcome(&v).unwrap();
    assert!(!o.transient);
    assert_eq!(o.error.code.as_deref(), Some("processing"));
    assert_eq!(o.error.message.as_deref(), Some("Group 9 not found"));
    assert_eq!(o.error.details.len(), 1);
    assert_eq!(o.error.details[0].message.as_deref(), Some("disk full"));
    let v = serde_json::json!({"resourceType":"OperationOutcome",
        "issue":[{"severity":"error","code":"throttled"},{"severity":"error","code":"transient"}]});
    assert!(operation_outcome(&v).unwrap().transient);
    // No issue at all is not a transient outcome.
    let v = serde_json::json!({"resourceType":"OperationOutcome"});
    assert!(!operation_outcome(&v).unwrap().transient);
    assert!(operation_outcome(&serde_json::json!({"resourceType":"Patient"})).is_none());
    assert!(operation_outcome(&serde_json::json!({"issue":[]})).is_none());
}

#[test]
fn error_values_by_shape() {
    let problem = serde_json::json!({
        "type": "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-job",
        "title": "No such job", "detail": "job 7 expired"});
    let e = error_of(&problem);
    assert_eq!(e.code.as_deref(), problem["type"].as_str());
    assert_eq!(e.message.as_deref(), Some("job 7 expired"));
    let e = error_of(&serde_json::json!({"title": "No such job"}));
    assert_eq!(e.message.as_deref(), Some("No such job"));
    // `code`/`message` read as before, even beside `title`.
    let e = error_of(&serde_json::json!({"code": "E1", "message": "m", "title": "t"}));
    assert_eq!(
        (e.code.as_deref(), e.message.as_deref()),
        (Some("E1"), Some("m"))
    );
    let e = error_of(&serde_json::json!("plain text"));
    assert_eq!(e.message.as_deref(), Some("plain text"));
}

#[test]
fn the_default_dialect_needs_fhir_json_to_read_an_outcome() {
    let body = br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"bad"}]}"#;
    let headers = |ct: &str| {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, ct.parse().unwrap());
        h
    };
    assert!(fhir_outcome(&headers("application/fhir+json; charset=utf-8"), body).is_some());
    assert!(fhir_outcome(&headers("Application/FHIR+JSON"), body).is_some());
    assert!(fhir_outcome(&headers("application/json"), body).is_none());
    assert!(fhir_outcome(&HeaderMap::new(), body).is_none());
    assert!(fhir_outcome(
        &headers("application/fhir+json"),
        br#"{"resourceType":"Bundle"}"#
    )
    .is_none());
    assert!(fhir_outcome(&headers("application/fhir+json"), b"<html>").is_none());
}

#[test]
fn handles_name_the_standard() {
    use super::super::Dialect;
    for d in [Dialect::fhir(), Dialect::ogc_processes()] {
        let saved = d.to_handle().unwrap();
        assert_eq!(saved, Value::String(d.name().to_owned()));
        let back = Dialect::from_handle(&saved).unwrap();
        assert_eq!(back, d);
        assert!(matches!(back.kind(), super::super::Kind::Declared(b) if name_of(b).is_some()));
    }
    // The same description read from JSON is saved whole, as any declared dialect.
    let copy = Dialect::from_json(FHIR).unwrap();
    assert!(copy.to_handle().unwrap().get("declared").is_some());
    assert!(Dialect::from_handle(&Value::String("wsdl".into())).is_err());
}

/// Where `ogc-processes` finds the job: `Location` first; without one, a `statusInfo` that
/// names its `jobID` is at the standard's `{root}/jobs/{jobID}` (wraptile 0.3.0 sends no
/// `Location`); without either, nothing (the `201` is the final answer).
#[test]
fn ogc_job_by_location_else_by_job_id_under_the_root() {
    let url = url::Url::parse("https://ogc.example/api/processes/sleep/execution?f=json").unwrap();
    let located = {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::LOCATION,
            "/api/jobs/from-header".parse().unwrap(),
        );
        h
    };
    // The built-in, and its copy as a user's file (`tests/fixtures/dialects/`), which finds
    // the job where the built-in does.
    let copy = DeclaredDialect::from_json(OGC_FIXTURE).unwrap();
    let mut blank_location = HeaderMap::new();
    blank_location.insert(http::header::LOCATION, "".parse().unwrap());
    let found = |headers: &HeaderMap, body: Value| {
        let built_in = ogc_processes()
            .status_url(headers, Some(&body), &url)
            .unwrap()
            .map(|u| u.to_string());
        let by_copy = copy
            .status_url(headers, Some(&body), &url)
            .unwrap()
            .map(|u| u.to_string());
        assert_eq!(by_copy, built_in, "the fixture's copy, {body}");
        built_in
    };
    let info = serde_json::json!({"jobID": "job_1", "status": "accepted"});
    let rows: [(&HeaderMap, Value, Option<&str>); 7] = [
        (
            &located,
            info.clone(),
            Some("https://ogc.example/api/jobs/from-header"),
        ),
        (
            &HeaderMap::new(),
            info,
            Some("https://ogc.example/api/jobs/job_1"),
        ),
        (
            &HeaderMap::new(),
            serde_json::json!({"jobID": "a/b?c"}),
            Some("https://ogc.example/api/jobs/a%2Fb%3Fc"),
        ),
        (
            &HeaderMap::new(),
            serde_json::json!({"status": "accepted"}),
            None,
        ),
        (&HeaderMap::new(), serde_json::json!({"jobID": ".."}), None),
        // An empty jobID names no job: `{root}/jobs/` is the list of every job.
        (&HeaderMap::new(), serde_json::json!({"jobID": ""}), None),
        // An empty `Location` names nothing (it would be the execution URL itself): the jobID.
        (
            &blank_location,
            serde_json::json!({"jobID": "job_2"}),
            Some("https://ogc.example/api/jobs/job_2"),
        ),
    ];
    for (headers, body, want) in rows {
        assert_eq!(found(headers, body.clone()).as_deref(), want, "{body}");
    }
}

/// `tests/fixtures/dialects/ogc-api-processes-job.json` is the `ogc-processes` description as
/// data (what a user passes with `--dialect @file`): the same in every field but its name and
/// doc, so a change to the built-in (the `jobID` fallback for a `201` without `Location`) is
/// made to the copy too.
#[test]
fn the_ogc_fixture_is_the_built_in_as_data() {
    let mut copy = DeclaredDialect::from_json(OGC_FIXTURE).unwrap();
    let built_in = ogc_processes();
    assert_ne!(copy.name, built_in.name, "the copy keeps a name of its own");
    copy.name.clone_from(&built_in.name);
    copy.doc.clone_from(&built_in.doc);
    assert_eq!(copy, *built_in);
}
