//! What the proxy answers: each case, shutdown, `--max-time`, idle clients, listening addresses.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_answers_each_case() {
    let up = upstream().await;
    let (_child, base, log) = proxy_on(
        "127.0.0.1:0",
        &up.base,
        &["--max-time", "5", "--max-concurrent", "4"],
    )
    .await;

    // Many clients at once, more than the concurrency bound: each gets its own resource.
    let calls: Vec<_> = (0..12)
        .map(|n| tokio::spawn(call(format!("{base}/jobs/{n}"), false)))
        .collect();
    for (n, task) in calls.into_iter().enumerate() {
        let (status, _, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json(&body)["thing"], n.to_string());
    }

    let (status, _, body) = call(format!("{base}/fail"), false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(&body)["error"]["code"], "InvalidFeature");
    // Error answers log what is known of the operation, as successes do.
    let line = log_line(&log, "/fail").await;
    assert!(line.contains("-> 422 (Failed via "), "{line}");

    let (status, _, body) = call(format!("{base}/slow"), false).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(
        json(&body)["resume"]["operation_url"],
        format!("{}/ops/slow", up.base)
    );
    let line = log_line(&log, "/slow").await;
    // Not polled yet: no status word (no server sent the `NotStarted` the layer assumes).
    assert!(line.contains("-> 504 (via "), "{line}");
    assert!(line.contains(" poll"), "{line}");

    // respond-async: the proxy's own façade (`facade.rs`), not the upstream's 202.
    let (status, headers, _) = call(format!("{base}/jobs/99"), true).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let location = headers["operation-location"].to_str().unwrap();
    assert!(location.starts_with("/_lro/operations/"), "{location}");
    assert_eq!(headers["preference-applied"], "respond-async");
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_answers_unfinished_requests_503_with_their_handles() {
    let up = upstream().await;
    let (mut child, base) = proxy(&up.base, &["--max-time", "60", "--drain", "0.3"]).await;
    let pending = tokio::spawn(call(format!("{base}/wait"), false));
    // Bounded wait until the upstream saw the submission (the proxy then waits 20 s to poll).
    for _ in 0..200 {
        if up.count("/wait") == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(up.count("/wait"), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let pid = child.id().unwrap() as libc::pid_t;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let (status, _, body) = pending.await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        json(&body)["resume"]["operation_url"],
        format!("{}/ops/wait", up.base)
    );
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit.code(), Some(0));
}

