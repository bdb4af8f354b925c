//! One row per real service's documented wire shape ([what starts an operation](crate::_protocol#what-starts-an-operation), §3, §4, §4a, §10), each citing the
//! public document it follows. The bodies are trimmed to the fields the layer reads.

use super::*;
use crate::config::FinalState;
use crate::vocab::Meaning;

fn dialect(name: &str) -> Dialect {
    let text = match name {
        "digitalocean" => {
            include_str!("../../../tests/fixtures/dialects/digitalocean-droplet-actions.json")
        }
        "hal" => include_str!("../../../tests/fixtures/dialects/hal-task-resource.json"),
        "speech" => {
            include_str!("../../../tests/fixtures/dialects/speech-batch-transcription.json")
        }
        "durable" => include_str!("../../../tests/fixtures/dialects/durable-functions.json"),
        "teams" => include_str!("../../../tests/fixtures/dialects/graph-teams-operations.json"),
        "blob-copy" => include_str!("../../../tests/fixtures/dialects/azure-blob-copy.json"),
        "fhir" => include_str!("../../../tests/fixtures/dialects/fhir-bulk-export.json"),
        "ogc" => include_str!("../../../tests/fixtures/dialects/ogc-api-processes-job.json"),
        "flower" => include_str!("../../../tests/fixtures/dialects/celery-flower-task.json"),
        "mediaconvert" => {
            include_str!("../../../tests/fixtures/dialects/aws-mediaconvert-job.json")
        }
        other => panic!("no fixture {other}"),
    };
    Dialect::from_json(text).unwrap()
}

fn with(dialect: Dialect) -> LroOptions {
    LroOptions::new().dialect(dialect)
}

fn word(meta: &LroMetadata) -> (&str, Meaning) {
    (meta.status().as_str(), meta.status().meaning())
}

/// Microsoft Graph, driveItem copy: `202` + `Location` of a monitor on another host, which
/// answers `202 {"status":"inProgress"}` and, when done, `202 {"status":"completed",
/// "resourceId": …}` — a terminal `202`.
/// https://learn.microsoft.com/en-us/graph/api/driveitem-copy,
/// https://learn.microsoft.com/en-us/graph/long-running-actions-overview
#[test]
fn graph_copy_monitor_ends_on_a_terminal_202() {
    let run = drive(
        cfg(),
        "POST",
        "https://graph.microsoft.com/v1.0/me/drive/items/01A/copy",
        &[("authorization", "Bearer t")],
        r(
            202,
            &[(
                "location",
                "https://my.microsoftpersonalcontent.com/monitor/4A3407B5",
            )],
            "",
        ),
        &[
            r(
                202,
                &[],
                r#"{"operation":"itemCopy","percentageComplete":58.0,"status":"inProgress"}"#,
            ),
            r(
                202,
                &[],
                r#"{"operation":"itemCopy","resourceId":"01MOWKYVJML57KN2ANMBA3JZJS2MBGC7KM","status":"completed"}"#,
            ),
        ],
    );
    let (i, meta) = delivered(&run);
    assert_eq!((i, word(meta)), (1, ("completed", Meaning::Succeeded)));
    // The monitor is another origin: no credentials went there.
    assert!(!run.requests[0].headers().contains_key("authorization"));
}

/// OneDrive's copy/delete monitor reports `deleteFailed` (asyncJobStatus).
/// https://learn.microsoft.com/en-us/graph/api/resources/asyncjobstatus
#[test]
fn onedrive_delete_failed_is_a_failure() {
    let run = drive(
        cfg(),
        "DELETE",
        "https://graph.microsoft.com/v1.0/me/drive/items/01A",
        &[],
        r(
            202,
            &[("location", "https://graph.microsoft.com/v1.0/monitor/9")],
            "",
        ),
        &[r(
            200,
            &[],
            r#"{"status":"deleteFailed","errorCode":"accessDenied"}"#,
        )],
    );
    let e = failed(&run);
    assert_eq!(e.kind(), ErrorKind::OperationFailed);
    assert_eq!(e.operation_status().unwrap().as_str(), "deleteFailed");
}

