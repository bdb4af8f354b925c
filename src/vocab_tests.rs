//! Table tests of the status vocabulary: one row per word per real service, citing the public
//! document that lists the word.

use super::*;
use serde_json::json;

use Meaning::{Canceled as C, Failed as F, Running as R, Succeeded as S};

#[test]
fn normalize_ignores_case_spaces_dashes_and_underscores() {
    for spelling in [
        "In progress",
        "inProgress",
        "in-progress",
        "IN_PROGRESS",
        " In - Progress \t",
    ] {
        assert_eq!(normalize(spelling).as_str(), "inprogress", "{spelling:?}");
    }
    assert_eq!(normalize("").as_str(), "");
    assert_eq!(normalize("-_ -").as_str(), "");
    // Non-ASCII characters are kept as they are (no Unicode case folding).
    assert_eq!(normalize("Terminé").as_str(), "terminé");
    assert_eq!(normalize("ÉCHEC").as_str(), "Échec");
}

#[test]
fn normalize_stays_on_the_stack_for_short_words_and_agrees_on_long_ones() {
    assert!(matches!(
        normalize("PartiallySucceeded"),
        Normalized::Inline { .. }
    ));
    let long = "Waiting_For_The_Upstream_Dependency_To_Finish-Provisioning";
    let n = normalize(long);
    assert!(matches!(n, Normalized::Heap(_)));
    assert_eq!(
        n.as_str(),
        "waitingfortheupstreamdependencytofinishprovisioning"
    );
    // Exactly at the inline limit, and one past it, with a multi-byte character at the edge.
    let forty = "a".repeat(40);
    assert!(matches!(normalize(&forty), Normalized::Inline { .. }));
    let edge = format!("{}é", "a".repeat(39));
    assert_eq!(normalize(&edge).as_str(), edge);
    assert_eq!(
        normalize(&format!("{}X", "a".repeat(40))).as_str(),
        format!("{}x", "a".repeat(40))
    );
}

