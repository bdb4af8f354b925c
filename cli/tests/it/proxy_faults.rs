//! `lro proxy` and what its clients get wrong or hold: a request body that breaks its own
//! framing is the client's fault (`4xx`, never the upstream's `502`), and so is one that stops
//! coming (`408` at `--idle-timeout`); event streams are bounded
//! like the operations; `/_health` answers whatever the bounds.

use std::time::Duration;

use crate::support::{proxy_on, resp, Log};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `http://127.0.0.1:p` → `127.0.0.1:p`.
pub(crate) fn authority(base: &str) -> &str {
    base.trim_start_matches("http://")
}

/// Sends `bytes` on a connection of its own and reads one answer (its head, then
/// `Content-Length` bytes), bounded at 10 s: its status, head and body. The connection is
/// returned open.
pub(crate) async fn exchange(base: &str, bytes: &[u8]) -> (u16, String, String, TcpStream) {
    let mut stream = TcpStream::connect(authority(base)).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let (status, head, body) = tokio::time::timeout(Duration::from_secs(10), read_one(&mut stream))
        .await
        .expect("no answer within 10 s");
    (status, head, body, stream)
}

/// The value of the header `name` in an answer's `head`.
pub(crate) fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// One answer's status, head and body (`Content-Length` bytes; none for a stream).
pub(crate) async fn read_one(stream: &mut TcpStream) -> (u16, String, String) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert!(head.len() < 16_384, "head too long");
        let n = stream.read(&mut byte).await.unwrap();
        assert_eq!(
            n, 1,
            "the connection closed inside an answer's head: {head:?}"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let length: usize = header(&head, "content-length").map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    (status, head, String::from_utf8_lossy(&body).into_owned())
}

/// The log line of the request to `target`, waited for (bounded: 5 s).
pub(crate) async fn log_line(log: &Log, target: &str) -> String {
    for _ in 0..500 {
        if let Some(line) = log.lock().unwrap().iter().find(|l| l.contains(target)) {
            return line.clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no log line for {target}: {:?}", log.lock().unwrap());
}

pub(crate) fn error_code(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    v["error"]["code"].as_str().unwrap_or_default().to_owned()
}

/// A chunked body whose framing breaks (a chunk size that is not hexadecimal) is answered
/// `400` as the client's fault, and logged so, not `502` as if the upstream had failed.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_body_with_broken_framing_is_the_clients_fault() {
    let up = crate::support::Mock::start(|_, _| resp(200, &[], "echo")).await;
    let (_child, base, log) = proxy_on("127.0.0.1:0", &up.base, &[]).await;
    let broken = b"POST /broken HTTP/1.1\r\nHost: proxy\r\nTransfer-Encoding: chunked\r\n\r\n\
                   5\r\nhello\r\nzz\r\n";
    let (status, _, body, _open) = exchange(&base, broken).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), "BadRequest");
    let line = log_line(&log, "POST /broken ").await;
    assert!(line.contains("-> 400"), "{line}");
    // The same with an idempotency key (the proxy reads such a body whole before it sends).
    let keyed = b"POST /keyed HTTP/1.1\r\nHost: proxy\r\nIdempotency-Key: \"k1\"\r\n\
                  Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n";
    let (status, _, body, _open) = exchange(&base, keyed).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), "BadRequest");
    let line = log_line(&log, "POST /keyed ").await;
    assert!(
        line.contains("-> 400") && line.contains("request body unreadable"),
        "{line}"
    );
    // A body that ends before its Content-Length (the client closed its sending side): `400`
    // too, and the upstream's request is cut off rather than completed.
    let mut short = TcpStream::connect(authority(&base)).await.unwrap();
    let head = b"POST /short HTTP/1.1\r\nHost: proxy\r\nContent-Length: 10\r\n\r\nhello";
    short.write_all(head).await.unwrap();
    short.shutdown().await.unwrap();
    let (status, _, body) = tokio::time::timeout(Duration::from_secs(10), read_one(&mut short))
        .await
        .expect("no answer within 10 s");
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), "BadRequest");
    let line = log_line(&log, "POST /short ").await;
    assert!(line.contains("-> 400"), "{line}");
    // A body longer than its Content-Length is no fault of the message: the length says where
    // it ends (RFC 9112 §6.3), and what follows is the connection's next request.
    let long = b"POST /long HTTP/1.1\r\nHost: proxy\r\nContent-Length: 3\r\n\r\nhello";
    let (status, _, body, _open) = exchange(&base, long).await;
    assert_eq!((status, body.as_str()), (200, "echo"));
    let sent: Vec<_> = up
        .requests()
        .into_iter()
        .filter(|r| r.target == "/long")
        .collect();
    assert_eq!(sent[0].body, "hel");
    // A well-framed body still goes through.
    let fine = b"POST /fine HTTP/1.1\r\nHost: proxy\r\nContent-Length: 5\r\n\r\nhello";
    let (status, _, body, _open) = exchange(&base, fine).await;
    assert_eq!((status, body.as_str()), (200, "echo"));
}

