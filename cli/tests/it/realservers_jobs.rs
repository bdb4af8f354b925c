//! Three more real open-source servers, replayed as `realservers.rs` replays its three (the same
//! mock, the same capture format; the servers are not needed here):
//!
//! - moto 5.2.6's server mode emulating AWS Step Functions, its state machine interpreter
//!   switched on: `aws-step-functions-execution.json` as it is, signed, every action a
//!   `POST /` named by `X-Amz-Target` — an execution to `SUCCEEDED`, one to `FAILED`, a name
//!   already in use (`400`), and one stopped by `lro --cancel` (`StopExecution`) to `ABORTED`.
//! - wraptile 0.3.0 (Eozilla's OGC API – Processes server) through `--dialect ogc-processes`:
//!   its execution answers `201` with the job's `statusInfo` and no `Location` (the standard
//!   asks for one); the job is where the standard puts it, `{root}/jobs/{jobID}`. A job to its
//!   results, a failed job, a dismissed one, and inputs the server refuses (`400`).
//! - Apache Airflow 3.3.2's REST API v2: a DAG run triggered (`POST …/dagRuns`, `200`) and
//!   followed at `…/dagRuns/{dag_run_id}` (the id, with its `:` and `+`, escaped as one path
//!   segment) with the description the capture file holds: to `success`, to `failed`, an
//!   unknown DAG (`404`), and a run given up at `--max-time`, marked failed out of band (a
//!   `PATCH`, which a declared cancel cannot send), then resumed to `failed`.

use serde_json::Value;

use crate::dialect_fixtures::fixture;
use crate::realservers::{
    cancel_then_resume, captures, exchanges, lines, replayed, scripted, Asked, CancelThenResume,
    Replay,
};
use crate::support::{lro, temp_dir, Run};

const MOTO_SFN: &str = "moto-5.2.6-stepfunctions";
const STATES: [&str; 4] = [
    "--aws-sigv4",
    "aws:amz:us-east-1:states",
    "-u",
    "AKIDEXAMPLE:secret",
];
const START: &str = "x-amz-target: AWSStepFunctions.StartExecution";

/// The captured exchanges of `scenario`, as the fixture has them (with the request's target
/// and body).
fn captured(file: &Value, scenario: &str) -> Vec<Value> {
    file["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == scenario)
        .unwrap()["exchanges"]
        .as_array()
        .unwrap()
        .clone()
}

/// Every request went with the target and the body the real server was sent, signed with the
/// caller's key for `states`.
fn sent_as_captured(asked: &[Asked], captured: &[Value]) {
    assert_eq!(asked.len(), captured.len());
    for (a, e) in asked.iter().zip(captured) {
        assert_eq!(
            a.header("x-amz-target"),
            e["x-amz-target"].as_str(),
            "{a:?}"
        );
        let sent: Value = serde_json::from_str(&a.body).unwrap();
        let then: Value = serde_json::from_str(e["request_body"].as_str().unwrap()).unwrap();
        assert_eq!(sent, then, "{a:?}");
        let auth = a.header("authorization").unwrap_or("");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
                && auth.contains("/us-east-1/states/aws4_request"),
            "{auth}"
        );
    }
}

