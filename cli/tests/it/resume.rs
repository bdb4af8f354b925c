//! Nothing lost: --no-wait then --resume, a timeout, and SIGINT while waiting.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::{
    lro, lro_interrupted_while_waiting, lro_with_stdin, now, resp, temp_dir, Mock,
};
use serde_json::Value;

/// V2 shape whose status says `Running` (with `retry-after`) until `done` is set.
async fn switchable(done: Arc<AtomicBool>, wait: &'static str) -> Mock {
    Mock::start(
        move |req, base| match req.target.split('?').next().unwrap() {
            "/jobs" => resp(
                202,
                &[("operation-location", format!("{base}/ops/9")), now()],
                "",
            ),
            "/ops/9" if done.load(Ordering::SeqCst) => resp(
                200,
                &[("resource-location", format!("{base}/things/9"))],
                r#"{"id":"9","status":"Succeeded"}"#,
            ),
            "/ops/9" => resp(
                200,
                &[("retry-after", wait.to_owned())],
                r#"{"id":"9","status":"Running","percentComplete":40}"#,
            ),
            "/things/9" => resp(200, &[], r#"{"thing":9}"#),
            _ => resp(404, &[], ""),
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn no_wait_prints_a_handle_that_resume_completes() {
    let done = Arc::new(AtomicBool::new(false));
    let mock = switchable(done.clone(), "0").await;
    let url = format!("{}/jobs?api-version=1", mock.base);
    let run = lro(&["-X", "POST", "--no-wait", &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let handle = run.json();
    assert_eq!(handle["operation_url"], format!("{}/ops/9", mock.base));
    assert_eq!(mock.count("/jobs"), 1);
    // Even with `Retry-After: 0` on the submission, --no-wait polls nothing.
    assert_eq!(mock.count("/ops/9"), 0);

    done.store(true, Ordering::SeqCst);
    let dir = temp_dir("no-wait");
    let file = dir.join("handle.json");
    std::fs::write(&file, &run.stdout).unwrap();
    let resumed = lro(&["-v", "--resume", file.to_str().unwrap()]).await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert_eq!(resumed.json()["thing"], 9);
    assert_eq!(
        mock.count("/jobs"),
        1,
        "resuming never re-sends the submission"
    );
    // -v says so, and shows only what is sent: the polls, not the submission.
    let lines: Vec<&str> = resumed.stderr.lines().collect();
    let resuming = format!("lro: resuming the operation at {}/ops/9 ", mock.base);
    assert!(
        lines.iter().any(|l| l.starts_with(&resuming)),
        "{}",
        resumed.stderr
    );
    let sent: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("> ") && !l[2..].contains(": "))
        .collect();
    // The first request sent is the poll (with the carried api-version).
    let poll = format!("> GET {}/ops/9?", mock.base);
    assert!(
        sent.first().is_some_and(|l| l.starts_with(&poll)),
        "{}",
        resumed.stderr
    );
    assert!(
        !sent.iter().any(|l| l.contains("/jobs")),
        "{}",
        resumed.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_saves_the_handle_and_exits_4() {
    let done = Arc::new(AtomicBool::new(false));
    // Retry-After 30 s would end past a 1 s deadline: the layer times out at once.
    let mock = switchable(done.clone(), "30").await;
    let dir = temp_dir("timeout");
    let file = dir.join("saved.json");
    let url = format!("{}/jobs", mock.base);
    let args = [
        "-X",
        "POST",
        "--max-time",
        "1",
        "--save-handle",
        file.to_str().unwrap(),
        &url,
    ];
    let run = lro(&args).await;
    assert_eq!(run.code, 4, "{run:?}");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["operation_url"], format!("{}/ops/9", mock.base));

    done.store(true, Ordering::SeqCst);
    let resumed = lro(&["--resume", file.to_str().unwrap()]).await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert_eq!(resumed.json()["thing"], 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_while_waiting_saves_a_handle_that_resume_completes() {
    let done = Arc::new(AtomicBool::new(false));
    let mock = switchable(done.clone(), "30").await;
    let dir = temp_dir("sigint");
    let file = dir.join("interrupted.json");
    let url = format!("{}/jobs", mock.base);
    let args = ["-X", "POST", "--save-handle", file.to_str().unwrap(), &url];
    let (mut child, _lines) = lro_interrupted_while_waiting(&args).await;
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(130));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["operation_url"], format!("{}/ops/9", mock.base));

    done.store(true, Ordering::SeqCst);
    let resumed = lro(&["--resume", file.to_str().unwrap()]).await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert_eq!(resumed.json()["thing"], 9);
    assert_eq!(mock.count("/jobs"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_reads_the_handle_from_stdin() {
    let done = Arc::new(AtomicBool::new(true));
    let mock = switchable(done, "0").await;
    let handle = format!(
        r#"{{"version":1,"rule":"operation-location","method":"POST","request_url":"{b}/jobs",
        "operation_url":"{b}/ops/9","final_state":"auto","submission_location":null,"operation_id":null,
        "origin":"{b}","header_names":[],"polls":0}}"#,
        b = mock.base
    );
    let run = lro_with_stdin(&["--resume", "-"], &handle).await;
    assert_eq!(run.code, 0, "{run:?}");
    let body = run.json();
    assert_eq!(body["thing"], 9);
}

/// `-L` after `--resume` keeps what the handle says: its operation had sent a request to
/// another origin, so nothing of it carries credentials (the layer withholds them from the
/// monitor and the resource), and neither does a redirect the resource answers, though it
/// stays on the URL's origin. `-L` judged by the requests of this run alone, which all went to
/// one origin, and gave the redirect `Authorization`.
#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_after_resume_keeps_the_credentials_withheld() {
    let mock = Mock::start(|req, base| match req.target.split('?').next().unwrap() {
        "/ops/9" => resp(
            200,
            &[("resource-location", format!("{base}/things/9"))],
            r#"{"status":"Succeeded"}"#,
        ),
        "/things/9" => resp(302, &[("location", format!("{base}/moved/9"))], ""),
        "/moved/9" => resp(200, &[], r#"{"thing":9}"#),
        _ => resp(404, &[], ""),
    })
    .await;
    let handle = format!(
        r#"{{"version":1,"rule":"operation-location","method":"POST","request_url":"{b}/jobs",
        "operation_url":"{b}/ops/9","final_state":"auto","submission_location":null,"operation_id":null,
        "origin":"{b}","header_names":["authorization"],"polls":1,"credentials_withheld":true}}"#,
        b = mock.base
    );
    let args = ["-L", "-H", "Authorization: Bearer t", "--resume", "-"];
    let run = lro_with_stdin(&args, &handle).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["thing"], 9);
    let seen = mock.seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(paths, ["/ops/9", "/things/9", "/moved/9"]);
    for s in &seen {
        assert!(!s.headers.contains_key("authorization"), "{}", s.target);
    }
}
