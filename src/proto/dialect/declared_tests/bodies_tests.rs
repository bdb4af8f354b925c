//! The fixtures read, and applied to the bodies the services document (DigitalOcean, a HAL task,
//! Speech batch transcription, Durable Functions, Graph Teams): the status URL, the word, the
//! result and the error, each service citing its public document.

use super::*;

#[test]
fn every_fixture_reads_checks_and_round_trips() {
    for (name, text) in FIXTURES {
        let d = DeclaredDialect::from_json(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            d.name.is_some() && d.doc.as_deref().is_some_and(|u| u.starts_with("https://")),
            "{name}"
        );
        let again = serde_json::to_string(&d).unwrap();
        assert_eq!(DeclaredDialect::from_json(&again).unwrap(), d, "{name}");
    }
}

// DigitalOcean: creating a droplet answers 202 with `links.actions[].href`; a droplet action
// answers 201 with an `action` and no link, polled at `/v2/actions/{id}`; the action's `status`
// is "in-progress", "completed" or "errored"; a finished action names its droplet.
// https://docs.digitalocean.com/reference/api/digitalocean/#operation/droplets_create
// https://docs.digitalocean.com/reference/api/digitalocean/#operation/dropletActions_post
// https://docs.digitalocean.com/reference/api/digitalocean/#operation/actions_get
const DO_CREATE: &str = r#"{"droplet": {"id": 3164444, "name": "example.com", "status": "new"},
  "links": {"actions": [{"id": 7515, "rel": "create", "href": "https://api.digitalocean.com/v2/actions/7515"}]}}"#;
const DO_ACTION: &str = r#"{"action": {"id": 36804636, "status": "in-progress", "type": "reboot",
  "started_at": "2020-11-14T16:29:21Z", "completed_at": null, "resource_id": 3164444,
  "resource_type": "droplet", "region_slug": "nyc3"}}"#;

#[test]
fn digitalocean_actions() {
    let d = fixture("digitalocean-droplet-actions");
    let submitted = url("https://api.digitalocean.com/v2/droplets");
    assert!(d.starts_polling(StatusCode::ACCEPTED) && d.starts_polling(StatusCode::CREATED));
    assert!(!d.starts_polling(StatusCode::OK));

    let create = d
        .status_url(&HeaderMap::new(), Some(&parse(DO_CREATE)), &submitted)
        .unwrap();
    assert_eq!(
        create.unwrap().as_str(),
        "https://api.digitalocean.com/v2/actions/7515"
    );
    let action = d
        .status_url(&HeaderMap::new(), Some(&parse(DO_ACTION)), &submitted)
        .unwrap();
    assert_eq!(
        action.unwrap().as_str(),
        "https://api.digitalocean.com/v2/actions/36804636"
    );
    // The create body carries no action status yet: running, unrecognised (nothing to read).
    assert_eq!(status(&d, DO_CREATE), (None, Meaning::Running, false, None));

    assert_eq!(
        status(&d, DO_ACTION),
        (Some("in-progress".into()), Meaning::Running, true, None)
    );
    let done = DO_ACTION.replace("in-progress", "completed");
    assert_eq!(status(&d, &done).1, Meaning::Succeeded);
    assert_eq!(
        status(&d, &DO_ACTION.replace("in-progress", "errored")).1,
        Meaning::Failed
    );
    let result = d.result(
        &HeaderMap::new(),
        done.as_bytes(),
        Some(&parse(&done)),
        (&submitted, None),
    );
    assert_eq!(
        result.unwrap(),
        Some(ResultTarget::Fetch(url(
            "https://api.digitalocean.com/v2/droplets/3164444"
        )))
    );
}

