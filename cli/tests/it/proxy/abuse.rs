//! The proxy under abuse.

use super::*;

/// Raises this process's soft limit on open files to its hard limit (tests open many sockets).
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Sends `head` (a raw request head, sent as it is) on a new connection that asks to be closed
/// after the answer; the answer's status and body (bounded: 10 s).
async fn raw(base: &str, head: &str) -> (u16, String) {
    let answer = raw_answer(base, head).await;
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

/// The whole answer to `head`, sent on a connection of its own, read until the proxy closes it.
async fn raw_answer(base: &str, head: &str) -> String {
    let mut stream = TcpStream::connect(authority(base)).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("no answer within 10 s")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Reads one answer from a kept-alive connection (its head, then `Content-Length` bytes); its
/// status.
async fn read_answer(stream: &mut TcpStream) -> u16 {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert!(head.len() < 16_384, "head too long");
        let n = stream.read(&mut byte).await.unwrap();
        assert_eq!(n, 1, "the connection closed inside an answer's head");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

/// Whether the peer closes `stream` within `within` (reads EOF or an error; the bytes it sends
/// first are skipped).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// An upstream whose operations end `ms` milliseconds after their submission (`/timed/MS`),
/// polled every second (the status URL carries when it ends).
async fn timed_upstream() -> Mock {
    let start = std::time::Instant::now();
    Mock::start(move |req, base| {
        let path = req.target.split('?').next().unwrap();
        let now = start.elapsed().as_millis() as u64;
        if let Some(ms) = path.strip_prefix("/timed/") {
            let end = now + ms.parse::<u64>().unwrap();
            let monitor = format!("{base}/ops/{end}");
            return resp(
                202,
                &[
                    ("operation-location", monitor),
                    ("retry-after", "1".to_owned()),
                ],
                "",
            );
        }
        if let Some(end) = path.strip_prefix("/ops/") {
            if now >= end.parse::<u64>().unwrap() {
                let done = ("resource-location", format!("{base}/done"));
                return resp(200, &[done], r#"{"status":"Succeeded"}"#);
            }
            return resp(
                200,
                &[("retry-after", "1".to_owned())],
                r#"{"status":"Running"}"#,
            );
        }
        match path {
            "/done" => resp(200, &[], r#"{"done":true}"#),
            _ => resp(404, &[], ""),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slowloris_does_not_lock_out_real_clients() {
    raise_open_files_limit();
    let up = upstream().await;
    let (_child, base, log) = proxy_on(
        "127.0.0.1:0",
        &up.base,
        &["--header-timeout", "2", "--max-time", "10"],
    )
    .await;
    // 1 000 connections that send part of a request head and then nothing.
    let mut half_open = Vec::new();
    for _ in 0..1000 {
        let mut stream = TcpStream::connect(authority(&base)).await.unwrap();
        stream
            .write_all(b"POST /jobs/1 HTTP/1.1\r\nHost: proxy\r\nX-Slow: ")
            .await
            .unwrap();
        half_open.push(stream);
    }
    let opened = std::time::Instant::now();
    // A real client is answered meanwhile.
    let (status, _, body) = call(format!("{base}/jobs/3"), false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["thing"], "3");
    let answered = opened.elapsed();
    assert!(answered < Duration::from_secs(5), "{answered:?}");
    // The half-open ones are closed after the header timeout (2 s), not before it.
    if answered < Duration::from_millis(1500) {
        let last = half_open.last_mut().unwrap();
        assert!(!closed_within(last, Duration::from_millis(50)).await);
    }
    let mut closed = 0;
    for stream in &mut half_open {
        if closed_within(
            stream,
            Duration::from_secs(10).saturating_sub(opened.elapsed()),
        )
        .await
        {
            closed += 1;
        }
    }
    assert_eq!(closed, 1000);
    // Their closing is logged, a line a second at most.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lines = log.lock().unwrap().clone();
    let timeouts: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("no complete request head within 2 s"))
        .collect();
    assert!(!timeouts.is_empty() && timeouts.len() <= 8, "{timeouts:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_kept_alive_connections_are_closed() {
    let up = upstream().await;
    let (_child, base, _) = proxy_on(
        "127.0.0.1:0",
        &up.base,
        &["--idle-timeout", "0.5", "--header-timeout", "6"],
    )
    .await;
    let mut stream = TcpStream::connect(authority(&base)).await.unwrap();
    let request = b"GET /missing HTTP/1.1\r\nHost: proxy\r\n\r\n";
    stream.write_all(request).await.unwrap();
    assert_eq!(read_answer(&mut stream).await, 404);
    // Within the idle timeout the connection serves the next request.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(request).await.unwrap();
    assert_eq!(read_answer(&mut stream).await, 404);
    assert_eq!(up.count("/missing"), 2);
    // Then, idle, it is closed after 0.5 s: long before the header timeout (6 s).
    let idle = std::time::Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(4)).await);
    assert!(
        idle.elapsed() >= Duration::from_millis(400),
        "{:?}",
        idle.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn over_the_connection_cap_new_connections_wait_for_a_free_one() {
    let up = upstream().await;
    let (_child, base, _) = proxy_on(
        "127.0.0.1:0",
        &up.base,
        &[
            "--max-connections",
            "2",
            "--header-timeout",
            "1.5",
            "--max-time",
            "10",
        ],
    )
    .await;
    // Two connections that send nothing take both places.
    let mut silent = Vec::new();
    for _ in 0..2 {
        silent.push(TcpStream::connect(authority(&base)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A third waits in the backlog until the header timeout frees a place, then is served.
    let started = std::time::Instant::now();
    let (status, _, body) = call(format!("{base}/jobs/4"), false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["thing"], "4");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1000), "{waited:?}");
    assert!(waited < Duration::from_secs(8), "{waited:?}");
    for stream in &mut silent {
        assert!(closed_within(stream, Duration::from_secs(1)).await);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn over_max_operations_requests_are_shed_with_503_and_retry_after() {
    let up = upstream().await;
    let (_child, base, log) = proxy_on(
        "127.0.0.1:0",
        &up.base,
        &["--max-operations", "2", "--max-time", "60"],
    )
    .await;
    // Two operations wait (the upstream asks for 20 s between polls); their clients then go
    // away without an answer.
    let mut waiting = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(authority(&base)).await.unwrap();
        let head = "POST /wait HTTP/1.1\r\nHost: proxy\r\nContent-Length: 0\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        waiting.push(stream);
    }
    for _ in 0..500 {
        if up.count("/wait") == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(up.count("/wait"), 2);
    let (status, headers, body) = call(format!("{base}/jobs/5"), false).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(json(&body)["error"]["code"], "ServiceUnavailable");
    assert_eq!(up.count("/jobs/5"), 0, "a shed request is not forwarded");
    let line = log_line(&log, "POST /jobs/5 ").await;
    assert!(line.contains("-> 503 (over --max-operations)"), "{line}");

    // A client that goes away still gets its access-log line, with what is known (the
    // submission's answer has been read by now: the 503 round trip came after it).
    drop(waiting);
    for _ in 0..500 {
        let gone = log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("POST /wait "))
            .count();
        if gone == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let line = log_line(&log, "POST /wait ").await;
    assert!(
        line.contains("-> 499 client went away (via Operation-Location, 0 polls) in "),
        "{line}"
    );
    // Their places are free again.
    let (status, _, body) = call(format!("{base}/jobs/6"), false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["thing"], "6");
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_operations_hold_no_upstream_slot() {
    let up = timed_upstream().await;
    let (_child, base, _) = proxy_on(
        "127.0.0.1:0",
        &up.base,
        &["--max-concurrent", "1", "--max-time", "30"],
    )
    .await;
    // 40 operations of 1 s each through one upstream slot: the time of one, not of 40.
    let started = std::time::Instant::now();
    let calls: Vec<_> = (0..40)
        .map(|_| tokio::spawn(call(format!("{base}/timed/1000"), false)))
        .collect();
    for task in calls {
        let (status, _, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json(&body)["done"], true);
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert_eq!(up.count("/done"), 40);
}

#[tokio::test(flavor = "multi_thread")]
async fn paths_never_leave_the_upstreams_base() {
    let up = upstream().await;
    let (_child, base, _) = proxy_on(
        "127.0.0.1:0",
        &format!("{}/api/public", up.base),
        &["--max-time", "5"],
    )
    .await;
    for path in [
        "/..",
        "/../admin",
        "/../../admin",
        "/a/../../admin",
        "/./../admin",
        "/%2e%2e/admin",
        "/%2E%2E/admin",
        "/.%2e/admin",
        "/%2e./admin",
        "/a/%2f..%2f..",
        "/a/%2F..%2F..%2Fadmin",
        "/a/%5c..%5c..%5cadmin",
        "/a\\..\\..\\admin",
        "/..;/admin",
        "/a/..%3b/..%3b/admin",
        "/%2e%2e%2fadmin",
        "/..%00/admin",
        "/%252e%252e/admin",
        "/a/%252e%252e/%252e%252e/admin",
        "/a%252f..%252f..%252fadmin",
    ] {
        let head = format!("GET {path} HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n");
        let (status, body) = raw(&base, &head).await;
        assert_eq!(status, 400, "{path}: {body}");
        // hyper itself refuses what is not a URI at all (no JSON then); the rest is ours.
        if !path.contains('\\') {
            let body: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
            assert_eq!(body["error"]["code"], "BadRequest", "{path}");
        }
    }
    // CONNECT would ask the upstream for a tunnel: refused, whatever its target.
    for target in [authority(&up.base), "169.254.169.254:80"] {
        let head =
            format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n");
        let (status, body) = raw(&base, &head).await;
        assert_eq!(status, 405, "{target}: {body}");
    }
    assert!(up.requests().is_empty(), "{:?}", up.requests());
    // Dot segments that stay inside are resolved before forwarding.
    let head = "GET /a/./b/../c?x=/.. HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n";
    let (status, _) = raw(&base, head).await;
    assert_eq!(status, 404);
    let seen: Vec<String> = up.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(seen, ["/api/public/a/c?x=/.."]);
}

/// `/_lro/*`, `/_health` and `/metrics` are the proxy's own, never forwarded: not when spelled
/// with a dot segment, doubled slashes, escapes, a `;` parameter or capitals either (an
/// upstream could read any of those as the path itself).
#[tokio::test(flavor = "multi_thread")]
async fn the_proxys_own_paths_are_never_forwarded_in_any_spelling() {
    let up = upstream().await;
    let (_child, base, _) = proxy_on("127.0.0.1:0", &up.base, &["--max-time", "5"]).await;
    for (method, path, prefer) in [
        ("GET", "/x/../metrics", ""),
        ("GET", "/x/../_health", ""),
        ("GET", "//metrics", ""),
        ("GET", "/%5fhealth", ""),
        ("GET", "/%6Detrics", ""),
        ("GET", "/metrics;x", ""),
        ("GET", "/metrics/", ""),
        ("GET", "/METRICS", ""),
        ("GET", "/a/../_lro/operations/1", ""),
        ("GET", "//_lro/operations/1", ""),
        ("GET", "/%5f%6c%72%6f/operations/1", ""),
        ("GET", "/_LRO/operations/1", ""),
        ("POST", "/a/../_lro/resume", "Prefer: respond-async\r\n"),
    ] {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: proxy\r\n{prefer}Content-Length: 0\r\n\
             Connection: close\r\n\r\n"
        );
        let (status, body) = raw(&base, &head).await;
        assert_eq!(status, 400, "{path}: {body}");
    }
    assert!(up.requests().is_empty(), "{:?}", up.requests());
}

/// A request head is bounded at 16 KiB (hyper's own bound, its 400 KiB read buffer, let each
/// connection of a slowloris hold twenty times an idle one's memory): beyond it `431`, nothing
/// forwarded; below it forwarded as before.
#[tokio::test(flavor = "multi_thread")]
async fn request_heads_over_16_kib_are_refused_431() {
    let up = upstream().await;
    let (_child, base, _) = proxy_on("127.0.0.1:0", &up.base, &["--max-time", "5"]).await;
    let head = |size: usize| {
        format!(
            "GET /big HTTP/1.1\r\nHost: proxy\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
            "a".repeat(size)
        )
    };
    let (status, _) = raw(&base, &head(20 * 1024)).await;
    assert_eq!(status, 431);
    assert!(up.requests().is_empty(), "{:?}", up.requests());
    let (status, _) = raw(&base, &head(12 * 1024)).await;
    assert_eq!(status, 404);
    assert_eq!(up.count("/big"), 1);
}

/// README: "hop-by-hop headers and `Host` dropped", both ways: the headers of one connection
/// (RFC 9110 §7.6.1), and those its `Connection` header names, reach neither the upstream nor
/// the client; the others pass.
#[tokio::test(flavor = "multi_thread")]
async fn hop_by_hop_headers_stay_on_their_connection() {
    let up = Mock::start(|_, _| {
        let mut r = resp(
            200,
            &[
                ("x-up-hop", "1".into()),
                ("keep-alive", "timeout=5".into()),
                ("proxy-authenticate", "Basic".into()),
                ("x-up-plain", "1".into()),
            ],
            "done",
        );
        let named = http::HeaderValue::from_static("x-up-hop");
        r.headers_mut().insert(http::header::CONNECTION, named);
        r
    })
    .await;
    let (_child, base, _) = proxy_on("127.0.0.1:0", &up.base, &["--max-time", "5"]).await;
    let head = "GET /h HTTP/1.1\r\nHost: proxy.example\r\n\
                Connection: close, X-Conn-Secret\r\nX-Conn-Secret: s\r\nKeep-Alive: timeout=5\r\n\
                TE: trailers\r\nProxy-Authorization: Basic cHJveHk6cHc=\r\n\
                Proxy-Connection: keep-alive\r\nTrailer: x-t\r\nX-Plain: 1\r\n\r\n";
    let answer = raw_answer(&base, head).await.to_ascii_lowercase();
    let (answer_head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(answer_head.starts_with("http/1.1 200"), "{answer}");
    assert_eq!(body, "done");
    assert!(answer_head.contains("\r\nx-up-plain: 1"), "{answer_head}");
    for gone in ["x-up-hop", "keep-alive", "proxy-authenticate"] {
        assert!(
            !answer_head.contains(&format!("\r\n{gone}:")),
            "{gone}: {answer_head}"
        );
    }
    let seen = up.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let mut names: Vec<&str> = seen[0].headers.keys().map(|n| n.as_str()).collect();
    names.sort_unstable();
    // `host` is the upstream's, set by the proxy's client.
    assert_eq!(names, ["host", "x-plain"]);
    assert_ne!(seen[0].headers["host"], "proxy.example");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_text_cannot_forge_log_lines() {
    let forged = "127.0.0.1:1 GET /admin -> 200 in 0.001 s";
    let word = format!("Running\r\n{forged}\u{1b}[2J");
    let up = Mock::start(move |req, base| match req.target.as_str() {
        "/forge" => {
            let monitor = ("operation-location", format!("{base}/ops/forge"));
            resp(202, &[monitor, ("retry-after", "0".to_owned())], "")
        }
        _ => {
            let body = serde_json::json!({ "status": word }).to_string();
            resp(200, &[("retry-after", "30".to_owned())], &body)
        }
    })
    .await;
    let (_child, base, log) = proxy_on("127.0.0.1:0", &up.base, &["--max-time", "1"]).await;
    let (status, _, _) = call(format!("{base}/forge"), false).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    let line = log_line(&log, "POST /forge ").await;
    assert!(
        line.contains(r"-> 504 (Running\r\n127.0.0.1:1 GET /admin -> 200 in 0.001 s\x1b[2J via "),
        "{line}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let lines = log.lock().unwrap().clone();
    assert!(!lines.iter().any(|l| l.starts_with(forged)), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains('\u{1b}')), "{lines:?}");
}