/// (service, word as documented, meaning, recognised, where it is documented)
const SERVICES: &[(&str, &str, Meaning, bool, &str)] = &[
    // Azure guidelines: the five words.
    // https://github.com/microsoft/api-guidelines/blob/vNext/azure/Guidelines.md#long-running-operations--jobs
    ("Azure", "NotStarted", R, true, "azure guidelines"),
    ("Azure", "Running", R, true, "azure guidelines"),
    ("Azure", "Succeeded", S, true, "azure guidelines"),
    ("Azure", "Failed", F, true, "azure guidelines"),
    ("Azure", "Canceled", C, true, "azure guidelines"),
    // Microsoft Graph copy monitor: `inProgress`, then `completed` (even on a 202).
    // https://learn.microsoft.com/en-us/graph/long-running-actions-overview
    (
        "Graph copy",
        "inProgress",
        R,
        true,
        "graph long-running actions",
    ),
    (
        "Graph copy",
        "completed",
        S,
        true,
        "graph long-running actions",
    ),
    // Document Intelligence analyze result `status`.
    // https://learn.microsoft.com/en-us/rest/api/aiservices/document-models/get-analyze-result
    (
        "Document Intelligence",
        "notStarted",
        R,
        true,
        "get-analyze-result",
    ),
    (
        "Document Intelligence",
        "running",
        R,
        true,
        "get-analyze-result",
    ),
    (
        "Document Intelligence",
        "succeeded",
        S,
        true,
        "get-analyze-result",
    ),
    (
        "Document Intelligence",
        "failed",
        F,
        true,
        "get-analyze-result",
    ),
    (
        "Document Intelligence",
        "canceled",
        C,
        true,
        "get-analyze-result",
    ),
    // Cost Management: Generate Cost Details Report, operation results `status`.
    // https://learn.microsoft.com/en-us/rest/api/cost-management/generate-cost-details-report/get-operation-results
    // (Go azcore #19057: `Completed` was not terminal, PollUntilDone looped forever.)
    (
        "Cost Management",
        "Completed",
        S,
        true,
        "generate-cost-details-report",
    ),
    (
        "Cost Management",
        "InProgress",
        R,
        true,
        "generate-cost-details-report",
    ),
    (
        "Cost Management",
        "Queued",
        R,
        true,
        "generate-cost-details-report",
    ),
    (
        "Cost Management",
        "Failed",
        F,
        true,
        "generate-cost-details-report",
    ),
    // Document Translation: translation status.
    // https://learn.microsoft.com/en-us/azure/ai-services/translator/document-translation/reference/get-translation-status
    (
        "Document Translation",
        "NotStarted",
        R,
        true,
        "get-translation-status",
    ),
    (
        "Document Translation",
        "Running",
        R,
        true,
        "get-translation-status",
    ),
    (
        "Document Translation",
        "Succeeded",
        S,
        true,
        "get-translation-status",
    ),
    (
        "Document Translation",
        "Failed",
        F,
        true,
        "get-translation-status",
    ),
    (
        "Document Translation",
        "Cancelled",
        C,
        true,
        "get-translation-status",
    ),
    (
        "Document Translation",
        "Cancelling",
        R,
        true,
        "get-translation-status",
    ),
    (
        "Document Translation",
        "ValidationFailed",
        F,
        true,
        "get-translation-status",
    ),
    // AI Language analyze-text jobs.
    // https://learn.microsoft.com/en-us/rest/api/language/analyze-text/analyze-text-job-status/analyze-text-job-status
    // (azure-sdk-for-js #23900: core-lro kept polling on `partiallySucceeded`.)
    (
        "AI Language",
        "notStarted",
        R,
        true,
        "analyze-text-job-status",
    ),
    ("AI Language", "running", R, true, "analyze-text-job-status"),
    (
        "AI Language",
        "succeeded",
        S,
        true,
        "analyze-text-job-status",
    ),
    (
        "AI Language",
        "partiallyCompleted",
        S,
        true,
        "analyze-text-job-status",
    ),
    (
        "AI Language",
        "partiallySucceeded",
        S,
        true,
        "analyze-text-job-status",
    ),
    ("AI Language", "failed", F, true, "analyze-text-job-status"),
    (
        "AI Language",
        "cancelled",
        C,
        true,
        "analyze-text-job-status",
    ),
    (
        "AI Language",
        "cancelling",
        R,
        true,
        "analyze-text-job-status",
    ),
    // Compute Engine Operation `status`: PENDING, RUNNING or DONE.
    // https://cloud.google.com/compute/docs/reference/rest/v1/zoneOperations
    ("Compute Engine", "PENDING", R, true, "compute operations"),
    ("Compute Engine", "RUNNING", R, true, "compute operations"),
    ("Compute Engine", "DONE", S, true, "compute operations"),
    // DigitalOcean action `status`: "in-progress", "completed" or "errored".
    // https://docs.digitalocean.com/reference/api/digitalocean/#tag/Actions
    (
        "DigitalOcean",
        "in-progress",
        R,
        true,
        "digitalocean actions",
    ),
    ("DigitalOcean", "completed", S, true, "digitalocean actions"),
    ("DigitalOcean", "errored", F, true, "digitalocean actions"),
    // OneDrive / Graph asyncJobStatus: notStarted | inProgress | completed | updating | failed |
    // deletePending | deleteFailed | waiting.
    // https://learn.microsoft.com/en-us/graph/api/resources/asyncjobstatus
    ("OneDrive", "notStarted", R, true, "asyncjobstatus"),
    ("OneDrive", "inProgress", R, true, "asyncjobstatus"),
    ("OneDrive", "completed", S, true, "asyncjobstatus"),
    ("OneDrive", "updating", R, true, "asyncjobstatus"),
    ("OneDrive", "failed", F, true, "asyncjobstatus"),
    ("OneDrive", "deletePending", R, true, "asyncjobstatus"),
    ("OneDrive", "deleteFailed", F, true, "asyncjobstatus"),
    ("OneDrive", "waiting", R, true, "asyncjobstatus"),
    // Durable Functions `runtimeStatus` (OrchestrationRuntimeStatus).
    // https://learn.microsoft.com/en-us/javascript/api/durable-functions/orchestrationruntimestatus
    // https://learn.microsoft.com/en-us/azure/azure-functions/durable/durable-functions-http-api
    (
        "Durable Functions",
        "Pending",
        R,
        true,
        "orchestrationruntimestatus",
    ),
    (
        "Durable Functions",
        "Running",
        R,
        true,
        "orchestrationruntimestatus",
    ),
    (
        "Durable Functions",
        "ContinuedAsNew",
        R,
        true,
        "orchestrationruntimestatus: a transient state",
    ),
    (
        "Durable Functions",
        "Suspended",
        R,
        true,
        "instance management: suspend/resume",
    ),
    (
        "Durable Functions",
        "Completed",
        S,
        true,
        "orchestrationruntimestatus",
    ),
    (
        "Durable Functions",
        "Failed",
        F,
        true,
        "orchestrationruntimestatus",
    ),
    (
        "Durable Functions",
        "Canceled",
        C,
        true,
        "orchestrationruntimestatus",
    ),
    // `Terminated` ("stopped abruptly") is terminal, but §3's default table does not list it:
    // the default vocabulary reports it as unrecognised (running until the deadline), and the
    // Durable Functions declared dialect (tests/fixtures/dialects/durable-functions.json) maps
    // it to canceled. See `durable_terminated_is_canceled_in_its_dialect`.
    (
        "Durable Functions",
        "Terminated",
        R,
        false,
        "orchestrationruntimestatus",
    ),
    // Speech batch transcription `status`.
    // https://learn.microsoft.com/en-us/azure/ai-services/speech-service/batch-transcription-get
    (
        "Speech batch",
        "NotStarted",
        R,
        true,
        "batch-transcription-get",
    ),
    (
        "Speech batch",
        "Running",
        R,
        true,
        "batch-transcription-get",
    ),
    (
        "Speech batch",
        "Succeeded",
        S,
        true,
        "batch-transcription-get",
    ),
    ("Speech batch", "Failed", F, true, "batch-transcription-get"),
    // Graph teamsAsyncOperationStatus: invalid, notStarted, inProgress, succeeded, failed.
    // https://learn.microsoft.com/en-us/graph/api/resources/teamsasyncoperationstatus
    (
        "Graph Teams",
        "notStarted",
        R,
        true,
        "teamsasyncoperationstatus",
    ),
    (
        "Graph Teams",
        "inProgress",
        R,
        true,
        "teamsasyncoperationstatus",
    ),
    (
        "Graph Teams",
        "succeeded",
        S,
        true,
        "teamsasyncoperationstatus",
    ),
    (
        "Graph Teams",
        "failed",
        F,
        true,
        "teamsasyncoperationstatus",
    ),
    (
        "Graph Teams",
        "invalid",
        R,
        false,
        "teamsasyncoperationstatus",
    ),
];