// HAL task-tracking resource: 202 with an application/hal+json task whose `_links.self.href`
// is polled; 200 while processing; 303 to the outcome when done (core §4a); 200 with
// application/problem+json when failed (RFC 9457: `title`, `status` as a number, `detail`).
// https://adidas.gitbook.io/api-guidelines/rest-api-guidelines/execution/asynchronous-tasks
#[test]
fn hal_task_resource() {
    let d = fixture("hal-task-resource");
    let submitted = url("https://api.example.com/orders/42/shipments");
    let task = r#"{"status": "processing", "_links": {"self": {"href": "/tasks/5f0e"}}}"#;
    let found = d
        .status_url(&HeaderMap::new(), Some(&parse(task)), &submitted)
        .unwrap();
    assert_eq!(
        found.unwrap().as_str(),
        "https://api.example.com/tasks/5f0e"
    );
    // Without the link, the Location header.
    let found = d
        .status_url(
            &headers(&[("location", "\"/tasks/77\"")]),
            Some(&json!({})),
            &submitted,
        )
        .unwrap();
    assert_eq!(found.unwrap().as_str(), "https://api.example.com/tasks/77");
    assert_eq!(
        status(&d, task),
        (Some("processing".into()), Meaning::Running, true, None)
    );

    let problem = r#"{"type": "https://example.com/probs/out-of-stock", "title": "Out of stock",
        "status": 409, "detail": "Item 12 is no longer available."}"#;
    assert_eq!(
        status(&d, problem),
        (
            None,
            Meaning::Failed,
            false,
            Some("\"Out of stock\"".into())
        )
    );
    // No result source: a 303 (core) or the terminal status response is the answer.
    assert_eq!(
        d.result(
            &HeaderMap::new(),
            task.as_bytes(),
            Some(&parse(task)),
            (&submitted, None)
        ),
        Ok(None)
    );
}

// Speech batch transcription: create answers 201 with the transcription (`self`, `status`
// "NotStarted"); `status` runs NotStarted → Running → Succeeded | Failed; the result files are
// at `links.files`; a failed transcription has `properties.error`.
// https://learn.microsoft.com/en-us/azure/ai-services/speech-service/batch-transcription-create
// https://learn.microsoft.com/en-us/azure/ai-services/speech-service/batch-transcription-get
const SPEECH: &str = r#"{
  "self": "https://eastus.api.cognitive.microsoft.com/speechtotext/v3.2/transcriptions/637d9333-6559-47a6-b8de-c7d732c1ddf3",
  "model": {"self": "https://eastus.api.cognitive.microsoft.com/speechtotext/v3.2/models/base/aaa321e9-5a4e-4db1-88a2-f251bbe7b555"},
  "links": {"files": "https://eastus.api.cognitive.microsoft.com/speechtotext/v3.2/transcriptions/637d9333-6559-47a6-b8de-c7d732c1ddf3/files"},
  "properties": {"diarizationEnabled": false, "wordLevelTimestampsEnabled": false, "channels": [0, 1]},
  "lastActionDateTime": "2024-05-10T18:39:09Z",
  "status": "NotStarted",
  "createdDateTime": "2024-05-10T18:39:07Z",
  "locale": "en-US",
  "displayName": "My Transcription"
}"#;

