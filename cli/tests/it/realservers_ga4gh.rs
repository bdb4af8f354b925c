//! Job APIs of open standards that real users poll, replayed as `realservers.rs` replays its
//! servers (the same mock, the same capture format):
//!
//! - GA4GH Workflow Execution Service (WES 1.x), captured from wes-service 5.0 (the reference
//!   implementation) running cwltool, with `ga4gh-wes-run.json`: a run submitted as a multipart
//!   form to `COMPLETE` and its run log, a run to `EXECUTOR_ERROR` and its run log (a partial
//!   result), a cancel the server accepts
//!   but does not carry out (its cwl-runner backend's cancel is a no-op: the run completes), and
//!   a form the server refuses (`500`).
//! - The Ray Jobs REST API, captured from Ray 2.60.0 with `ray-job.json`: a job to
//!   `SUCCEEDED` and its logs, one to `FAILED` (the message quotes the logs), one stopped by
//!   `lro --cancel` (`STOPPED`), a submission id in use (`500`), and a stop of a finished job
//!   (`{"stopped": false}`: the cancel refused).
//! - GA4GH Task Execution Service (TES 1.1), with `ga4gh-tes-task.json`: no TES server could be
//!   had here (Funnel is a Go binary), so these answers are written from the OpenAPI document
//!   (task-execution-schemas, `openapi/task_execution_service.openapi.yaml`, 1.1.0:
//!   `POST /tasks` answers a `tesCreateTaskResponse` `{id}`, `GET /tasks/{id}` with `view`
//!   `MINIMAL` answers only `id` and `state`, `POST /tasks/{id}:cancel` answers an empty
//!   `tesCancelTaskResponse`, all under `/ga4gh/tes/v1`), not captured.

use serde_json::Value;

use crate::dialect_fixtures::fixture;
use crate::realservers::{
    body_of, cancel_then_resume, captures, exchanges, lines, replayed, scripted, CancelThenResume,
    Replay,
};
use crate::support::{lro, temp_dir, Run};