/// Azure AI Document Intelligence, analyze: `202` + `Operation-Location`; `running`, then
/// `succeeded` with `analyzeResult` — a POST without `Location`: the terminal status response
/// is the result.
/// https://learn.microsoft.com/en-us/rest/api/aiservices/document-models/get-analyze-result
#[test]
fn document_intelligence_analyze() {
    let run = drive(
        cfg(),
        "POST",
        "https://westus.api.cognitive.microsoft.com/documentintelligence/documentModels/prebuilt-read:analyze?api-version=2024-11-30",
        &[],
        r(202, &[("operation-location", "https://westus.api.cognitive.microsoft.com/documentintelligence/documentModels/prebuilt-read/analyzeResults/3b7a?api-version=2024-11-30"), ("retry-after", "1")], ""),
        &[
            r(200, &[("retry-after", "1")], r#"{"status":"running","createdDateTime":"2024-11-30T10:00:00Z"}"#),
            r(200, &[], r#"{"status":"succeeded","analyzeResult":{"content":"Hello"}}"#),
        ],
    );
    let (i, meta) = delivered(&run);
    assert_eq!((i, word(meta)), (1, ("succeeded", Meaning::Succeeded)));
}

/// Azure Cost Management, generate cost details report: `202` + `Location` + `Retry-After`;
/// the monitor answers `202` while running and `200 {"status":"Completed", "manifest": …}` —
/// with an `error` object that reports nothing.
/// https://learn.microsoft.com/en-us/rest/api/cost-management/generate-cost-details-report/get-operation-results
#[test]
fn cost_management_completed_with_an_empty_error() {
    let run = drive(
        cfg(),
        "POST",
        "https://management.azure.com/subscriptions/s/providers/Microsoft.CostManagement/generateCostDetailsReport?api-version=2023-08-01",
        &[],
        r(202, &[("location", "https://management.azure.com/subscriptions/s/providers/Microsoft.CostManagement/costDetailsOperationResults/9?api-version=2023-08-01"), ("retry-after", "60")], ""),
        &[
            r(202, &[("retry-after", "60")], ""),
            r(200, &[], r#"{"id":"9","status":"Completed","manifest":{"blobCount":1},"error":{"code":"0","message":null}}"#),
        ],
    );
    let (i, meta) = delivered(&run);
    assert_eq!((i, word(meta)), (1, ("Completed", Meaning::Succeeded)));
    assert_eq!(run.sent[0].at_ms, 60_000);
}

/// Azure AI Translator, Document Translation: a batch whose inputs fail validation reports
/// `ValidationFailed` with an `error` — a failure, not a poll until the deadline.
/// https://learn.microsoft.com/en-us/azure/ai-services/translator/document-translation/reference/get-translation-status
#[test]
fn document_translation_validation_failed() {
    let run = drive(
        cfg(),
        "POST",
        "https://t.cognitiveservices.azure.com/translator/document/batches?api-version=2024-05-01",
        &[],
        r(202, &[("operation-location", "https://t.cognitiveservices.azure.com/translator/document/batches/7?api-version=2024-05-01")], ""),
        &[r(200, &[], r#"{"id":"7","status":"ValidationFailed","error":{"code":"InvalidRequest","message":"Target container is not writable.","innerError":{"code":"InvalidTargetDocumentAccessLevel"}}}"#)],
    );
    let e = failed(&run);
    assert_eq!(e.kind(), ErrorKind::OperationFailed);
    assert_eq!(e.odata_error().unwrap().code(), Some("InvalidRequest"));
}

/// Azure AI Language, analyze-text jobs: `partiallyCompleted` is a success whose word the
/// caller sees.
/// https://learn.microsoft.com/en-us/rest/api/language/analyze-text/analyze-text-job-status/analyze-text-job-status
#[test]
fn ai_language_partially_completed() {
    let run = drive(
        cfg(),
        "POST",
        "https://l.cognitiveservices.azure.com/language/analyze-text/jobs?api-version=2023-04-01",
        &[],
        r(202, &[("operation-location", "https://l.cognitiveservices.azure.com/language/analyze-text/jobs/5?api-version=2023-04-01")], ""),
        &[r(200, &[], r#"{"jobId":"5","status":"partiallyCompleted","errors":[{"code":"InvalidDocument"}],"tasks":{"completed":1,"failed":1}}"#)],
    );
    let (_, meta) = delivered(&run);
    assert_eq!(word(meta), ("partiallyCompleted", Meaning::Succeeded));
}

/// The Asynchronous Request-Reply pattern (Azure Architecture Center): the status endpoint
/// answers `200 {"status":"In progress"}` and, when done, redirects to the result (`302` in its
/// sample; RFC 9110 §15.4.4's `303` in its text).
/// https://learn.microsoft.com/en-us/azure/architecture/patterns/async-request-reply
#[test]
fn async_request_reply_pattern_redirects_to_the_result() {
    for status in [302, 303] {
        let done: R = r(status, &[("location", "/api/result/42?sig=tok")], "");
        let run = drive(
            cfg(),
            "POST",
            "https://app.example/api/jobs",
            &[],
            r(202, &[("location", "/api/status/42")], ""),
            &[
                r(200, &[], r#"{"status":"In progress"}"#),
                done,
                r(200, &[], "the result"),
            ],
        );
        let (i, meta) = delivered(&run);
        assert_eq!(i, 2);
        assert_eq!(
            meta.resource_url(),
            Some("https://app.example/api/result/42?sig=tok")
        );
        assert_eq!(run.sent[2].kind, PollKind::Resource);
    }
}

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

/// DigitalOcean droplet actions (a declared dialect): `201 {"action": {...}}`, polled at
/// `/v2/actions/{id}`, `completed` / `errored`; the droplet is fetched at the end.
/// https://docs.digitalocean.com/reference/api/digitalocean/#tag/Droplet-Actions
#[test]
fn digitalocean_actions_declared() {
    const SUBMIT: R = r(
        201,
        &[],
        r#"{"action":{"id":36804636,"status":"in-progress","type":"reboot","resource_id":3164444,"resource_type":"droplet"}}"#,
    );
    let run = drive_with(
        cfg(),
        with(dialect("digitalocean")),
        "POST",
        "https://api.digitalocean.com/v2/droplets/3164444/actions",
        &[("authorization", "Bearer t")],
        SUBMIT,
        &[
            r(
                200,
                &[],
                r#"{"action":{"id":36804636,"status":"completed","resource_id":3164444}}"#,
            ),
            r(200, &[], r#"{"droplet":{"id":3164444}}"#),
        ],
    );
    let (i, meta) = delivered(&run);
    assert_eq!(
        (i, meta.rule(), meta.dialect()),
        (1, Rule::Declared, "DigitalOcean droplet actions")
    );
    assert_eq!(
        run.sent[0].uri,
        "https://api.digitalocean.com/v2/actions/36804636"
    );
    assert_eq!(
        run.sent[1].uri,
        "https://api.digitalocean.com/v2/droplets/3164444"
    );
    let run = drive_with(
        cfg(),
        with(dialect("digitalocean")),
        "POST",
        "https://api.digitalocean.com/v2/droplets/3164444/actions",
        &[],
        SUBMIT,
        &[r(
            200,
            &[],
            r#"{"action":{"id":36804636,"status":"errored"}}"#,
        )],
    );
    assert_eq!(failed(&run).operation_status().unwrap().as_str(), "errored");
}

/// A HAL task resource (adidas API guidelines): `202` with `_links.self.href`; `200` while
/// processing; `303` to the outcome when done.
/// https://adidas.gitbook.io/api-guidelines/rest-api-guidelines/execution/asynchronous-tasks
#[test]
fn hal_task_resource_declared_303() {
    let run = drive_with(
        cfg(),
        with(dialect("hal")),
        "POST",
        "https://api.example/orders",
        &[],
        r(
            202,
            &[],
            r#"{"status":"processing","_links":{"self":{"href":"/tasks/1"}}}"#,
        ),
        &[
            r(
                200,
                &[],
                r#"{"status":"processing","_links":{"self":{"href":"/tasks/1"}}}"#,
            ),
            r(303, &[("location", "/orders/77")], ""),
            r(200, &[], r#"{"id":77}"#),
        ],
    );
    let (i, meta) = delivered(&run);
    assert_eq!(
        (i, meta.resource_url()),
        (2, Some("https://api.example/orders/77"))
    );
    assert_eq!(run.sent[0].uri, "https://api.example/tasks/1");
}

/// Azure AI Speech batch transcription (a declared dialect): `201` with `self` and
/// `status: NotStarted`; `Succeeded` links the result files.
/// https://learn.microsoft.com/en-us/azure/ai-services/speech-service/batch-transcription-create,
/// https://learn.microsoft.com/en-us/azure/ai-services/speech-service/batch-transcription-get
#[test]
fn speech_batch_transcription_declared() {
    const SELF: &str =
        "https://eastus.api.cognitive.microsoft.com/speechtotext/v3.2/transcriptions/d9f1";
    let run = drive_with(
        cfg(),
        with(dialect("speech")),
        "POST",
        "https://eastus.api.cognitive.microsoft.com/speechtotext/v3.2/transcriptions",
        &[("ocp-apim-subscription-key", "k")],
        r(
            201,
            &[],
            r#"{"self":"https://eastus.api.cognitive.microsoft.com/speechtotext/v3.2/transcriptions/d9f1","status":"NotStarted"}"#,
        ),
        &[
            r(200, &[], r#"{"self":"x","status":"Running"}"#),
            r(
                200,
                &[],
                r#"{"self":"x","status":"Succeeded","links":{"files":"https://eastus.api.cognitive.microsoft.com/speechtotext/v3.2/transcriptions/d9f1/files"}}"#,
            ),
            r(200, &[], r#"{"values":[]}"#),
        ],
    );
    let (i, _) = delivered(&run);
    assert_eq!(i, 2);
    assert_eq!(run.sent[0].uri, SELF);
    assert_eq!(run.sent[2].uri, format!("{SELF}/files"));
    assert_eq!(run.requests[0].headers()["ocp-apim-subscription-key"], "k");
}

/// Azure Durable Functions (a declared dialect): `202` with `statusQueryGetUri`;
/// `runtimeStatus` `Running` then `Completed` with `output`, which is the final body; a failed
/// instance answers `500` with its status body.
/// https://learn.microsoft.com/en-us/azure/azure-functions/durable/durable-functions-http-api
#[test]
fn durable_functions_declared() {
    const SUBMIT: R = r(
        202,
        &[(
            "location",
            "https://fn.example/runtime/webhooks/durabletask/instances/abc",
        )],
        r#"{"id":"abc","statusQueryGetUri":"https://fn.example/runtime/webhooks/durabletask/instances/abc?code=XYZ"}"#,
    );
    const DONE: &str = r#"{"name":"Hello","instanceId":"abc","runtimeStatus":"Completed","output":["Hello Tokyo!","Hello Seattle!"]}"#;
    let run = drive_with(
        cfg(),
        with(dialect("durable")),
        "POST",
        "https://fn.example/api/orchestrators/Hello",
        &[],
        SUBMIT,
        &[
            r(202, &[], r#"{"runtimeStatus":"Running"}"#),
            r(200, &[], DONE),
        ],
    );
    let (_, delivered) = delivery(&run);
    assert_eq!(
        run.sent[0].uri,
        "https://fn.example/runtime/webhooks/durabletask/instances/abc?code=XYZ"
    );
    assert_eq!(
        &DONE[delivered.body.clone().unwrap()],
        r#"["Hello Tokyo!","Hello Seattle!"]"#
    );
    let run = drive_with(
        cfg(),
        with(dialect("durable")),
        "POST",
        "https://fn.example/api/orchestrators/Hello",
        &[],
        SUBMIT,
        &[r(
            500,
            &[],
            r#"{"runtimeStatus":"Failed","output":"Orchestrator function 'Hello' failed: boom"}"#,
        )],
    );
    assert_eq!(failed(&run).kind(), ErrorKind::OperationFailed);
}

/// Microsoft Graph Teams async operations (a declared dialect): `202` + a `Location` without
/// `/v1.0` (`/teams('…')/operations('…')`); `succeeded` names the new team in
/// `targetResourceLocation`.
/// https://learn.microsoft.com/en-us/graph/api/team-clone,
/// https://learn.microsoft.com/en-us/graph/api/resources/teamsasyncoperation
#[test]
fn graph_teams_operations_declared() {
    let run = drive_with(
        cfg(),
        with(dialect("teams")),
        "POST",
        "https://graph.microsoft.com/v1.0/teams/3/clone",
        &[],
        r(202, &[("location", "/teams('7')/operations('9')")], ""),
        &[
            r(
                200,
                &[],
                r#"{"id":"9","operationType":"cloneTeam","status":"inProgress"}"#,
            ),
            r(
                200,
                &[],
                r#"{"id":"9","status":"succeeded","targetResourceId":"7","targetResourceLocation":"/teams('7')"}"#,
            ),
            r(200, &[], r#"{"id":"7"}"#),
        ],
    );
    let (i, _) = delivered(&run);
    assert_eq!(i, 2);
    assert_eq!(
        run.sent[0].uri,
        "https://graph.microsoft.com/v1.0/teams('7')/operations('9')"
    );
    assert_eq!(
        run.sent[2].uri,
        "https://graph.microsoft.com/v1.0/teams('7')"
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

/// `LroOptions::start_only`: the submission's answer comes back with a handle; nothing is
/// polled, even when the server allows a poll at once.
#[test]
fn start_only_returns_the_answer_with_a_handle() {
    let run = drive_with(
        cfg(),
        LroOptions::new().start_only(),
        "POST",
        SUBMIT_URL,
        &[],
        r(
            202,
            &[("operation-location", OPS), ("retry-after", "0")],
            "",
        ),
        &[],
    );
    let Outcome::Final(meta) = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert!(run.sent.is_empty());
    assert_eq!(meta.metadata.resume_handle().unwrap().operation_url(), OPS);
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

/// Graph's monitors write `percentageComplete`: it is the progress figure.
#[test]
fn graph_percentage_complete_is_progress() {
    let doc = StatusDocumentAlias::parse(
        br#"{"operation":"itemCopy","percentageComplete":58.0,"status":"inProgress"}"#,
    )
    .unwrap();
    assert_eq!(doc.percent_complete, Some(58.0));
}

use crate::status::StatusDocument as StatusDocumentAlias;

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

// ----- found in review -----

/// A resumed operation keeps the final-state choice its handle records, unless the resuming
/// request makes one of its own ([control](crate::_protocol#control)).
#[test]
fn a_resume_keeps_the_handles_final_state() {
    let mut c = cfg();
    c.deadline = Duration::from_secs(5);
    let run = drive_with(
        c,
        LroOptions::new().final_state(FinalState::StatusMonitor),
        "PUT",
        "https://s.example/things/1",
        &[],
        r(
            202,
            &[
                ("operation-location", "https://s.example/ops/1"),
                ("retry-after", "10"),
            ],
            "",
        ),
        &[],
    );
    let handle = failed(&run).resume_handle().unwrap().clone();
    assert_eq!(handle.final_state(), FinalState::StatusMonitor);
    let head = RequestHead::new(
        Method::GET,
        "https://s.example/things/1".parse().unwrap(),
        HeaderMap::new(),
    );
    let now = Instant::now();
    let body = Bytes::from_static(br#"{"status":"Succeeded"}"#);
    let answer = Answer {
        status: StatusCode::OK,
        headers: &HeaderMap::new(),
        body: Some(&body),
    };
    let (mut m, _) =
        Machine::resume(Arc::new(cfg()), &handle, &head, &Params::new(&cfg()), now).unwrap();
    assert!(
        matches!(
            m.handle_answer(Now::new(now, SystemTime::now()), answer),
            Action::Deliver(_)
        ),
        "no fetch of the PUT's URL"
    );
    // A choice made when resuming wins.
    let params = Params::new(&cfg()).final_state(FinalState::OriginalUri);
    let (mut m, _) = Machine::resume(Arc::new(cfg()), &handle, &head, &params, now).unwrap();
    let answer = Answer {
        status: StatusCode::OK,
        headers: &HeaderMap::new(),
        body: Some(&body),
    };
    assert!(matches!(
        m.handle_answer(Now::new(now, SystemTime::now()), answer),
        Action::Send { .. }
    ));
}

/// A submission to a host the SSRF guard always refuses, whose monitor is its own URL, is an
/// error naming the URL — never a panic.
#[test]
fn a_refused_request_url_as_monitor_is_an_error() {
    let run = drive(
        cfg(),
        "PUT",
        "http://169.254.169.254/metadata/x",
        &[],
        r(
            200,
            &[],
            r#"{"properties":{"provisioningState":"Creating"}}"#,
        ),
        &[],
    );
    let e = failed(&run);
    assert_eq!(e.kind(), ErrorKind::Insecure);
    assert!(matches!(
        e.reason(),
        Reason::Refused(UrlProblem::Internal { .. })
    ));
    let mut c = cfg();
    c.accepted_retry = true;
    let run = drive(
        c,
        "GET",
        "http://0.0.0.0:8080/stats",
        &[],
        r(202, &[], "{}"),
        &[],
    );
    assert_eq!(failed(&run).kind(), ErrorKind::Insecure);
}

/// An inner client followed a `303` to a result that has a `status` (and an id) of its own:
/// the result is the final response, not a monitor to poll.
#[test]
fn a_followed_redirect_to_a_result_with_a_status_of_its_own() {
    let now = Instant::now();
    let h = headers(&[("operation-location", "https://s.example/ops/1")]);
    let Ok(Begin::Lro(mut m, _)) = start(
        cfg(),
        "https://s.example/jobs",
        &h,
        Now::new(now, SystemTime::now()),
    ) else {
        panic!()
    };
    let running = Bytes::from_static(br#"{"id":"op-1","status":"Running"}"#);
    let answer = Answer {
        status: StatusCode::OK,
        headers: &HeaderMap::new(),
        body: Some(&running),
    };
    assert!(matches!(
        m.handle_answer(Now::new(now, SystemTime::now()), answer),
        Action::Send { .. }
    ));
    m.answered_from(&"https://s.example/results/vm1".parse().unwrap());
    let vm = Bytes::from_static(br#"{"id":"vm1","status":"Running"}"#);
    let answer = Answer {
        status: StatusCode::OK,
        headers: &HeaderMap::new(),
        body: Some(&vm),
    };
    let Action::Deliver(meta) = m.handle_answer(Now::new(now, SystemTime::now()), answer) else {
        panic!("the result is final")
    };
    assert_eq!(
        meta.metadata.resource_url(),
        Some("https://s.example/results/vm1")
    );
}

/// Found in review: a server that names the layer's own placeholder host (in any spelling) is
/// refused; the §3 error rule reads objects only and keeps the word; a refused redirect names
/// the operation it ended.
#[test]
fn review_rows_for_the_default_dialect() {
    let run = drive(
        cfg(),
        "POST",
        "http://h.example/jobs",
        &[],
        r(
            202,
            &[("operation-location", "http://ORIGIN-FORM.invalid/admin")],
            "",
        ),
        &[],
    );
    assert_eq!(failed(&run).kind(), ErrorKind::Insecure);

    let ol: R = r(
        202,
        &[("operation-location", "https://s.example/ops/1")],
        "",
    );
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        ol,
        &[r(200, &[], r#"{"status":"Succeeded","error":"oops"}"#)],
    );
    assert_eq!(
        delivered(&run).0,
        0,
        "a string error beside a success word is no reported error"
    );
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        ol,
        &[r(
            200,
            &[],
            r#"{"status":"DONE","error":{"message":"quota"}}"#,
        )],
    );
    let st = failed(&run).operation_status().unwrap().clone();
    assert_eq!((st.as_str(), st.meaning()), ("DONE", Meaning::Failed));

    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        ol,
        &[r(303, &[("location", "https://169.254.169.254/")], "")],
    );
    let e = failed(&run);
    assert_eq!(e.kind(), ErrorKind::Insecure);
    assert_eq!(e.operation_url(), Some("https://s.example/ops/1"));
}

/// A resume handle holds no credential's value: query parameters named like credentials are
/// left out, and the resuming request's URL supplies them again.
#[test]
fn handles_hold_no_query_credentials() {
    let mut c = cfg();
    c.deadline = Duration::from_secs(5);
    c.carry_query.push("subscription-key".into());
    let url = "https://us.atlas.microsoft.com/mapData?api-version=2.0&subscription-key=SECRET";
    let run = drive(
        c.clone(),
        "POST",
        url,
        &[],
        r(
            202,
            &[
                (
                    "operation-location",
                    "https://us.atlas.microsoft.com/mapData/operations/1?api-version=2.0",
                ),
                ("retry-after", "60"),
            ],
            "",
        ),
        &[],
    );
    let handle = failed(&run).resume_handle().unwrap().clone();
    let json = serde_json::to_string(&handle).unwrap();
    assert!(!json.contains("SECRET"), "{json}");
    assert_eq!(
        handle.request_url(),
        "https://us.atlas.microsoft.com/mapData?api-version=2.0"
    );
    // Resumed from a request whose URL carries the key again.
    let head = RequestHead::new(Method::GET, url.parse().unwrap(), HeaderMap::new());
    let (_, plan) = Machine::resume(
        Arc::new(c),
        &handle,
        &head,
        &Params::new(&cfg()),
        Instant::now(),
    )
    .unwrap();
    let Plan::Send { request, .. } = plan else {
        panic!()
    };
    assert_eq!(
        request.uri().to_string(),
        "https://us.atlas.microsoft.com/mapData/operations/1?api-version=2.0&subscription-key=SECRET"
    );
}

/// A server's own credentials in the URLs it hands out (a SAS `sig`, a presigned
/// `X-Amz-Signature`, a `token`) are left out of resume handles as the caller's are: every
/// name of the library's list, and the names its patterns match.
#[test]
fn handles_hold_no_server_credentials() {
    let mut c = cfg();
    c.deadline = Duration::from_secs(5);
    let names = crate::credentials::QUERY
        .iter()
        .map(|n| n.to_string())
        .chain(
            crate::credentials::PATTERNS
                .iter()
                .map(|p| format!("x{p}y")),
        );
    let query: Vec<String> = names
        .enumerate()
        .map(|(i, n)| format!("{n}=SRV{i}"))
        .collect();
    // The scripted answers are `'static`: leaked, once, in this test.
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    // A password in the server's own monitor URL is a credential too.
    let monitor = leak(format!(
        "https://op:SRVpass@s.example/ops/1?se=2030&{}",
        query.join("&")
    ));
    let location = leak(format!("https://s.example/result?{}&sv=1", query.join("&")));
    let answer: &'static [(&str, &str)] = Box::leak(Box::new([
        ("operation-location", monitor),
        ("location", location),
        ("retry-after", "60"),
    ]));
    let run = drive(
        c,
        "POST",
        "https://me:SRVmine@s.example/jobs",
        &[],
        r(202, answer, ""),
        &[],
    );
    let handle = failed(&run).resume_handle().unwrap().clone();
    let json = serde_json::to_string(&handle).unwrap();
    assert!(!json.contains("SRV"), "{json}");
    assert_eq!(handle.request_url(), "https://s.example/jobs");
    assert_eq!(handle.operation_url(), "https://s.example/ops/1?se=2030");
    assert_eq!(
        handle.submission_location(),
        Some("https://s.example/result?sv=1")
    );
}

/// Azure Blob Storage, Copy Blob (a declared dialect reading headers): `202` +
/// `x-ms-copy-status: pending`; the destination blob is checked with Get Blob Properties, a
/// `HEAD` of its own URL answering `x-ms-copy-status` and `x-ms-copy-progress`, until `success`
/// or `failed`; then the blob itself is the result (`GET`).
/// https://learn.microsoft.com/en-us/rest/api/storageservices/copy-blob#response-headers,
/// https://learn.microsoft.com/en-us/rest/api/storageservices/get-blob-properties#response-headers
#[test]
fn azure_blob_copy_declared() {
    const BLOB: &str = "https://acct.blob.core.windows.net/c/copy.bin";
    const SUBMIT: R = r(
        202,
        &[("x-ms-copy-id", "8e1a"), ("x-ms-copy-status", "pending")],
        "",
    );
    let copy_in = |d: Dialect, polls: &[R]| {
        drive_with(
            cfg(),
            with(d),
            "PUT",
            BLOB,
            &[("x-ms-copy-source", "https://src.example/a.bin")],
            SUBMIT,
            polls,
        )
    };
    let copy = |polls: &[R]| copy_in(dialect("blob-copy"), polls);
    let run = copy(&[
        r(
            200,
            &[
                ("x-ms-copy-status", "pending"),
                ("x-ms-copy-progress", "1024/4096"),
            ],
            "",
        ),
        r(200, &[("x-ms-copy-status", "success")], ""),
        r(
            200,
            &[("content-type", "application/octet-stream")],
            "\x00\x01\x02",
        ),
    ]);
    let (i, meta) = delivered(&run);
    assert_eq!((i, word(meta)), (2, ("success", Meaning::Succeeded)));
    assert_eq!(meta.resource_url(), Some(BLOB));
    let methods: Vec<_> = run.requests.iter().map(|q| q.method().clone()).collect();
    assert_eq!(methods, [Method::HEAD, Method::HEAD, Method::GET]);
    assert_eq!(
        run.sent.iter().map(|s| s.kind).collect::<Vec<_>>(),
        [PollKind::Status, PollKind::Status, PollKind::Resource]
    );
    assert!(run.sent.iter().all(|s| s.uri == BLOB));
    assert!(run.requests.iter().all(|q| q.body().is_none()));
    let run = copy(&[r(200, &[("x-ms-copy-status", "failed")], "")]);
    assert_eq!(failed(&run).kind(), ErrorKind::OperationFailed);
    let run = copy(&[r(200, &[("x-ms-copy-status", "aborted")], "")]);
    assert_eq!(
        failed(&run).operation_status().unwrap().meaning(),
        Meaning::Canceled
    );
    // The description before `self` (an empty template, polled with `GET`) keeps working:
    // the terminal answer is the result.
    let old = Dialect::from_json(
        r#"{"status_url": {"template": ""}, "status_word": {"header": "x-ms-copy-status"},
            "words": {"succeeded": ["success"], "running": ["pending"]}}"#,
    )
    .unwrap();
    let run = copy_in(old, &[r(200, &[("x-ms-copy-status", "success")], "\x00")]);
    assert_eq!(delivered(&run).0, 0);
    assert_eq!(run.requests[0].method(), Method::GET);
}

/// FHIR Bulk Data export (a declared dialect by HTTP status): `202` + `Content-Location`;
/// `202` + `X-Progress` while running, `200` with the manifest when complete, `500` with an
/// `OperationOutcome` when the export failed — a failure with its diagnostics, not retried.
/// https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request
#[test]
fn fhir_bulk_export_declared() {
    const SUBMIT: R = r(
        202,
        &[("content-location", "https://fhir.example/status/77")],
        "",
    );
    let export = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("fhir")),
            "GET",
            "https://fhir.example/$export?_type=Patient",
            &[
                ("prefer", "respond-async"),
                ("accept", "application/fhir+json"),
            ],
            SUBMIT,
            polls,
        )
    };
    let run = export(&[
        r(202, &[("x-progress", "Exporting Patient (40%)")], ""),
        r(
            200,
            &[("content-type", "application/json")],
            r#"{"transactionTime":"2026-12-01T10:00:00Z","request":"https://fhir.example/$export?_type=Patient","requiresAccessToken":true,"output":[{"type":"Patient","url":"https://fhir.example/files/1.ndjson"}],"error":[]}"#,
        ),
    ]);
    let (i, meta) = delivered(&run);
    assert_eq!((i, meta.status().meaning()), (1, Meaning::Succeeded));
    assert_eq!(run.sent[0].uri, "https://fhir.example/status/77");
    let run = export(&[r(
        500,
        &[("content-type", "application/fhir+json")],
        r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"Export job failed: disk full"}]}"#,
    )]);
    let err = failed(&run);
    assert_eq!(err.kind(), ErrorKind::OperationFailed);
    assert_eq!(
        err.odata_error().and_then(|e| e.message.as_deref()),
        Some("Export job failed: disk full")
    );
    assert_eq!(run.sent.len(), 1, "a failed export is not retried");
}

/// OGC API – Processes Part 1 (a declared dialect with a selector): `201` + `Location` of the
/// job; `statusInfo` `running` then `successful`, whose results link (by relation) is fetched.
/// https://docs.ogc.org/is/18-062r2/18-062r2.html#sc_retrieve_status_info
#[test]
fn ogc_api_processes_declared() {
    let run = drive_with(
        cfg(),
        with(dialect("ogc")),
        "POST",
        "https://p.example/processes/buffer/execution",
        &[("prefer", "respond-async")],
        r(
            201,
            &[("location", "https://p.example/jobs/81574318")],
            r#"{"jobID":"81574318","type":"process","status":"accepted"}"#,
        ),
        &[
            r(
                200,
                &[],
                r#"{"jobID":"81574318","status":"running","progress":40}"#,
            ),
            r(
                200,
                &[],
                r#"{"jobID":"81574318","status":"successful","message":"done","links":[{"href":"https://p.example/jobs/81574318","rel":"self"},{"href":"https://p.example/jobs/81574318/results","rel":"http://www.opengis.net/def/rel/ogc/1.0/results"}]}"#,
            ),
            r(200, &[], r#"{"buffered":{"value":1}}"#),
        ],
    );
    let (i, meta) = delivered(&run);
    assert_eq!((i, meta.dialect()), (2, "OGC API - Processes job"));
    assert_eq!(run.sent[2].uri, "https://p.example/jobs/81574318/results");
}

/// Celery through Flower (output beside errors): `result` holds the return value on `SUCCESS`
/// (the final body) and the exception on `FAILURE`.
/// https://flower.readthedocs.io/en/latest/api.html
#[test]
fn celery_flower_task_declared() {
    let task = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("flower")),
            "POST",
            "http://flower.example:5555/api/task/async-apply/tasks.convert",
            &[],
            r(200, &[], r#"{"task-id":"af2d-91","state":"PENDING"}"#),
            polls,
        )
    };
    const DONE: &str = r#"{"task-id":"af2d-91","state":"SUCCESS","result":"3 files converted"}"#;
    let run = task(&[
        r(200, &[], r#"{"task-id":"af2d-91","state":"STARTED"}"#),
        r(200, &[], DONE),
    ]);
    let (i, delivery) = delivery(&run);
    assert_eq!(i, 1);
    assert_eq!(
        run.sent[0].uri,
        "http://flower.example:5555/api/task/result/af2d-91"
    );
    assert_eq!(
        &DONE[delivery.body.clone().unwrap()],
        r#""3 files converted""#
    );
    let run = task(&[r(
        200,
        &[],
        r#"{"task-id":"af2d-91","state":"FAILURE","result":"ValueError('bad input')"}"#,
    )]);
    assert_eq!(
        failed(&run)
            .odata_error()
            .and_then(|e| e.message.as_deref()),
        Some("ValueError('bad input')")
    );
}

/// AWS Elemental MediaConvert over REST: `201 {"job": {"id", "status": "SUBMITTED"}}`, polled
/// at `/2017-08-29/jobs/{id}` until `COMPLETE` or `ERROR`.
/// https://docs.aws.amazon.com/mediaconvert/latest/apireference/jobs-id.html
#[test]
fn aws_mediaconvert_job_declared() {
    const URL: &str = "https://abcd1234.mediaconvert.us-west-2.amazonaws.com/2017-08-29/jobs";
    let job = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("mediaconvert")),
            "POST",
            URL,
            &[],
            r(
                201,
                &[],
                r#"{"job":{"id":"1671477617078-2886ye","status":"SUBMITTED"}}"#,
            ),
            polls,
        )
    };
    let run = job(&[
        r(
            200,
            &[],
            r#"{"job":{"id":"1671477617078-2886ye","status":"PROGRESSING","jobPercentComplete":40}}"#,
        ),
        r(
            200,
            &[],
            r#"{"job":{"id":"1671477617078-2886ye","status":"COMPLETE"}}"#,
        ),
    ]);
    let (i, meta) = delivered(&run);
    assert_eq!((i, word(meta)), (1, ("COMPLETE", Meaning::Succeeded)));
    assert_eq!(run.sent[0].uri, format!("{URL}/1671477617078-2886ye"));
    let run = job(&[r(
        200,
        &[],
        r#"{"job":{"status":"ERROR","errorCode":1010,"errorMessage":"Unable to open input file"}}"#,
    )]);
    assert_eq!(
        failed(&run)
            .odata_error()
            .and_then(|e| e.message.as_deref()),
        Some("Unable to open input file")
    );
}
