//! Batch inference jobs of cloud AI platforms described as declared dialects (the fixtures in
//! `tests/fixtures/dialects/`): one row per documented outcome, each citing the public document
//! it follows. The bodies carry the fields the documents list, trimmed to those the layer reads
//! and a few beside them. How each is cancelled is a row of `cancel_tests`.

use super::*;

/// Amazon Bedrock batch inference: `CreateModelInvocationJob` answers `200 {jobArn}`;
/// `GetModelInvocationJob` (`GET /model-invocation-job/{jobIdentifier}`, the ARN as one path
/// segment) goes through `Submitted`, `Validating`, `Scheduled` and `InProgress` to `Completed`
/// or `PartiallyCompleted` (not every record in time; both leave output in S3, and the final
/// body is the job description that names it), `Failed` with `message`, `Expired` (never
/// began) or `Stopped` (after `Stopping`).
/// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_CreateModelInvocationJob.html,
/// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GetModelInvocationJob.html,
/// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_ListModelInvocationJobs.html
#[test]
fn aws_bedrock_batch_inference_declared() {
    const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456";
    const GET: &str = "https://bedrock.us-east-1.amazonaws.com/model-invocation-job/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Amodel-invocation-job%2Fabcdef123456";
    let job = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("bedrock-batch")),
            "POST",
            "https://bedrock.us-east-1.amazonaws.com/model-invocation-job",
            &[("authorization", "AWS4-HMAC-SHA256 Credential=t")],
            r(
                200,
                &[("content-type", "application/json")],
                r#"{"jobArn":"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456"}"#,
            ),
            polls,
        )
    };
    const DONE: &str = r#"{"jobArn":"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456","jobName":"my-batch-job","modelId":"anthropic.claude-3-haiku-20240307-v1:0","status":"Completed","submitTime":"2024-08-01T12:00:00Z","endTime":"2024-08-01T14:10:00Z","outputDataConfig":{"s3OutputDataConfig":{"s3Uri":"s3://my-bucket/output/"}}}"#;
    let running = |word: &'static str| -> R {
        r(
            200,
            &[],
            match word {
                "Submitted" => {
                    r#"{"jobArn":"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456","status":"Submitted"}"#
                }
                "Validating" => {
                    r#"{"jobArn":"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456","status":"Validating"}"#
                }
                "Scheduled" => {
                    r#"{"jobArn":"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456","status":"Scheduled"}"#
                }
                _ => {
                    r#"{"jobArn":"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456","status":"InProgress"}"#
                }
            },
        )
    };
    let run = job(&[
        running("Submitted"),
        running("Validating"),
        running("Scheduled"),
        running("InProgress"),
        r(200, &[], DONE),
    ]);
    let (i, meta) = delivered(&run);
    assert_eq!((i, word(meta)), (4, ("Completed", Meaning::Succeeded)));
    assert_eq!(meta.operation_id(), Some(ARN));
    assert!(run.sent.iter().all(|s| s.uri == GET && s.kind == Status));
    assert_eq!(run.requests[0].method(), Method::GET);

    // Not every record in time: a success whose word says so (the output is in S3).
    let run = job(&[r(
        200,
        &[],
        r#"{"jobArn":"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456","status":"PartiallyCompleted","outputDataConfig":{"s3OutputDataConfig":{"s3Uri":"s3://my-bucket/output/"}}}"#,
    )]);
    assert_eq!(
        word(delivered(&run).1),
        ("PartiallyCompleted", Meaning::Succeeded)
    );

    let run = job(&[r(
        200,
        &[],
        r#"{"jobArn":"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456","status":"Failed","message":"The service role cannot read s3://my-bucket/input/."}"#,
    )]);
    assert_failed_with(&run, "The service role cannot read s3://my-bucket/input/.");

    // Scheduled, but not begun before the timeout.
    let run = job(&[
        running("Scheduled"),
        r(
            200,
            &[],
            r#"{"jobArn":"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456","status":"Expired"}"#,
        ),
    ]);
    let status = failed(&run).operation_status().unwrap();
    assert_eq!(
        (status.as_str(), status.meaning()),
        ("Expired", Meaning::Failed)
    );

    // Stopped (StopModelInvocationJob): `Stopping` runs on to `Stopped`.
    let run = job(&[
        r(
            200,
            &[],
            r#"{"jobArn":"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456","status":"Stopping"}"#,
        ),
        r(
            200,
            &[],
            r#"{"jobArn":"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456","status":"Stopped"}"#,
        ),
    ]);
    assert!(failed(&run).is_canceled());
}

