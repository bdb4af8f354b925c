//! Whole answers read by declared dialects: headers (Azure Blob copy), status codes (FHIR bulk
//! export), selectors (OGC API – Processes), output beside errors (Celery through Flower),
//! nested jobs (MediaConvert), each service citing its public document; then progress, the
//! error-marks-failure setting, and status codes without a word.

use super::*;

// Azure Blob Storage, Copy Blob: `202` with `x-ms-copy-status: pending | success`; Get Blob
// Properties on the destination answers `x-ms-copy-status` (pending, success, aborted,
// failed) and `x-ms-copy-progress: <bytes copied>/<bytes total>`.
// https://learn.microsoft.com/en-us/rest/api/storageservices/copy-blob#response-headers
// https://learn.microsoft.com/en-us/rest/api/storageservices/get-blob-properties#response-headers
#[test]
fn azure_blob_copy() {
    let d = fixture("azure-blob-copy");
    let blob = url("https://acct.blob.core.windows.net/c/copy.bin");
    let submit = headers(&[("x-ms-copy-id", "8e1a"), ("x-ms-copy-status", "pending")]);
    // The monitor is the blob itself; a submission carrying the word is read in place.
    assert_eq!(d.status_url(&submit, None, &blob), Ok(Some(blob.clone())));
    assert!(d.carries_word(&submit, None));
    assert!(d.body_optional());
    type Row<'a> = (
        &'a [(&'a str, &'a str)],
        Option<&'a str>,
        Meaning,
        Option<f64>,
    );
    let rows: &[Row<'_>] = &[
        (
            &[
                ("x-ms-copy-status", "pending"),
                ("x-ms-copy-progress", "1024/4096"),
            ],
            Some("pending"),
            Meaning::Running,
            Some(25.0),
        ),
        (
            &[
                ("x-ms-copy-status", "success"),
                ("x-ms-copy-progress", "4096/4096"),
            ],
            Some("success"),
            Meaning::Succeeded,
            Some(100.0),
        ),
        (
            &[("x-ms-copy-status", "aborted")],
            Some("aborted"),
            Meaning::Canceled,
            None,
        ),
        (
            &[("x-ms-copy-status", " failed ")],
            Some("failed"),
            Meaning::Failed,
            None,
        ),
        (
            &[("x-ms-copy-progress", "0/0")],
            None,
            Meaning::Running,
            None,
        ),
    ];
    for (pairs, word, meaning, pct) in rows {
        let h: HeaderMap = pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect();
        let r = d.read_status(&d.vocabulary(), StatusCode::OK, &h, &Value::Null);
        assert_eq!((r.word, r.meaning), (*word, *meaning), "{pairs:?}");
        assert_eq!(d.percent(&h, &Value::Null), *pct, "{pairs:?}");
    }
}

// FHIR Bulk Data export: the kick-off answers `202` with `Content-Location`; the status
// request answers `202` (with an optional `X-Progress` text) while in progress, `200` with the
// manifest when complete, and `4xx`/`5xx` with an `OperationOutcome` when the export failed.
// https://hl7.org/fhir/uv/bulkdata/export.html#response---success
// https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request
const FHIR_MANIFEST: &str = r#"{"transactionTime": "2026-12-01T10:00:00Z",
  "request": "https://fhir.example/$export?_type=Patient", "requiresAccessToken": true,
  "output": [{"type": "Patient", "url": "https://fhir.example/files/1.ndjson"}], "error": []}"#;
const FHIR_OUTCOME: &str = r#"{"resourceType": "OperationOutcome",
  "issue": [{"severity": "error", "code": "processing", "diagnostics": "Export job failed: disk full"}]}"#;

#[test]
fn fhir_bulk_export() {
    let d = fixture("fhir-bulk-export");
    let kickoff = headers(&[("content-location", "https://fhir.example/status/77")]);
    assert_eq!(
        d.status_url(&kickoff, None, &url("https://fhir.example/$export")),
        Ok(Some(url("https://fhir.example/status/77")))
    );
    assert!(!d.carries_word(&kickoff, None));
    assert_eq!(
        answer(&d, 202, &[("x-progress", "Exporting Patient (40%)")], ""),
        (None, Meaning::Running, None, None)
    );
    assert_eq!(answer(&d, 202, &[("x-progress", "40%")], "").3, Some(40.0));
    assert_eq!(
        answer(&d, 200, &[], FHIR_MANIFEST),
        (None, Meaning::Succeeded, None, None)
    );
    for code in [400, 404, 500] {
        let (_, meaning, error, _) = answer(&d, code, &[], FHIR_OUTCOME);
        assert_eq!(meaning, Meaning::Failed, "{code}");
        assert_eq!(error.as_deref(), Some("Export job failed: disk full"));
        assert!(d.is_status_body(StatusCode::from_u16(code).unwrap()));
    }
    // A busy server or a gateway stays transient unless listed one by one.
    for code in [408, 429, 502, 503, 504] {
        assert!(
            !d.is_status_body(StatusCode::from_u16(code).unwrap()),
            "{code}"
        );
    }
    assert!(!d.is_status_body(StatusCode::NOT_MODIFIED));
}