fn metadata(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Starts an execution of `machine` named `name` with `input` against the replay of `scenario`,
/// with `extra` arguments; returns the run, what the mock was asked, and the scenario.
async fn execution(
    scenario: &str,
    machine: &str,
    name: &str,
    input: &str,
    extra: &[&str],
) -> (Run, Vec<Asked>, Vec<Value>) {
    let file = captures(MOTO_SFN);
    let ex = exchanges(&file, scenario);
    let dialect = fixture("aws-step-functions-execution");
    let start = serde_json::json!({
        "stateMachineArn": format!("arn:aws:states:us-east-1:123456789012:stateMachine:{machine}"),
        "name": name,
        "input": input,
    })
    .to_string();
    let args = [
        &STATES[..],
        &[
            "-H",
            START,
            "-H",
            "content-type: application/x-amz-json-1.0",
        ],
        &["-d", &start, "--dialect", &dialect],
        extra,
    ]
    .concat();
    let (run, _, mock) = replayed(&ex, &args, "/").await;
    (run, mock.asked(), captured(&file, scenario))
}

/// `StartExecution`, `DescribeExecution` (`RUNNING`), `DescribeExecution` (`SUCCEEDED`): the
/// output is the execution's `output`, the JSON text moto wrote into a string, decoded (the
/// fixture reads it with `embedded_json`).
#[tokio::test(flavor = "multi_thread")]
async fn moto_step_functions_execution_to_its_output() {
    let input = r#"{"a":1,"b":2}"#;
    let (run, asked, captured) = execution("succeeded", "adds", "run-1", input, &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    sent_as_captured(&asked, &captured);
    assert_eq!(run.json()["sum"], 3, "{run:?}");
}

/// A `Fail` state: `FAILED` with `error` and `cause`; the dialect reports them as the error's
/// code and message.
#[tokio::test(flavor = "multi_thread")]
async fn moto_step_functions_execution_failed() {
    let dir = temp_dir("realservers-sfn-failed");
    let meta = dir.join("meta.json");
    let extra = ["--metadata", meta.to_str().unwrap()];
    let (run, asked, captured) = execution("failed", "fails", "run-2", "{}", &extra).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    sent_as_captured(&asked, &captured);
    let m = metadata(&meta);
    assert_eq!(m["error"]["kind"], "OperationFailed", "{m}");
    assert_eq!(m["meaning"], "failed", "{m}");
    assert_eq!(m["status"], "FAILED", "{m}");
    // `error` is the code, `cause` the message.
    assert_eq!(m["error"]["code"], "Kaput", "{m}");
    assert_eq!(m["error"]["odataMessage"], "the input said so", "{m}");
}

/// A name in use: `StartExecution` answers `400` + `ExecutionAlreadyExists`, the final answer
/// (no operation started; its body written).
#[tokio::test(flavor = "multi_thread")]
async fn moto_step_functions_name_in_use() {
    let input = r#"{"a":5,"b":5}"#;
    let (run, asked, captured) = execution("exists", "adds", "run-1", input, &[]).await;
    assert_eq!(run.code, 3, "{run:?}");
    sent_as_captured(&asked, &captured);
    assert_eq!(
        run.json()["__type"],
        "AWSStepFunctions#ExecutionAlreadyExists"
    );
}

/// `--no-wait`; `--cancel` sends `StopExecution` with the execution's ARN (moto answers `{}`);
/// `--resume` reads `ABORTED`: canceled (exit 8).
#[tokio::test(flavor = "multi_thread")]
async fn moto_step_functions_execution_stopped() {
    let file = captures(MOTO_SFN);
    let ex = exchanges(&file, "aborted");
    let mock = Replay::start(ex.clone()).await;
    let meta = temp_dir("realservers-sfn-stop-meta").join("meta.json");
    let url = format!("{}/", mock.base);
    let dialect = fixture("aws-step-functions-execution");
    let start = r#"{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:waits","name":"run-4","input":"{}"}"#;
    let args = CancelThenResume {
        every: &[&STATES[..], &["-H", START]].concat(),
        start: &[
            "-H",
            "content-type: application/x-amz-json-1.0",
            "-d",
            start,
            "--dialect",
            &dialect,
            &url,
        ],
        resume: &["--metadata", meta.to_str().unwrap()],
    };
    let (started, resumed) = cancel_then_resume(&mock, &ex, "realservers-sfn-stop", args).await;
    let arn = "arn:aws:states:us-east-1:123456789012:execution:waits:run-4";
    assert_eq!(started.json()["operation_id"], arn);
    sent_as_captured(&mock.asked(), &captured(&file, "aborted"));
    assert_eq!(resumed.code, 8, "{resumed:?}");
    let m = metadata(&meta);
    assert_eq!(
        (m["canceled"].clone(), m["status"].clone()),
        (true.into(), "ABORTED".into())
    );
}

const WRAPTILE: &str = "wraptile-0.3.0";

/// Runs `lro --dialect ogc-processes` on the wraptile scenario, executing `process` with
/// `inputs`, with `extra` arguments.
async fn wraptile(scenario: &str, process: &str, inputs: &str, extra: &[&str]) -> (Run, String) {
    let ex = exchanges(&captures(WRAPTILE), scenario);
    let body = format!(r#"{{"inputs":{inputs}}}"#);
    let args = [&["--dialect", "ogc-processes"], extra, &["--json", &body]].concat();
    let path = format!("/processes/{process}/execution");
    let (run, last, mock) = replayed(&ex, &args, &path).await;
    assert_eq!(mock.asked()[0].header("prefer"), Some("respond-async"));
    (run, last)
}

/// `201` without `Location`: `accepted`; `GET /jobs/job_2` says `running` (65 %), then
/// `successful` without links; the results at `/jobs/job_2/results` are the output.
#[tokio::test(flavor = "multi_thread")]
async fn wraptile_job_without_a_location_to_its_results() {
    let (run, last) = wraptile("successful", "sleep_a_while", r#"{"duration":1.5}"#, &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, last);
    assert!(run.json()["return_value"].as_f64().unwrap() > 1.5);
}

/// The process raised: `failed`, its `message` the error.
#[tokio::test(flavor = "multi_thread")]
async fn wraptile_failed_job() {
    let dir = temp_dir("realservers-wraptile-failed");
    let meta = dir.join("meta.json");
    let extra = ["--metadata", meta.to_str().unwrap()];
    let inputs = r#"{"duration":1.5,"fail":true}"#;
    let (run, _) = wraptile("failed", "sleep_a_while", inputs, &extra).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let m = metadata(&meta);
    assert_eq!(m["error"]["kind"], "OperationFailed", "{m}");
    assert_eq!(m["status"], "failed", "{m}");
    assert_eq!(m["error"]["odataMessage"], "Woke up too early", "{m}");
}

/// Inputs the process refuses: `400` with a problem document, the final answer.
#[tokio::test(flavor = "multi_thread")]
async fn wraptile_refused_inputs() {
    let (run, last) = wraptile("invalid", "primes_between", r#"{"max_val":1000}"#, &[]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.stdout, last);
    assert_eq!(run.json()["status"], 400);
}

/// `--no-wait` (the handle names `/jobs/job_4`), `--cancel` (`DELETE`: `200`, `dismissed`),
/// `--resume`: the job says `dismissed`, canceled (exit 8).
#[tokio::test(flavor = "multi_thread")]
async fn wraptile_job_dismissed() {
    let file = captures(WRAPTILE);
    let ex = exchanges(&file, "dismissed");
    let mock = Replay::start(ex.clone()).await;
    let url = format!("{}/processes/sleep_a_while/execution", mock.base);
    let body = r#"{"inputs":{"duration":30}}"#;
    let args = CancelThenResume {
        every: &[],
        start: &["--dialect", "ogc-processes", "--json", body, &url],
        resume: &[],
    };
    let (started, resumed) =
        cancel_then_resume(&mock, &ex, "realservers-wraptile-dismiss", args).await;
    let job = format!("{}/jobs/job_4", mock.base);
    assert_eq!(started.json()["operation_url"], job.as_str());
    assert_eq!(resumed.code, 8, "{resumed:?}");
}

const AIRFLOW: &str = "airflow-3.3.2";

/// Triggers `dag` against the replay of `scenario` with the capture's own description, with
/// `extra` arguments; returns the run and the body of the last answer.
async fn airflow(scenario: &str, dag: &str, body: &str, extra: &[&str]) -> (Run, String) {
    let file = captures(AIRFLOW);
    let ex = exchanges(&file, scenario);
    let dialect = file["dialect"].to_string();
    let args = [&["--dialect", &dialect], extra, &["--json", body]].concat();
    let path = format!("/api/v2/dags/{dag}/dagRuns");
    let (run, last, _) = replayed(&ex, &args, &path).await;
    (run, last)
}

/// `queued`, `running` (six checks), `success`: the terminal DAG run is the output (the
/// description names no result).
#[tokio::test(flavor = "multi_thread")]
async fn airflow_dag_run_to_success() {
    let body = r#"{"logical_date":null,"conf":{"seconds":2}}"#;
    let (run, last) = airflow("success", "sleeps", body, &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, last);
    assert_eq!(run.json()["state"], "success");
    assert!(run.json()["dag_run_id"]
        .as_str()
        .unwrap()
        .starts_with("manual__"));
}

/// The task raised: the run ends `failed` (Airflow gives no error in the run itself).
#[tokio::test(flavor = "multi_thread")]
async fn airflow_dag_run_failed() {
    let dir = temp_dir("realservers-airflow-failed");
    let meta = dir.join("meta.json");
    let extra = ["--metadata", meta.to_str().unwrap()];
    let (run, _) = airflow("failed", "fails", r#"{"logical_date":null}"#, &extra).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let m = metadata(&meta);
    assert_eq!(m["error"]["kind"], "OperationFailed", "{m}");
    assert_eq!(
        (m["meaning"].as_str(), m["status"].as_str()),
        (Some("failed"), Some("failed"))
    );
}

/// No such DAG: `404`, the final answer.
#[tokio::test(flavor = "multi_thread")]
async fn airflow_unknown_dag() {
    let (run, last) = airflow("unknown", "nope", r#"{"logical_date":null}"#, &[]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.stdout, last);
}

/// `--no-wait`; `--resume` gives up at `--max-time` while the run is `running` (exit 4, a
/// handle saved); the run was then marked failed at the server; `--resume` reads `failed`.
/// However the first resume's polls fall, the server was asked the same requests in order.
#[tokio::test(flavor = "multi_thread")]
async fn airflow_dag_run_given_up_then_failed_out_of_band() {
    let file = captures(AIRFLOW);
    let ex = exchanges(&file, "marked-failed");
    let mock = Replay::start(ex.clone()).await;
    let dir = temp_dir("realservers-airflow-resume");
    let (handle, again) = (dir.join("run.json"), dir.join("again.json"));
    let (handle, again) = (handle.to_str().unwrap(), again.to_str().unwrap());
    let url = format!("{}/api/v2/dags/long/dagRuns", mock.base);
    let dialect = file["dialect"].to_string();
    let body = r#"{"logical_date":null}"#;
    let started = lro(&["--no-wait", "--dialect", &dialect, "--json", body, &url]).await;
    assert_eq!(started.code, 0, "{started:?}");
    std::fs::write(handle, &started.stdout).unwrap();
    // Polls 1.5 s apart under a 2 s deadline: one or two polls, never the third answer.
    let wait = [
        "--poll-interval",
        "1.5",
        "--max-time",
        "2",
        "--save-handle",
        again,
    ];
    let gave_up = lro(&[&wait[..], &["--resume", handle]].concat()).await;
    assert_eq!(gave_up.code, 4, "{gave_up:?}");
    let resumed = lro(&["--poll-interval", "0", "--resume", again]).await;
    assert_eq!(lines(&mock.asked()), scripted(&ex), "{resumed:?}");
    assert_eq!(resumed.code, 3, "{resumed:?}");
}