#[test]
fn speech_batch_transcription() {
    let d = fixture("speech-batch-transcription");
    let submitted =
        url("https://eastus.api.cognitive.microsoft.com/speechtotext/v3.2/transcriptions");
    assert!(d.starts_polling(StatusCode::CREATED) && !d.starts_polling(StatusCode::ACCEPTED));
    let found = d
        .status_url(&HeaderMap::new(), Some(&parse(SPEECH)), &submitted)
        .unwrap();
    assert_eq!(
        found.unwrap().as_str(),
        "https://eastus.api.cognitive.microsoft.com/speechtotext/v3.2/transcriptions/637d9333-6559-47a6-b8de-c7d732c1ddf3"
    );
    assert_eq!(
        status(&d, SPEECH),
        (Some("NotStarted".into()), Meaning::Running, true, None)
    );
    assert_eq!(
        status(&d, &SPEECH.replace("NotStarted", "Running")).1,
        Meaning::Running
    );

    let done = SPEECH.replace("NotStarted", "Succeeded");
    assert_eq!(status(&d, &done).1, Meaning::Succeeded);
    let result = d
        .result(
            &HeaderMap::new(),
            done.as_bytes(),
            Some(&parse(&done)),
            (&submitted, None),
        )
        .unwrap();
    assert_eq!(
        result,
        Some(ResultTarget::Fetch(url(
            "https://eastus.api.cognitive.microsoft.com/speechtotext/v3.2/transcriptions/637d9333-6559-47a6-b8de-c7d732c1ddf3/files"
        )))
    );

    let failed = SPEECH.replace("NotStarted", "Failed").replace(
        r#""channels": [0, 1]"#,
        r#""channels": [0, 1], "error": {"code": "InvalidData", "message": "Failed to download the audio file."}"#,
    );
    let (word, meaning, _, error) = status(&d, &failed);
    assert_eq!(
        (word.as_deref(), meaning),
        (Some("Failed"), Meaning::Failed)
    );
    assert!(error.unwrap().contains("InvalidData"));
    // A success word beside an error that reports one is a success unless the description
    // opts in (`error_marks_failure: true`); a missing word beside it is a failure.
    let odd = failed.replace("\"Failed\"", "\"Succeeded\"");
    assert_eq!(status(&d, &odd).1, Meaning::Succeeded);
    let strict = DeclaredDialect {
        error_marks_failure: Some(true),
        ..d.clone()
    };
    assert_eq!(status(&strict, &odd).1, Meaning::Failed);
    let wordless = failed.replace("\"status\": \"Failed\"", "\"state\": \"Failed\"");
    assert_ne!(wordless, failed);
    assert_eq!(status(&d, &wordless).1, Meaning::Failed);
}

// Durable Functions: starting an orchestration answers 202 with `Location` and a body of
// management URLs (`statusQueryGetUri`, ...); the status answers carry `runtimeStatus`
// (Pending, Running, Completed, ContinuedAsNew, Failed, Terminated, Suspended) and `output`,
// which on failure holds the error; a failed or terminated instance is answered 400.
// https://learn.microsoft.com/en-us/azure/azure-functions/durable/durable-functions-http-api
// https://learn.microsoft.com/en-us/javascript/api/durable-functions/orchestrationruntimestatus
const DURABLE_START: &str = r#"{
  "id": "abc123",
  "purgeHistoryDeleteUri": "https://myapp.azurewebsites.net/runtime/webhooks/durabletask/instances/abc123?code=XXX",
  "sendEventPostUri": "https://myapp.azurewebsites.net/runtime/webhooks/durabletask/instances/abc123/raiseEvent/{eventName}?code=XXX",
  "statusQueryGetUri": "https://myapp.azurewebsites.net/runtime/webhooks/durabletask/instances/abc123?code=XXX",
  "terminatePostUri": "https://myapp.azurewebsites.net/runtime/webhooks/durabletask/instances/abc123/terminate?reason={text}&code=XXX"
}"#;