// OGC API – Processes Part 1: an asynchronous execution answers `201` with `Location` of the
// job; the job's `statusInfo` has `status` (accepted, running, successful, failed, dismissed),
// `message`, `progress` and `links`, the results by their link relation.
// https://docs.ogc.org/is/18-062r2/18-062r2.html#sc_create_job (7.11.4)
// https://docs.ogc.org/is/18-062r2/18-062r2.html#sc_retrieve_status_info (7.12)
const OGC_DONE: &str = r#"{"jobID": "81574318", "type": "process", "status": "successful",
  "message": "Process completed", "progress": 100, "links": [
    {"href": "https://p.example/jobs/81574318", "rel": "self", "type": "application/json"},
    {"href": "https://p.example/jobs/81574318/results", "rel": "http://www.opengis.net/def/rel/ogc/1.0/results"}]}"#;

#[test]
fn ogc_api_processes_job() {
    let d = fixture("ogc-api-processes-job");
    let job = url("https://p.example/jobs/81574318");
    let none = HeaderMap::new();
    assert_eq!(
        answer(
            &d,
            200,
            &[],
            r#"{"jobID": "1", "status": "running", "progress": 40, "message": "step 2"}"#
        ),
        (
            Some("running".into()),
            Meaning::Running,
            Some("step 2".into()),
            Some(40.0)
        )
    );
    // A success word beside a `message` is a success (item 7).
    let (word, meaning, _, pct) = answer(&d, 200, &[], OGC_DONE);
    assert_eq!(
        (word.as_deref(), meaning, pct),
        (Some("successful"), Meaning::Succeeded, Some(100.0))
    );
    let done = parse(OGC_DONE);
    assert_eq!(
        d.result(&none, OGC_DONE.as_bytes(), Some(&done), (&job, None)),
        Ok(Some(ResultTarget::Fetch(url(
            "https://p.example/jobs/81574318/results"
        ))))
    );
    // A server that writes the short relation is found by the second source.
    let short = OGC_DONE.replace("http://www.opengis.net/def/rel/ogc/1.0/results", "results");
    assert_eq!(
        d.result(&none, short.as_bytes(), Some(&parse(&short)), (&job, None)),
        Ok(Some(ResultTarget::Fetch(url(
            "https://p.example/jobs/81574318/results"
        ))))
    );
    assert_eq!(
        answer(
            &d,
            200,
            &[],
            r#"{"jobID": "1", "status": "failed", "message": "Invalid input"}"#
        ),
        (
            Some("failed".into()),
            Meaning::Failed,
            Some("Invalid input".into()),
            None
        )
    );
    assert_eq!(
        answer(&d, 200, &[], r#"{"status": "dismissed"}"#).1,
        Meaning::Canceled
    );
    // Of several results links, the JSON one: pygeoapi 0.21.0 lists the HTML one first.
    let pygeoapi = r#"{"jobID": "1", "status": "successful", "links": [
        {"href": "https://p.example/jobs/1/results?f=html", "rel": "http://www.opengis.net/def/rel/ogc/1.0/results", "type": "text/html"},
        {"href": "https://p.example/jobs/1/results?f=json", "rel": "http://www.opengis.net/def/rel/ogc/1.0/results", "type": "application/json"}]}"#;
    assert_eq!(
        d.result(
            &none,
            pygeoapi.as_bytes(),
            Some(&parse(pygeoapi)),
            (&job, None)
        ),
        Ok(Some(ResultTarget::Fetch(url(
            "https://p.example/jobs/1/results?f=json"
        ))))
    );
    // A duplicate `rel` or `type` in a link the selectors may choose is a member the dialect
    // reads.
    assert!(d.consults("/links/1/rel"));
    assert!(d.consults("/links/1/href"));
    assert!(d.consults("/links/1/type"));
    assert!(!d.consults("/links/1/title"));
}

