//! Table tests of the Google dialects, on the shapes the public documents print.
#![allow(clippy::type_complexity)] // the tables are clearer spelled out

use super::*;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

#[test]
fn operations_as_documented() {
    // (what, body, name, done, outcome, progress)
    let rows: &[(&str, &str, &str, bool, Meaning, Option<f64>)] = &[
        // Vertex AI endpoints.create answers an Operation with metadata and no `done`.
        // https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.endpoints/create
        (
            "vertex create",
            r#"{"name": "projects/123/locations/us-central1/endpoints/456/operations/789",
                "metadata": {"@type": "type.googleapis.com/google.cloud.aiplatform.v1.CreateEndpointOperationMetadata",
                             "genericMetadata": {"createTime": "2024-01-01T00:00:00Z"}}}"#,
            "projects/123/locations/us-central1/endpoints/456/operations/789",
            false,
            Meaning::Running,
            None,
        ),
        (
            "vertex done",
            r#"{"name": "projects/123/locations/us-central1/endpoints/456/operations/789", "done": true,
                "response": {"@type": "type.googleapis.com/google.cloud.aiplatform.v1.Endpoint",
                             "name": "projects/123/locations/us-central1/endpoints/456"}}"#,
            "projects/123/locations/us-central1/endpoints/456/operations/789",
            true,
            Meaning::Succeeded,
            None,
        ),
        // An error is a google.rpc.Status; CANCELLED (1) is what operations.cancel leaves (AIP-151).
        (
            "failed",
            r#"{"name": "projects/p/locations/l/operations/1", "done": true,
                "error": {"code": 3, "message": "Invalid image.", "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest"}]}}"#,
            "projects/p/locations/l/operations/1",
            true,
            Meaning::Failed,
            None,
        ),
        (
            "canceled",
            r#"{"name": "operations/1", "done": true, "error": {"code": 1, "message": "Operation was cancelled."}}"#,
            "operations/1",
            true,
            Meaning::Canceled,
            None,
        ),
        // Cloud Speech LongRunningRecognizeMetadata has progressPercent.
        // https://cloud.google.com/speech-to-text/docs/reference/rest/v1/LongRunningRecognizeMetadata
        (
            "speech progress",
            r#"{"name": "7612202767953098924", "metadata": {"progressPercent": 34, "startTime": "2024-01-01T00:00:00Z"}}"#,
            "7612202767953098924",
            false,
            Meaning::Running,
            Some(34.0),
        ),
        // Spanner OperationProgress: metadata.progress.progressPercent.
        // https://cloud.google.com/spanner/docs/reference/rest/v1/OperationProgress
        (
            "spanner progress",
            r#"{"name": "projects/p/instances/i/databases/d/operations/o", "metadata": {"progress": {"progressPercent": 70}}}"#,
            "projects/p/instances/i/databases/d/operations/o",
            false,
            Meaning::Running,
            Some(70.0),
        ),
        (
            "snake progress",
            r#"{"name": "operations/2", "done": false, "metadata": {"progress_percent": "12.5"}}"#,
            "operations/2",
            false,
            Meaning::Running,
            Some(12.5),
        ),
        (
            "percent complete clamped",
            r#"{"name": "operations/3", "metadata": {"percentComplete": 140}}"#,
            "operations/3",
            false,
            Meaning::Running,
            Some(100.0),
        ),
        (
            "done without a name",
            r#"{"done": true, "response": {}}"#,
            "",
            true,
            Meaning::Succeeded,
            None,
        ),
        (
            "nulls",
            r#"{"name": "operations/4", "done": null, "error": null, "response": null, "metadata": null}"#,
            "operations/4",
            false,
            Meaning::Running,
            None,
        ),
    ];
    for &(what, body, name, done, outcome, progress) in rows {
        let op = GoogleOperation::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(op.name, name, "{what}");
        assert_eq!(op.done, done, "{what}");
        assert_eq!(op.outcome(), outcome, "{what}");
        assert_eq!(op.progress_percent, progress, "{what}");
    }
}