/// A request body that stops coming (the head and one byte of a ten-byte body, then nothing
/// while the connection stays open) is answered `408` once the client has sent nothing of it
/// for `--idle-timeout`, and its upstream slot is freed. Before, it held one of
/// `--max-concurrent`'s slots until `--max-time`: as many such clients as slots kept every
/// other request from the upstream.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_body_that_stops_coming_is_cut_at_the_idle_timeout() {
    let up = crate::support::Mock::start(|_, _| resp(200, &[], "echo")).await;
    let args: Vec<&str> = "--max-concurrent 1 --idle-timeout 1 --max-time 60"
        .split(' ')
        .collect();
    let (_child, base, log) = proxy_on("127.0.0.1:0", &up.base, &args).await;
    let mut stalled = TcpStream::connect(authority(&base)).await.unwrap();
    let head = b"POST /stalled HTTP/1.1\r\nHost: proxy\r\nContent-Length: 10\r\n\r\nh";
    stalled.write_all(head).await.unwrap();
    // The stalled request takes the one upstream slot before the next request arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fine = b"GET /fine HTTP/1.1\r\nHost: proxy\r\n\r\n";
    let (status, _, body, _open) = exchange(&base, fine).await;
    assert_eq!((status, body.as_str()), (200, "echo"));
    let (status, _, body) = tokio::time::timeout(Duration::from_secs(10), read_one(&mut stalled))
        .await
        .expect("no answer within 10 s");
    assert_eq!(status, 408, "{body}");
    assert_eq!(error_code(&body), "RequestTimeout");
    let line = log_line(&log, "POST /stalled ").await;
    assert!(line.contains("-> 408"), "{line}");
}

/// An upstream whose operations (`POST /jobs/{name}`) run until the test ends (`Running`, next
/// poll in 1 s).
pub(crate) async fn running_upstream() -> crate::support::Mock {
    crate::support::Mock::start(|req, base| {
        let path = req.target.split('?').next().unwrap().to_owned();
        match path.strip_prefix("/jobs/") {
            Some(name) => {
                let monitor = format!("{base}/ops/{name}");
                resp(202, &[("operation-location", monitor)], "")
            }
            None => resp(
                200,
                &[("retry-after", "1".to_owned())],
                r#"{"status":"Running"}"#,
            ),
        }
    })
    .await
}

/// Event streams hold a connection and a task until their end: at most `--max-operations` of
/// them are open at once (counted apart from the operations), and one more is answered `503`
/// with `Retry-After` before anything is streamed. `/_health` answers `200` whatever is full.
#[tokio::test(flavor = "multi_thread")]
async fn event_streams_are_bounded_and_health_always_answers() {
    let up = running_upstream().await;
    let args = ["--max-operations", "1", "--max-time", "30"];
    let (_child, base, _log) = proxy_on("127.0.0.1:0", &up.base, &args).await;
    let start = b"POST /jobs/a HTTP/1.1\r\nHost: proxy\r\nPrefer: respond-async\r\n\
                  Content-Length: 0\r\n\r\n";
    let (status, head, body, _open) = exchange(&base, start).await;
    assert_eq!(status, 202, "{head}{body}");
    let monitor = header(&head, "operation-location")
        .expect("a monitor")
        .to_owned();
    let watch =
        format!("GET {monitor} HTTP/1.1\r\nHost: proxy\r\nAccept: text/event-stream\r\n\r\n");
    let (status, head, _, first) = exchange(&base, watch.as_bytes()).await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(header(&head, "content-type"), Some("text/event-stream"));
    // A second stream while the first is open: refused at once.
    let (status, head, body, _) = exchange(&base, watch.as_bytes()).await;
    assert_eq!(status, 503, "{head}{body}");
    assert_eq!(header(&head, "retry-after"), Some("1"));
    assert_eq!(error_code(&body), "ServiceUnavailable");
    // Health answers, the stream open and the background operation running.
    let health = b"GET /_health HTTP/1.1\r\nHost: proxy\r\n\r\n";
    let (status, _, _, _) = exchange(&base, health).await;
    assert_eq!(status, 200);
    // A synchronous request holds the one place of --max-operations: another is shed, health
    // still answers.
    let mut waiting = TcpStream::connect(authority(&base)).await.unwrap();
    let sync = b"POST /jobs/b HTTP/1.1\r\nHost: proxy\r\nContent-Length: 0\r\n\r\n";
    waiting.write_all(sync).await.unwrap();
    for _ in 0..500 {
        if up.count("/ops/b") > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(up.count("/ops/b"), 1);
    let (status, _, _, _) = exchange(&base, sync).await;
    assert_eq!(status, 503);
    let (status, _, _, _) = exchange(&base, health).await;
    assert_eq!(status, 200);
    // The first stream's client goes away, and the synchronous one: their places are free.
    drop((first, waiting));
    let mut answered = 0;
    for _ in 0..200 {
        let (status, _, _, _) = exchange(&base, watch.as_bytes()).await;
        if status == 200 {
            answered = status;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answered, 200, "a stream's place is freed when it ends");
}
