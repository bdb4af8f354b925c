//! `lro proxy`'s bounds on what one request or one client may hold: the bytes of request bodies
//! held in memory (`--max-held-bodies`), the requests of one client (`--max-client-operations`),
//! a request body that trickles in (`--body-min-rate`), and the façade's own request bodies
//! (`--idle-timeout`). A second loopback port plays an upstream that never answers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::proxy_faults::{authority, error_code, exchange, header, log_line, read_one};
use crate::support::proxy_on;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// An upstream on a second loopback port that accepts connections (64 at most) and never
/// answers on them: every request sent to it holds its `--max-concurrent` slot. The count of
/// connections it accepted.
async fn silent_upstream() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut open = Vec::new();
        for _ in 0..64 {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            open.push(stream);
            count.fetch_add(1, Ordering::SeqCst);
        }
        std::future::pending::<()>().await;
    });
    (base, accepted)
}

/// Waits (10 s at most) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not within 10 s: {what}");
}

/// The value of the series `series` (its name and labels as rendered) on `/metrics`.
async fn metric(base: &str, series: &str) -> f64 {
    let (status, _, body, _) = exchange(base, b"GET /metrics HTTP/1.1\r\nHost: p\r\n\r\n").await;
    assert_eq!(status, 200);
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{body}"))
        .parse()
        .unwrap()
}

/// Waits (10 s at most) until `series` on `/metrics` is `value`.
async fn until_metric(base: &str, series: &str, value: f64) {
    for _ in 0..200 {
        if metric(base, series).await == value {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{series} never {value}: {}", metric(base, series).await);
}

const HELD: &str = "lro_proxy_held_body_bytes";
const MIB: usize = 1024 * 1024;

/// A keyed request to `path` with a body of `len` bytes, sent whole on a connection of its own.
async fn keyed(base: &str, path: &str, len: usize) -> TcpStream {
    let mut stream = TcpStream::connect(authority(base)).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: p\r\nIdempotency-Key: \"{path}\"\r\n\
         Content-Length: {len}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b'x'; len]).await.unwrap();
    stream
}

/// Bodies read whole (an idempotency key's, up to 1 MiB) are held while they wait for an
/// upstream slot: `--max-held-bodies` bounds their bytes together. With its 2 MiB held, a
/// keyed request whose declared length does not fit is answered `503` + `Retry-After` before
/// its body is read (a chunked one as soon as what came does not fit), `error.limit`
/// `max-held-bodies`; a body given back (its client went away) makes room. Before, every
/// such request waited, holding its body: `--max-operations` × 1 MiB.
#[tokio::test(flavor = "multi_thread")]
async fn held_request_bodies_are_bounded_together() {
    let (up, accepted) = silent_upstream().await;
    let args = ["--max-concurrent", "1", "--max-held-bodies", "2M"];
    let (_child, base, log) = proxy_on("127.0.0.1:0", &up, &args).await;
    // An unkeyed request takes the one upstream slot, and keeps it.
    let mut first = TcpStream::connect(authority(&base)).await.unwrap();
    first
        .write_all(b"POST /first HTTP/1.1\r\nHost: p\r\nContent-Length: 0\r\n\r\n")
        .await
        .unwrap();
    until("the first request upstream", || {
        accepted.load(Ordering::SeqCst) == 1
    })
    .await;
    let b = keyed(&base, "/b", MIB).await;
    let _c = keyed(&base, "/c", MIB).await;
    until_metric(&base, HELD, (2 * MIB) as f64).await;
    // Declared, it does not fit: refused before its body is read.
    let over = format!(
        "POST /d HTTP/1.1\r\nHost: p\r\nIdempotency-Key: \"d\"\r\nContent-Length: {MIB}\r\n\r\n"
    );
    let (status, head, body, _) = exchange(&base, over.as_bytes()).await;
    assert_eq!(status, 503, "{head}{body}");
    assert_eq!(header(&head, "retry-after"), Some("1"));
    assert_eq!(error_code(&body), "ServiceUnavailable");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["limit"], "max-held-bodies", "{body}");
    assert!(log_line(&log, "POST /d ").await.contains("-> 503"));
    // Chunked: refused at the first bytes that do not fit.
    let chunked = b"POST /e HTTP/1.1\r\nHost: p\r\nIdempotency-Key: \"e\"\r\n\
                    Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n";
    let (status, _, body, _) = exchange(&base, chunked).await;
    assert_eq!(status, 503, "{body}");
    let series = "lro_proxy_refused_total{limit=\"max-held-bodies\"}";
    assert_eq!(metric(&base, series).await, 2.0);
    // A client that goes away gives its body's place back: the next one is held.
    drop(b);
    until_metric(&base, HELD, MIB as f64).await;
    let _f = keyed(&base, "/f", MIB).await;
    until_metric(&base, HELD, (2 * MIB) as f64).await;
    assert_eq!(metric(&base, series).await, 2.0);
    drop(first);
}

/// A connection to `base` from the loopback address `from` (`127.0.0.2`: another client).
async fn connect_from(base: &str, from: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket
        .connect(authority(base).parse().unwrap())
        .await
        .unwrap()
}

/// `--max-client-operations 1`: one client (a peer address) with a request being answered is
/// answered `429` + `Retry-After` for another, `error.limit` `max-client-operations`, nothing
/// sent upstream; another client (127.0.0.2) is not; the place comes back when the first
/// request's client goes away. Before, one client could hold every place of `--max-operations`.
#[tokio::test(flavor = "multi_thread")]
async fn one_client_holds_at_most_its_own_operations() {
    let (up, accepted) = silent_upstream().await;
    let args = ["--max-client-operations", "1"];
    let (_child, base, log) = proxy_on("127.0.0.1:0", &up, &args).await;
    let request = b"POST /jobs HTTP/1.1\r\nHost: p\r\nContent-Length: 0\r\n\r\n";
    let mut first = TcpStream::connect(authority(&base)).await.unwrap();
    first.write_all(request).await.unwrap();
    until("the first request upstream", || {
        accepted.load(Ordering::SeqCst) == 1
    })
    .await;
    let second = b"POST /second HTTP/1.1\r\nHost: p\r\nContent-Length: 0\r\n\r\n";
    let (status, head, body, _) = exchange(&base, second).await;
    assert_eq!(status, 429, "{head}{body}");
    assert_eq!(header(&head, "retry-after"), Some("1"));
    assert_eq!(error_code(&body), "TooManyRequests");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["limit"], "max-client-operations", "{body}");
    assert!(log_line(&log, "POST /second ").await.contains("-> 429"));
    let series = "lro_proxy_refused_total{limit=\"max-client-operations\"}";
    assert_eq!(metric(&base, series).await, 1.0);
    // Another client is not bounded by the first one's requests.
    let mut other = connect_from(&base, "127.0.0.2").await;
    other.write_all(request).await.unwrap();
    until("the other client's request upstream", || {
        accepted.load(Ordering::SeqCst) == 2
    })
    .await;
    // The first client goes away: its place is free again.
    drop(first);
    let mut again = None;
    for _ in 0..100 {
        let mut stream = TcpStream::connect(authority(&base)).await.unwrap();
        stream.write_all(request).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_millis(300), read_one(&mut stream)).await;
        match answer {
            Err(_) => {
                again = Some(stream);
                break;
            }
            Ok((status, _, _)) => assert_eq!(status, 429),
        }
    }
    assert!(again.is_some(), "the first client's place never came back");
    until("the retried request upstream", || {
        accepted.load(Ordering::SeqCst) == 3
    })
    .await;
    drop(other);
}

