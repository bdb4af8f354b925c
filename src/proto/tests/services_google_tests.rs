//! Google's `Operation` (AIP-151) and Compute Engine's `Operation`, each row citing the public
//! document it follows: polls, results, failures, resumes, and what is not an operation.

use super::*;

/// Google `Operation` (AIP-151) over JSON/HTTP, e.g. Vertex AI: the submission answers
/// `200 {"name": "projects/…/operations/…", "done": false}`; polls `GET /v1/{name}`; `done` with
/// `response` delivers it; `done` with `error` (`google.rpc.Status`) is a failure.
/// https://google.aip.dev/151,
/// https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.operations/get
#[test]
fn google_operation() {
    const SUBMIT: R = r(
        200,
        &[("content-type", "application/json")],
        r#"{"name":"projects/p/locations/us-central1/operations/123","metadata":{"@type":"type.googleapis.com/x","genericMetadata":{}},"done":false}"#,
    );
    const URL: &str = "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/datasets";
    let run = drive_with(
        cfg(),
        with(Dialect::google()),
        "POST",
        URL,
        &[],
        SUBMIT,
        &[
            r(
                200,
                &[],
                r#"{"name":"projects/p/locations/us-central1/operations/123","metadata":{"progressPercent":40},"done":false}"#,
            ),
            r(
                200,
                &[],
                r#"{"name":"projects/p/locations/us-central1/operations/123","done":true,"response":{"@type":"type.googleapis.com/Dataset","name":"projects/p/datasets/9"}}"#,
            ),
        ],
    );
    let (_, meta) = delivered(&run);
    assert_eq!(run.sent[0].uri, "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/operations/123");
    assert_eq!(meta.rule(), Rule::GoogleOperation);
    assert_eq!(meta.dialect(), "google");
    let body = r#"{"name":"projects/p/locations/us-central1/operations/123","done":true,"response":{"@type":"type.googleapis.com/Dataset","name":"projects/p/datasets/9"}}"#;
    let range = delivery(&run).1.body.clone().unwrap();
    assert_eq!(
        &body[range],
        r#"{"@type":"type.googleapis.com/Dataset","name":"projects/p/datasets/9"}"#
    );

    let run = drive_with(
        cfg(),
        with(Dialect::google()),
        "POST",
        URL,
        &[],
        SUBMIT,
        &[r(
            200,
            &[],
            r#"{"name":"projects/p/locations/us-central1/operations/123","done":true,"error":{"code":3,"message":"Invalid dataset.","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest"}]}}"#,
        )],
    );
    let e = failed(&run);
    assert_eq!(e.kind(), ErrorKind::OperationFailed);
    assert_eq!(
        (
            e.odata_error().unwrap().code(),
            e.odata_error().unwrap().message()
        ),
        (Some("3"), Some("Invalid dataset."))
    );
    // Already done in the submission's answer: final at once.
    let run = drive_with(
        cfg(),
        with(Dialect::google()),
        "POST",
        URL,
        &[],
        r(
            200,
            &[],
            r#"{"name":"projects/p/operations/1","done":true,"response":{"ok":1}}"#,
        ),
        &[],
    );
    assert!(matches!(&run.outcome, Outcome::Final(meta) if meta.body.is_some()));
}