/// `/hang`: never answered. `/jobs`: an operation whose first poll is never answered.
/// `/jobs2`: an operation that succeeds, whose resource's body stalls.
async fn stalling_upstream() -> String {
    use crate::support::stall::{self, Reply};
    let h = |name: &str, value: String| (name.to_owned(), value);
    stall::start(
        move |_, target, base| match target.split('?').next().unwrap() {
            "/hang" | "/ops/1" => Reply::Never,
            "/things/2" => Reply::Stall(r#"{"partial":"#.to_owned()),
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
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn max_time_bounds_the_upstream_exchange() {
    let up = stalling_upstream().await;
    let (_child, base, log) = proxy_on("127.0.0.1:0", &up, &["--max-time", "1"]).await;

    // The submission is never answered: 504, no operation, no handle.
    let (status, _, body) = call(format!("{base}/hang"), false).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    let body = json(&body);
    assert_eq!(body["error"]["code"], "GatewayTimeout");
    assert!(body["resume"].is_null(), "{body}");

    // A poll is never answered: 504 with the handle, and the log says what is known.
    let (status, _, body) = call(format!("{base}/jobs"), false).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    let body = json(&body);
    assert_eq!(body["resume"]["operation_url"], format!("{up}/ops/1"));
    assert_eq!(body["error"]["operationUrl"], format!("{up}/ops/1"));
    let line = log_line(&log, "POST /jobs ").await;
    assert!(line.contains("-> 504 ("), "{line}");

    // The final body stalls: it is cut off at the deadline instead of holding the client.
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let req = Request::post(format!("{base}/jobs2"))
        .body(Full::from("payload"))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(req))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = tokio::time::timeout(Duration::from_secs(10), response.into_body().collect())
        .await
        .expect("the stalled body was not cut off");
    assert!(body.is_err(), "a cut-off body is an error for the client");
}

/// A client that sends its request and never reads the answer: the body's own timer is never
/// polled then (the client's socket is full), yet `--max-time` still ends the exchange — the
/// client connection closes, and the upstream's with it, instead of the upstream streaming
/// into it until the client leaves.
#[tokio::test(flavor = "multi_thread")]
async fn max_time_cuts_an_answer_the_client_never_reads() {
    let wrote_for = upstream_writes_to_a_client_that_never_reads(&["--max-time", "2"]).await;
    assert!(wrote_for < Duration::from_secs(8), "{wrote_for:?}");
}

/// The same client with no `--max-time`: once it has taken nothing for `--idle-timeout`, its
/// connection closes (nginx's `send_timeout`), and the upstream's with it — before, it held
/// both for as long as it stayed connected.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_takes_nothing_is_cut_at_the_idle_timeout() {
    let wrote_for = upstream_writes_to_a_client_that_never_reads(&["--idle-timeout", "2"]).await;
    assert!(wrote_for < Duration::from_secs(8), "{wrote_for:?}");
}

/// How long an upstream could stream an answer through a proxy started with `args` to a client
/// that sends its request and never reads (20 s at most).
async fn upstream_writes_to_a_client_that_never_reads(args: &[&str]) -> Duration {
    // An upstream that streams for as long as anyone takes its bytes (20 s at most); how long
    // it could write.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = format!("http://{}", listener.local_addr().unwrap());
    let (wrote_for, mut ended) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut head = [0u8; 4096];
        let _ = stream.read(&mut head).await;
        let start = std::time::Instant::now();
        let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
        let mut answer = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        answer.extend_from_slice(chunk.as_bytes());
        // What of `answer` is sent: a blocked write keeps the rest (the framing stays whole, so
        // only the proxy's closing ends this loop early).
        let mut sent = 0;
        while start.elapsed() < Duration::from_secs(20) {
            if sent == answer.len() {
                answer.clear();
                answer.extend_from_slice(chunk.as_bytes());
                sent = 0;
            }
            let write = stream.write(&answer[sent..]);
            match tokio::time::timeout(Duration::from_secs(1), write).await {
                Ok(Ok(0) | Err(_)) => break,
                Ok(Ok(n)) => sent += n,
                Err(_) => {} // blocked: the proxy takes nothing now
            }
        }
        let _ = wrote_for.send(start.elapsed()).await;
    });
    let (_child, base, _) = proxy_on("127.0.0.1:0", &up, args).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut client = socket
        .connect(authority(&base).parse().unwrap())
        .await
        .unwrap();
    client
        .write_all(b"GET /endless HTTP/1.1\r\nHost: proxy\r\n\r\n")
        .await
        .unwrap();
    // Never read; the upstream's connection ends soon after the deadline.
    let wrote_for = tokio::time::timeout(Duration::from_secs(25), ended.recv())
        .await
        .unwrap()
        .unwrap();
    // And the client's connection is closed: what it holds reads out, then the end.
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut sink));
    assert!(closed.await.is_ok(), "the client's connection is closed");
    wrote_for
}

#[tokio::test(flavor = "multi_thread")]
async fn listen_accepts_localhost_and_ipv6_loopback() {
    let up = upstream().await;
    let (_child, base, _) = proxy_on("localhost:0", &up.base, &["--max-time", "5"]).await;
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let (status, _, body) = call(format!("{base}/jobs/7"), false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["thing"], "7");

    // [::1] only where this machine has IPv6 loopback.
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        return;
    }
    let (_child, base, _) = proxy_on("[::1]:0", &up.base, &["--max-time", "5"]).await;
    assert!(base.starts_with("http://[::1]:"), "{base}");
    let (status, _, body) = call(format!("{base}/jobs/8"), false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["thing"], "8");
}