/// Writes `head`, then the bytes of `body` one at a time, one every `every`, on `stream`'s
/// writing half (stopping at the first failed write); the reading half back.
fn trickle(
    stream: TcpStream,
    head: &'static [u8],
    body: usize,
    every: Duration,
) -> tokio::net::tcp::OwnedReadHalf {
    let (read, mut write) = stream.into_split();
    tokio::spawn(async move {
        if write.write_all(head).await.is_err() {
            return;
        }
        for _ in 0..body {
            tokio::time::sleep(every).await;
            if write.write_all(b"x").await.is_err() {
                return;
            }
        }
    });
    read
}

/// A request body that trickles in (a byte every 200 ms: never a pause of `--idle-timeout`)
/// is cut once the time waited for it passes `--idle-timeout` plus a second for every 500 bytes
/// (`--body-min-rate`'s default, Apache's `MinRate`): `408 RequestTimeout`, logged
/// `(request body too slow)`, and its upstream slot is freed. Before, it held the slot for
/// the 20 s the body took (until `--max-time`, had it been longer).
#[tokio::test(flavor = "multi_thread")]
async fn a_request_body_that_trickles_in_is_cut_at_the_least_rate() {
    let up = crate::support::Mock::start(|_, _| crate::support::resp(200, &[], "echo")).await;
    let args = ["--max-concurrent", "1", "--idle-timeout", "1"];
    let (_child, base, log) = proxy_on("127.0.0.1:0", &up.base, &args).await;
    let stream = TcpStream::connect(authority(&base)).await.unwrap();
    let head = b"POST /trickle HTTP/1.1\r\nHost: p\r\nContent-Length: 100\r\n\r\n";
    let mut read = trickle(stream, head, 100, Duration::from_millis(200));
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(10), async {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&all).contains("}") {
            use tokio::io::AsyncReadExt;
            let n = read.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed without an answer");
            all.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&all).into_owned()
    })
    .await
    .expect("no answer within 10 s");
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    assert_eq!(error_code(body), "RequestTimeout");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let line = log_line(&log, "POST /trickle ").await;
    assert!(
        line.contains("-> 408") && line.contains("too slow"),
        "{line}"
    );
    let series = "lro_proxy_refused_total{limit=\"body-min-rate\"}";
    assert_eq!(metric(&base, series).await, 1.0);
    // The one upstream slot is free.
    let (status, _, body, _) = exchange(&base, b"GET /fine HTTP/1.1\r\nHost: p\r\n\r\n").await;
    assert_eq!((status, body.as_str()), (200, "echo"));
}