fn metadata(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The body of the first request of `scenario`, as the real server was sent it.
fn first_request_body(file: &Value, scenario: &str) -> String {
    file["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == scenario)
        .unwrap()["exchanges"][0]["request_body"]
        .as_str()
        .unwrap()
        .to_owned()
}

const WES: &str = "wes-service-5.0";
const FORM: &str = "content-type: multipart/form-data; boundary=lro-wes-boundary";

/// Submits the form of the WES `scenario` (written to a file: `-d @FILE`) with
/// `ga4gh-wes-run.json` and `extra` arguments; returns the run, the body of the last answer and
/// the mock.
async fn wes(scenario: &str, extra: &[&str]) -> (Run, String, Replay) {
    let file = captures(WES);
    let ex = exchanges(&file, scenario);
    let dir = temp_dir(&format!("realservers-wes-{scenario}"));
    let form = dir.join("run.form");
    std::fs::write(&form, first_request_body(&file, scenario)).unwrap();
    let form = format!("@{}", form.to_str().unwrap());
    let dialect = fixture("ga4gh-wes-run");
    let args = [&["--dialect", &dialect, "-H", FORM], extra, &["-d", &form]].concat();
    let (run, last, mock) = replayed(&ex, &args, "/ga4gh/wes/v1/runs").await;
    assert_eq!(mock.asked()[0].header("content-type"), Some(&FORM[14..]));
    (run, last, mock)
}

/// `RUNNING` six times, `COMPLETE`; the output is the run log (`GET …/runs/{run_id}`), which
/// holds the outputs; the metadata names the run and where its log was read.
#[tokio::test(flavor = "multi_thread")]
async fn wes_run_to_its_run_log() {
    let dir = temp_dir("realservers-wes-meta");
    let meta = dir.join("meta.json");
    let (run, last, mock) = wes("complete", &["--metadata", meta.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, last);
    let log = run.json();
    assert_eq!(log["state"], "COMPLETE");
    assert_eq!(log["outputs"]["out"]["class"], "File");
    let id = log["run_id"].as_str().unwrap();
    let m = metadata(&meta);
    assert_eq!(m["operationId"], id, "{m}");
    assert_eq!(m["meaning"], "succeeded", "{m}");
    let runs = format!("{}/ga4gh/wes/v1/runs/{id}", mock.base);
    assert_eq!(m["operationUrl"], format!("{runs}/status"), "{m}");
    assert_eq!(m["resourceUrl"], runs, "{m}");
}

/// The tool exits 3: `EXECUTOR_ERROR`, failed (exit 3); the description lists the word in
/// `partial_result`, so the run log, where WES keeps what went wrong (`run_log.stderr`,
/// `exit_code`), is fetched and written.
#[tokio::test(flavor = "multi_thread")]
async fn wes_run_executor_error_writes_its_run_log() {
    let dir = temp_dir("realservers-wes-failed");
    let meta = dir.join("meta.json");
    let (run, last, _) = wes("executor-error", &["--metadata", meta.to_str().unwrap()]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.stdout, last);
    let log = run.json();
    assert_eq!(log["state"], "EXECUTOR_ERROR");
    assert_eq!(log["run_log"]["exit_code"], 1);
    assert!(log["run_log"]["stderr"].as_str().unwrap().contains("broke"));
    let m = metadata(&meta);
    assert_eq!(
        (m["meaning"].as_str(), m["status"].as_str()),
        (Some("failed"), Some("EXECUTOR_ERROR"))
    );
    assert_eq!(m["canceled"], false, "{m}");
}

/// A form without `workflow_url`: the server raises and answers `500` with a problem document,
/// the final answer (no run started).
#[tokio::test(flavor = "multi_thread")]
async fn wes_form_refused() {
    let (run, last, _) = wes("no-workflow-url", &[]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.stdout, last);
    assert_eq!(run.json()["status"], 500);
}

/// `--no-wait`, `--cancel` (`POST …/runs/{run_id}/cancel`, answered with the `RunId`),
/// `--resume`: wes-service's cwl-runner backend accepts the cancel and does nothing, the run
/// goes on `RUNNING` to `COMPLETE`, and `lro` reports what the server says: a success and the
/// run log, not a cancellation.
#[tokio::test(flavor = "multi_thread")]
async fn wes_cancel_accepted_but_not_carried_out() {
    let file = captures(WES);
    let ex = exchanges(&file, "cancel-not-honoured");
    let mock = Replay::start(ex.clone()).await;
    let form = temp_dir("realservers-wes-cancel-form").join("run.form");
    std::fs::write(&form, first_request_body(&file, "cancel-not-honoured")).unwrap();
    let form = format!("@{}", form.to_str().unwrap());
    let url = format!("{}/ga4gh/wes/v1/runs", mock.base);
    let dialect = fixture("ga4gh-wes-run");
    let args = CancelThenResume {
        every: &[],
        start: &["--dialect", &dialect, "-H", FORM, "-d", &form, &url],
        resume: &[],
    };
    let (_, resumed) = cancel_then_resume(&mock, &ex, "realservers-wes-cancel", args).await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert_eq!(resumed.stdout, body_of(&ex.last().unwrap().1, &mock.base));
    assert_eq!(resumed.json()["state"], "COMPLETE");
}

const RAY: &str = "ray-2.60.0";

/// Submits `entrypoint` (and `submission_id` when given) against the replay of the Ray
/// `scenario` with `ray-job.json` and `extra` arguments.
async fn ray(scenario: &str, job: &str, extra: &[&str]) -> (Run, String) {
    let ex = exchanges(&captures(RAY), scenario);
    let dialect = fixture("ray-job");
    let args = [&["--dialect", &dialect], extra, &["--json", job]].concat();
    let (run, last, _) = replayed(&ex, &args, "/api/jobs/").await;
    (run, last)
}

/// `PENDING`, `RUNNING` three times, `SUCCEEDED`; the output is the job's logs
/// (`GET /api/jobs/{submission_id}/logs`), which end with what the entrypoint printed.
#[tokio::test(flavor = "multi_thread")]
async fn ray_job_to_its_logs() {
    let job = r#"{"entrypoint":"python -c \"import time; time.sleep(2); print(6*7)\""}"#;
    let (run, last) = ray("succeeded", job, &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, last);
    assert!(run.json()["logs"].as_str().unwrap().ends_with("\n42\n"));
}

/// The entrypoint exits 3: `FAILED`, the job's `message` the error (it quotes the logs).
#[tokio::test(flavor = "multi_thread")]
async fn ray_job_failed() {
    let dir = temp_dir("realservers-ray-failed");
    let meta = dir.join("meta.json");
    let extra = ["--metadata", meta.to_str().unwrap()];
    let job = r#"{"entrypoint":"python -c \"import sys; print(\\\"broke\\\", file=sys.stderr); sys.exit(3)\""}"#;
    let (run, _) = ray("failed", job, &extra).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let m = metadata(&meta);
    assert_eq!(m["error"]["kind"], "OperationFailed", "{m}");
    assert_eq!(m["status"], "FAILED", "{m}");
    let message = m["error"]["odataMessage"].as_str().unwrap();
    assert!(
        message.starts_with("Job entrypoint command failed with exit code 3"),
        "{m}"
    );
}

/// A `submission_id` already used: the dashboard answers `500` with a plain-text traceback,
/// the final answer.
#[tokio::test(flavor = "multi_thread")]
async fn ray_submission_id_in_use() {
    let job = r#"{"entrypoint":"true","submission_id":"raysubmit_viLEgb1sVhfUXDD2"}"#;
    let (run, last) = ray("submission-id-in-use", job, &[]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.stdout, last);
}

/// `--no-wait`; `--cancel` (`POST /api/jobs/{submission_id}/stop`: `{"stopped": true}`);
/// `--resume`: `RUNNING` twice, `STOPPED`, canceled (exit 8) with the job's message.
#[tokio::test(flavor = "multi_thread")]
async fn ray_job_stopped() {
    let file = captures(RAY);
    let ex = exchanges(&file, "stopped");
    let mock = Replay::start(ex.clone()).await;
    let meta = temp_dir("realservers-ray-stop-meta").join("meta.json");
    let url = format!("{}/api/jobs/", mock.base);
    let dialect = fixture("ray-job");
    let job = r#"{"entrypoint":"sleep 60","metadata":{"case":"stop"}}"#;
    let args = CancelThenResume {
        every: &[],
        start: &["--dialect", &dialect, "--json", job, &url],
        resume: &["--metadata", meta.to_str().unwrap()],
    };
    let (started, resumed) = cancel_then_resume(&mock, &ex, "realservers-ray-stop", args).await;
    assert_eq!(started.json()["operation_id"], "raysubmit_niRjESwamHxHzW4h");
    assert_eq!(resumed.code, 8, "{resumed:?}");
    let m = metadata(&meta);
    assert_eq!(
        (m["canceled"].as_bool(), m["status"].as_str()),
        (Some(true), Some("STOPPED"))
    );
    assert_eq!(m["error"]["odataMessage"], "Job was intentionally stopped.");
}

/// `--cancel` of a job that already succeeded: Ray answers `200` and `{"stopped": false}`.
/// `ray-job.json`'s `cancel` reads the answer (`"answer": {"word": "/stopped", "accepted":
/// ["true"]}`): the cancel is refused (exit 9), the server's answer named.
#[tokio::test(flavor = "multi_thread")]
async fn ray_stop_of_a_finished_job() {
    let file = captures(RAY);
    let ex = exchanges(&file, "stop-after-success");
    let mock = Replay::start(ex.clone()).await;
    let dir = temp_dir("realservers-ray-stop-done");
    let handle = dir.join("job.json");
    let id = "raysubmit_viLEgb1sVhfUXDD2";
    let dialect: Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture("ray-job")[1..]).unwrap()).unwrap();
    let saved = serde_json::json!({
        "version": 1,
        "rule": "declared",
        "method": "POST",
        "request_url": format!("{}/api/jobs/", mock.base),
        "operation_url": format!("{}/api/jobs/{id}", mock.base),
        "final_state": "auto",
        "submission_location": null,
        "operation_id": id,
        "origin": mock.base,
        "header_names": [],
        "polls": 5,
        "dialect": {"declared": dialect},
    });
    std::fs::write(&handle, saved.to_string()).unwrap();
    let cancel = lro(&["--cancel", handle.to_str().unwrap()]).await;
    assert_eq!(lines(&mock.asked()), scripted(&ex), "{cancel:?}");
    assert_eq!(cancel.code, 9, "{cancel:?}");
    assert!(
        cancel.stderr.contains("saying false at /stopped: refused"),
        "{cancel:?}"
    );
    assert!(
        cancel
            .stderr
            .contains(r#"the server said: {"stopped": false}"#),
        "{cancel:?}"
    );
}

const TASKS: &str = "/ga4gh/tes/v1/tasks";
const TASK: &str = "job-0012345";

/// An answer as a TES server writes one: `200`, JSON.
fn tes_answer(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The exchanges of a task created, then checked (`view=MINIMAL`) through `states`.
fn tes_script(states: &[&str]) -> Vec<(String, String)> {
    let mut out = vec![(
        format!("POST {TASKS}"),
        tes_answer(&format!(r#"{{"id":"{TASK}"}}"#)),
    )];
    for state in states {
        out.push((
            format!("GET {TASKS}/{TASK}?view=MINIMAL"),
            tes_answer(&format!(r#"{{"id":"{TASK}","state":"{state}"}}"#)),
        ));
    }
    out
}

/// The task document the OpenAPI document's examples describe, as `view=FULL` answers it.
const FULL_TASK: &str = r#"{"id":"job-0012345","state":"COMPLETE","name":"md5","executors":[{"image":"ubuntu:20.04","command":["md5sum","/data/file1"],"stdout":"/tmp/stdout.log"}],"outputs":[{"path":"/data/outfile","url":"s3://my-object-store/outfile-1","type":"FILE"}],"logs":[{"logs":[{"exit_code":0,"stdout":"d41d8cd98f00b204e9800998ecf8427e  /data/file1\n"}],"start_time":"2020-10-02T10:00:00-05:00","end_time":"2020-10-02T11:00:00-05:00"}],"creation_time":"2020-10-02T10:00:00-05:00"}"#;

const TES_TASK: &str =
    r#"{"name":"md5","executors":[{"image":"ubuntu:20.04","command":["md5sum","/data/file1"]}]}"#;

/// Runs `lro` with `ga4gh-tes-task.json` on the TES `script`, with `extra` arguments.
async fn tes(script: Vec<(String, String)>, extra: &[&str]) -> Run {
    let dialect = fixture("ga4gh-tes-task");
    let args = [&["--dialect", &dialect], extra, &["--json", TES_TASK]].concat();
    replayed(&script, &args, TASKS).await.0
}

/// `QUEUED`, `INITIALIZING`, `RUNNING`, `COMPLETE` (each a `view=MINIMAL` check); the output
/// is the whole task, asked for with `view=FULL`.
#[tokio::test(flavor = "multi_thread")]
async fn tes_task_to_its_full_view() {
    let mut script = tes_script(&["QUEUED", "INITIALIZING", "RUNNING", "COMPLETE"]);
    script.push((
        format!("GET {TASKS}/{TASK}?view=FULL"),
        tes_answer(FULL_TASK),
    ));
    let run = tes(script, &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, FULL_TASK);
}

/// Each of the states the document says a task ends in without success: failed (exit 3); the
/// description lists them in `partial_result`, so the whole task (`view=FULL`: its executor
/// logs and exit codes) is fetched and written.
#[tokio::test(flavor = "multi_thread")]
async fn tes_task_errors_write_the_full_task() {
    for state in ["EXECUTOR_ERROR", "SYSTEM_ERROR", "PREEMPTED"] {
        let dir = temp_dir(&format!("realservers-tes-{state}"));
        let meta = dir.join("meta.json");
        let extra = ["--metadata", meta.to_str().unwrap()];
        let full = FULL_TASK
            .replace(r#""COMPLETE""#, &format!("{state:?}"))
            .replace(r#""exit_code":0"#, r#""exit_code":1"#);
        let mut script = tes_script(&["QUEUED", "RUNNING", state]);
        script.push((format!("GET {TASKS}/{TASK}?view=FULL"), tes_answer(&full)));
        let run = tes(script, &extra).await;
        assert_eq!(run.code, 3, "{state}: {run:?}");
        assert_eq!(run.stdout, full);
        let m = metadata(&meta);
        assert_eq!(
            (m["meaning"].as_str(), m["status"].as_str()),
            (Some("failed"), Some(state))
        );
    }
}

/// `--no-wait`; `--cancel` sends `POST /tasks/{id}:cancel` (the `:cancel` kept as written,
/// not escaped); `--resume` reads `CANCELING` (still running), then `CANCELED`: exit 8.
#[tokio::test(flavor = "multi_thread")]
async fn tes_task_canceled() {
    let mut script = tes_script(&[]);
    script.push((format!("POST {TASKS}/{TASK}:cancel"), tes_answer("{}")));
    script.extend(tes_script(&["CANCELING", "CANCELED"]).into_iter().skip(1));
    let mock = Replay::start(script.clone()).await;
    let meta = temp_dir("realservers-tes-cancel-meta").join("meta.json");
    let url = format!("{}{TASKS}", mock.base);
    let dialect = fixture("ga4gh-tes-task");
    let args = CancelThenResume {
        every: &[],
        start: &["--dialect", &dialect, "--json", TES_TASK, &url],
        resume: &["--metadata", meta.to_str().unwrap()],
    };
    let (started, resumed) =
        cancel_then_resume(&mock, &script, "realservers-tes-cancel", args).await;
    assert_eq!(started.json()["operation_id"], TASK);
    assert_eq!(resumed.code, 8, "{resumed:?}");
    let m = metadata(&meta);
    assert_eq!(
        (m["canceled"].as_bool(), m["status"].as_str()),
        (Some(true), Some("CANCELED"))
    );
}
