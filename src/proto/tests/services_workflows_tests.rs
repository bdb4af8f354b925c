//! Workflow orchestrators described as declared dialects (the fixtures in
//! `tests/fixtures/dialects/`): one row per documented outcome, each citing the public document
//! it follows; the bodies are trimmed to the fields the layer reads and a few beside them. How
//! each is cancelled is a row of `cancel_body_tests`.

use super::*;

/// Apache Airflow DAG runs (REST API v2): Trigger DAG Run (`POST
/// /api/v2/dags/{dag_id}/dagRuns`) answers `200` with the DAGRun, its `dag_run_id` and state
/// `queued`; Get DAG Run (`GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}`) says `queued`,
/// `running`, then `success` or `failed`. A run is stopped by Modify a DAG Run (`PATCH` of the
/// same URL with `{"state": "failed"}`), after which it reads `failed`: Airflow has no word of
/// its own for a stopped run. The run id (`manual__{timestamp}`) holds `:` and `+`, escaped in
/// its one segment as Airflow 3.3.2 was sent them (`tests/fixtures/realservers/`).
/// https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html
#[test]
fn apache_airflow_dag_run_declared() {
    const RUNS: &str = "https://airflow.example/api/v2/dags/sleeps/dagRuns";
    const RUN: &str =
        "https://airflow.example/api/v2/dags/sleeps/dagRuns/manual__2026-12-07T19%3A56%3A11.033131%2B00%3A00";
    let state = |word: &'static str| -> R {
        r(
            200,
            &[("content-type", "application/json")],
            match word {
                "queued" => {
                    r#"{"dag_run_id":"manual__2026-12-07T19:56:11.033131+00:00","dag_id":"sleeps","state":"queued","end_date":null}"#
                }
                "running" => {
                    r#"{"dag_run_id":"manual__2026-12-07T19:56:11.033131+00:00","dag_id":"sleeps","state":"running","end_date":null}"#
                }
                "success" => {
                    r#"{"dag_run_id":"manual__2026-12-07T19:56:11.033131+00:00","dag_id":"sleeps","state":"success","end_date":"2026-12-07T19:56:16.4Z"}"#
                }
                _ => {
                    r#"{"dag_run_id":"manual__2026-12-07T19:56:11.033131+00:00","dag_id":"sleeps","state":"failed","end_date":"2026-12-07T19:56:16.4Z"}"#
                }
            },
        )
    };
    let triggered = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("airflow")),
            "POST",
            RUNS,
            &[("authorization", "Bearer eyJ-t")],
            state("queued"),
            polls,
        )
    };

    let run = triggered(&[state("queued"), state("running"), state("success")]);
    let (i, meta) = delivered(&run);
    assert_eq!((i, word(meta)), (2, ("success", Meaning::Succeeded)));
    assert_eq!(
        meta.operation_id(),
        Some("manual__2026-12-07T19:56:11.033131+00:00")
    );
    assert_eq!(run.sent.len(), 3);
    for sent in &run.sent {
        assert_eq!((sent.uri.as_str(), sent.kind), (RUN, PollKind::Status));
    }

    let run = triggered(&[state("running"), state("failed")]);
    let err = failed(&run);
    assert_eq!(
        (
            err.kind(),
            err.is_canceled(),
            err.operation_status().map(|s| (s.as_str(), s.meaning()))
        ),
        (
            ErrorKind::OperationFailed,
            false,
            Some(("failed", Meaning::Failed))
        )
    );

    // A run that is over when the first poll comes.
    let run = triggered(&[state("success")]);
    assert_eq!(word(delivered(&run).1), ("success", Meaning::Succeeded));
}
