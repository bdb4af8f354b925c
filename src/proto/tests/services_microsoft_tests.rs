//! One row per Microsoft service's documented wire shape (Graph, OneDrive, Azure AI, Cost
//! Management, the Asynchronous Request-Reply pattern), each citing the public document it
//! follows. The bodies are trimmed to the fields the layer reads.

use super::*;

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
