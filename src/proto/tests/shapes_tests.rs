//! What starts an operation and what ends it: the classification of a submission's answer,
//! `Azure-AsyncOperation` and its final-state rules, `Operation-Location`, `Location` and
//! `provisioningState`.

use super::*;

#[test]
fn classify_table() {
    let c = cfg();
    #[rustfmt::skip]
    let rows: &[(&str, u16, &[(&str, &str)], Classify)] = &[
        ("POST", 202, &[("operation-location", "x")], Classify::Inspect),
        ("POST", 202, &[("Azure-AsyncOperation", "x")], Classify::Inspect),
        ("POST", 202, &[("location", "x")], Classify::Inspect),
        ("POST", 202, &[], Classify::PassThrough),
        ("POST", 201, &[("operation-location", "x")], Classify::Inspect),
        ("PUT", 200, &[("azure-asyncoperation", "x")], Classify::Inspect),
        ("POST", 201, &[("location", "x")], Classify::PassThrough),
        ("POST", 400, &[("operation-location", "x")], Classify::PassThrough),
        ("GET", 200, &[("content-type", "application/json")], Classify::PassThrough),
        ("PUT", 200, &[("content-type", "application/json; charset=utf-8")], Classify::Inspect),
        ("PATCH", 201, &[], Classify::Inspect),
        ("PUT", 200, &[("content-type", "Application/Vnd.Api+JSON")], Classify::Inspect),
        ("PUT", 200, &[("content-type", "text/html")], Classify::PassThrough),
        ("PUT", 200, &[("content-type", "jso")], Classify::PassThrough),
        ("PUT", 200, &[("content-type", "application/json"), ("content-length", "99999999")], Classify::PassThrough),
        ("DELETE", 204, &[("location", "x")], Classify::PassThrough),
        ("GET", 303, &[("location", "x")], Classify::PassThrough),
    ];
    for (method, status, h, want) in rows {
        let got = classify(
            &c,
            &Dialect::default(),
            &method.parse().unwrap(),
            StatusCode::from_u16(*status).unwrap(),
            &headers(h),
        );
        assert_eq!(got, *want, "{method} {status} {h:?}");
    }
    let mut off = cfg();
    off.detect_provisioning_state = false;
    assert_eq!(
        classify(
            &off,
            &Dialect::default(),
            &Method::PUT,
            StatusCode::OK,
            &HeaderMap::new()
        ),
        Classify::PassThrough
    );
}

