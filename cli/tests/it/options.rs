//! Options, output and exit codes of `lro URL`.

use crate::support::{lro, now, resp, temp_dir, Mock};

/// V2 shape that finishes at the first poll; polls must carry `subscription-key`.
async fn quick() -> Mock {
    Mock::start(|req, base| match req.target.split('?').next().unwrap() {
        "/jobs" => resp(
            202,
            &[("operation-location", format!("{base}/ops/1")), now()],
            "",
        ),
        "/ops/1" => resp(
            200,
            &[("resource-location", format!("{base}/things/1"))],
            r#"{"status":"Succeeded"}"#,
        ),
        "/things/1" => resp(200, &[("x-thing", "1".to_owned())], r#"{"thing":1}"#),
        "/garbage" => resp(
            202,
            &[("operation-location", format!("{base}/ops/bad")), now()],
            "",
        ),
        "/ops/bad" => resp(200, &[], "<html>not a status</html>"),
        _ => resp(404, &[], ""),
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2() {
    for args in [
        &["--no-such-option", "http://127.0.0.1:1/"][..],
        &[][..],
        &["--final-state", "sideways", "http://127.0.0.1:1/"][..],
        &["--max-time", "soon", "http://127.0.0.1:1/"][..],
        &["not a url"][..],
        &["ftp://127.0.0.1:1/x"][..],
        &["-H", "no colon", "http://127.0.0.1:1/"][..],
        &["--dialect", "klingon", "http://127.0.0.1:1/"][..],
        &["--resume", "/nonexistent/handle.json"][..],
        &["--resume", "-", "http://127.0.0.1:1/"][..],
        &["-d", "@/nonexistent/body", "http://127.0.0.1:1/"][..],
    ] {
        let run = lro(args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
    let help = lro(&["--help"]).await;
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("Exit codes"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dialect_file_that_is_not_json_is_a_usage_error() {
    let dir = temp_dir("dialect");
    let file = dir.join("dialect.json");
    std::fs::write(&file, "status is at /action/status").unwrap();
    let arg = format!("@{}", file.display());
    let run = lro(&["--dialect", &arg, "http://127.0.0.1:1/"]).await;
    assert_eq!(run.code, 2, "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_never_prints_a_credential() {
    let mock = quick().await;
    let url = format!("{}/jobs?api-version=1&subscription-key=KEY-123", mock.base);
    let args = [
        "-v",
        "-X",
        "POST",
        "--carry-query",
        "subscription-key",
        "-H",
        "Authorization: Bearer TOKEN-456",
        "-H",
        "Ocp-Apim-Subscription-Key: APIM-789",
        "-H",
        "Cookie: session=COOKIE-0",
        &url,
    ];
    let run = lro(&args).await;
    assert_eq!(run.code, 0, "{run:?}");
    for secret in ["KEY-123", "TOKEN-456", "APIM-789", "COOKIE-0"] {
        assert!(
            !run.stderr.contains(secret),
            "{secret} printed: {}",
            run.stderr
        );
    }
    // One line per request the layer sent: the poll and the resource fetch.
    assert_eq!(
        run.stderr
            .lines()
            .filter(|l| l.starts_with("> GET"))
            .count(),
        2,
        "{}",
        run.stderr
    );
    // The key was carried to the status monitor, and the header sent (same origin).
    let poll = mock
        .requests()
        .into_iter()
        .find(|r| r.target.starts_with("/ops/1"))
        .unwrap();
    assert!(poll.target.contains("subscription-key=KEY-123"), "{poll:?}");
    assert_eq!(poll.headers["authorization"], "Bearer TOKEN-456");
}

#[tokio::test(flavor = "multi_thread")]
async fn include_and_output_file() {
    let mock = quick().await;
    let dir = temp_dir("output");
    let out = dir.join("body.txt");
    let url = format!("{}/jobs", mock.base);
    let run = lro(&["-X", "POST", "-s", "-i", "-o", out.to_str().unwrap(), &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty());
    assert!(run.stderr.is_empty(), "-s: {}", run.stderr);
    let written = std::fs::read_to_string(out).unwrap();
    let (head, body) = written.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("x-thing: 1"), "{head}");
    assert_eq!(body, r#"{"thing":1}"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_sets_the_content_type_and_posts() {
    let mock = quick().await;
    let run = lro(&["--json", r#"{"a":1}"#, &format!("{}/jobs", mock.base)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let submission = &mock.requests()[0];
    assert_eq!(submission.method, "POST");
    assert_eq!(submission.headers["content-type"], "application/json");
    assert_eq!(submission.body, r#"{"a":1}"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_protocol_violation_exits_5() {
    let mock = quick().await;
    let run = lro(&["-X", "POST", &format!("{}/garbage", mock.base)]).await;
    assert_eq!(run.code, 5, "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_exits_6() {
    // A loopback port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = lro(&[&format!("http://127.0.0.1:{port}/jobs")]).await;
    assert_eq!(run.code, 6, "{run:?}");
}

/// A poll that fails transiently gives no status word: its progress line says "no status yet",
/// not a `NotStarted` no server sent; the server's own word follows when one comes.
#[tokio::test(flavor = "multi_thread")]
async fn progress_before_any_word_says_no_status_yet() {
    let polls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mock = Mock::start(move |req, base| match req.target.as_str() {
        "/jobs" => resp(
            202,
            &[("operation-location", format!("{base}/ops/1")), now()],
            "",
        ),
        "/ops/1" => match polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0 => resp(503, &[("retry-after", "0".to_owned())], ""),
            1 => resp(
                200,
                &[("retry-after", "0".to_owned())],
                r#"{"status":"NotStarted"}"#,
            ),
            _ => resp(200, &[], r#"{"status":"Succeeded","result":1}"#),
        },
        _ => resp(404, &[], ""),
    })
    .await;
    let run = lro(&["-X", "POST", &format!("{}/jobs", mock.base)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("(poll "))
        .collect();
    assert!(
        lines[0].starts_with("lro: no status yet (poll 1)"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("lro: NotStarted (poll 2)"),
        "{lines:?}"
    );
}
