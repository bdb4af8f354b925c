//! The seed's own examples: Azure Maps Creator V1 and V2, success with and without a resource,
//! failure, and the schedule of `Retry-After: 30` done at 95 s.

use super::*;

#[test]
fn seed_v2_success_with_resource() {
    let run = drive(
        cfg(),
        "POST",
        SUBMIT_URL,
        &[],
        V2_SUBMIT,
        &[V2_RUNNING, V2_RUNNING, V2_SUCCEEDED_RES, RESOURCE],
    );
    assert_eq!(
        schedule(&run),
        [
            (1.0, OPS, Status),
            (31.0, OPS, Status),
            (61.0, OPS, Status),
            (61.0, TILESET, Resource)
        ]
    );
    let (i, meta) = delivered(&run);
    assert_eq!(i, 3, "the resource GET's response is final");
    assert_eq!(meta.rule(), Rule::OperationLocation);
    assert_eq!(meta.status(), &OperationStatus::parse("Succeeded"));
    assert_eq!(meta.operation_id(), Some("c58"));
    assert_eq!(meta.polls(), 3);
    assert_eq!(meta.resource_url(), Some(TILESET));
    assert_eq!(meta.elapsed(), Duration::from_secs(61));
}

#[test]
fn seed_v2_success_without_resource_and_failure() {
    let run = drive(
        cfg(),
        "POST",
        SUBMIT_URL,
        &[],
        V2_SUBMIT,
        &[V2_RUNNING, V2_SUCCEEDED],
    );
    assert_eq!(
        delivered(&run).0,
        1,
        "the terminal status response is final"
    );

    let run = drive(
        cfg(),
        "POST",
        SUBMIT_URL,
        &[],
        V2_SUBMIT,
        &[V2_RUNNING, FAILED],
    );
    let e = failed(&run);
    assert_eq!(e.kind(), ErrorKind::OperationFailed);
    assert_eq!(e.operation_id(), Some("c58"));
    assert_eq!(
        e.operation_status(),
        Some(&OperationStatus::parse("Failed"))
    );
    assert_eq!(e.status(), Some(StatusCode::OK));
    let odata = e.odata_error().unwrap();
    assert_eq!(odata.code(), Some("InvalidFeature"));
    assert_eq!(odata.details()[0].code(), Some("NoGeometry"));
    assert!(e.body().unwrap().starts_with(b"{\"operationId\""));
    assert_eq!(e.url(), Some(OPS));
    assert!(matches!(
        e.reason(),
        Reason::OperationFailed { state, error: Some(o), .. }
            if state.as_str() == "Failed" && o.message() == Some("The provided feature is invalid.")
    ));
}

#[test]
fn seed_v1_success_with_resource_without_and_failure() {
    let run = drive(
        cfg(),
        "POST",
        SUBMIT_URL,
        &[],
        V1_SUBMIT,
        &[V1_RUNNING, V1_CREATED, RESOURCE],
    );
    assert_eq!(
        schedule(&run),
        [
            (1.0, OPS, Status),
            (31.0, OPS, Status),
            (31.0, TILESET, Resource)
        ]
    );
    let (i, meta) = delivered(&run);
    assert_eq!((i, meta.rule(), meta.polls()), (2, Rule::Location, 2));

    // V1's `200 {"status":"Running"}` on the Location poll keeps polling; a terminal 200 is final.
    let run = drive(
        cfg(),
        "POST",
        SUBMIT_URL,
        &[],
        V1_SUBMIT,
        &[V1_RUNNING, V1_RUNNING, V1_OK],
    );
    assert_eq!(delivered(&run).0, 2);
    assert_eq!(
        delivered(&run).1.status(),
        &OperationStatus::parse("Succeeded")
    );

    let run = drive(
        cfg(),
        "POST",
        SUBMIT_URL,
        &[],
        V1_SUBMIT,
        &[V1_RUNNING, FAILED],
    );
    assert_eq!(failed(&run).kind(), ErrorKind::OperationFailed);
    assert_eq!(
        failed(&run).odata_error().unwrap().code(),
        Some("InvalidFeature")
    );
}

#[test]
fn spec_example_schedule_retry_after_30_done_at_95s() {
    // Server: Retry-After 30 everywhere, done once 95 s have passed.
    const SUBMIT: R = r(
        202,
        &[
            ("operation-location", "https://s.example/o"),
            ("retry-after", "30"),
        ],
        "",
    );
    const RUN: R = r(200, &[("retry-after", "30")], r#"{"status":"Running"}"#);
    const DONE: R = r(200, &[], r#"{"status":"Succeeded"}"#);
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        SUBMIT,
        &[RUN, RUN, RUN, DONE],
    );
    let at: Vec<u128> = run.sent.iter().map(|s| s.at_ms / 1000).collect();
    assert_eq!(at, [30, 60, 90, 120]);
}
