//! Job and prediction APIs described as declared dialects (the fixtures in
//! `tests/fixtures/dialects/`): one row per documented outcome — running then succeeded with
//! the result, failed with its error, canceled — each citing the public document it follows.
//! The bodies are the documents' examples, trimmed to the fields the layer reads. How each is
//! cancelled is a row of `cancel_tests`.

use super::*;

/// The final body of a delivery that hands on part of what it read.
fn body_of<'a>(text: &'a str, delivery: &Delivery) -> &'a str {
    &text[delivery.body.clone().expect("a part of the body")]
}

/// OpenAI Batch API: `POST /v1/batches` answers `200` with the batch (`validating`); it is
/// polled at `/v1/batches/{id}` through `in_progress` and `finalizing` to `completed`, whose
/// `output_file_id` is fetched from `/v1/files/{id}/content` (the `error_file_id` when every
/// request failed and there is no output file). `failed` carries `errors.data[].message`;
/// `expired` is a failure; `cancelling` runs on to `cancelled`.
/// https://platform.openai.com/docs/api-reference/batch,
/// https://platform.openai.com/docs/guides/batch (batch expiration),
/// https://platform.openai.com/docs/api-reference/files/retrieve-contents
#[test]
fn openai_batch_declared() {
    const SUBMIT: R = r(
        200,
        &[],
        r#"{"id":"batch_abc123","object":"batch","endpoint":"/v1/chat/completions","errors":null,"input_file_id":"file-abc123","completion_window":"24h","status":"validating","output_file_id":null,"error_file_id":null}"#,
    );
    let batch = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("openai-batch")),
            "POST",
            "https://api.openai.com/v1/batches",
            &[("authorization", "Bearer sk-t")],
            SUBMIT,
            polls,
        )
    };
    let run = batch(&[
        r(
            200,
            &[],
            r#"{"id":"batch_abc123","object":"batch","status":"in_progress","request_counts":{"total":100,"completed":23,"failed":1}}"#,
        ),
        r(
            200,
            &[],
            r#"{"id":"batch_abc123","object":"batch","status":"finalizing","request_counts":{"total":100,"completed":99,"failed":1}}"#,
        ),
        r(
            200,
            &[],
            r#"{"id":"batch_abc123","object":"batch","status":"completed","output_file_id":"file-cvaTdG","error_file_id":"file-HOWS94","request_counts":{"total":100,"completed":99,"failed":1}}"#,
        ),
        r(
            200,
            &[("content-type", "application/octet-stream")],
            r#"{"id": "batch_req_123", "custom_id": "request-2", "response": {"status_code": 200}, "error": null}"#,
        ),
    ]);
    let (i, meta) = delivered(&run);
    assert_eq!((i, word(meta)), (3, ("completed", Meaning::Succeeded)));
    assert_eq!(meta.operation_id(), Some("batch_abc123"));
    assert_eq!(
        schedule(&run)
            .iter()
            .map(|(_, uri, kind)| (*uri, *kind))
            .collect::<Vec<_>>(),
        [
            ("https://api.openai.com/v1/batches/batch_abc123", Status),
            ("https://api.openai.com/v1/batches/batch_abc123", Status),
            ("https://api.openai.com/v1/batches/batch_abc123", Status),
            (
                "https://api.openai.com/v1/files/file-cvaTdG/content",
                Resource
            ),
        ]
    );
    assert_eq!(run.requests[0].headers()["authorization"], "Bearer sk-t");

    // Every request failed: no output file, the error file is the result.
    let run = batch(&[
        r(
            200,
            &[],
            r#"{"id":"batch_abc123","status":"completed","output_file_id":null,"error_file_id":"file-HOWS94"}"#,
        ),
        r(200, &[], r#"{"id": "batch_req_1", "error": {}}"#),
    ]);
    assert_eq!(
        run.sent[1].uri,
        "https://api.openai.com/v1/files/file-HOWS94/content"
    );

    // The input file did not validate.
    let run = batch(&[r(
        200,
        &[],
        r#"{"id":"batch_abc123","object":"batch","status":"failed","errors":{"object":"list","data":[{"code":"invalid_json_line","message":"This line is not parseable as valid JSON.","param":null,"line":3}]},"output_file_id":null}"#,
    )]);
    assert_failed_with(&run, "This line is not parseable as valid JSON.");
    // `failed` is not a word that leaves a result: a file it names is not fetched.
    let run = batch(&[r(
        200,
        &[],
        r#"{"id":"batch_abc123","status":"failed","errors":null,"error_file_id":"file-HOWS94"}"#,
    )]);
    assert_eq!(failed(&run).kind(), ErrorKind::OperationFailed);
    assert_eq!(run.sent.len(), 1);

    // Not finished within its completion window: the requests done are in the output file,
    // which is delivered; the metadata keeps the word and its meaning (`partial_result`).
    let run = batch(&[
        r(
            200,
            &[],
            r#"{"id":"batch_abc123","status":"expired","output_file_id":"file-cvaTdG","error_file_id":"file-HOWS94","request_counts":{"total":100,"completed":60,"failed":0}}"#,
        ),
        r(
            200,
            &[],
            r#"{"id": "batch_req_123", "custom_id": "request-2"}"#,
        ),
    ]);
    let (i, meta) = delivered(&run);
    assert_eq!((i, word(meta)), (1, ("expired", Meaning::Failed)));
    assert_eq!(
        (run.sent[1].uri.as_str(), run.sent[1].kind),
        (
            "https://api.openai.com/v1/files/file-cvaTdG/content",
            Resource
        )
    );
    // Expired before any request was done: nothing to fetch, a failure.
    let run = batch(&[r(
        200,
        &[],
        r#"{"id":"batch_abc123","status":"expired","output_file_id":null,"error_file_id":null}"#,
    )]);
    let status = failed(&run).operation_status().unwrap();
    assert_eq!(
        (status.as_str(), status.meaning()),
        ("expired", Meaning::Failed)
    );

    // Cancelled: `cancelling` (up to ten minutes) is still running, `cancelled` ends it, with
    // the partial results in the output file when there are any.
    let cancelled = |files: &'static str, file: &[R]| {
        let mut polls = vec![
            r(
                200,
                &[],
                r#"{"id":"batch_abc123","status":"cancelling","cancelling_at":1711475133}"#,
            ),
            r(200, &[], files),
        ];
        polls.extend_from_slice(file);
        batch(&polls)
    };
    let run = cancelled(
        r#"{"id":"batch_abc123","status":"cancelled","cancelled_at":1711475733,"output_file_id":null,"error_file_id":null}"#,
        &[],
    );
    let err = failed(&run);
    assert!(err.is_canceled());
    assert_eq!(err.operation_id(), Some("batch_abc123"));
    let run = cancelled(
        r#"{"id":"batch_abc123","status":"cancelled","cancelled_at":1711475733,"output_file_id":"file-cvaTdG","error_file_id":null}"#,
        &[r(
            200,
            &[],
            r#"{"id": "batch_req_1", "custom_id": "request-1"}"#,
        )],
    );
    let (i, meta) = delivered(&run);
    assert_eq!((i, word(meta)), (2, ("cancelled", Meaning::Canceled)));
    assert_eq!(
        run.sent[2].uri,
        "https://api.openai.com/v1/files/file-cvaTdG/content"
    );
}