// Celery through Flower: `POST /api/task/async-apply/<task>` answers `{"task-id": …}`;
// `GET /api/task/result/<id>` answers `state` (PENDING, STARTED, RETRY, SUCCESS, FAILURE,
// REVOKED) and `result`, which holds the task's return value or, on failure, the exception.
// https://flower.readthedocs.io/en/latest/api.html#post--api-task-async-apply-(.+)
// https://flower.readthedocs.io/en/latest/api.html#get--api-task-result-(.+)
#[test]
fn celery_flower_task() {
    let d = fixture("celery-flower-task");
    let none = HeaderMap::new();
    let submitted = parse(r#"{"task-id": "af2d-91", "state": "PENDING"}"#);
    // The task id is the operation's id (what `POST /api/task/revoke/{/operation_id}` reads),
    // and a member read: a second `task-id` makes a body malformed.
    assert_eq!(d.find_id(&none, &submitted).as_deref(), Some("af2d-91"));
    assert!(d.consults("/task-id"));
    assert_eq!(
        d.status_url(
            &none,
            Some(&submitted),
            &url("http://flower.example:5555/api/task/async-apply/tasks.add")
        ),
        Ok(Some(url(
            "http://flower.example:5555/api/task/result/af2d-91"
        )))
    );
    assert_eq!(
        answer(
            &d,
            200,
            &[],
            r#"{"task-id": "af2d-91", "state": "STARTED"}"#
        )
        .1,
        Meaning::Running
    );
    // The output is a text at the error's place: a success word keeps it a success.
    let ok = r#"{"task-id": "af2d-91", "state": "SUCCESS", "result": "all 3 files converted"}"#;
    assert_eq!(answer(&d, 200, &[], ok).1, Meaning::Succeeded);
    assert_eq!(
        d.result(
            &none,
            ok.as_bytes(),
            Some(&parse(ok)),
            (&url("http://flower.example/"), None)
        ),
        Ok(Some(ResultTarget::Embedded(
            ok.find("\"all").unwrap()..ok.len() - 1
        )))
    );
    let bad = r#"{"task-id": "af2d-91", "state": "FAILURE", "result": "ZeroDivisionError('division by zero')"}"#;
    assert_eq!(
        answer(&d, 200, &[], bad),
        (
            Some("FAILURE".into()),
            Meaning::Failed,
            Some("ZeroDivisionError('division by zero')".into()),
            None
        )
    );
    assert_eq!(
        answer(&d, 200, &[], r#"{"state": "REVOKED"}"#).1,
        Meaning::Canceled
    );
}

// AWS Elemental MediaConvert: `POST /2017-08-29/jobs` answers `201 {"job": {"id", "status":
// "SUBMITTED", …}}`; `GET /2017-08-29/jobs/{id}` answers the job, `status` SUBMITTED,
// PROGRESSING, COMPLETE, CANCELED or ERROR, with `jobPercentComplete`, `errorCode` and
// `errorMessage`.
// https://docs.aws.amazon.com/mediaconvert/latest/apireference/jobs.html#jobs-http-methods
// https://docs.aws.amazon.com/mediaconvert/latest/apireference/jobs-id.html#jobs-id-http-methods
#[test]
fn aws_mediaconvert_job() {
    let d = fixture("aws-mediaconvert-job");
    let none = HeaderMap::new();
    let created = parse(r#"{"job": {"id": "1671477617078-2886ye", "status": "SUBMITTED"}}"#);
    assert_eq!(
        d.status_url(
            &none,
            Some(&created),
            &url("https://mediaconvert.us-west-2.amazonaws.com/2017-08-29/jobs")
        ),
        Ok(Some(url(
            "https://mediaconvert.us-west-2.amazonaws.com/2017-08-29/jobs/1671477617078-2886ye"
        )))
    );
    assert!(d.carries_word(&none, Some(&created)));
    assert_eq!(
        answer(
            &d,
            200,
            &[],
            r#"{"job": {"status": "PROGRESSING", "jobPercentComplete": 42}}"#
        ),
        (
            Some("PROGRESSING".into()),
            Meaning::Running,
            None,
            Some(42.0)
        )
    );
    assert_eq!(
        answer(&d, 200, &[], r#"{"job": {"status": "COMPLETE"}}"#).1,
        Meaning::Succeeded
    );
    assert_eq!(
        answer(
            &d,
            200,
            &[],
            r#"{"job": {"status": "ERROR", "errorCode": 1010, "errorMessage": "Unable to open input file"}}"#
        ),
        (
            Some("ERROR".into()),
            Meaning::Failed,
            Some("1010: Unable to open input file".into()),
            None
        )
    );
    assert_eq!(
        answer(&d, 200, &[], r#"{"job": {"status": "CANCELED"}}"#).1,
        Meaning::Canceled
    );
}

#[test]
fn progress_reads_numbers_fractions_and_percentages() {
    for (text, want) in [
        ("42", Some(42.0)),
        (" 42.5% ", Some(42.5)),
        ("1024/4096", Some(25.0)),
        ("4096 / 4096", Some(100.0)),
        ("1/0", None),
        ("5/4", None),
        ("-3", None),
        ("NaN", None),
        ("Exporting (step 2 of 3)", None),
        ("", None),
    ] {
        assert_eq!(percent_text(text), want, "{text}");
    }
}

/// Where the operation id is: a string or a number at a pointer (trimmed), a header's value;
/// nothing for an empty text, a boolean, an object, or no `operation_id` at all.
#[test]
fn the_operation_id_is_read_where_the_description_says() {
    let at = |place: &str| {
        DeclaredDialect::from_json(&format!(
            r#"{{"status_url": "self", "status_word": "/s", "operation_id": {place}}}"#
        ))
        .unwrap()
    };
    let (body, job) = (at(r#""/job/id""#), at(r#"{"header": "x-job-id"}"#));
    let h = headers(&[("x-job-id", " j-7 ")]);
    let none = HeaderMap::new();
    let rows: &[(&DeclaredDialect, &HeaderMap, &str, Option<&str>)] = &[
        (&body, &none, r#"{"job": {"id": " a-1 "}}"#, Some("a-1")),
        (&body, &none, r#"{"job": {"id": 42}}"#, Some("42")),
        (&body, &none, r#"{"job": {"id": "  "}}"#, None),
        (&body, &none, r#"{"job": {"id": true}}"#, None),
        (&body, &none, r#"{"job": {"id": {"v": 1}}}"#, None),
        (&body, &none, r#"{"job": {}}"#, None),
        (&body, &h, "null", None),
        (&job, &h, r#"{"job": {"id": "a-1"}}"#, Some("j-7")),
        (&job, &none, r#"{"job": {"id": "a-1"}}"#, None),
    ];
    for (d, headers, text, want) in rows {
        let body = parse(text);
        assert_eq!(d.find_id(headers, &body).as_deref(), *want, "{text}");
    }
    assert!(body.consults("/job/id") && body.consults("/job"));
    assert!(!job.consults("/job/id"));
    let plain = at("null");
    assert_eq!(plain.operation_id, None);
    assert_eq!(plain.find_id(&h, &parse(r#"{"job": {"id": "x"}}"#)), None);
}

#[test]
fn error_marks_failure_has_three_settings() {
    let base = r#"{"status_url": {"header": "Location"}, "status_word": "/s", "error": "/e""#;
    let read = |extra: &str, body: &str| {
        let d = DeclaredDialect::from_json(&format!("{base}{extra}}}")).unwrap();
        status(&d, body).1
    };
    let rows = [
        // (setting, body, meaning)
        ("", r#"{"s": "Succeeded", "e": "boom"}"#, Meaning::Succeeded),
        ("", r#"{"e": "boom"}"#, Meaning::Failed),
        ("", r#"{"s": "Running", "e": "boom"}"#, Meaning::Running),
        (
            r#", "error_marks_failure": true"#,
            r#"{"s": "Succeeded", "e": "boom"}"#,
            Meaning::Failed,
        ),
        (
            r#", "error_marks_failure": true"#,
            r#"{"e": "boom"}"#,
            Meaning::Failed,
        ),
        (
            r#", "error_marks_failure": false"#,
            r#"{"s": "Succeeded", "e": "boom"}"#,
            Meaning::Succeeded,
        ),
        (
            r#", "error_marks_failure": false"#,
            r#"{"e": "boom"}"#,
            Meaning::Running,
        ),
    ];
    for (extra, body, want) in rows {
        assert_eq!(read(extra, body), want, "{extra} {body}");
    }
}

#[test]
fn a_status_code_means_something_only_without_a_word() {
    let d = DeclaredDialect::from_json(
        r#"{"status_url": {"header": "Location"}, "status_word": "/s",
            "status_codes": {"200": "succeeded", "4XX": "failed", "409": "running"}}"#,
    )
    .unwrap();
    assert_eq!(
        answer(&d, 200, &[], r#"{"s": "Running"}"#).1,
        Meaning::Running
    );
    assert_eq!(answer(&d, 200, &[], "{}").1, Meaning::Succeeded);
    assert_eq!(answer(&d, 404, &[], "{}").1, Meaning::Failed);
    // One status listed wins over its class.
    assert_eq!(answer(&d, 409, &[], "{}").1, Meaning::Running);
    // Keys are written back in one spelling, and read again the same.
    let again = serde_json::to_string(&d).unwrap();
    assert!(again.contains(r#""4xx":"failed""#), "{again}");
    assert_eq!(DeclaredDialect::from_json(&again).unwrap(), d);
}

// A status in two fields (Databricks: `state.result_state` once a run is over,
// `state.life_cycle_state` before): `status_word` may list places, and the first that finds a
// word wins; a place that finds `null` or nothing passes on to the next.
// https://docs.databricks.com/api/workspace/jobs/getrun
#[test]
fn status_word_places_first_that_finds_a_word_wins() {
    let d = DeclaredDialect::from_json(
        r#"{"status_url": "self", "status_word":
            ["/state/result_state", {"header": "x-state"}, "/state/life_cycle_state"]}"#,
    )
    .unwrap();
    let none = headers(&[]);
    let said = headers(&[("x-state", " Queued ")]);
    let rows: &[(&HeaderMap, &str, Option<&str>, Meaning)] = &[
        (
            &none,
            r#"{"state": {"life_cycle_state": "RUNNING"}}"#,
            Some("RUNNING"),
            Meaning::Running,
        ),
        (
            &none,
            r#"{"state": {"life_cycle_state": "TERMINATED", "result_state": "FAILED"}}"#,
            Some("FAILED"),
            Meaning::Failed,
        ),
        (
            &said,
            r#"{"state": {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS"}}"#,
            Some("SUCCESS"),
            Meaning::Succeeded,
        ),
        (
            &said,
            r#"{"state": {"life_cycle_state": "RUNNING", "result_state": null}}"#,
            Some("Queued"),
            Meaning::Running,
        ),
        (&none, r#"{"state": {}}"#, None, Meaning::Running),
        // A blank word says nothing either: it does not hide the next place's.
        (
            &none,
            r#"{"state": {"life_cycle_state": "FAILED", "result_state": " "}}"#,
            Some("FAILED"),
            Meaning::Failed,
        ),
    ];
    for (h, body, word, meaning) in rows {
        let value = parse(body);
        let r = d.read_status(&d.vocabulary(), StatusCode::OK, h, &value);
        assert_eq!((r.word, r.meaning), (*word, *meaning), "{body}");
        assert_eq!(d.carries_word(h, Some(&value)), word.is_some(), "{body}");
    }
    assert!(
        !d.body_optional(),
        "a pointer among the places needs the body"
    );
    // One place is written back as it was read; a list as a list.
    let again = serde_json::to_value(&d).unwrap();
    assert_eq!(again["status_word"].as_array().map(Vec::len), Some(3));
    assert_eq!(DeclaredDialect::from_json(&again.to_string()).unwrap(), d);
    let one = DeclaredDialect::from_json(r#"{"status_url": "self", "status_word": "/s"}"#);
    assert_eq!(
        serde_json::to_value(one.unwrap()).unwrap()["status_word"],
        "/s"
    );
    // An empty list is no place at all; a `HEAD` check cannot read a pointer among them.
    for text in [
        r#"{"status_url": "self", "status_word": []}"#,
        r#"{"status_url": "self", "status_word": [{"header": "x-s"}, "/s"],
            "status_request": {"method": "HEAD"}}"#,
    ] {
        let err = DeclaredDialect::from_json(text).unwrap_err();
        assert!(
            matches!(
                err,
                DialectError::Invalid {
                    field: "status_word",
                    ..
                }
            ),
            "{text}: {err}"
        );
    }
}

// `status_word: null` reads as no place, as it did when `status_word` was one place at most
// (a list is allowed since): the HTTP status then says what an answer means.
#[test]
fn a_null_status_word_is_no_place() {
    let d = DeclaredDialect::from_json(
        r#"{"status_url": "self", "status_word": null, "status_codes": {"200": "succeeded"}}"#,
    )
    .unwrap();
    assert!(d.status_word.is_empty());
    assert_eq!(answer(&d, 200, &[], "{}").1, Meaning::Succeeded);
    assert!(DeclaredDialect::from_json(r#"{"status_url": "self", "status_word": null}"#).is_err());
}