#[test]
fn durable_functions() {
    let d = fixture("durable-functions");
    let submitted = url("https://myapp.azurewebsites.net/api/orchestrators/HelloCities");
    let found = d
        .status_url(&HeaderMap::new(), Some(&parse(DURABLE_START)), &submitted)
        .unwrap();
    assert_eq!(
        found.unwrap().as_str(),
        "https://myapp.azurewebsites.net/runtime/webhooks/durabletask/instances/abc123?code=XXX"
    );
    assert!(d.is_status_body(StatusCode::ACCEPTED) && d.is_status_body(StatusCode::BAD_REQUEST));
    assert!(!d.is_status_body(StatusCode::NOT_FOUND));

    let running = r#"{"runtimeStatus": "Running", "input": null, "customStatus": null, "output": null,
        "createdTime": "2024-05-10T18:39:07Z", "lastUpdatedTime": "2024-05-10T18:39:09Z"}"#;
    assert_eq!(
        status(&d, running),
        (Some("Running".into()), Meaning::Running, true, None)
    );
    for word in ["Pending", "ContinuedAsNew", "Suspended"] {
        assert_eq!(
            status(&d, &running.replace("Running", word)).1,
            Meaning::Running,
            "{word}"
        );
    }
    // Completed: the output is the result, even a string that reads like an error.
    let done = r#"{"runtimeStatus": "Completed", "input": null,
        "output": ["Hello Tokyo!", "Hello Seattle!", "Hello London!"],
        "createdTime": "2024-05-10T18:39:07Z", "lastUpdatedTime": "2024-05-10T18:39:31Z"}"#;
    assert_eq!(status(&d, done).1, Meaning::Succeeded);
    let result = d
        .result(
            &HeaderMap::new(),
            done.as_bytes(),
            Some(&parse(done)),
            (&submitted, None),
        )
        .unwrap();
    let Some(ResultTarget::Embedded(span)) = result else {
        panic!("{result:?}")
    };
    assert_eq!(
        &done[span],
        r#"["Hello Tokyo!", "Hello Seattle!", "Hello London!"]"#
    );
    let text_output = r#"{"runtimeStatus": "Completed", "output": "Error: none, all good"}"#;
    assert_eq!(status(&d, text_output).1, Meaning::Succeeded);

    let failed = r#"{"runtimeStatus": "Failed", "output": "Orchestrator function 'HelloCities' failed: boom"}"#;
    let (_, meaning, _, error) = status(&d, failed);
    assert_eq!(meaning, Meaning::Failed);
    assert!(error.unwrap().contains("boom"));
    // Terminated: canceled in this dialect (the default vocabulary does not know the word).
    assert_eq!(
        status(
            &d,
            r#"{"runtimeStatus": "Terminated", "output": "stopped by the operator"}"#
        )
        .1,
        Meaning::Canceled
    );
    // Null output finds no embedded result.
    let empty = r#"{"runtimeStatus": "Completed", "output": null}"#;
    assert_eq!(
        d.result(
            &HeaderMap::new(),
            empty.as_bytes(),
            Some(&parse(empty)),
            (&submitted, None)
        ),
        Ok(None)
    );
}

// Graph Teams: clone answers 202 with `Location: /teams('{id}')/operations('{id}')` — without
// `/v1.0` — and the teamsAsyncOperation's `targetResourceLocation` is root-relative too.
// https://learn.microsoft.com/en-us/graph/api/resources/teamsasyncoperation
// https://learn.microsoft.com/en-us/graph/api/team-clone
#[test]
fn graph_teams_operations() {
    let d = fixture("graph-teams-operations");
    let submitted =
        url("https://graph.microsoft.com/v1.0/teams/fbe2bf47-16c8-47cf-b4a5-4b9b187c508b/clone");
    let accepted = headers(&[
        ("location", "/teams('fbe2bf47-16c8-47cf-b4a5-4b9b187c508b')/operations('6a0d53f4-bf2b-4c84-9e4e-0b4b1f4d08c7')"),
        ("content-location", "/teams('1b9c2f5d-1111-2222-3333-444455556666')"),
    ]);
    let found = d.status_url(&accepted, None, &submitted).unwrap();
    assert_eq!(
        found.unwrap().as_str(),
        "https://graph.microsoft.com/v1.0/teams('fbe2bf47-16c8-47cf-b4a5-4b9b187c508b')/operations('6a0d53f4-bf2b-4c84-9e4e-0b4b1f4d08c7')"
    );
    let op = r#"{"id": "6a0d53f4-bf2b-4c84-9e4e-0b4b1f4d08c7", "operationType": "cloneTeam",
        "createdDateTime": "2024-05-10T18:39:07Z", "status": "inProgress",
        "lastActionDateTime": "2024-05-10T18:39:07Z", "attemptsCount": 1,
        "targetResourceId": "1b9c2f5d-1111-2222-3333-444455556666",
        "targetResourceLocation": "/teams('1b9c2f5d-1111-2222-3333-444455556666')", "error": null}"#;
    assert_eq!(
        status(&d, op),
        (Some("inProgress".into()), Meaning::Running, true, None)
    );
    let done = op.replace("inProgress", "succeeded");
    assert_eq!(status(&d, &done).1, Meaning::Succeeded);
    let result = d
        .result(
            &HeaderMap::new(),
            done.as_bytes(),
            Some(&parse(&done)),
            (&submitted, None),
        )
        .unwrap();
    assert_eq!(
        result,
        Some(ResultTarget::Fetch(url(
            "https://graph.microsoft.com/v1.0/teams('1b9c2f5d-1111-2222-3333-444455556666')"
        )))
    );
    let failed = op.replace("inProgress", "failed").replace(
        r#""error": null"#,
        r#""error": {"code": "Conflict", "message": "A team with this name exists."}"#,
    );
    let (_, meaning, _, error) = status(&d, &failed);
    assert_eq!(meaning, Meaning::Failed);
    assert!(error.unwrap().contains("Conflict"));
}