#[test]
fn default_vocabulary_reads_every_documented_word() {
    let vocab = Vocabulary::new();
    for &(service, word, meaning, recognised, doc) in SERVICES {
        let want = Classified {
            meaning,
            recognised,
        };
        assert_eq!(vocab.classify(word), want, "{service} {word:?} ({doc})");
        assert_eq!(classify_default(word), want, "{service} {word:?} ({doc})");
        // Every spelling of the same word means the same.
        for spelling in [
            word.to_uppercase(),
            word.to_lowercase(),
            format!(" {word} "),
        ] {
            assert_eq!(vocab.classify(&spelling), want, "{service} {spelling:?}");
        }
    }
}

#[test]
fn the_default_table_of_section_3() {
    let rows: &[(&[&str], Meaning)] = &[
        (
            &[
                "Succeeded",
                "Completed",
                "Complete",
                "Done",
                "Success",
                "Successful",
                "PartiallySucceeded",
                "PartiallyCompleted",
            ],
            S,
        ),
        (
            &[
                "Failed",
                "Failure",
                "Error",
                "Errored",
                "ValidationFailed",
                "DeleteFailed",
                "TestFailed",
                "x_failed",
            ],
            F,
        ),
        (&["Canceled", "Cancelled", "CANCELLED"], C),
        (
            &[
                "NotStarted",
                "Running",
                "InProgress",
                "Accepted",
                "Cancelling",
                "Canceling",
                "Updating",
                "Waiting",
                "Provisioning",
                "Pending",
                "Queued",
                "Started",
                "Processing",
                "Scheduled",
                "Creating",
                "Deleting",
                "Moving",
                "Migrating",
                "Executing",
                "Validating",
            ],
            R,
        ),
    ];
    for (words, meaning) in rows {
        for word in *words {
            assert_eq!(
                classify_default(word),
                Classified {
                    meaning: *meaning,
                    recognised: true
                },
                "{word}"
            );
        }
    }
    // Unknown words (and nonsense) are running, unrecognised; "failed" only counts as a suffix.
    for word in [
        "",
        "   ",
        "Frobnicating",
        "failedOver",
        "Terminated",
        "NoDataFound",
        "🙂",
        "succeeded!",
    ] {
        assert_eq!(classify_default(word), Classified::UNRECOGNISED, "{word:?}");
    }
}

#[test]
fn configured_words_extend_and_override_the_defaults() {
    let vocab = Vocabulary::new()
        .with_word(C, "Terminated")
        .with_word(S, "NO_DATA_FOUND")
        .with_word(F, "timed out")
        .with_word(R, "Completed") // a service whose `Completed` means one stage of several
        .with_word(S, "  ");
    assert_eq!(vocab.classify("terminated"), Classified::known(C));
    assert_eq!(vocab.classify("NoDataFound"), Classified::known(S));
    assert_eq!(vocab.classify("TimedOut"), Classified::known(F));
    assert_eq!(vocab.classify("completed"), Classified::known(R));
    assert_eq!(vocab.classify("Succeeded"), Classified::known(S));
    assert_eq!(vocab.classify("Weird"), Classified::UNRECOGNISED);
    let words: Vec<_> = vocab.extra_words().collect();
    assert_eq!(
        words,
        [
            ("terminated", C),
            ("nodatafound", S),
            ("timedout", F),
            ("completed", R)
        ]
    );
    // Re-adding a word replaces its meaning rather than adding a second entry.
    let vocab = vocab.with_word(F, "TERMINATED");
    assert_eq!(vocab.classify("Terminated"), Classified::known(F));
    assert_eq!(vocab.extra_words().count(), 4);
    assert!(format!("{vocab:?}").contains("terminated"));
}

