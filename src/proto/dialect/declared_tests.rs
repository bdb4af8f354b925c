//! Declared dialects: the fixtures in `tests/fixtures/dialects/` read, and applied to the bodies
//! the services document, find the status URL, the word, the result and the error.

use super::places::percent_text;
use super::*;
use http::header::HeaderValue;
use serde_json::json;

const FIXTURES: &[(&str, &str)] = &[
    (
        "digitalocean-droplet-actions",
        include_str!("../../../tests/fixtures/dialects/digitalocean-droplet-actions.json"),
    ),
    (
        "hal-task-resource",
        include_str!("../../../tests/fixtures/dialects/hal-task-resource.json"),
    ),
    (
        "speech-batch-transcription",
        include_str!("../../../tests/fixtures/dialects/speech-batch-transcription.json"),
    ),
    (
        "durable-functions",
        include_str!("../../../tests/fixtures/dialects/durable-functions.json"),
    ),
    (
        "graph-teams-operations",
        include_str!("../../../tests/fixtures/dialects/graph-teams-operations.json"),
    ),
    (
        "azure-blob-copy",
        include_str!("../../../tests/fixtures/dialects/azure-blob-copy.json"),
    ),
    (
        "fhir-bulk-export",
        include_str!("../../../tests/fixtures/dialects/fhir-bulk-export.json"),
    ),
    (
        "ogc-api-processes-job",
        include_str!("../../../tests/fixtures/dialects/ogc-api-processes-job.json"),
    ),
    (
        "celery-flower-task",
        include_str!("../../../tests/fixtures/dialects/celery-flower-task.json"),
    ),
    (
        "aws-mediaconvert-job",
        include_str!("../../../tests/fixtures/dialects/aws-mediaconvert-job.json"),
    ),
    (
        "aws-transcribe-job",
        include_str!("../../../tests/fixtures/dialects/aws-transcribe-job.json"),
    ),
];