/// Vertex AI batch prediction jobs: `batchPredictionJobs.create` answers `200` with the job
/// (`name`, `state`); the job is read at `/v1/{name}` on the regional endpoint until
/// `JOB_STATE_SUCCEEDED` or `JOB_STATE_PARTIALLY_SUCCEEDED` (the final body is the job, whose
/// `outputInfo` names the output), `JOB_STATE_FAILED` / `JOB_STATE_EXPIRED` with `error` (a
/// `google.rpc.Status`), or `JOB_STATE_CANCELLED` after `JOB_STATE_CANCELLING`.
/// https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.batchPredictionJobs,
/// https://cloud.google.com/vertex-ai/docs/reference/rest/v1/JobState
#[test]
fn vertex_ai_batch_prediction_declared() {
    const NAME: &str = "projects/123/locations/us-central1/batchPredictionJobs/456";
    const GET: &str = "https://us-central1-aiplatform.googleapis.com/v1/projects/123/locations/us-central1/batchPredictionJobs/456";
    let job = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("vertex-batch")),
            "POST",
            "https://us-central1-aiplatform.googleapis.com/v1/projects/123/locations/us-central1/batchPredictionJobs",
            &[("authorization", "Bearer ya29.t")],
            r(
                200,
                &[("content-type", "application/json")],
                r#"{"name":"projects/123/locations/us-central1/batchPredictionJobs/456","displayName":"my-batch","model":"publishers/google/models/gemini-1.5-flash-002","state":"JOB_STATE_PENDING","createTime":"2024-10-16T19:33:59.153782Z"}"#,
            ),
            polls,
        )
    };
    let run = job(&[
        r(
            200,
            &[],
            r#"{"name":"projects/123/locations/us-central1/batchPredictionJobs/456","state":"JOB_STATE_RUNNING","completionStats":{"successfulCount":"12"}}"#,
        ),
        r(
            200,
            &[],
            r#"{"name":"projects/123/locations/us-central1/batchPredictionJobs/456","state":"JOB_STATE_SUCCEEDED","outputInfo":{"gcsOutputDirectory":"gs://my-bucket/prediction-my-batch-2024_10_16T12_33_59_153Z"}}"#,
        ),
    ]);
    let (i, meta) = delivered(&run);
    assert_eq!(
        (i, word(meta)),
        (1, ("JOB_STATE_SUCCEEDED", Meaning::Succeeded))
    );
    assert_eq!(meta.operation_id(), Some(NAME));
    assert!(run.sent.iter().all(|s| s.uri == GET && s.kind == Status));
    assert_eq!(run.requests[0].headers()["authorization"], "Bearer ya29.t");

    let run = job(&[r(
        200,
        &[],
        r#"{"name":"projects/123/locations/us-central1/batchPredictionJobs/456","state":"JOB_STATE_PARTIALLY_SUCCEEDED","partialFailures":[{"code":3,"message":"Row 7 is not valid."}]}"#,
    )]);
    assert_eq!(
        word(delivered(&run).1),
        ("JOB_STATE_PARTIALLY_SUCCEEDED", Meaning::Succeeded)
    );

    let run = job(&[r(
        200,
        &[],
        r#"{"name":"projects/123/locations/us-central1/batchPredictionJobs/456","state":"JOB_STATE_FAILED","error":{"code":3,"message":"Failed to read the input file."}}"#,
    )]);
    assert_failed_with(&run, "Failed to read the input file.");

    let run = job(&[r(
        200,
        &[],
        r#"{"name":"projects/123/locations/us-central1/batchPredictionJobs/456","state":"JOB_STATE_EXPIRED"}"#,
    )]);
    let status = failed(&run).operation_status().unwrap();
    assert_eq!(
        (status.as_str(), status.meaning()),
        ("JOB_STATE_EXPIRED", Meaning::Failed)
    );

    // Cancelled (batchPredictionJobs.cancel): `JOB_STATE_CANCELLING` runs on.
    let run = job(&[
        r(
            200,
            &[],
            r#"{"name":"projects/123/locations/us-central1/batchPredictionJobs/456","state":"JOB_STATE_CANCELLING"}"#,
        ),
        r(
            200,
            &[],
            r#"{"name":"projects/123/locations/us-central1/batchPredictionJobs/456","state":"JOB_STATE_CANCELLED","error":{"code":1,"message":"CANCELED"}}"#,
        ),
    ]);
    assert!(failed(&run).is_canceled());
}