#[test]
fn the_classifier_comes_first_and_sees_the_word_as_sent() {
    let vocab = Vocabulary::new()
        .with_word(S, "Finished")
        .with_classifier(|w| match w {
            "Finished" => Some(F), // exact spelling only
            w if w.starts_with("STAGE_") => Some(R),
            _ => None,
        });
    assert!(vocab.has_classifier());
    assert_eq!(vocab.classify("Finished"), Classified::known(F));
    assert_eq!(vocab.classify("finished"), Classified::known(S)); // falls back to the words
    assert_eq!(vocab.classify("STAGE_3"), Classified::known(R));
    assert_eq!(vocab.classify("Succeeded"), Classified::known(S));
    assert_eq!(vocab.classify("Other"), Classified::UNRECOGNISED);
    let cloned = vocab.clone();
    assert_eq!(cloned.classify("Finished"), Classified::known(F));
    assert!(format!("{vocab:?}").contains("<fn>"));
}

#[test]
fn durable_terminated_is_canceled_in_its_dialect() {
    // Durable Functions documents `Terminated` as "stopped abruptly" — by the terminate API, a
    // deliberate stop from outside, not a fault of the orchestration: it is canceled, the same
    // meaning Azure gives a stop on request. Failures are reported as `Failed`.
    let vocab = Vocabulary::new().with_word(C, "Terminated");
    assert_eq!(vocab.classify("Terminated"), Classified::known(C));
    assert!(vocab.classify("Terminated").meaning.is_failure());
}

#[test]
fn meaning_helpers() {
    assert!(!R.is_terminal() && S.is_terminal() && F.is_terminal() && C.is_terminal());
    assert!(!R.is_failure() && !S.is_failure() && F.is_failure() && C.is_failure());
    assert_eq!(
        [R, S, F, C].map(|m| m.to_string()),
        ["running", "succeeded", "failed", "canceled"]
    );
}

#[test]
fn the_error_object_rule() {
    let rows: &[(&str, Value, bool)] = &[
        // Compute Engine: `DONE` with `error.errors[]` is a failure.
        // https://cloud.google.com/compute/docs/reference/rest/v1/zoneOperations
        (
            "compute DONE + errors",
            json!({"errors": [{"code": "QUOTA_EXCEEDED", "message": "Quota 'CPUS' exceeded."}]}),
            true,
        ),
        ("compute empty errors", json!({"errors": []}), false),
        // Cost Management: `Completed` beside `{"code": "0", "message": null}` is a success.
        // https://learn.microsoft.com/en-us/rest/api/cost-management/generate-cost-details-report/get-operation-results
        (
            "cost management",
            json!({"code": "0", "message": null}),
            false,
        ),
        // OData error objects (Azure guidelines).
        (
            "odata message",
            json!({"code": "BadThing", "message": "It broke."}),
            true,
        ),
        (
            "odata blank message",
            json!({"code": "X", "message": "  "}),
            false,
        ),
        (
            "odata details only",
            json!({"code": "X", "details": [{"code": "Y"}]}),
            true,
        ),
        // Spec §3 counts lists only: a lone `details` object is no reported error.
        (
            "odata details object",
            json!({"details": {"code": "Y"}}),
            false,
        ),
        (
            "odata empty details",
            json!({"code": "X", "details": []}),
            false,
        ),
        ("code only", json!({"code": "InternalError"}), false),
        ("empty object", json!({}), false),
        ("message not a string", json!({"message": 42}), false),
        ("null", Value::Null, false),
        // Not an object: not §3's rule (a declared dialect's error pointer reads it, below).
        (
            "string",
            json!("Orchestrator function 'Hello' failed"),
            false,
        ),
        ("empty string", json!(""), false),
        ("number", json!(500), false),
        ("array", json!([{"message": "x"}]), false),
    ];
    for (what, error, want) in rows {
        assert_eq!(error_reports_failure(error), *want, "{what}: {error}");
    }
    assert!(error_value_reports_failure(&json!("Out of stock")));
    assert!(!error_value_reports_failure(&json!(" ")));
    assert!(error_value_reports_failure(&json!({"message": "x"})));
}