#[test]
fn the_response_is_handed_on_as_sent() {
    let body = br#"{"name":"operations/1","done":true,"response":{"name":"things/1", "b": 1.50, "a": [ ]}}"#;
    let op = GoogleOperation::parse(body).unwrap();
    assert_eq!(
        op.response_bytes(body),
        Some(&br#"{"name":"things/1", "b": 1.50, "a": [ ]}"#[..])
    );
    let failed =
        GoogleOperation::parse(br#"{"name":"operations/1","done":true,"error":{"code":5}}"#)
            .unwrap();
    assert_eq!(failed.response_bytes(b""), None);
    let e = failed.error.unwrap();
    assert_eq!((e.code, e.message.as_str(), e.details.len()), (5, "", 0));
}

#[test]
fn operation_body_errors() {
    let rows: &[(&str, OperationBodyError)] = &[
        ("", OperationBodyError::Empty),
        ("  \n", OperationBodyError::Empty),
        ("[1]", OperationBodyError::NotObject),
        ("\"x\"", OperationBodyError::NotObject),
        (r#"{"done": false}"#, OperationBodyError::MissingName),
        (r#"{"name": ""}"#, OperationBodyError::MissingName),
        (
            r#"{"name": 7}"#,
            OperationBodyError::BadField {
                field: "name",
                expected: "a string",
            },
        ),
        (
            r#"{"name": "operations/1", "done": "true"}"#,
            OperationBodyError::BadField {
                field: "done",
                expected: "a boolean",
            },
        ),
        (
            r#"{"name": "operations/1", "done": true, "error": "boom"}"#,
            OperationBodyError::BadField {
                field: "error",
                expected: "an object",
            },
        ),
    ];
    for (body, want) in rows {
        assert_eq!(
            GoogleOperation::parse(body.as_bytes()).unwrap_err(),
            *want,
            "{body}"
        );
        assert!(!want.to_string().is_empty());
    }
    assert!(matches!(
        GoogleOperation::parse(b"{nope"),
        Err(OperationBodyError::NotJson(_))
    ));
}

#[test]
fn version_segments() {
    for seg in [
        "v1",
        "v2",
        "v10",
        "v1beta",
        "v1beta1",
        "v1alpha",
        "v2alpha3",
        "v1p1beta1",
        "v1p2",
    ] {
        assert!(is_version_segment(seg), "{seg}");
    }
    for seg in [
        "",
        "v",
        "vx",
        "V1",
        "v1.0",
        "v1gamma",
        "version1",
        "v1beta1x",
        "1",
        "v1p",
        "pv1",
        "things:create",
    ] {
        assert!(!is_version_segment(seg), "{seg}");
    }
}

#[test]
fn poll_urls_under_the_service_root() {
    // (submission, name, base, poll URL)
    let rows: &[(&str, &str, Option<&str>, &str)] = &[
        // The rule of §10.
        (
            "https://svc/v1/projects/p/locations/l/things:create",
            "projects/p/locations/l/operations/123",
            None,
            "https://svc/v1/projects/p/locations/l/operations/123",
        ),
        // Vertex AI: regional host, name under an endpoint.
        // https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.operations/get
        (
            "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/endpoints?alt=json",
            "projects/123/locations/us-central1/endpoints/456/operations/789",
            None,
            "https://us-central1-aiplatform.googleapis.com/v1/projects/123/locations/us-central1/endpoints/456/operations/789",
        ),
        // Cloud Run Admin API v2.
        // https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.operations/get
        (
            "https://run.googleapis.com/v2/projects/p/locations/europe-west1/services?serviceId=hello",
            "projects/p/locations/europe-west1/operations/0a1b",
            None,
            "https://run.googleapis.com/v2/projects/p/locations/europe-west1/operations/0a1b",
        ),
        // A version segment further down the path, and a beta one.
        (
            "https://example.com/apis/things.example.com/v1beta2/namespaces/n/things",
            "namespaces/n/operations/9",
            None,
            "https://example.com/apis/things.example.com/v1beta2/namespaces/n/operations/9",
        ),
        // Cloud Speech names are bare ids under `operations/`: the base is overridden.
        // https://cloud.google.com/speech-to-text/docs/reference/rest/v1p1beta1/operations/get
        (
            "https://speech.googleapis.com/v1p1beta1/speech:longrunningrecognize",
            "7612202767953098924",
            Some("https://speech.googleapis.com/v1p1beta1/operations/"),
            "https://speech.googleapis.com/v1p1beta1/operations/7612202767953098924",
        ),
        (
            "https://gw.example.com/proxy/things",
            "operations/1",
            Some("https://gw.example.com/proxy/v1"),
            "https://gw.example.com/proxy/v1/operations/1",
        ),
        // A name that is already a URL.
        (
            "https://svc/v1/things",
            "https://other.example.com/v1/operations/1",
            None,
            "https://other.example.com/v1/operations/1",
        ),
        // Characters a path must escape are escaped, not taken as query or segments.
        ("https://svc/v1/x", "operations/a b", None, "https://svc/v1/operations/a%20b"),
    ];
    for &(submission, name, base, want) in rows {
        let base = base.map(url);
        let got = poll_url(&url(submission), name, base.as_ref())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.as_str(), want, "{submission} + {name}");
    }
}

#[test]
fn poll_url_errors() {
    let sub = url("https://svc/v1/projects/p/things:create");
    for name in [
        "",
        "/operations/1",
        "operations//1",
        "operations/../../admin",
        "./x",
        "a/..",
        "ops?x=1",
        "ops#f",
        "a\\b",
    ] {
        assert!(
            matches!(poll_url(&sub, name, None), Err(PollUrlError::BadName(_))),
            "{name:?}"
        );
    }
    let err = poll_url(&url("https://svc/api/things"), "operations/1", None).unwrap_err();
    assert!(matches!(err, PollUrlError::NoServiceRoot(_)));
    assert!(err.to_string().contains("base URL"));
    assert!(matches!(
        poll_url(&sub, "http://[bad/", None),
        Err(PollUrlError::BadUrl(_))
    ));
    assert_eq!(
        service_root(&url("https://svc/v1")).unwrap().as_str(),
        "https://svc/v1/"
    );
    assert_eq!(service_root(&url("https://svc/")), None);
}

/// Compute Engine `instances.insert` answers an Operation; `zoneOperations.get` polls its
/// selfLink. https://cloud.google.com/compute/docs/reference/rest/v1/zoneOperations and
/// https://cloud.google.com/compute/docs/api/how-tos/api-requests-responses
const COMPUTE_RUNNING: &str = r#"{
  "kind": "compute#operation",
  "id": "7127550864823803662",
  "name": "operation-1604621223134-5b36ffa6b7d05-b9bb8b3a-7f1e2fb6",
  "zone": "https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-a",
  "operationType": "insert",
  "targetLink": "https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-a/instances/my-instance",
  "targetId": "2504286545125349518",
  "status": "RUNNING",
  "user": "user@example.com",
  "progress": 0,
  "insertTime": "2020-11-05T16:07:03.548-08:00",
  "startTime": "2020-11-05T16:07:03.549-08:00",
  "selfLink": "https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-a/operations/operation-1604621223134-5b36ffa6b7d05-b9bb8b3a-7f1e2fb6"
}"#;

#[test]
fn compute_operations_as_documented() {
    let op = ComputeOperation::parse(COMPUTE_RUNNING.as_bytes()).unwrap();
    assert_eq!(op.status, ComputeStatus::Running);
    assert_eq!(op.outcome(), Meaning::Running);
    assert_eq!(op.progress, Some(0.0));
    assert!(op
        .self_link
        .as_deref()
        .unwrap()
        .ends_with("/operations/operation-1604621223134-5b36ffa6b7d05-b9bb8b3a-7f1e2fb6"));
    assert!(ComputeOperation::is_compute_operation(
        &serde_json::from_str(COMPUTE_RUNNING).unwrap()
    ));

    let done = COMPUTE_RUNNING
        .replace("\"RUNNING\"", "\"DONE\"")
        .replace("\"progress\": 0", "\"progress\": 100");
    let op = ComputeOperation::parse(done.as_bytes()).unwrap();
    assert_eq!(op.outcome(), Meaning::Succeeded);
    assert_eq!(
        op.final_target(),
        ComputeFinal::Fetch("https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-a/instances/my-instance".into())
    );

    // A delete's target is gone: the terminal operation is the final response.
    let deleted = done.replace("\"insert\"", "\"delete\"");
    let op = ComputeOperation::parse(deleted.as_bytes()).unwrap();
    assert!(op.is_delete());
    assert_eq!(op.final_target(), ComputeFinal::Operation);

    // DONE with error.errors[] is a failure, with the HTTP status it stands for.
    let failed = done.replace(
        "\"progress\": 100",
        r#""progress": 100,
           "error": {"errors": [{"code": "QUOTA_EXCEEDED", "message": "Quota 'CPUS' exceeded. Limit: 24.0 in region us-central1.", "location": "cpus"}]},
           "httpErrorStatusCode": 403, "httpErrorMessage": "FORBIDDEN""#,
    );
    let op = ComputeOperation::parse(failed.as_bytes()).unwrap();
    assert_eq!(op.outcome(), Meaning::Failed);
    assert_eq!(op.errors[0].code, "QUOTA_EXCEEDED");
    assert_eq!(op.errors[0].location.as_deref(), Some("cpus"));
    assert_eq!(op.http_error_status_code, Some(403));
    assert_eq!(op.http_error_message.as_deref(), Some("FORBIDDEN"));

    // PENDING, lower case, and an unknown word.
    for (status, want) in [
        ("PENDING", Meaning::Running),
        ("done", Meaning::Succeeded),
        ("ABORTING", Meaning::Running),
    ] {
        let body = format!(r#"{{"kind": "compute#operation", "status": "{status}"}}"#);
        assert_eq!(
            ComputeOperation::parse(body.as_bytes()).unwrap().outcome(),
            want,
            "{status}"
        );
    }
}

#[test]
fn compute_body_errors() {
    let rows: &[(&str, OperationBodyError)] = &[
        (
            r#"{"kind": "compute#operation"}"#,
            OperationBodyError::MissingStatus,
        ),
        (
            r#"{"kind": "compute#instance", "status": "RUNNING"}"#,
            OperationBodyError::WrongKind("compute#instance".into()),
        ),
        (
            r#"{"status": 3}"#,
            OperationBodyError::BadField {
                field: "status",
                expected: "a string",
            },
        ),
        (
            r#"{"status": "DONE", "selfLink": ["x"]}"#,
            OperationBodyError::BadField {
                field: "selfLink",
                expected: "a string",
            },
        ),
        ("[]", OperationBodyError::NotObject),
        ("", OperationBodyError::Empty),
    ];
    for (body, want) in rows {
        assert_eq!(
            ComputeOperation::parse(body.as_bytes()).unwrap_err(),
            *want,
            "{body}"
        );
    }
    // Odd but harmless values are ignored rather than fatal.
    let op = ComputeOperation::parse(
        br#"{"status": "DONE", "progress": "x", "httpErrorStatusCode": 70000, "error": null}"#,
    )
    .unwrap();
    assert_eq!(
        (op.progress, op.http_error_status_code, op.outcome()),
        (None, None, Meaning::Succeeded)
    );
}
