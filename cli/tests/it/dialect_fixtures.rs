//! The declared-dialect fixtures of `tests/fixtures/dialects/`, over real sockets through
//! `lro --dialect @FILE`: Azure Blob copy (status in a header), FHIR bulk export (meaning by
//! HTTP status), OGC API – Processes (results by link relation), Celery through Flower (output
//! beside errors), AWS MediaConvert (a job API over REST), Amazon Transcribe (a job API over
//! the AWS JSON protocol, checked with `POST`s) and Databricks job runs (a word in one of two
//! fields).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::support::{lro, now, proxy_on, resp, temp_dir, Mock};

/// `@PATH` of a fixture (the cancel tests load theirs with it too).
pub(crate) fn fixture(name: &str) -> String {
    format!(
        "@{}/../tests/fixtures/dialects/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A counter: the first call answers `0`, then `1`, …
fn counter() -> impl Fn() -> usize {
    let n = Arc::new(AtomicUsize::new(0));
    move || n.fetch_add(1, Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_blob_copy_reads_its_status_from_headers() {
    let polls = counter();
    let mock = Mock::start(move |req, _| {
        let status = |s: &str| ("x-ms-copy-status", s.to_owned());
        match (req.method.as_str(), req.target.as_str()) {
            ("PUT", _) => resp(202, &[now(), status("pending")], ""),
            // Get Blob Properties: a HEAD of the blob itself.
            ("HEAD", "/c/copy.bin") if polls() == 0 => resp(
                200,
                &[
                    now(),
                    status("pending"),
                    ("x-ms-copy-progress", "1024/4096".into()),
                ],
                "",
            ),
            ("HEAD", "/c/copy.bin") => resp(200, &[status("success")], ""),
            ("GET", "/c/copy.bin") => resp(200, &[status("success")], "blob-bytes"),
            ("HEAD", "/c/bad.bin") => resp(200, &[status("failed")], ""),
            _ => resp(404, &[], ""),
        }
    })
    .await;
    let dialect = fixture("azure-blob-copy");
    let url = format!("{}/c/copy.bin", mock.base);
    let run = lro(&[
        "-X",
        "PUT",
        "-H",
        "x-ms-copy-source: https://src.example/a",
        "--dialect",
        &dialect,
        &url,
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "blob-bytes");
    let methods: Vec<String> = mock
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.method.clone())
        .collect();
    assert_eq!(methods, ["PUT", "HEAD", "HEAD", "GET"]);
    let url = format!("{}/c/bad.bin", mock.base);
    let run = lro(&["-X", "PUT", "--dialect", &dialect, &url]).await;
    assert_eq!(run.code, 3, "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fhir_bulk_export_reads_meaning_from_http_statuses() {
    let polls = counter();
    let mock = Mock::start(move |req, base| match req.target.as_str() {
        "/$export" => resp(202, &[("content-location", format!("{base}/status/1"))], ""),
        "/Group/9/$export" => resp(202, &[("content-location", format!("{base}/status/2"))], ""),
        "/status/1" if polls() == 0 => resp(202, &[now(), ("x-progress", "Exporting Patient".into())], ""),
        "/status/1" => resp(
            200,
            &[("content-type", "application/json".into())],
            r#"{"transactionTime":"2026-12-01T10:00:00Z","requiresAccessToken":false,"output":[{"type":"Patient","url":"https://fhir.example/1.ndjson"}],"error":[]}"#,
        ),
        "/status/2" => resp(
            500,
            &[("content-type", "application/fhir+json".into())],
            r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"Export job failed: disk full"}]}"#,
        ),
        _ => resp(404, &[], ""),
    })
    .await;
    let dialect = fixture("fhir-bulk-export");
    let url = format!("{}/$export", mock.base);
    let run = lro(&["-H", "Prefer: respond-async", "--dialect", &dialect, &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["output"][0]["type"], "Patient");
    let url = format!("{}/Group/9/$export", mock.base);
    let run = lro(&["-H", "Prefer: respond-async", "--dialect", &dialect, &url]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("disk full"), "{}", run.stderr);
    assert_eq!(mock.count("/status/2"), 1, "a failed export is not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn ogc_api_processes_fetches_results_by_link_relation() {
    let polls = counter();
    let mock = Mock::start(move |req, base| match req.target.as_str() {
        "/processes/buffer/execution" => resp(
            201,
            &[now(), ("location", format!("{base}/jobs/1"))],
            r#"{"jobID":"1","type":"process","status":"accepted"}"#,
        ),
        "/jobs/1" if polls() == 0 => resp(200, &[now()], r#"{"jobID":"1","status":"running","progress":40}"#),
        "/jobs/1" => resp(
            200,
            &[],
            &format!(
                r#"{{"jobID":"1","status":"successful","message":"done","links":[{{"href":"{base}/jobs/1","rel":"self"}},{{"href":"{base}/jobs/1/results","rel":"http://www.opengis.net/def/rel/ogc/1.0/results"}}]}}"#
            ),
        ),
        "/jobs/1/results" => resp(200, &[], r#"{"buffered":{"value":1}}"#),
        _ => resp(404, &[], ""),
    })
    .await;
    let url = format!("{}/processes/buffer/execution", mock.base);
    let dialect = fixture("ogc-api-processes-job");
    let run = lro(&[
        "-X",
        "POST",
        "-H",
        "Prefer: respond-async",
        "--dialect",
        &dialect,
        &url,
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["buffered"]["value"], 1);
    assert_eq!(mock.count("/jobs/1/results"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn celery_flower_output_beside_errors() {
    let polls = counter();
    let mock = Mock::start(move |req, _| match req.target.as_str() {
        "/api/task/async-apply/tasks.add" => {
            resp(200, &[now()], r#"{"task-id":"t1","state":"PENDING"}"#)
        }
        "/api/task/async-apply/tasks.fail" => resp(200, &[now()], r#"{"task-id":"t2"}"#),
        "/api/task/result/t1" if polls() == 0 => {
            resp(200, &[now()], r#"{"task-id":"t1","state":"STARTED"}"#)
        }
        "/api/task/result/t1" => resp(
            200,
            &[],
            r#"{"task-id":"t1","state":"SUCCESS","result":"3 files converted"}"#,
        ),
        "/api/task/result/t2" => resp(
            200,
            &[],
            r#"{"task-id":"t2","state":"FAILURE","result":"ValueError('bad input')"}"#,
        ),
        _ => resp(404, &[], ""),
    })
    .await;
    let dialect = fixture("celery-flower-task");
    let url = format!("{}/api/task/async-apply/tasks.add", mock.base);
    let run = lro(&["-X", "POST", "--dialect", &dialect, &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json(), "3 files converted");
    let url = format!("{}/api/task/async-apply/tasks.fail", mock.base);
    let run = lro(&["-X", "POST", "--dialect", &dialect, &url]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("ValueError('bad input')"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_mediaconvert_job_over_rest() {
    let submits = counter();
    let polls = counter();
    let mock = Mock::start(move |req, _| match (req.method.as_str(), req.target.as_str()) {
        ("POST", "/2017-08-29/jobs") => {
            let id = if submits() == 0 { "j1" } else { "j2" };
            resp(201, &[now()], &format!(r#"{{"job":{{"id":"{id}","status":"SUBMITTED"}}}}"#))
        }
        ("GET", "/2017-08-29/jobs/j1") if polls() == 0 => resp(
            200,
            &[now()],
            r#"{"job":{"id":"j1","status":"PROGRESSING","jobPercentComplete":40}}"#,
        ),
        ("GET", "/2017-08-29/jobs/j1") => resp(200, &[], r#"{"job":{"id":"j1","status":"COMPLETE"}}"#),
        ("GET", "/2017-08-29/jobs/j2") => resp(
            200,
            &[],
            r#"{"job":{"id":"j2","status":"ERROR","errorCode":1010,"errorMessage":"Unable to open input file"}}"#,
        ),
        _ => resp(404, &[], ""),
    })
    .await;
    let dialect = fixture("aws-mediaconvert-job");
    let url = format!("{}/2017-08-29/jobs", mock.base);
    let run = lro(&["-X", "POST", "-d", "{}", "--dialect", &dialect, &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["job"]["status"], "COMPLETE");
    let run = lro(&["-X", "POST", "-d", "{}", "--dialect", &dialect, &url]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("Unable to open input file"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_transcribe_job_over_the_json_protocol() {
    let mock = Mock::start(move |req, base| {
        let target = req.headers.get("x-amz-target").map(|v| v.to_str().unwrap());
        let name = if req.body.windows(3).any(|w| w == b"bad") { "bad" } else { "ok" };
        let job = |status: &str, extra: &str| {
            format!(r#"{{"TranscriptionJob":{{"TranscriptionJobName":"{name}","TranscriptionJobStatus":"{status}"{extra}}}}}"#)
        };
        match (req.method.as_str(), target, name) {
            ("POST", Some("Transcribe.StartTranscriptionJob"), _) => {
                resp(200, &[now()], &job("QUEUED", ""))
            }
            ("POST", Some("Transcribe.GetTranscriptionJob"), "ok") => {
                let uri = format!(r#","Transcript":{{"TranscriptFileUri":"{base}/out/ok.json"}}"#);
                resp(200, &[], &job("COMPLETED", &uri))
            }
            ("POST", Some("Transcribe.GetTranscriptionJob"), _) => resp(
                200,
                &[],
                &job("FAILED", r#","FailureReason":"The media format is not supported.""#),
            ),
            ("GET", _, _) if req.target == "/out/ok.json" => resp(200, &[], r#"{"transcript":"hi"}"#),
            _ => resp(404, &[], ""),
        }
    })
    .await;
    let dialect = fixture("aws-transcribe-job");
    let url = format!("{}/", mock.base);
    let start = |name: &str| format!(r#"{{"TranscriptionJobName":"{name}"}}"#);
    let target = "x-amz-target: Transcribe.StartTranscriptionJob";
    let ok = start("ok");
    let run = lro(&["-H", target, "-d", &ok, "--dialect", &dialect, &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["transcript"], "hi");
    let bad = start("bad");
    let run = lro(&["-H", target, "-d", &bad, "--dialect", &dialect, &url]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("The media format is not supported."),
        "{}",
        run.stderr
    );
}

/// The same job through `lro proxy --dialect @aws-transcribe-job.json`: the proxy's upstream
/// client has its own body type, and the checks still carry their bodies.
#[tokio::test(flavor = "multi_thread")]
async fn aws_transcribe_job_through_the_proxy() {
    let mock = Mock::start(move |req, base| {
        let target = req.headers.get("x-amz-target").map(|v| v.to_str().unwrap());
        let job = |status: &str, extra: &str| {
            format!(r#"{{"TranscriptionJob":{{"TranscriptionJobName":"p","TranscriptionJobStatus":"{status}"{extra}}}}}"#)
        };
        match (req.method.as_str(), target) {
            ("POST", Some("Transcribe.StartTranscriptionJob")) => {
                resp(200, &[now()], &job("IN_PROGRESS", ""))
            }
            ("POST", Some("Transcribe.GetTranscriptionJob"))
                if req.body.as_ref() == br#"{"TranscriptionJobName":"p"}"# =>
            {
                let uri = format!(r#","Transcript":{{"TranscriptFileUri":"{base}/out/p.json"}}"#);
                resp(200, &[], &job("COMPLETED", &uri))
            }
            ("GET", _) if req.target == "/out/p.json" => resp(200, &[], r#"{"transcript":"via proxy"}"#),
            _ => resp(400, &[], "unexpected"),
        }
    })
    .await;
    let dialect = fixture("aws-transcribe-job");
    let (_child, base, _log) = proxy_on("127.0.0.1:0", &mock.base, &["--dialect", &dialect]).await;
    let url = format!("{base}/");
    let run = lro(&[
        "-H",
        "x-amz-target: Transcribe.StartTranscriptionJob",
        "-d",
        r#"{"TranscriptionJobName":"p"}"#,
        &url,
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["transcript"], "via proxy");
    let methods: Vec<String> = mock.requests().iter().map(|s| s.method.clone()).collect();
    assert_eq!(methods, ["POST", "POST", "GET"]);
}

/// Databricks job runs: the word is `state.result_state` once a run is over and
/// `state.life_cycle_state` before (a list of places in `status_word`), so a run that stops
/// `INTERNAL_ERROR` without a result ends at once.
#[tokio::test(flavor = "multi_thread")]
async fn databricks_job_run_reads_the_first_of_two_state_fields() {
    let submits = counter();
    let polls = counter();
    let mock = Mock::start(move |req, _| match (req.method.as_str(), req.target.as_str()) {
        ("POST", "/api/2.1/jobs/runs/submit") => {
            let id = 7 + submits();
            resp(200, &[now()], &format!(r#"{{"run_id":{id}}}"#))
        }
        ("GET", "/api/2.1/jobs/runs/get?run_id=7") if polls() == 0 => resp(
            200,
            &[now()],
            r#"{"run_id":7,"state":{"life_cycle_state":"PENDING","state_message":"Waiting for cluster"}}"#,
        ),
        ("GET", "/api/2.1/jobs/runs/get?run_id=7") => resp(
            200,
            &[],
            r#"{"run_id":7,"state":{"life_cycle_state":"TERMINATED","result_state":"SUCCESS","state_message":""}}"#,
        ),
        ("GET", "/api/2.1/jobs/runs/get-output?run_id=7") => resp(
            200,
            &[],
            r#"{"metadata":{"run_id":7},"notebook_output":{"result":"An example"}}"#,
        ),
        ("GET", "/api/2.1/jobs/runs/get?run_id=8") => resp(
            200,
            &[],
            r#"{"run_id":8,"state":{"life_cycle_state":"INTERNAL_ERROR","state_message":"Cluster terminated unexpectedly"}}"#,
        ),
        _ => resp(404, &[], ""),
    })
    .await;
    let dialect = fixture("databricks-job-run");
    let url = format!("{}/api/2.1/jobs/runs/submit", mock.base);
    let run = lro(&["-d", "{}", "--dialect", &dialect, &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["notebook_output"]["result"], "An example");
    let run = lro(&["-d", "{}", "--dialect", &dialect, &url]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("Cluster terminated unexpectedly"),
        "{}",
        run.stderr
    );
}

/// OpenAI Batch: an `expired` batch keeps the output of the requests that were done
/// (`partial_result`): the output file is written, and `lro` exits 3 (failed), saying so; a
/// `cancelled` one exits 8; an `expired` batch with no file fails as before, nothing written.
/// https://platform.openai.com/docs/guides/batch (batch expiration)
#[tokio::test(flavor = "multi_thread")]
async fn openai_batch_expired_writes_its_partial_output() {
    let mock = Mock::start(move |req, _| match (req.method.as_str(), req.target.as_str()) {
        ("POST", "/v1/batches") => resp(200, &[], r#"{"id":"batch_1","status":"validating"}"#),
        ("GET", "/v1/batches/batch_1") => resp(
            200,
            &[],
            r#"{"id":"batch_1","status":"expired","output_file_id":"file-1","error_file_id":null}"#,
        ),
        ("POST", "/v2/batches") => resp(200, &[], r#"{"id":"batch_2","status":"validating"}"#),
        ("GET", "/v1/batches/batch_2") => resp(
            200,
            &[],
            r#"{"id":"batch_2","status":"cancelled","output_file_id":"file-1"}"#,
        ),
        ("POST", "/v3/batches") => resp(200, &[], r#"{"id":"batch_3","status":"validating"}"#),
        ("GET", "/v1/batches/batch_3") => resp(
            200,
            &[],
            r#"{"id":"batch_3","status":"expired","output_file_id":null,"error_file_id":null}"#,
        ),
        ("GET", "/v1/files/file-1/content") => resp(
            200,
            &[],
            r#"{"id":"batch_req_1","custom_id":"request-1","response":{"status_code":200}}"#,
        ),
        _ => resp(404, &[], ""),
    })
    .await;
    let dialect = fixture("openai-batch");
    let run = |n: u8| {
        let url = format!("{}/v{n}/batches", mock.base);
        let dialect = dialect.clone();
        async move { lro(&["-d", "{}", "--dialect", &dialect, &url]).await }
    };
    let expired = run(1).await;
    assert_eq!(expired.code, 3, "{expired:?}");
    assert_eq!(expired.json()["custom_id"], "request-1");
    assert!(expired.stderr.contains("expired"), "{}", expired.stderr);
    // `--metadata` says what the word means, as for a cancellation that left nothing.
    let dir = temp_dir("openai-partial");
    let meta = dir.join("meta.json");
    let url = format!("{}/v2/batches", mock.base);
    let meta_arg = meta.to_str().unwrap();
    let cancelled = lro(&[
        "-d",
        "{}",
        "--dialect",
        &dialect,
        "--metadata",
        meta_arg,
        &url,
    ])
    .await;
    assert_eq!(cancelled.code, 8, "{cancelled:?}");
    assert_eq!(cancelled.json()["custom_id"], "request-1");
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert_eq!(
        (&m["status"], &m["meaning"], &m["canceled"]),
        (&"cancelled".into(), &"canceled".into(), &true.into()),
        "{m}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let nothing = run(3).await;
    assert_eq!(nothing.code, 3, "{nothing:?}");
    assert!(nothing.stdout.is_empty(), "{nothing:?}");
}