/// Replicate predictions: `POST /v1/predictions` answers `201` with the prediction
/// (`starting`) and `urls.get`, which is polled; `succeeded` embeds `output` (the final body),
/// `failed` carries `error`, `canceled` ends it. With `Prefer: wait` the answer may already be
/// finished: it is delivered at once.
/// https://replicate.com/docs/reference/http#predictions.create,
/// https://replicate.com/docs/reference/http#predictions.get
#[test]
fn replicate_prediction_declared() {
    const GET: &str = "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu";
    const STARTING: &str = r#"{"id":"gm3qorzdhgbfurvjtvhg6dckhu","model":"replicate/hello-world","version":"5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa","input":{"text":"Alice"},"logs":"","error":null,"status":"starting","created_at":"2023-09-08T16:19:34.765994657Z","urls":{"cancel":"https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu/cancel","get":"https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu"}}"#;
    const DONE: &str = r#"{"id":"gm3qorzdhgbfurvjtvhg6dckhu","input":{"text":"Alice"},"logs":"","output":"hello Alice","error":null,"status":"succeeded","metrics":{"predict_time":0.012683},"urls":{"get":"https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu"}}"#;
    let predict = |submit: R, polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("replicate")),
            "POST",
            "https://api.replicate.com/v1/predictions",
            &[("authorization", "Bearer r8_t")],
            submit,
            polls,
        )
    };
    let run = predict(
        r(201, &[], STARTING),
        &[
            r(
                200,
                &[],
                r#"{"id":"gm3qorzdhgbfurvjtvhg6dckhu","output":null,"error":null,"status":"processing"}"#,
            ),
            r(200, &[], DONE),
        ],
    );
    let (i, delivery) = delivery(&run);
    assert_eq!(
        (i, word(&delivery.metadata)),
        (1, ("succeeded", Meaning::Succeeded))
    );
    assert_eq!(body_of(DONE, delivery), r#""hello Alice""#);
    assert!(run.sent.iter().all(|s| s.uri == GET && s.kind == Status));
    assert_eq!(
        delivery.metadata.operation_id(),
        Some("gm3qorzdhgbfurvjtvhg6dckhu")
    );

    let run = predict(
        r(201, &[], STARTING),
        &[r(
            200,
            &[],
            r#"{"id":"gm3qorzdhgbfurvjtvhg6dckhu","output":null,"error":"CUDA out of memory","status":"failed"}"#,
        )],
    );
    assert_failed_with(&run, "CUDA out of memory");

    let run = predict(
        r(201, &[], STARTING),
        &[r(
            200,
            &[],
            r#"{"id":"gm3qorzdhgbfurvjtvhg6dckhu","output":null,"error":null,"status":"canceled"}"#,
        )],
    );
    assert!(failed(&run).is_canceled());

    // `Prefer: wait`: the prediction finished within the wait; nothing is polled.
    let run = predict(r(201, &[], DONE), &[]);
    match &run.outcome {
        Outcome::Final(delivery) => {
            assert_eq!(word(&delivery.metadata), ("succeeded", Meaning::Succeeded));
            assert_eq!(body_of(DONE, delivery), r#""hello Alice""#);
        }
        other => panic!("expected the submission's answer, got {other:?}"),
    }
    assert!(run.sent.is_empty());
}

/// AssemblyAI transcripts: `POST /v2/transcript` answers `200` with the transcript
/// (`queued`); `GET /v2/transcript/{id}` until `completed` (the transcript itself is the final
/// body) or `error`, whose `error` says why.
/// https://www.assemblyai.com/docs/api-reference/transcripts/submit,
/// https://www.assemblyai.com/docs/pre-recorded-audio/transcript-status,
/// https://www.assemblyai.com/docs/faq/i-am-getting-an-error-what-should-i-do
#[test]
fn assemblyai_transcript_declared() {
    const ID: &str = "9ea68fd3-f953-42c1-9742-976c447fb463";
    let transcribe = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("assemblyai")),
            "POST",
            "https://api.assemblyai.com/v2/transcript",
            &[("authorization", "k")],
            r(
                200,
                &[],
                r#"{"id":"9ea68fd3-f953-42c1-9742-976c447fb463","status":"queued","audio_url":"https://assembly.ai/wildfires.mp3","text":null}"#,
            ),
            polls,
        )
    };
    let run = transcribe(&[
        r(
            200,
            &[],
            r#"{"id":"9ea68fd3-f953-42c1-9742-976c447fb463","status":"processing","text":null}"#,
        ),
        r(
            200,
            &[],
            r#"{"id":"9ea68fd3-f953-42c1-9742-976c447fb463","status":"completed","text":"Smoke from hundreds of wildfires in Canada is triggering air quality alerts.","audio_duration":281}"#,
        ),
    ]);
    let (i, delivery) = delivery(&run);
    assert_eq!(
        (i, word(&delivery.metadata)),
        (1, ("completed", Meaning::Succeeded))
    );
    assert_eq!(delivery.body, None, "the transcript is the final body");
    assert_eq!(delivery.metadata.operation_id(), Some(ID));
    assert_eq!(
        run.sent[0].uri,
        format!("https://api.assemblyai.com/v2/transcript/{ID}")
    );

    let run = transcribe(&[r(
        200,
        &[],
        r#"{"id":"9ea68fd3-f953-42c1-9742-976c447fb463","status":"error","error":"Download error, unable to access file at https://example.com/audio.mp3"}"#,
    )]);
    let err = failed(&run);
    assert_eq!(err.kind(), ErrorKind::OperationFailed);
    assert_eq!(
        message(err),
        Some("Download error, unable to access file at https://example.com/audio.mp3")
    );
}