#[test]
fn arm_azure_async_operation_final_state_rules() {
    const AAO_RUNNING: R = r(200, &[], r#"{"status":"InProgress"}"#);
    const AAO_DONE: R = r(200, &[], r#"{"status":"succeeded"}"#);
    const ARM: &str = "https://management.azure.com/sub/rg/vm1?api-version=2024-01-01";
    const AAO: &str = "https://management.azure.com/ops/1?api-version=2024-01-01";
    const SUBMIT_PUT: R = r(
        201,
        &[
            ("Azure-AsyncOperation", "https://management.azure.com/ops/1"),
            ("Location", "somethingBadWhichShouldNotBeUsed"),
        ],
        r#"{"properties":{"provisioningState":"Creating"}}"#,
    );
    // PUT: the request's own URL; api-version carried onto the monitor.
    let run = drive(
        cfg(),
        "PUT",
        ARM,
        &[],
        SUBMIT_PUT,
        &[AAO_RUNNING, AAO_DONE, RESOURCE],
    );
    assert_eq!(
        schedule(&run),
        [(1.0, AAO, Status), (2.0, AAO, Status), (2.0, ARM, Resource)]
    );
    assert_eq!(delivered(&run).1.rule(), Rule::AzureAsyncOperation);

    // POST with Location: the submission's Location.
    const SUBMIT_POST: R = r(
        202,
        &[
            ("azure-asyncoperation", "/ops/1"),
            ("location", "/results/1"),
            ("retry-after", "0"),
        ],
        "",
    );
    let run = drive(cfg(), "POST", ARM, &[], SUBMIT_POST, &[AAO_DONE, RESOURCE]);
    assert_eq!(
        schedule(&run),
        [
            (0.0, AAO, Status),
            (
                0.0,
                "https://management.azure.com/results/1?api-version=2024-01-01",
                Resource
            )
        ]
    );

    // ... unless final-state-via says the status monitor (Azure's `azure-async-operation`).
    let mut c = cfg();
    c.final_state = FinalState::StatusMonitor;
    let run = drive(c, "POST", ARM, &[], SUBMIT_POST, &[AAO_DONE]);
    assert_eq!(delivered(&run).0, 0);
    // ... or per request: original-uri.
    let opts = LroOptions::new().final_state(FinalState::OriginalUri);
    let run = drive_with(
        cfg(),
        opts,
        "POST",
        ARM,
        &[],
        SUBMIT_POST,
        &[AAO_DONE, RESOURCE],
    );
    assert_eq!(run.sent[1].uri, ARM);

    // DELETE: the terminal status response.
    let run = drive(
        cfg(),
        "DELETE",
        ARM,
        &[],
        SUBMIT_POST,
        &[AAO_RUNNING, AAO_DONE],
    );
    assert_eq!(delivered(&run).0, 1);

    // A terminal provisioningState on 200/201 is final whatever headers it carries.
    const INLINE: R = r(
        200,
        &[("azure-asyncoperation", "http://localhost/fakeurl_crash")],
        r#"{"properties":{"provisioningState":"Succeeded"}}"#,
    );
    assert!(matches!(
        drive(cfg(), "PATCH", ARM, &[], INLINE, &[]).outcome,
        Outcome::NotLro
    ));
    // ... but a 202 is never final (LROPatch202WithAsyncAndLocationHeader).
    const P202: R = r(
        202,
        &[("azure-asyncoperation", "/ops/1"), ("location", "/final")],
        r#"{"properties":{"provisioningState":"Succeeded"}}"#,
    );
    let run = drive(
        cfg(),
        "PATCH",
        ARM,
        &[],
        P202,
        &[AAO_RUNNING, AAO_DONE, RESOURCE],
    );
    assert_eq!(run.sent[2].uri, ARM);
}

#[test]
fn operation_location_put_fetches_original_and_resource_location_wins() {
    const SUBMIT: R = r(
        202,
        &[("operation-location", "https://svc.example/ops/9")],
        "",
    );
    const DONE_RL: R = r(
        200,
        &[("resource-location", "/things/9")],
        r#"{"status":"Succeeded"}"#,
    );
    const DONE_BODY_RL: R = r(
        200,
        &[],
        r#"{"status":"Succeeded","resourceLocation":"things/7"}"#,
    );
    let run = drive(
        cfg(),
        "PUT",
        "https://svc.example/things/9",
        &[],
        SUBMIT,
        &[DONE_RL, RESOURCE],
    );
    assert_eq!(run.sent[1].uri, "https://svc.example/things/9");
    let run = drive(
        cfg(),
        "PUT",
        "https://svc.example/things/9",
        &[],
        SUBMIT,
        &[r(200, &[], r#"{"status":"Succeeded"}"#), RESOURCE],
    );
    assert_eq!(run.sent[1].uri, "https://svc.example/things/9");
    let run = drive(
        cfg(),
        "POST",
        "https://svc.example/jobs",
        &[],
        SUBMIT,
        &[DONE_BODY_RL, RESOURCE],
    );
    assert_eq!(
        run.sent[1].uri, "https://svc.example/ops/things/7",
        "relative to the monitor URL"
    );
}

#[test]
fn location_rules() {
    const SUBMIT: R = r(
        202,
        &[
            ("location", "https://svc.example/ops/1"),
            ("retry-after", "2"),
        ],
        "",
    );
    // 202 keeps polling and may move the monitor; 204 ends it.
    const MOVE: R = r(202, &[("location", "/ops/1b")], "");
    let run = drive(
        cfg(),
        "DELETE",
        "https://svc.example/things/1",
        &[],
        SUBMIT,
        &[MOVE, r(204, &[], "")],
    );
    assert_eq!(
        schedule(&run),
        [
            (2.0, "https://svc.example/ops/1", Status),
            (3.0, "https://svc.example/ops/1b", Status)
        ]
    );
    assert_eq!(delivered(&run).0, 1);
    assert_eq!(
        delivered(&run).1.operation_url(),
        "https://svc.example/ops/1b"
    );

    // A 200 that is not a status document is the final resource itself.
    let run = drive(
        cfg(),
        "PUT",
        "https://svc.example/things/1",
        &[],
        SUBMIT,
        &[r(200, &[], r#"{"id":"100","name":"foo"}"#)],
    );
    assert_eq!(delivered(&run).0, 0);
    // ... and so is one whose own `status` field is not an in-progress word.
    let run = drive(
        cfg(),
        "POST",
        "https://svc.example/x",
        &[],
        SUBMIT,
        &[r(200, &[], r#"{"id":"1","status":"Active"}"#)],
    );
    assert_eq!(delivered(&run).0, 0);
    // ARM Location polls: a provisioningState body.
    const DELETING: R = r(
        200,
        &[],
        r#"{"properties":{"provisioningState":"Deleting"}}"#,
    );
    let run = drive(
        cfg(),
        "DELETE",
        "https://svc.example/x",
        &[],
        SUBMIT,
        &[
            DELETING,
            r(200, &[], r#"{"properties":{"provisioningState":"Failed"}}"#),
        ],
    );
    assert_eq!(failed(&run).kind(), ErrorKind::OperationFailed);
    assert_eq!(
        failed(&run).operation_status(),
        Some(&OperationStatus::parse("Failed"))
    );
    let run = drive(
        cfg(),
        "DELETE",
        "https://svc.example/x",
        &[],
        SUBMIT,
        &[r(200, &[], r#"{"status":"Cancelled"}"#)],
    );
    assert_eq!(
        failed(&run).operation_status(),
        Some(&OperationStatus::parse("Cancelled"))
    );
    // An empty 201 with Location: fetch it.
    let run = drive(
        cfg(),
        "POST",
        "https://svc.example/x",
        &[],
        SUBMIT,
        &[r(201, &[("location", "/made/1")], ""), RESOURCE],
    );
    assert_eq!(run.sent[1].uri, "https://svc.example/made/1");
    // A relative Location against an origin-form request stays origin-form.
    const REL: R = r(
        202,
        &[("location", "/lroParameterizedEndpoints/results/1")],
        "",
    );
    let run = drive(
        cfg(),
        "POST",
        "/lroParameterizedEndpoints",
        &[],
        REL,
        &[r(200, &[], "\"success\"")],
    );
    assert_eq!(run.sent[0].uri, "/lroParameterizedEndpoints/results/1");
    assert_eq!(
        delivered(&run).1.operation_url(),
        "/lroParameterizedEndpoints/results/1"
    );
}

#[test]
fn provisioning_state_rules() {
    const URL: &str = "https://management.azure.com/sub/rg/acct?api-version=1";
    const CREATING: R = r(
        201,
        &[],
        r#"{"properties":{"provisioningState":"Creating"}}"#,
    );
    const UPDATING: R = r(
        200,
        &[],
        r#"{"properties":{"provisioningState":"Updating"}}"#,
    );
    const DONE: R = r(
        200,
        &[],
        r#"{"properties":{"provisioningState":"Succeeded"},"id":"a"}"#,
    );
    let run = drive(
        cfg(),
        "PUT",
        URL,
        &[],
        CREATING,
        &[UPDATING, r(202, &[], ""), DONE],
    );
    assert_eq!(
        schedule(&run),
        [(1.0, URL, Status), (2.0, URL, Status), (3.0, URL, Status)]
    );
    let (i, meta) = delivered(&run);
    assert_eq!((i, meta.rule()), (2, Rule::ProvisioningState));
    let run = drive(
        cfg(),
        "PUT",
        URL,
        &[],
        CREATING,
        &[r(
            200,
            &[],
            r#"{"properties":{"provisioningState":"Canceled"}}"#,
        )],
    );
    assert_eq!(failed(&run).kind(), ErrorKind::OperationFailed);
    let run = drive(cfg(), "PUT", URL, &[], CREATING, &[r(200, &[], "")]);
    assert_eq!(failed(&run).kind(), ErrorKind::Protocol);
    let run = drive(
        cfg(),
        "PUT",
        URL,
        &[],
        CREATING,
        &[r(200, &[], r#"{"id":"100"}"#)],
    );
    assert_eq!(
        delivered(&run).0,
        0,
        "no provisioningState on 200 means done"
    );
    // Not an LRO: POST, no provisioningState, or a terminal one.
    assert!(matches!(
        drive(cfg(), "POST", URL, &[], CREATING, &[]).outcome,
        Outcome::NotLro
    ));
    assert!(matches!(
        drive(cfg(), "PUT", URL, &[], r(201, &[], "{}"), &[]).outcome,
        Outcome::NotLro
    ));
    assert!(matches!(
        drive(cfg(), "PUT", URL, &[], r(201, &[], "not json"), &[]).outcome,
        Outcome::NotLro
    ));
}