/// `embedded_json`: a string is read as the JSON document it holds (AWS Step Functions'
/// `DescribeExecution.output`); any other value is the result itself, as with `embedded`;
/// `null` or nothing finds nothing (the next source is asked); a string that holds no JSON
/// document is an error naming the place.
/// https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html
#[test]
fn embedded_json_reads_the_document_a_string_holds() {
    let d = fixture("aws-step-functions-execution");
    let states = url("https://states.us-east-1.amazonaws.com/");
    let result = |body: &str| {
        d.result(
            &HeaderMap::new(),
            body.as_bytes(),
            Some(&parse(body)),
            (&states, None),
        )
    };
    let done =
        r#"{"status": "SUCCEEDED", "output": "{\"greeting\": \"Hello \\u00e9\", \"n\": [1, 2]}"}"#;
    assert_eq!(
        result(done),
        Ok(Some(ResultTarget::Decoded(bytes::Bytes::from_static(
            br#"{"greeting": "Hello \u00e9", "n": [1, 2]}"#
        ))))
    );
    // A scalar document in a string: `"42"` holds the JSON number 42.
    assert_eq!(
        result(r#"{"status": "SUCCEEDED", "output": "42"}"#),
        Ok(Some(ResultTarget::Decoded(bytes::Bytes::from_static(
            b"42"
        ))))
    );
    // A byte order mark before the document is ignored, as before a status body (RFC 8259
    // §8.1 lets a parser ignore it; none is sent on).
    assert_eq!(
        result(r#"{"status": "SUCCEEDED", "output": "\ufeff{\"a\": 1}"}"#),
        Ok(Some(ResultTarget::Decoded(bytes::Bytes::from_static(
            br#"{"a": 1}"#
        ))))
    );
    // Not a string: the value as it came.
    let object = r#"{"status": "SUCCEEDED", "output": {"greeting": "Hello"}}"#;
    let Ok(Some(ResultTarget::Embedded(span))) = result(object) else {
        panic!("{:?}", result(object))
    };
    assert_eq!(&object[span], r#"{"greeting": "Hello"}"#);
    assert_eq!(
        result(r#"{"status": "SUCCEEDED", "output": null}"#),
        Ok(None)
    );
    assert_eq!(result(r#"{"status": "SUCCEEDED"}"#), Ok(None));
    // A string that is no JSON document.
    let err = result(r#"{"status": "SUCCEEDED", "output": "Hello World"}"#).unwrap_err();
    assert_eq!(
        (err.source.as_str(), err.value.as_str()),
        ("pointer `/output`", "Hello World")
    );
    let long = format!(
        r#"{{"status": "SUCCEEDED", "output": "{}"}}"#,
        "x".repeat(100)
    );
    assert_eq!(
        result(&long).unwrap_err().value,
        format!("{}…", "x".repeat(64))
    );
}