fn fixture(name: &str) -> DeclaredDialect {
    let (_, text) = FIXTURES.iter().find(|(n, _)| *n == name).unwrap();
    DeclaredDialect::from_json(text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
        .collect()
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

/// Reads a status body: (word, meaning, recognised, error as JSON text).
fn status(d: &DeclaredDialect, body: &str) -> (Option<String>, Meaning, bool, Option<String>) {
    let value = parse(body);
    let none = HeaderMap::new();
    let r = d.read_status(&d.vocabulary(), StatusCode::OK, &none, &value);
    (
        r.word.map(str::to_owned),
        r.meaning,
        r.classified.recognised,
        r.error.map(Value::to_string),
    )
}

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

#[test]
fn descriptions_that_cannot_work_say_why() {
    // (description, fragment of the message)
    let rows: &[(&str, &str)] = &[
        (
            r#"{"status_url": {"header": "Location"}, "status_wrod": "/status"}"#,
            "unknown field `status_wrod`",
        ),
        (
            r#"{"status_url": {"header": "Location"}}"#,
            "`status_word`: missing: give a pointer, `{\"header\": …}`, or `status_codes`",
        ),
        (
            r#"{"status_url": {"headr": "Location"}, "status_word": "/s"}"#,
            "unknown variant `headr`",
        ),
        (
            r#"{"status_url": [{"pointer": "/a", "header": "b"}], "status_word": "/s"}"#,
            "expected map with a single key",
        ),
        (
            r#"{"status_url": [], "status_word": "/s"}"#,
            "`status_url`: no source given",
        ),
        (
            r#"{"status_url": {"pointer": "links/self"}, "status_word": "/s"}"#,
            "`links/self` is not a JSON pointer",
        ),
        (
            r#"{"status_url": {"header": "Bad Header"}, "status_word": "/s"}"#,
            "`Bad Header` is not a header name",
        ),
        (
            r#"{"status_url": {"template": "https://x/{/id"}, "status_word": "/s"}"#,
            "without a `}`",
        ),
        (
            r#"{"status_url": {"template": "https://x/}"}, "status_word": "/s"}"#,
            "without a `{`",
        ),
        (
            r#"{"status_url": {"template": "https://x/{id}"}, "status_word": "/s"}"#,
            "`{id}` is not a placeholder",
        ),
        (
            r#"{"status_url": {"template": "https://x/{header:bad name}"}, "status_word": "/s"}"#,
            "`bad name` is not a header name",
        ),
        (
            r#"{"status_url": {"template": "{status_url}/x"}, "status_word": "/s"}"#,
            "reads the status URL it is to find",
        ),
        (
            r#"{"status_url": "self", "status_request": {"method": "HEAD"}, "status_word": "/s"}"#,
            "a `HEAD` answer has no body",
        ),
        (
            r#"{"status_url": "self", "status_request": {"method": "DELETE"}, "status_word": "/s"}"#,
            "unknown variant `DELETE`, expected one of `GET`, `HEAD`, `POST`",
        ),
        (
            r#"{"status_url": "self", "status_request": {"body": {}}, "status_word": "/s"}"#,
            "a `body` is sent with `\"method\": \"POST\"` only",
        ),
        (
            r#"{"status_url": "self", "status_request": {"method": "POST", "headers": {"Authorization": "x"}}, "status_word": "/s"}"#,
            "`Authorization` may not be set by a description",
        ),
        (
            r#"{"status_url": "self", "status_request": {"method": "POST", "headers": {"Content-Length": "3"}}, "status_word": "/s"}"#,
            "`Content-Length` may not be set",
        ),
        (
            r#"{"status_url": "self", "status_request": {"method": "POST", "body": {"a": "{nope}"}}, "status_word": "/s"}"#,
            "`{nope}` is not a placeholder",
        ),
        (
            r#"{"status_url": "self", "result_request": {"method": "HEAD"}, "status_word": "/s"}"#,
            "a result is not fetched with `HEAD`",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "status"}"#,
            "`status` is not a JSON pointer: a pointer starts with `/`",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "start_on": [303]}"#,
            "303 is not a 2xx status",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "start_on": []}"#,
            "no status given",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "status_body_on": [200]}"#,
            "200 is not a 4xx or 5xx",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "base_url": "/v1.0"}"#,
            "not an absolute http(s) URL",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "base_url": "ftp://x/"}"#,
            "not an absolute http(s) URL",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "words": {"done": ["x"]}}"#,
            "unknown field `done`",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "words": {"failed": ["Done"], "succeeded": ["DONE"]}}"#,
            "listed as both succeeded and failed",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "words": {"running": ["-"]}}"#,
            "is empty",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "result": {"embedded": "output"}}"#,
            "`output` is not a JSON pointer",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "error": "e"}"#,
            "`e` is not a JSON pointer",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/links[rel=self"}"#,
            "is not closed; a `[` in a name is written `~2`",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": {"header": "Bad Header"}}"#,
            "`status_word`: `Bad Header` is not a header name",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": {"headr": "x"}}"#,
            "unknown variant `headr`",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": 3}"#,
            "`{\"header\": …}`",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_word": "/s", "progress": {"header": "a b"}}"#,
            "`progress`: `a b` is not a header name",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_codes": {"302": "running"}}"#,
            "a 3xx is followed as a redirect",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_codes": {"6xx": "failed"}}"#,
            "is not a status (`202`) or a class (`4xx`)",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_codes": {"abc": "failed"}}"#,
            "is not a status (`202`)",
        ),
        (
            r#"{"status_url": {"header": "Location"}, "status_codes": {"200": "done"}}"#,
            "unknown variant `done`",
        ),
        ("[]", "expected struct DeclaredDialect"),
        ("{", "EOF"),
    ];
    for (text, fragment) in rows {
        let err = DeclaredDialect::from_json(text).unwrap_err().to_string();
        assert!(
            err.contains(fragment),
            "{text}\n  gave: {err}\n  want: {fragment}"
        );
    }
    // The same words twice in one meaning are fine.
    let ok = r#"{"status_url": {"header": "Location"}, "status_word": "/s", "words": {"failed": ["Bad", "BAD"]}}"#;
    let d = DeclaredDialect::from_json(ok).unwrap();
    assert_eq!(d.start_on, [202]);
    assert_eq!(d.error_marks_failure, None);
}

#[test]
fn found_urls_that_cannot_be_used_are_errors() {
    let d = DeclaredDialect::from_json(
        r#"{"status_url": [{"header": "Operation-Location"}, {"pointer": "/self"}], "status_word": "/s"}"#,
    )
    .unwrap();
    let at = url("https://svc.example.com/v1/jobs");
    let err = d
        .status_url(
            &headers(&[("operation-location", "ftp://elsewhere/1")]),
            None,
            &at,
        )
        .unwrap_err();
    assert_eq!(err.source, "header `Operation-Location`");
    assert_eq!(err.value, "ftp://elsewhere/1");
    assert!(err.to_string().contains("not an http(s) URL"), "{err}");
    let err = d
        .status_url(
            &HeaderMap::new(),
            Some(&json!({"self": "http://[::1"})),
            &at,
        )
        .unwrap_err();
    assert_eq!(err.source, "pointer `/self`");
    // Nothing found anywhere: no status URL, not an error.
    assert_eq!(
        d.status_url(&HeaderMap::new(), Some(&json!({"self": 7})), &at),
        Ok(None)
    );
    assert_eq!(d.status_url(&HeaderMap::new(), None, &at), Ok(None));
}

