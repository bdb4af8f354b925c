//! Curl habits and the smaller defects of issue 14 §5, through the built binary.

use std::process::Stdio;
use std::time::Duration;

use crate::support::stall::{self, Reply};
use crate::support::{lro, now, resp, temp_dir, Mock};
use tokio::io::AsyncReadExt;

/// Finishes at the first poll; `/moved` redirects to `other` (another origin), `/same` to this
/// one, `/notyet` answers 202, `/post303` answers a POST with 303.
async fn origin(other: &str) -> Mock {
    let other = other.to_owned();
    Mock::start(move |req, base| {
        let to = |path: &str| {
            resp(
                200,
                &[("resource-location", format!("{base}{path}"))],
                r#"{"status":"Succeeded"}"#,
            )
        };
        match req.target.split('?').next().unwrap() {
            "/jobs" => resp(
                202,
                &[("operation-location", format!("{base}/ops/1")), now()],
                "",
            ),
            "/jobs-moved" => resp(
                202,
                &[("operation-location", format!("{base}/ops/moved")), now()],
                "",
            ),
            "/jobs-notyet" => resp(
                202,
                &[("operation-location", format!("{base}/ops/notyet")), now()],
                "",
            ),
            "/jobs-other" => resp(
                202,
                &[("operation-location", format!("{other}/ops/1")), now()],
                "",
            ),
            "/ops/1" => to("/things/1"),
            "/ops/moved" => to("/moved"),
            "/ops/notyet" => to("/notyet"),
            "/moved" => resp(302, &[("location", format!("{other}/things/2"))], ""),
            "/same" => resp(307, &[("location", "/things/1".to_owned())], ""),
            "/post303" => resp(303, &[("location", "/things/1".to_owned())], ""),
            "/notyet" => resp(202, &[], ""),
            "/things/1" => resp(
                200,
                &[("x-auth-token", "SECRET-1".to_owned())],
                r#"{"thing":1}"#,
            ),
            _ => resp(404, &[], ""),
        }
    })
    .await
}

