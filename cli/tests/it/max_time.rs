//! `--max-time` bounds the whole command, as curl's does: a submission never answered, a poll
//! never answered, a final body that stalls.

use std::time::{Duration, Instant};

use crate::support::stall::{self, Reply};
use crate::support::{lro, temp_dir};

fn h(name: &str, value: String) -> (String, String) {
    (name.to_owned(), value)
}

/// `/hang`: never answered. `/jobs`: an operation whose first poll is never answered.
/// `/stall`: a plain answer whose body stalls. `/jobs2`: an operation that succeeds, whose
/// resource's body stalls.
async fn server() -> String {
    stall::start(|_, target, base| match target.split('?').next().unwrap() {
        "/hang" | "/ops/1" => Reply::Never,
        "/stall" | "/things/2" => Reply::Stall(r#"{"partial":"#.to_owned()),
        "/jobs" => Reply::Full(
            202,
            vec![
                h("operation-location", format!("{base}/ops/1")),
                h("retry-after", "0".into()),
            ],
            String::new(),
        ),
        "/jobs2" => Reply::Full(
            202,
            vec![
                h("operation-location", format!("{base}/ops/2")),
                h("retry-after", "0".into()),
            ],
            String::new(),
        ),
        "/ops/2" => Reply::Full(
            200,
            vec![h("resource-location", format!("{base}/things/2"))],
            r#"{"status":"Succeeded"}"#.into(),
        ),
        _ => Reply::Full(404, vec![], String::new()),
    })
    .await
}

/// `lro --max-time 1 ARGS`, checked to end within a few seconds.
async fn bounded(args: &[&str]) -> crate::support::Run {
    let started = Instant::now();
    let mut all = vec!["--max-time", "1"];
    all.extend_from_slice(args);
    let run = lro(&all).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "--max-time 1 took {:?}: {run:?}",
        started.elapsed()
    );
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn a_submission_never_answered_times_out_without_a_handle() {
    let base = server().await;
    let dir = temp_dir("max-time-hang");
    let file = dir.join("handle.json");
    let url = format!("{base}/hang");
    let run = bounded(&["-X", "POST", "--save-handle", file.to_str().unwrap(), &url]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr.contains("no answer within --max-time 1 s"),
        "{run:?}"
    );
    assert!(!file.exists(), "no operation started: no handle");
    assert!(run.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poll_never_answered_times_out_and_saves_the_handle() {
    let base = server().await;
    let dir = temp_dir("max-time-poll");
    let file = dir.join("handle.json");
    let url = format!("{base}/jobs");
    let run = bounded(&["-X", "POST", "--save-handle", file.to_str().unwrap(), &url]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains(file.to_str().unwrap()), "{run:?}");
    let handle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(handle["operation_url"], format!("{base}/ops/1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_body_times_out() {
    let base = server().await;
    let dir = temp_dir("max-time-body");

    // Not an operation: nothing to resume.
    let file = dir.join("none.json");
    let url = format!("{base}/stall");
    let run = bounded(&["--save-handle", file.to_str().unwrap(), &url]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr
            .contains("--max-time 1 s passed while the body was streaming"),
        "{run:?}"
    );
    assert!(!file.exists());

    // The resource of a finished operation: the handle is saved (resuming fetches it again).
    let file = dir.join("handle.json");
    let url = format!("{base}/jobs2");
    let run = bounded(&["-X", "POST", "--save-handle", file.to_str().unwrap(), &url]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains(file.to_str().unwrap()), "{run:?}");
    let handle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(handle["operation_url"], format!("{base}/ops/2"));
}