/// Runpod serverless queue endpoints: `POST /v2/{endpoint}/run` answers `{id, status:
/// IN_QUEUE}`; `GET /v2/{endpoint}/status/{id}` (beside `run`) until `COMPLETED` with `output`
/// (the final body), `FAILED` with `error`, `TIMED_OUT`, or `CANCELLED`.
/// https://docs.runpod.io/serverless/endpoints/job-operations
#[test]
fn runpod_serverless_job_declared() {
    const STATUS: &str =
        "https://api.runpod.ai/v2/32vgrms732dkwi/status/eaebd6e7-6a92-4bb8-a911-f996ac5ea99d";
    const DONE: &str = r#"{"delayTime":824,"executionTime":3391,"id":"eaebd6e7-6a92-4bb8-a911-f996ac5ea99d","output":[{"image":"https://image.url","seed":46578}],"status":"COMPLETED"}"#;
    let job = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("runpod")),
            "POST",
            "https://api.runpod.ai/v2/32vgrms732dkwi/run",
            &[("authorization", "Bearer rp_t")],
            r(
                200,
                &[],
                r#"{"id":"eaebd6e7-6a92-4bb8-a911-f996ac5ea99d","status":"IN_QUEUE"}"#,
            ),
            polls,
        )
    };
    let run = job(&[
        r(
            200,
            &[],
            r#"{"delayTime":824,"id":"eaebd6e7-6a92-4bb8-a911-f996ac5ea99d","status":"IN_PROGRESS"}"#,
        ),
        r(200, &[], DONE),
    ]);
    let (i, delivery) = delivery(&run);
    assert_eq!(
        (i, word(&delivery.metadata)),
        (1, ("COMPLETED", Meaning::Succeeded))
    );
    assert_eq!(
        body_of(DONE, delivery),
        r#"[{"image":"https://image.url","seed":46578}]"#
    );
    assert!(run.sent.iter().all(|s| s.uri == STATUS));

    let run = job(&[r(
        200,
        &[],
        r#"{"id":"eaebd6e7-6a92-4bb8-a911-f996ac5ea99d","status":"FAILED","error":"handler raised ValueError: prompt is empty"}"#,
    )]);
    assert_failed_with(&run, "handler raised ValueError: prompt is empty");

    let run = job(&[r(
        200,
        &[],
        r#"{"id":"eaebd6e7-6a92-4bb8-a911-f996ac5ea99d","status":"TIMED_OUT"}"#,
    )]);
    assert_eq!(
        failed(&run).operation_status().unwrap().meaning(),
        Meaning::Failed
    );

    let run = job(&[r(
        200,
        &[],
        r#"{"id":"eaebd6e7-6a92-4bb8-a911-f996ac5ea99d","status":"CANCELLED"}"#,
    )]);
    assert!(failed(&run).is_canceled());
}