/// Compute Engine `Operation`: `200` with `kind: compute#operation`, polled at `selfLink`;
/// `DONE` fetches `targetLink`; `DONE` with `error.errors[]` is a failure; a delete's operation
/// is final.
/// https://cloud.google.com/compute/docs/reference/rest/v1/zoneOperations,
/// https://cloud.google.com/compute/docs/api/how-tos/api-requests-responses
#[test]
fn compute_engine_operation() {
    const BASE: &str = "https://compute.googleapis.com/compute/v1/projects/p/zones/us-central1-a";
    const SUBMIT: R = r(
        200,
        &[],
        r#"{"kind":"compute#operation","id":"1","name":"operation-1","operationType":"insert","status":"PENDING","targetLink":"https://compute.googleapis.com/compute/v1/projects/p/zones/us-central1-a/instances/vm-1","selfLink":"https://compute.googleapis.com/compute/v1/projects/p/zones/us-central1-a/operations/operation-1","progress":0}"#,
    );
    let run = drive_with(
        cfg(),
        with(Dialect::compute()),
        "POST",
        &format!("{BASE}/instances"),
        &[],
        SUBMIT,
        &[
            r(
                200,
                &[],
                r#"{"kind":"compute#operation","name":"operation-1","status":"RUNNING","progress":50,"selfLink":"x"}"#,
            ),
            r(
                200,
                &[],
                r#"{"kind":"compute#operation","name":"operation-1","operationType":"insert","status":"DONE","targetLink":"https://compute.googleapis.com/compute/v1/projects/p/zones/us-central1-a/instances/vm-1"}"#,
            ),
            r(200, &[], r#"{"kind":"compute#instance","name":"vm-1"}"#),
        ],
    );
    let (i, meta) = delivered(&run);
    assert_eq!(
        (i, meta.rule(), word(meta)),
        (2, Rule::ComputeOperation, ("DONE", Meaning::Succeeded))
    );
    assert_eq!(run.sent[0].uri, format!("{BASE}/operations/operation-1"));
    assert_eq!(run.sent[2].uri, format!("{BASE}/instances/vm-1"));

    let run = drive_with(
        cfg(),
        with(Dialect::compute()),
        "POST",
        &format!("{BASE}/instances"),
        &[],
        SUBMIT,
        &[r(
            200,
            &[],
            r#"{"kind":"compute#operation","name":"operation-1","status":"DONE","error":{"errors":[{"code":"QUOTA_EXCEEDED","message":"Quota 'CPUS' exceeded."}]},"httpErrorStatusCode":403}"#,
        )],
    );
    let e = failed(&run);
    assert_eq!(e.odata_error().unwrap().code(), Some("QUOTA_EXCEEDED"));

    let run = drive_with(
        cfg(),
        with(Dialect::compute()),
        "DELETE",
        &format!("{BASE}/instances/vm-1"),
        &[],
        SUBMIT,
        &[r(
            200,
            &[],
            r#"{"kind":"compute#operation","name":"operation-1","operationType":"delete","status":"DONE","targetLink":"https://compute.googleapis.com/compute/v1/projects/p/zones/us-central1-a/instances/vm-1"}"#,
        )],
    );
    assert_eq!(
        delivered(&run).0,
        0,
        "a delete's terminal operation is final"
    );
}

/// Resume handles carry the dialect: a Google operation continues as one.
#[test]
fn a_google_handle_resumes_as_google() {
    let mut c = cfg();
    c.deadline = Duration::from_secs(1);
    let run = drive_with(
        c,
        with(Dialect::google()),
        "POST",
        "https://svc.googleapis.com/v1/projects/p/things",
        &[],
        r(
            200,
            &[("retry-after", "5")],
            r#"{"name":"projects/p/operations/1","done":false}"#,
        ),
        &[],
    );
    let handle = failed(&run).resume_handle().unwrap().clone();
    assert_eq!(handle.dialect(), "google");
    let json = serde_json::to_string(&handle).unwrap();
    let handle: ResumeHandle = serde_json::from_str(&json).unwrap();
    let head = RequestHead::new(
        Method::GET,
        "https://svc.googleapis.com/v1/projects/p/things"
            .parse()
            .unwrap(),
        HeaderMap::new(),
    );
    let now = Instant::now();
    let (mut m, _) =
        Machine::resume(Arc::new(cfg()), &handle, &head, &Params::new(&cfg()), now).unwrap();
    assert_eq!(m.rule(), Rule::GoogleOperation);
    let body = Bytes::from_static(
        br#"{"name":"projects/p/operations/1","done":true,"error":{"code":9,"message":"no"}}"#,
    );
    let answer = Answer {
        status: StatusCode::OK,
        headers: &HeaderMap::new(),
        body: Some(&body),
    };
    assert!(
        matches!(m.handle_answer(Now::new(now, SystemTime::now()), answer), Action::Fail(e) if e.is_operation_failed())
    );
}

/// With the Google dialect named, a plain resource that has a `name` of its own is not an
/// operation (proto3 JSON omits `"done": false`, so `done` alone cannot tell them apart).
#[test]
fn a_google_resource_is_not_an_operation() {
    for body in [
        r#"{"name":"projects/p/datasets/9","displayName":"d"}"#,
        r#"{"name":"projects/p/locations/l/instances/i","state":"READY"}"#,
    ] {
        let body: &'static str = Box::leak(body.to_owned().into_boxed_str());
        let run = drive_with(
            cfg(),
            with(Dialect::google()),
            "GET",
            "https://svc.googleapis.com/v1/projects/p/datasets/9",
            &[],
            r(200, &[], body),
            &[],
        );
        assert!(matches!(run.outcome, Outcome::NotLro), "{body}");
    }
    // A running operation as proto3 JSON writes it: no `done`, a typed `metadata`.
    let run = drive_with(
        cfg(),
        with(Dialect::google()),
        "POST",
        "https://svc.googleapis.com/v1/projects/p/things",
        &[],
        r(
            200,
            &[],
            r#"{"name":"projects/p/things/t1","metadata":{"@type":"type.googleapis.com/google.cloud.x.OperationMetadata"}}"#,
        ),
        &[r(
            200,
            &[],
            r#"{"name":"projects/p/things/t1","done":true,"response":{}}"#,
        )],
    );
    assert_eq!(delivered(&run).0, 0);
}

/// Compute Engine names `www.googleapis.com` in `selfLink` for requests sent to
/// `compute.googleapis.com`: the poll keeps the caller's token (one service), which a
/// non-Google foreign origin would not get.
#[test]
fn compute_self_links_on_www_googleapis_keep_the_token() {
    let run = drive_with(
        cfg(),
        with(Dialect::compute()),
        "POST",
        "https://compute.googleapis.com/compute/v1/projects/p/zones/z/disks",
        &[("authorization", "Bearer ya29")],
        r(
            200,
            &[],
            r#"{"kind":"compute#operation","name":"op-1","status":"RUNNING","operationType":"insert","selfLink":"https://www.googleapis.com/compute/v1/projects/p/zones/z/operations/op-1","targetLink":"https://www.googleapis.com/compute/v1/projects/p/zones/z/disks/d"}"#,
        ),
        &[
            r(
                200,
                &[],
                r#"{"kind":"compute#operation","name":"op-1","status":"DONE","operationType":"insert","targetLink":"https://www.googleapis.com/compute/v1/projects/p/zones/z/disks/d"}"#,
            ),
            r(200, &[], r#"{"kind":"compute#disk","name":"d"}"#),
        ],
    );
    assert_eq!(delivered(&run).0, 1);
    for request in &run.requests {
        assert_eq!(
            request.headers()["authorization"],
            "Bearer ya29",
            "{}",
            request.uri()
        );
    }
    // Not for a host that only ends like it.
    let run = drive_with(
        cfg(),
        with(Dialect::compute()),
        "POST",
        "https://compute.googleapis.com/compute/v1/projects/p/zones/z/disks",
        &[("authorization", "Bearer ya29")],
        r(
            200,
            &[],
            r#"{"kind":"compute#operation","name":"op-1","status":"RUNNING","selfLink":"https://evilgoogleapis.com/op-1"}"#,
        ),
        &[r(
            200,
            &[],
            r#"{"kind":"compute#operation","name":"op-1","status":"DONE","operationType":"delete"}"#,
        )],
    );
    assert!(!run.requests[0].headers().contains_key("authorization"));
}