#[test]
fn templates_escape_each_value_as_one_segment() {
    let body = json!({"id": "a b/c?d", "n": 42, "nested": {"k": "x"},
        "links": [{"rel": "up", "id": "u"}, {"rel": "self", "id": "s 1"}]});
    let rows = [
        (
            "https://svc/v2/actions/{/n}",
            Some("https://svc/v2/actions/42"),
        ),
        ("https://svc/{/id}/x", Some("https://svc/a%20b%2Fc%3Fd/x")),
        ("https://svc/{/nested/k}-{/n}", Some("https://svc/x-42")),
        ("https://svc/{/missing}", None),
        ("https://svc/{/nested}", None), // an object is not a segment
        (
            "https://svc/{/links[rel=self]/id}",
            Some("https://svc/s%201"),
        ),
        ("no placeholders", Some("no placeholders")),
    ];
    for (template, want) in rows {
        assert_eq!(
            Template::try_from(template.to_owned())
                .unwrap()
                .expand(&Sources::body(&body))
                .map(|(_, u)| u)
                .as_deref(),
            want,
            "{template}"
        );
    }
}

#[test]
fn resolving_found_urls() {
    let at = url("https://svc.example.com/v1/jobs/submit?x=1");
    let graph = url("https://graph.microsoft.com/v1.0");
    let slash = url("https://api.example.com/base/");
    // (raw, base, resolved)
    let rows: &[(&str, Option<&Url>, &str)] = &[
        (
            "https://other.example.com/ops/1",
            None,
            "https://other.example.com/ops/1",
        ),
        (
            "https://other.example.com/ops/1#frag",
            Some(&graph),
            "https://other.example.com/ops/1",
        ),
        ("/ops/1", None, "https://svc.example.com/ops/1"),
        ("ops/1", None, "https://svc.example.com/v1/jobs/ops/1"),
        (
            "../ops/1?api-version=2",
            None,
            "https://svc.example.com/v1/ops/1?api-version=2",
        ),
        ("//cdn.example.com/r", None, "https://cdn.example.com/r"),
        (
            "/teams('a')/operations('b')",
            Some(&graph),
            "https://graph.microsoft.com/v1.0/teams('a')/operations('b')",
        ),
        (
            "/teams('a')?$select=id#x",
            Some(&graph),
            "https://graph.microsoft.com/v1.0/teams('a')?$select=id",
        ),
        ("/ops/1", Some(&slash), "https://api.example.com/base/ops/1"),
        (
            "ops/1",
            Some(&graph),
            "https://graph.microsoft.com/v1.0/ops/1",
        ),
        // With a base, a network-path reference stays on the base's origin (issue 15 item 3).
        (
            "//evil.example/x",
            Some(&graph),
            "https://graph.microsoft.com/v1.0/evil.example/x",
        ),
        (
            "///evil.example/x?q=1",
            Some(&slash),
            "https://api.example.com/base/evil.example/x?q=1",
        ),
        (
            "\\\\evil.example/x",
            Some(&graph),
            "https://graph.microsoft.com/v1.0/evil.example/x",
        ),
        (
            " //evil.example/x",
            Some(&graph),
            "https://graph.microsoft.com/v1.0/evil.example/x",
        ),
    ];
    for &(raw, base, want) in rows {
        assert_eq!(
            resolve(raw, &at, base).unwrap().as_str(),
            want,
            "{raw} with {base:?}"
        );
    }
    for raw in [
        "mailto:ops@example.com",
        "file:///etc/passwd",
        "http://[::1",
    ] {
        assert!(resolve(raw, &at, None).is_err(), "{raw}");
    }
}

#[test]
fn a_layer_vocabulary_takes_the_dialect_words() {
    let d = fixture("durable-functions");
    let mut vocab = Vocabulary::new().with_word(Meaning::Succeeded, "Finished");
    d.extend(&mut vocab);
    assert_eq!(vocab.classify("Terminated").meaning, Meaning::Canceled);
    assert_eq!(vocab.classify("finished").meaning, Meaning::Succeeded);
    assert!(!Vocabulary::new().classify("Terminated").recognised);
}

/// Reads an answer: its status, headers and body (`""` for none) → (word, meaning, error, %).
fn answer(
    d: &DeclaredDialect,
    code: u16,
    pairs: &[(&'static str, &'static str)],
    body: &str,
) -> (Option<String>, Meaning, Option<String>, Option<f64>) {
    let value = serde_json::from_str(body).unwrap_or(Value::Null);
    let h = headers(pairs);
    let status = StatusCode::from_u16(code).unwrap();
    let r = d.read_status(&d.vocabulary(), status, &h, &value);
    (
        r.word.map(str::to_owned),
        r.meaning,
        r.error
            .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned)),
        d.percent(&h, &value),
    )
}

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
    // A duplicate `rel` in a link the selector may choose is a member the dialect reads.
    assert!(d.consults("/links/1/rel"));
    assert!(d.consults("/links/1/href"));
    assert!(!d.consults("/links/1/type"));
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
// PROGRESSING, COMPLETE, CANCELED or ERROR, with `jobPercentComplete` and `errorMessage`.
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
            Some("Unable to open input file".into()),
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
