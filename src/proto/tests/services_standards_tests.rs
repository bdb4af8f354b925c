//! One row per open standard's or public API's documented wire shape read by the default
//! dialect (FHIR bulk export, OData's `AsyncResult`, GitHub's statistics), each citing the public
//! document it follows. The bodies are trimmed to the fields the layer reads.

use super::*;

/// HL7 FHIR bulk data export: the kick-off answers `202` + `Content-Location`; the status
/// endpoint answers `202` (with `X-Progress`) while running and `200` with the manifest.
/// https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-kick-off-request
#[test]
fn fhir_bulk_export_content_location() {
    let run = drive(
        cfg(),
        "GET",
        "https://fhir.example/r4/$export",
        &[("prefer", "respond-async")],
        r(
            202,
            &[("content-location", "https://fhir.example/r4/bulkstatus/8")],
            "",
        ),
        &[
            r(202, &[("x-progress", "50%"), ("retry-after", "120")], ""),
            r(
                200,
                &[("content-type", "application/json")],
                r#"{"transactionTime":"2026-12-01T00:00:00Z","request":"https://fhir.example/r4/$export","requiresAccessToken":true,"output":[{"type":"Patient","url":"https://fhir.example/files/p.ndjson"}],"error":[]}"#,
            ),
        ],
    );
    let (i, meta) = delivered(&run);
    assert_eq!((i, meta.rule()), (1, Rule::ContentLocation));
    assert_eq!(run.sent[1].at_ms - run.sent[0].at_ms, 120_000);
    // Polls never carry `Prefer`.
    assert!(!run.requests[0].headers().contains_key("prefer"));
}

/// OData 4.01 asynchronous requests: the final monitor answer is `200` with `AsyncResult`
/// carrying the original request's status.
/// https://docs.oasis-open.org/odata/odata/v4.01/odata-v4.01-part1-protocol.html#sec_AsynchronousRequests
#[test]
fn odata_async_result() {
    let run = drive(
        cfg(),
        "POST",
        "https://odata.example/svc/Orders",
        &[],
        r(
            202,
            &[("location", "https://odata.example/svc/$monitor/1")],
            "",
        ),
        &[r(200, &[("asyncresult", "201")], r#"{"ID":1}"#)],
    );
    let (_, delivered) = delivery(&run);
    assert_eq!(delivered.status, Some(StatusCode::CREATED));
    let run = drive(
        cfg(),
        "POST",
        "https://odata.example/svc/Orders",
        &[],
        r(
            202,
            &[("location", "https://odata.example/svc/$monitor/1")],
            "",
        ),
        &[r(
            200,
            &[("asyncresult", "400")],
            r#"{"error":{"code":"BadRequest","message":"x"}}"#,
        )],
    );
    assert!(
        matches!(failed(&run).reason(), Reason::AsyncResult { result, .. } if result.as_u16() == 400)
    );
}

/// GitHub's repository statistics: `202` with nothing to poll means "computing, ask again"
/// (opt-in, `GET` only).
/// https://docs.github.com/en/rest/metrics/statistics#a-word-about-caching
#[test]
fn github_statistics_accepted_means_retry() {
    let mut c = cfg();
    c.accepted_retry = true;
    let run = drive(
        c,
        "GET",
        "https://api.github.com/repos/o/r/stats/contributors",
        &[("authorization", "Bearer t")],
        r(202, &[], "{}"),
        &[r(202, &[], "{}"), r(200, &[], r#"[{"total":135}]"#)],
    );
    let (i, meta) = delivered(&run);
    assert_eq!((i, meta.rule()), (1, Rule::AcceptedRetry));
    assert_eq!(
        run.sent[0].uri,
        "https://api.github.com/repos/o/r/stats/contributors"
    );
    // Off by default, and never for a method that is not safe.
    let run = drive(
        cfg(),
        "GET",
        "https://api.github.com/repos/o/r/stats/contributors",
        &[],
        r(202, &[], "{}"),
        &[],
    );
    assert!(matches!(run.outcome, Outcome::NotLro));
}

/// OData: the result behind `AsyncResult` is an entity that may have a `status` of its own;
/// the header decides.
#[test]
fn odata_async_result_wins_over_an_entity_status() {
    let run = drive(
        cfg(),
        "POST",
        "https://odata.example/svc/Orders",
        &[],
        r(
            202,
            &[("location", "https://odata.example/svc/$monitor/2")],
            "",
        ),
        &[r(
            200,
            &[("asyncresult", "201")],
            r#"{"ID":2,"status":"Pending"}"#,
        )],
    );
    assert_eq!(delivery(&run).1.status, Some(StatusCode::CREATED));
}
