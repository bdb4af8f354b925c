//! A declared cancel's `answer` through the built binary, with Ray's description
//! (`ray-job.json`: `"answer": {"word": "/stopped", "accepted": ["true"]}`) against loopback
//! mocks: `--cancel-on-interrupt` refused by a `{"stopped": false}`, the server's word escaped,
//! the body read within `--max-time` and within the status body limit. (`--cancel` of a finished
//! job, replaying Ray's own answer: `realservers_ga4gh::ray_stop_of_a_finished_job`.)

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::dialect_fixtures::fixture;
use crate::support::stall::{self, Reply};
use crate::support::{lro, lro_interrupted_while_waiting, resp, temp_dir, Mock, Run};

const JOB: &str = "raysubmit_a1";

/// A resume handle for the Ray job `JOB` at `base`, its dialect Ray's description.
fn handle(base: &str, name: &str) -> String {
    let dialect: Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture("ray-job")[1..]).unwrap()).unwrap();
    let saved = serde_json::json!({
        "version": 1,
        "rule": "declared",
        "method": "POST",
        "request_url": format!("{base}/api/jobs/"),
        "operation_url": format!("{base}/api/jobs/{JOB}"),
        "final_state": "auto",
        "submission_location": null,
        "operation_id": JOB,
        "origin": base,
        "header_names": [],
        "polls": 1,
        "dialect": {"declared": dialect},
    });
    let path = temp_dir(name).join("job.json");
    std::fs::write(&path, saved.to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

/// A Ray head whose job `JOB` runs forever and whose stop answers `200` with `stop`.
async fn ray(stop: String) -> Mock {
    Mock::start(move |req, _| {
        let job = format!("/api/jobs/{JOB}");
        match (req.method.as_str(), req.target.as_str()) {
            ("POST", "/api/jobs/") => resp(
                200,
                &[],
                &format!(r#"{{"job_id":"{JOB}","submission_id":"{JOB}"}}"#),
            ),
            ("GET", t) if t == job => resp(
                200,
                &[("retry-after", "30".to_owned())],
                &format!(r#"{{"submission_id":"{JOB}","status":"RUNNING"}}"#),
            ),
            ("POST", t) if t == format!("{job}/stop") => resp(200, &[], &stop),
            _ => resp(404, &[], ""),
        }
    })
    .await
}

async fn cancel(stop: &str, name: &str) -> (Run, Mock) {
    let mock = ray(stop.to_owned()).await;
    let file = handle(&mock.base, name);
    let run = lro(&["--cancel", &file]).await;
    (run, mock)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_answered_stopped_true_is_accepted() {
    let (run, mock) = cancel(r#"{"stopped": true}"#, "cancel-answer-true").await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(mock.count(&format!("/api/jobs/{JOB}/stop")), 1);
}

/// The word the server sends is escaped as every server text is, in the library's message and
/// in the answer printed after it.
#[tokio::test(flavor = "multi_thread")]
async fn a_refusing_word_is_shown_escaped() {
    let (run, _) = cancel(
        r#"{"stopped": "no\u001b]0;owned\u0007\u202e"}"#,
        "cancel-answer-hostile",
    )
    .await;
    assert_eq!(run.code, 9, "{run:?}");
    let stderr = &run.stderr;
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{202e}'),
        "{stderr}"
    );
    assert!(stderr.contains(r"no\x1b]0;owned\x07\u{202e}"), "{stderr}");
}

/// `--cancel-on-interrupt`: the interrupt's cancel is refused by Ray's `{"stopped": false}`
/// (a job that ended meanwhile); the refusal and the server's answer are reported, and the exit
/// code stays the interrupt's.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupt_cancel_refused_by_its_answer_is_reported() {
    let mock = ray(r#"{"stopped": false}"#.to_owned()).await;
    let dialect = fixture("ray-job");
    let dir = temp_dir("cancel-answer-interrupt");
    let saved = dir.join("handle.json");
    let url = format!("{}/api/jobs/", mock.base);
    let args = [
        "--dialect",
        &dialect,
        "--cancel-on-interrupt",
        "--save-handle",
        saved.to_str().unwrap(),
        "--json",
        r#"{"entrypoint":"sleep 600"}"#,
        &url,
    ];
    let (mut child, mut lines) = lro_interrupted_while_waiting(&args).await;
    let rest = tokio::time::timeout(Duration::from_secs(20), async {
        let mut rest = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push(line);
        }
        rest
    })
    .await
    .expect("lro ends after the interrupt");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    let stderr = rest.join("\n");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert_eq!(mock.count(&format!("/api/jobs/{JOB}/stop")), 1, "{stderr}");
    assert!(
        stderr.contains("saying false at /stopped: refused"),
        "{stderr}"
    );
    assert!(stderr.contains(r#"{"stopped": false}"#), "{stderr}");
}

/// A stop whose `200` announces a body it never sends: the body is read within `--max-time`,
/// which ends the wait (no answer: exit 6), not the server.
#[tokio::test(flavor = "multi_thread")]
async fn the_answer_is_read_within_max_time() {
    let base = stall::start(|method, path, _| match (method, path) {
        ("POST", p) if p.ends_with("/stop") => Reply::Stall(r#"{"stopp"#.to_owned()),
        _ => Reply::Full(404, Vec::new(), String::new()),
    })
    .await;
    let file = handle(&base, "cancel-answer-stall");
    let began = Instant::now();
    let run = lro(&["--cancel", &file, "--max-time", "2"]).await;
    assert_eq!(run.code, 6, "{run:?}");
    assert!(began.elapsed() < Duration::from_secs(15), "{run:?}");
}

/// An answer over the status body limit (1 MiB) is not read whole: it says nothing, and the
/// `200` decides.
#[tokio::test(flavor = "multi_thread")]
async fn an_answer_over_the_status_body_limit_says_nothing() {
    let pad = "x".repeat(1024 * 1024 + 1);
    let body = format!(r#"{{"stopped": false, "pad": "{pad}"}}"#);
    let (run, _) = cancel(&body, "cancel-answer-large").await;
    assert_eq!(run.code, 0, "{run:?}");
}
