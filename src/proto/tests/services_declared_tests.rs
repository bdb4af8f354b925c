//! One row per service described as a declared dialect (the fixtures in
//! `tests/fixtures/dialects/`), driven through the core, each citing the public document it
//! follows. The bodies are trimmed to the fields the layer reads.

use super::*;

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
    assert_eq!(message(err), Some("Export job failed: disk full"));
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
    // The task id is the operation's id (`operation_id`: `/task-id`).
    assert_eq!(delivery.metadata.operation_id(), Some("af2d-91"));
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

/// A declared `operation_id`: the latest answer that carries one says it; an answer without
/// one keeps it.
#[test]
fn the_declared_operation_id_follows_the_answers() {
    let jobs = Dialect::from_json(
        r#"{"status_url": {"header": "Location"}, "status_word": "/status", "operation_id": "/id"}"#,
    )
    .unwrap();
    let run = drive_with(
        cfg(),
        with(jobs),
        "POST",
        "https://svc.example/jobs",
        &[],
        r(202, &[("location", "/jobs/1")], ""),
        &[
            r(200, &[], r#"{"status": "Running", "id": "j-1"}"#),
            r(200, &[], r#"{"status": "Running", "id": "j-1b"}"#),
            r(200, &[], r#"{"status": "Succeeded"}"#),
        ],
    );
    let (i, meta) = delivered(&run);
    assert_eq!((i, meta.operation_id()), (2, Some("j-1b")));
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