/// The façade reads two bodies whole itself: a `Prefer: respond-async` submission's and
/// `POST /_lro/resume`'s. Either, stopping after its first byte, is answered `408
/// RequestTimeout` once nothing came for `--idle-timeout`, as a forwarded body is. Before, they
/// had no pause bound: each held its connection, task and buffer until the client went away.
#[tokio::test(flavor = "multi_thread")]
async fn the_facades_request_bodies_are_cut_at_the_idle_timeout() {
    let (up, accepted) = silent_upstream().await;
    let args = ["--idle-timeout", "1", "--max-time", "60"];
    let (_child, base, log) = proxy_on("127.0.0.1:0", &up, &args).await;
    let heads: [&[u8]; 2] = [
        b"POST /jobs/async HTTP/1.1\r\nHost: p\r\nPrefer: respond-async\r\n\
          Content-Length: 10\r\n\r\nh",
        b"POST /_lro/resume HTTP/1.1\r\nHost: p\r\nContent-Type: application/json\r\n\
          Content-Length: 10\r\n\r\n{",
    ];
    for head in heads {
        let (status, _, body, _open) = exchange(&base, head).await;
        assert_eq!(status, 408, "{body}");
        assert_eq!(error_code(&body), "RequestTimeout");
    }
    for target in ["POST /jobs/async ", "POST /_lro/resume "] {
        let line = log_line(&log, target).await;
        assert!(
            line.contains("-> 408") && line.contains("stalled"),
            "{line}"
        );
    }
    let series = "lro_proxy_refused_total{limit=\"idle-timeout\"}";
    assert_eq!(metric(&base, series).await, 2.0);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "nothing was sent upstream"
    );
}

/// `--max-operations` bounds the façade's background operations and its open event streams
/// too (counted apart from the requests being answered): beyond either, the `503` names the
/// bound (`error.limit` `max-operations`) and is counted on `/metrics`, as the documented table
/// and `lro_proxy_refused_total` say. Before, these two `503`s carried no `limit` and were not
/// counted.
#[tokio::test(flavor = "multi_thread")]
async fn the_facades_refusals_name_max_operations() {
    let up = crate::proxy_faults::running_upstream().await;
    let args = ["--max-operations", "1", "--max-time", "30"];
    let (_child, base, _log) = proxy_on("127.0.0.1:0", &up.base, &args).await;
    let series = "lro_proxy_refused_total{limit=\"max-operations\"}";
    assert_eq!(metric(&base, series).await, 0.0);
    let start = |name: &str| {
        format!(
            "POST /jobs/{name} HTTP/1.1\r\nHost: p\r\nPrefer: respond-async\r\n\
             Content-Length: 0\r\n\r\n"
        )
    };
    let (status, head, body, _open) = exchange(&base, start("a").as_bytes()).await;
    assert_eq!(status, 202, "{head}{body}");
    let monitor = header(&head, "operation-location")
        .expect("a monitor")
        .to_owned();
    // A second background operation while the first runs: its one place is taken.
    let (status, head, body, _) = exchange(&base, start("b").as_bytes()).await;
    assert_eq!(status, 503, "{head}{body}");
    assert_eq!(header(&head, "retry-after"), Some("1"));
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["code"], "ServiceUnavailable", "{body}");
    assert_eq!(error["error"]["limit"], "max-operations", "{body}");
    // A second event stream while the first is open.
    let watch = format!("GET {monitor} HTTP/1.1\r\nHost: p\r\nAccept: text/event-stream\r\n\r\n");
    let (status, head, _, _first) = exchange(&base, watch.as_bytes()).await;
    assert_eq!(status, 200, "{head}");
    let (status, head, body, _) = exchange(&base, watch.as_bytes()).await;
    assert_eq!(status, 503, "{head}{body}");
    assert_eq!(header(&head, "retry-after"), Some("1"));
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["limit"], "max-operations", "{body}");
    assert_eq!(metric(&base, series).await, 2.0);
}
