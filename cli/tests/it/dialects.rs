//! `--dialect`: declared dialects from a file or inline, Google's `Operation`, resuming a Google
//! operation without `--dialect`, bad descriptions, and `Prefer: respond-async` on the command.

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::{first_poll_succeeds, lro, now, resp, temp_dir, Mock};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Writes `text` to a new file in the test's directory; the `@FILE` argument for it.
fn dialect_file(test: &str, text: &str) -> String {
    let file = temp_dir(test).join("dialect.json");
    std::fs::write(&file, text).unwrap();
    format!("@{}", file.display())
}

/// A HAL task resource: `202` whose body links the task (`_links.self.href`); the task answers
/// an odd word first, then `303` to the created thing.
async fn hal_service() -> Mock {
    let polls = Arc::new(AtomicUsize::new(0));
    Mock::start(move |req, base| match req.target.as_str() {
        "/tasks" => resp(
            202,
            &[now()],
            &format!(r#"{{"status":"queued","_links":{{"self":{{"href":"{base}/tasks/7"}}}}}}"#),
        ),
        "/tasks/7" if polls.fetch_add(1, Ordering::SeqCst) == 0 => {
            resp(200, &[now()], r#"{"status":"Frobnicating"}"#)
        }
        "/tasks/7" => resp(303, &[("location", format!("{base}/things/7"))], ""),
        "/things/7" => resp(200, &[], r#"{"thing":7}"#),
        _ => resp(404, &[], ""),
    })
    .await
}

const HAL: &str = r#"{
    "name": "hal-tasks",
    "status_url": [{ "pointer": "/_links/self/href" }, { "header": "Location" }],
    "start_on": [202],
    "status_word": "/status",
    "error": "/title"
}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_declared_dialect_from_a_file_resolves_a_hal_task() {
    let mock = hal_service().await;
    let dialect = dialect_file("hal", HAL);
    let meta = temp_dir("hal-meta").join("meta.json");
    let url = format!("{}/tasks", mock.base);
    let run = lro(&[
        "-X",
        "POST",
        "--dialect",
        &dialect,
        "--metadata",
        meta.to_str().unwrap(),
        &url,
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["thing"], 7);
    assert_eq!(mock.count("/tasks"), 1);
    assert!(
        run.stderr
            .contains("Frobnicating (unrecognised word: still polling)"),
        "{}",
        run.stderr
    );
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(meta).unwrap()).unwrap();
    assert_eq!(meta["dialect"], "hal-tasks");
    assert_eq!(meta["operationUrl"], format!("{}/tasks/7", mock.base));
}

/// DigitalOcean-like actions: `201` with `{"action":{"id":..,"status":..}}`; the action is
/// polled by a template, the droplet fetched by another. Action 40 errors.
async fn actions_service() -> Mock {
    Mock::start(|req, _| match req.target.as_str() {
        "/v2/droplets/3/actions" => resp(
            201,
            &[now()],
            r#"{"action":{"id":36,"status":"in-progress","resource_id":3}}"#,
        ),
        "/v2/actions/36" => resp(
            200,
            &[now()],
            r#"{"action":{"id":36,"status":"completed","resource_id":3}}"#,
        ),
        "/v2/droplets/3" => resp(200, &[], r#"{"droplet":{"id":3,"status":"active"}}"#),
        "/v2/droplets/4/actions" => resp(
            201,
            &[now()],
            r#"{"action":{"id":40,"status":"in-progress","resource_id":4}}"#,
        ),
        "/v2/actions/40" => resp(
            200,
            &[now()],
            r#"{"action":{"id":40,"status":"errored","resource_id":4,"reason":"no capacity"}}"#,
        ),
        _ => resp(404, &[], ""),
    })
    .await
}

fn actions_dialect(base: &str) -> String {
    serde_json::json!({
        "name": "do-actions",
        "status_url": { "template": format!("{base}/v2/actions/{{/action/id}}") },
        "start_on": [201, 202],
        "status_word": "/action/status",
        "result": { "template": format!("{base}/v2/droplets/{{/action/resource_id}}") },
        "error": "/action/reason"
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declared_dialect_inline_and_from_a_file_follows_templates() {
    let mock = actions_service().await;
    let text = actions_dialect(&mock.base);
    let file = dialect_file("actions", &text);
    for dialect in [file.as_str(), text.as_str()] {
        let url = format!("{}/v2/droplets/3/actions", mock.base);
        let run = lro(&["-X", "POST", "-v", "--dialect", dialect, &url]).await;
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(run.json()["droplet"]["id"], 3);
        assert!(run.stderr.contains("dialect do-actions"), "{}", run.stderr);
    }
    let url = format!("{}/v2/droplets/4/actions", mock.base);
    let run = lro(&["-X", "POST", "--dialect", &file, &url]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(run.stderr.contains("no capacity"), "{}", run.stderr);
}

/// Google's Operation API: things are created by operations named `projects/p/operations/N`.
/// Operation 1 succeeds at the first poll, 2 fails, 3 succeeds once `done` is set.
async fn google_service(done: Arc<AtomicBool>) -> Mock {
    Mock::start(move |req, _| match req.target.as_str() {
        "/v1/projects/p/things" => {
            let n = match String::from_utf8_lossy(&req.body).as_ref() {
                "fail" => 2,
                "later" => 3,
                _ => 1,
            };
            let body = format!(r#"{{"name":"projects/p/operations/{n}","done":false}}"#);
            resp(200, &[], &body)
        }
        "/v1/projects/p/operations/1" => resp(
            200,
            &[],
            r#"{"name":"projects/p/operations/1","done":true,
                "response":{"@type":"type.googleapis.com/Thing","name":"projects/p/things/t1"}}"#,
        ),
        "/v1/projects/p/operations/2" => resp(
            200,
            &[],
            r#"{"name":"projects/p/operations/2","done":true,
                "error":{"code":9,"message":"The thing is not ready."}}"#,
        ),
        "/v1/projects/p/operations/3" if done.load(Ordering::SeqCst) => resp(
            200,
            &[],
            r#"{"name":"projects/p/operations/3","done":true,"response":{"name":"projects/p/things/t3"}}"#,
        ),
        "/v1/projects/p/operations/3" => resp(
            200,
            &[],
            r#"{"name":"projects/p/operations/3","done":false,"metadata":{"progressPercent":30}}"#,
        ),
        _ => resp(404, &[], ""),
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn google_operations_succeed_and_fail() {
    let mock = google_service(Arc::default()).await;
    let url = format!("{}/v1/projects/p/things", mock.base);
    let meta = temp_dir("google-meta").join("meta.json");
    let base = ["--dialect", "google", "--poll-interval", "0.01"];
    let mut args = base.to_vec();
    args.extend(["--metadata", meta.to_str().unwrap(), "-d", "ok", &url]);
    let run = lro(&args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        serde_json::json!({"@type":"type.googleapis.com/Thing","name":"projects/p/things/t1"})
    );
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(meta).unwrap()).unwrap();
    assert_eq!(meta["dialect"], "google");

    let mut args = base.to_vec();
    args.extend(["-d", "fail", &url]);
    let run = lro(&args).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(
        run.stderr.contains("9: The thing is not ready."),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_google_handle_resumes_in_the_google_dialect_without_the_option() {
    let done = Arc::new(AtomicBool::new(false));
    let mock = google_service(done.clone()).await;
    let url = format!("{}/v1/projects/p/things", mock.base);
    let run = lro(&["--dialect", "google", "--no-wait", "-d", "later", &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let handle = run.json();
    assert_eq!(
        handle["operation_url"],
        format!("{}/v1/projects/p/operations/3", mock.base)
    );

    done.store(true, Ordering::SeqCst);
    let file = temp_dir("google-resume").join("handle.json");
    std::fs::write(&file, &run.stdout).unwrap();
    let resumed = lro(&["-v", "--resume", file.to_str().unwrap()]).await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert_eq!(resumed.json()["name"], "projects/p/things/t3");
    assert!(
        resumed.stderr.contains("dialect google"),
        "{}",
        resumed.stderr
    );
    assert_eq!(mock.count("/v1/projects/p/things"), 1, "nothing is re-sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_dialects_are_usage_errors() {
    let cases = [
        dialect_file("bad-no-url", r#"{"status_word": "/status"}"#),
        dialect_file(
            "bad-field",
            r#"{"status_url": {"header": "Location"}, "status_wrod": "/s"}"#,
        ),
        dialect_file("bad-text", "status is at /action/status"),
        "@/nonexistent/lro-dialect.json".to_owned(),
        "klingon".to_owned(),
        r#"{"status_url": {"header": "Location"}}"#.to_owned(),
    ];
    for dialect in &cases {
        let run = lro(&["--dialect", dialect, "http://127.0.0.1:1/"]).await;
        assert_eq!(run.code, 2, "{dialect}: {run:?}");
        assert!(run.stderr.contains("--dialect"), "{dialect}: {run:?}");
        let proxy = lro(&[
            "proxy",
            "--upstream",
            "http://127.0.0.1:1/",
            "--dialect",
            dialect,
        ])
        .await;
        assert_eq!(proxy.code, 2, "proxy {dialect}: {proxy:?}");
    }
    let run = lro(&["--dialect", &cases[0], "http://127.0.0.1:1/"]).await;
    assert!(run.stderr.contains("invalid dialect"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn prefer_respond_async_still_resolves() {
    let mock = Mock::start(|req, base| match req.target.as_str() {
        "/things/1" => resp(200, &[], r#"{"thing":1}"#),
        path => first_poll_succeeds(path, base).unwrap_or_else(|| resp(404, &[], "")),
    })
    .await;
    let url = format!("{}/jobs", mock.base);
    let run = lro(&["-X", "POST", "-H", "Prefer: respond-async", &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["thing"], 1);
    let seen = mock.requests();
    assert_eq!(seen[0].headers["prefer"], "respond-async", "sent as given");
    assert!(
        seen[1..].iter().all(|r| !r.headers.contains_key("prefer")),
        "polls never carry Prefer"
    );

    // With --no-wait the handle is printed, not the raw 202.
    let run = lro(&[
        "-X",
        "POST",
        "--no-wait",
        "-H",
        "Prefer: respond-async",
        &url,
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["operation_url"], format!("{}/ops/1", mock.base));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_speaks_the_google_dialect() {
    let mock = google_service(Arc::default()).await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lro"))
        .args(["proxy", "--listen", "127.0.0.1:0", "--upstream", &mock.base])
        .args(["--dialect", "google", "--poll-interval", "0.01"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the proxy did not start")
        .unwrap()
        .unwrap();
    assert!(first.contains("dialect google"), "{first}");
    let addr = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches(',')
        .to_owned();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let req = http::Request::post(format!("{addr}/v1/projects/p/things"))
        .body(Full::from("ok"))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(20), client.request(req))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let value: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(value["name"], "projects/p/things/t1");
}