/// Databricks job runs (Jobs API 2.1): `POST /api/2.1/jobs/runs/submit` answers `{run_id}`;
/// `GET /api/2.1/jobs/runs/get?run_id=…` says the run's state in two fields,
/// `state.life_cycle_state` (`PENDING`, `RUNNING`, `TERMINATING`, then `TERMINATED`,
/// `SKIPPED` or `INTERNAL_ERROR`) and, once it is over, `state.result_state` (`SUCCESS`,
/// `FAILED`, `TIMEDOUT`, `CANCELED`). The description lists both places, the result first;
/// `runs/get-output` is fetched after `SUCCESS`.
/// https://docs.databricks.com/api/workspace/jobs/submit,
/// https://docs.databricks.com/api/workspace/jobs/getrun,
/// https://docs.databricks.com/api/workspace/jobs/getrunoutput
#[test]
fn databricks_job_run_declared() {
    const HOST: &str = "https://dbc-a1b2345c-d6e7.cloud.databricks.com";
    let submitted = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("databricks")),
            "POST",
            &format!("{HOST}/api/2.1/jobs/runs/submit"),
            &[("authorization", "Bearer dapi-t")],
            r(200, &[], r#"{"run_id":455644833}"#),
            polls,
        )
    };
    let run = submitted(&[
        r(
            200,
            &[],
            r#"{"job_id":11223344,"run_id":455644833,"state":{"life_cycle_state":"PENDING","state_message":"Waiting for cluster"}}"#,
        ),
        r(
            200,
            &[],
            r#"{"job_id":11223344,"run_id":455644833,"state":{"life_cycle_state":"RUNNING","state_message":"In run"}}"#,
        ),
        r(
            200,
            &[],
            r#"{"job_id":11223344,"run_id":455644833,"state":{"life_cycle_state":"TERMINATED","result_state":"SUCCESS","state_message":""}}"#,
        ),
        r(
            200,
            &[],
            r#"{"metadata":{"run_id":455644833},"notebook_output":{"result":"An example","truncated":false}}"#,
        ),
    ]);
    let (i, meta) = delivered(&run);
    assert_eq!((i, word(meta)), (3, ("SUCCESS", Meaning::Succeeded)));
    assert_eq!(meta.operation_id(), Some("455644833"));
    assert_eq!(
        run.sent[0].uri,
        format!("{HOST}/api/2.1/jobs/runs/get?run_id=455644833")
    );
    assert_eq!(
        (run.sent[3].uri.as_str(), run.sent[3].kind),
        (
            format!("{HOST}/api/2.1/jobs/runs/get-output?run_id=455644833").as_str(),
            Resource
        )
    );

    let run = submitted(&[r(
        200,
        &[],
        r#"{"run_id":455644833,"state":{"life_cycle_state":"TERMINATED","result_state":"FAILED","state_message":"Task notebook failed: NameError: name 'x' is not defined"}}"#,
    )]);
    assert_failed_with(
        &run,
        "Task notebook failed: NameError: name 'x' is not defined",
    );

    let run = submitted(&[r(
        200,
        &[],
        r#"{"run_id":455644833,"state":{"life_cycle_state":"TERMINATED","result_state":"TIMEDOUT","state_message":""}}"#,
    )]);
    assert_eq!(
        failed(&run).operation_status().unwrap().meaning(),
        Meaning::Failed
    );

    let run = submitted(&[r(
        200,
        &[],
        r#"{"run_id":455644833,"state":{"life_cycle_state":"TERMINATED","result_state":"CANCELED","state_message":"Run cancelled."}}"#,
    )]);
    assert!(failed(&run).is_canceled());

    // The two fields, the first that says a word wins: `INTERNAL_ERROR` (or `SKIPPED`) with
    // no `result_state` ends the run.
    let run = submitted(&[
        r(
            200,
            &[],
            r#"{"run_id":455644833,"state":{"life_cycle_state":"RUNNING","state_message":"In run"}}"#,
        ),
        r(
            200,
            &[],
            r#"{"run_id":455644833,"state":{"life_cycle_state":"INTERNAL_ERROR","state_message":"Cluster terminated unexpectedly"}}"#,
        ),
    ]);
    let err = failed(&run);
    assert_eq!(
        (
            err.kind(),
            err.operation_status().map(|s| (s.as_str(), s.meaning()))
        ),
        (
            ErrorKind::OperationFailed,
            Some(("INTERNAL_ERROR", Meaning::Failed))
        )
    );
    assert_eq!(message(err), Some("Cluster terminated unexpectedly"));
}