/// The other origin: a status monitor and a resource.
async fn other() -> Mock {
    Mock::start(|req, base| match req.target.as_str() {
        "/ops/1" => resp(
            200,
            &[("resource-location", format!("{base}/things/2"))],
            r#"{"status":"Succeeded"}"#,
        ),
        "/things/2" => resp(200, &[], r#"{"thing":2}"#),
        _ => resp(404, &[], ""),
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_output_file_is_opened_before_anything_is_sent() {
    let a = origin("http://127.0.0.1:1").await;
    let dir = temp_dir("curl-o");
    let missing = dir.join("no-such-dir").join("out.json");
    let url = format!("{}/jobs", a.base);
    let run = lro(&["-X", "POST", "-o", missing.to_str().unwrap(), &url]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(a.requests().is_empty(), "{:?}", a.requests());

    // A run that ends without output leaves an existing file as it was, and removes one it
    // created.
    let existing = dir.join("existing.json");
    std::fs::write(&existing, "before").unwrap();
    let fresh = dir.join("fresh.json");
    for path in [&existing, &fresh] {
        let run = lro(&["-o", path.to_str().unwrap(), "http://127.0.0.1:1/x"]).await;
        assert_eq!(run.code, 6, "{run:?}");
    }
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "before");
    assert!(!fresh.exists());
    // A run with output replaces the content.
    let run = lro(&["-X", "POST", "-o", existing.to_str().unwrap(), &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        std::fs::read_to_string(&existing).unwrap(),
        r#"{"thing":1}"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_wait_honours_output_and_include() {
    let a = origin("http://127.0.0.1:1").await;
    let dir = temp_dir("curl-no-wait");
    let handle = dir.join("h.json");
    let url = format!("{}/jobs", a.base);
    let run = lro(&[
        "--no-wait",
        "-X",
        "POST",
        "-o",
        handle.to_str().unwrap(),
        &url,
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let resumed = lro(&["--resume", handle.to_str().unwrap()]).await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert_eq!(resumed.json()["thing"], 1);

    let run = lro(&["--no-wait", "-i", "-X", "POST", &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let (head, handle) = run.stdout.split_once("\r\n\r\n").expect("a head");
    assert!(head.starts_with("HTTP/1.1 202 Accepted\r\n"), "{head}");
    assert!(head.contains("operation-location: "), "{head}");
    let handle: serde_json::Value = serde_json::from_str(handle).unwrap();
    assert_eq!(handle["operation_url"], format!("{}/ops/1", a.base));
    assert_eq!(a.count("/jobs"), 2);
    assert_eq!(a.count("/ops/1"), 1, "only the resumed run polls");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_wait_without_an_operation_exits_7_with_the_answer() {
    let a = origin("http://127.0.0.1:1").await;
    let dir = temp_dir("curl-no-wait-7");
    let file = dir.join("h.json");
    let url = format!("{}/things/1", a.base);
    let run = lro(&["--no-wait", &url]).await;
    assert_eq!(run.code, 7, "{run:?}");
    assert_eq!(run.stdout, r#"{"thing":1}"#);
    assert!(run.stderr.contains("--no-wait"), "{}", run.stderr);
    let run = lro(&["--no-wait", "-o", file.to_str().unwrap(), &url]).await;
    assert_eq!(run.code, 7, "{run:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), r#"{"thing":1}"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_is_followed_with_l_and_not_otherwise() {
    let b = other().await;
    let a = origin(&b.base).await;
    let url = format!("{}/jobs-moved", a.base);
    let run = lro(&["-X", "POST", &url]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains("302 Found") && run.stderr.contains("-L"),
        "{}",
        run.stderr
    );
    assert_eq!(b.count("/things/2"), 0);

    let args = [
        "-L",
        "-X",
        "POST",
        "-H",
        "Authorization: Bearer SECRET-A",
        "-H",
        "x-api-key: SECRET-K",
        "-H",
        "Metadata: true",
        "-H",
        "Accept: application/json",
        &url,
    ];
    let run = lro(&args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["thing"], 2);
    assert!(run.stderr.contains("Succeeded via"), "{}", run.stderr);
    let seen = b.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    for name in ["authorization", "x-api-key", "metadata"] {
        assert!(
            seen[0].headers.get(name).is_none(),
            "{name} went to another origin"
        );
    }
    assert_eq!(seen[0].headers["accept"], "application/json");

    // 303 after a POST: a GET without the body, credentials kept on the same origin.
    let url = format!("{}/post303", a.base);
    let run = lro(&["-L", "-d", "x=1", "-u", "user:pass", &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["thing"], 1);
    let last = a.requests().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.target.as_str()),
        ("GET", "/things/1")
    );
    assert!(last.body.is_empty());
    assert_eq!(last.headers["authorization"], "Basic dXNlcjpwYXNz");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resource_that_answers_202_is_not_a_success() {
    let a = origin("http://127.0.0.1:1").await;
    let run = lro(&["-X", "POST", &format!("{}/jobs-notyet", a.base)]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("202 Accepted"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn user_sends_basic_auth_never_to_another_origin() {
    let b = other().await;
    let a = origin(&b.base).await;
    let url = format!("{}/jobs-other", a.base);
    let run = lro(&["-u", "aladdin:open sesame", "-X", "POST", &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        a.requests()[0].headers["authorization"],
        "Basic YWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
    assert!(b
        .requests()
        .iter()
        .all(|r| r.headers.get("authorization").is_none()));
    assert_eq!(lro(&["-u", "nopassword", &url]).await.code, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn max_time_0_is_no_limit_and_a_url_without_a_scheme_is_http() {
    let a = origin("http://127.0.0.1:1").await;
    let run = lro(&["--max-time", "0", "-X", "POST", &format!("{}/jobs", a.base)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["thing"], 1);
    let bare = a.base.trim_start_matches("http://");
    let run = lro(&[&format!("{bare}/things/1")]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["thing"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_shows_answer_heads_with_credentials_masked() {
    let a = origin("http://127.0.0.1:1").await;
    let run = lro(&["-v", "-X", "POST", &format!("{}/jobs", a.base)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(lines.contains(&"< HTTP/1.1 202 Accepted"), "{}", run.stderr);
    assert!(lines.contains(&"< HTTP/1.1 200 OK"), "{}", run.stderr);
    assert!(lines.contains(&"< x-auth-token: ***"), "{}", run.stderr);
    assert!(lines
        .iter()
        .any(|l| l.starts_with("< operation-location: http://")));
    assert!(!run.stderr.contains("SECRET-1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_headers_is_a_protocol_error() {
    let base = stall::start(|_, _, _| {
        let headers = (0..500)
            .map(|i| (format!("x-h{i}"), "v".to_owned()))
            .collect();
        Reply::Full(200, headers, "{}".to_owned())
    })
    .await;
    let run = lro(&[&format!("{base}/x")]).await;
    assert_eq!(run.code, 5, "{run:?}");
    assert!(run.stderr.contains("too many headers"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_failure_line_is_printed_once_and_one_poll_is_one_poll() {
    let mock = Mock::start(|req, base| match req.target.as_str() {
        "/jobs" => resp(
            202,
            &[("operation-location", format!("{base}/ops/1")), now()],
            "",
        ),
        "/ops/1" => resp(
            200,
            &[],
            r#"{"status":"Failed","error":{"code":"InvalidFeature","message":"no"}}"#,
        ),
        _ => resp(404, &[], ""),
    })
    .await;
    let run = lro(&["-X", "POST", &format!("{}/jobs", mock.base)]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        run.stderr.matches("InvalidFeature").count(),
        1,
        "{}",
        run.stderr
    );

    let a = origin("http://127.0.0.1:1").await;
    let run = lro(&["-X", "POST", &format!("{}/jobs", a.base)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains(" after 1 poll in "), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn stdout_is_flushed_as_the_body_streams() {
    let base = stall::start(|_, _, _| Reply::Stall("first bytes, no newline".to_owned())).await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lro"))
        .arg(format!("{base}/x"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 256];
        while !got.ends_with(b"no newline") {
            match stdout.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "nothing on stdout while the body stalls");
    assert_eq!(got, b"first bytes, no newline");
    // The body is still stalled: lro is still running.
    assert!(child.try_wait().unwrap().is_none());
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_poll_count_after_resume_is_right() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let mock = Mock::start(move |req, base| match req.target.as_str() {
        "/jobs" => resp(
            202,
            &[("operation-location", format!("{base}/ops/1")), now()],
            "",
        ),
        "/ops/1" if flag.load(Ordering::SeqCst) => resp(
            200,
            &[("resource-location", format!("{base}/things/1"))],
            r#"{"status":"Succeeded"}"#,
        ),
        "/ops/1" => resp(200, &[], r#"{"status":"Running"}"#),
        "/things/1" => resp(200, &[], r#"{"thing":1}"#),
        _ => resp(404, &[], ""),
    })
    .await;
    let dir = temp_dir("curl-resume-polls");
    let (handle, meta) = (dir.join("h.json"), dir.join("m.json"));
    let url = format!("{}/jobs", mock.base);
    let args = ["--max-time", "1", "--poll-interval", "0.3", "--save-handle"];
    let run = lro(&[&args[..], &[handle.to_str().unwrap(), "-X", "POST", &url]].concat()).await;
    assert_eq!(run.code, 4, "{run:?}");
    let before = mock.count("/ops/1");
    assert!(before >= 2, "{before} polls");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&handle).unwrap()).unwrap();
    assert_eq!(saved["polls"], before, "the handle counts the polls sent");

    done.store(true, Ordering::SeqCst);
    let h = handle.to_str().unwrap();
    let run = lro(&["--resume", h, "--metadata", meta.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let total = mock.count("/ops/1");
    assert_eq!(total, before + 1);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta).unwrap()).unwrap();
    assert_eq!(record["polls"], total);
    assert!(
        run.stderr.contains(&format!(" after {total} polls in ")),
        "{}",
        run.stderr
    );
}