/// AWS Step Functions over the AWS JSON protocol: `StartExecution` answers `200
/// {executionArn, startDate}`; `DescribeExecution` is a `POST /` with `X-Amz-Target` and
/// `{"executionArn"}`, until `SUCCEEDED` with `output`, `FAILED` / `TIMED_OUT` with `error`
/// and `cause`, or `ABORTED`. `output` is the execution's JSON written into a string
/// (`embedded_json`): the final body is the document that string holds.
/// https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html,
/// https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html
#[test]
fn aws_step_functions_execution_declared() {
    const STATES: &str = "https://states.us-east-1.amazonaws.com/";
    const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:HelloWorld:a1b2";
    const DONE: &str = r#"{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:HelloWorld:a1b2","status":"SUCCEEDED","startDate":1.6E9,"stopDate":1.6E9,"output":"{\"greeting\":\"Hello World\"}"}"#;
    let execute = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("step-functions")),
            "POST",
            STATES,
            &[
                ("x-amz-target", "AWSStepFunctions.StartExecution"),
                ("authorization", "AWS4-HMAC-SHA256 Credential=t"),
            ],
            r(
                200,
                &[("content-type", "application/x-amz-json-1.0")],
                r#"{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:HelloWorld:a1b2","startDate":1.6E9}"#,
            ),
            polls,
        )
    };
    let run = execute(&[
        r(
            200,
            &[],
            r#"{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:HelloWorld:a1b2","status":"RUNNING","startDate":1.6E9}"#,
        ),
        r(200, &[], DONE),
    ]);
    let (i, delivery) = delivery(&run);
    assert_eq!(
        (i, word(&delivery.metadata)),
        (1, ("SUCCEEDED", Meaning::Succeeded))
    );
    assert_eq!(delivery.metadata.operation_id(), Some(ARN));
    let decoded = delivery.decoded.as_deref().expect("a decoded body");
    assert_eq!(decoded, br#"{"greeting":"Hello World"}"#);
    assert_eq!(delivery.body, None);
    for poll in &run.requests {
        assert_eq!(
            (poll.method(), poll.uri().to_string().as_str()),
            (&Method::POST, STATES)
        );
        assert_eq!(
            poll.headers()["x-amz-target"],
            "AWSStepFunctions.DescribeExecution"
        );
        let body: serde_json::Value = serde_json::from_slice(poll.body().unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({ "executionArn": ARN }));
    }
    // An `output` that holds no JSON document is no result the description can deliver.
    let run = execute(&[r(
        200,
        &[],
        r#"{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:HelloWorld:a1b2","status":"SUCCEEDED","output":"Hello World"}"#,
    )]);
    let err = failed(&run);
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(matches!(err.reason(), Reason::DialectBody { .. }));

    let run = execute(&[r(
        200,
        &[],
        r#"{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:HelloWorld:a1b2","status":"FAILED","error":"States.TaskFailed","cause":"Lambda function failed: division by zero"}"#,
    )]);
    assert_failed_with(&run, "Lambda function failed: division by zero");
    // `error` is the code, `cause` the message, as an OData error's.
    let odata = failed(&run).odata_error().unwrap();
    assert_eq!(odata.code(), Some("States.TaskFailed"));

    let run = execute(&[r(
        200,
        &[],
        r#"{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:HelloWorld:a1b2","status":"TIMED_OUT","error":"States.Timeout"}"#,
    )]);
    let odata = failed(&run).odata_error().unwrap();
    assert_eq!(
        (odata.code(), odata.message()),
        (Some("States.Timeout"), None)
    );

    let run = execute(&[r(
        200,
        &[],
        r#"{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:HelloWorld:a1b2","status":"ABORTED"}"#,
    )]);
    assert!(failed(&run).is_canceled());
}
