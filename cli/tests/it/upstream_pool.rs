//! The proxy's connections to its upstream: after a burst, at most `--max-concurrent` stay open
//! idle, and none after `--idle-timeout`. A `--max-concurrent` slot is freed when an answer's
//! head arrives, so answers whose bodies are still coming open more connections than slots; they
//! used to stay open idle for ever (issue: 189 for `--max-concurrent 64`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::client::send;
use crate::support::proxy_on;

/// The mock's connections: opened in all, and open now.
#[derive(Default)]
struct Counts {
    opened: AtomicUsize,
    open: AtomicUsize,
}

/// A keep-alive HTTP/1.1 upstream on loopback whose every answer's body comes in two halves,
/// `gap` apart (its connection busy after its head); its base URL and its counts.
async fn slow_bodies(gap: Duration) -> (String, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            c.opened.fetch_add(1, Ordering::SeqCst);
            c.open.fetch_add(1, Ordering::SeqCst);
            let c = c.clone();
            tokio::spawn(async move {
                serve(stream, gap).await;
                c.open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (base, counts)
}

/// Answers the requests (heads only: the test sends `GET`s) of one connection until it closes.
async fn serve(mut stream: TcpStream, gap: Duration) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Bounded: a connection carries a few requests at most, and each read waits on the proxy.
    for _ in 0..10_000 {
        while let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..at + 4);
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 10\r\n\r\n";
            if stream
                .write_all(format!("{head}01234").as_bytes())
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(gap).await;
            if stream.write_all(b"56789").await.is_err() {
                return;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// `clients` `GET`s through the proxy at once, each answered in full.
async fn burst(proxy: &str, clients: usize) {
    let url = format!("{proxy}/items");
    let sends: Vec<_> = (0..clients)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { send("GET", &url, &[], "").await })
        })
        .collect();
    for answer in sends {
        let (status, _, body) = answer.await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(&body[..], b"0123456789");
    }
}

/// Waits (up to `within`) for at most `bound` of the mock's connections to be open; how many are.
async fn settled(counts: &Counts, bound: usize, within: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let open = counts.open.load(Ordering::SeqCst);
        if open <= bound || tokio::time::Instant::now() >= deadline {
            return open;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_burst_at_most_max_concurrent_upstream_connections_stay_open() {
    let (upstream, counts) = slow_bodies(Duration::from_millis(300)).await;
    let (_proxy, base, _log) = proxy_on("127.0.0.1:0", &upstream, &["--max-concurrent", "2"]).await;
    burst(&base, 24).await;
    // The burst needed more connections than slots (bodies in flight hold theirs) ...
    let opened = counts.opened.load(Ordering::SeqCst);
    assert!(opened > 4, "only {opened} upstream connections were opened");
    // ... and all but --max-concurrent of them close once idle (not after --idle-timeout: 60 s).
    let open = settled(&counts, 2, Duration::from_secs(3)).await;
    assert!(
        open <= 2,
        "{open} of {opened} upstream connections still open"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_upstream_connections_close_after_idle_timeout() {
    let (upstream, counts) = slow_bodies(Duration::from_millis(100)).await;
    let args = ["--max-concurrent", "8", "--idle-timeout", "0.5"];
    let (_proxy, base, _log) = proxy_on("127.0.0.1:0", &upstream, &args).await;
    burst(&base, 4).await;
    assert!(counts.opened.load(Ordering::SeqCst) >= 1);
    let open = settled(&counts, 0, Duration::from_secs(5)).await;
    assert_eq!(
        open, 0,
        "upstream connections idle past --idle-timeout still open"
    );
}

/// The start-up line of `lro proxy` run under an open-files limit of `files` (soft and hard).
async fn start_up_line_under(files: u64, extra: &[&str]) -> String {
    use tokio::io::AsyncBufReadExt;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_lro"));
    command
        .args([
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "http://127.0.0.1:9",
        ])
        .args(extra)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    // SAFETY: the closure runs in the child before exec and only calls setrlimit, which is
    // async-signal-safe; it touches nothing of the parent's.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: files as libc::rlim_t,
                rlim_max: files as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the proxy did not start")
        .unwrap()
        .unwrap();
    let _ = child.kill().await;
    line
}

#[tokio::test(flavor = "multi_thread")]
async fn max_connections_leaves_an_upstream_file_for_each_client_connection() {
    // 1 024 files: 2 × 64 + 64 kept, and two for each client connection (its own and the
    // upstream connection its answer may hold): (1 024 − 192) / 2.
    let line = start_up_line_under(1024, &[]).await;
    assert!(line.contains("at most 416 connections"), "{line}");
    let line = start_up_line_under(1024, &["--max-concurrent", "8"]).await;
    assert!(line.contains("at most 472 connections"), "{line}");
    // A --max-connections that fits is kept.
    let line = start_up_line_under(1024, &["--max-connections", "100"]).await;
    assert!(line.contains("at most 100 connections"), "{line}");
}

/// The start-up line says where operations are kept: "operations kept in memory", "… in file
/// PATH" (a sentence, whichever store).
#[tokio::test(flavor = "multi_thread")]
async fn the_start_up_line_says_where_operations_are_kept() {
    let line = start_up_line_under(1024, &[]).await;
    assert!(line.contains(", operations kept in memory, "), "{line}");
    let dir = crate::support::temp_dir("start-up-line");
    let file = dir.join("ops.redb");
    let path = file.to_str().unwrap();
    let line = start_up_line_under(1024, &["--store", path]).await;
    let said = format!(", operations kept in file {path}, ");
    assert!(line.contains(&said), "{line}");
}

/// What a [`treacherous`] upstream does with a connection after its first answer.
#[derive(Clone, Copy)]
enum After {
    /// Writes a second, unrequested answer (`STALE`) at once, behind the first.
    Stale,
    /// Shuts its writing half (FIN), still reading.
    HalfClose,
    /// Resets the connection (RST: linger 0, then closed).
    Reset,
}

/// An upstream on loopback that answers each request with its path as the body, and after the
/// first answer on a connection does `after`; its base URL and its counts.
async fn treacherous(after: After) -> (String, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            c.opened.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let mut answered = 0;
                for _ in 0..1_000 {
                    while let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..at]).into_owned();
                        buf.drain(..at + 4);
                        let path = head.split(' ').nth(1).unwrap_or("?").to_owned();
                        let mut out = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{path}",
                            path.len()
                        );
                        answered += 1;
                        if answered == 1 && matches!(after, After::Stale) {
                            out.push_str("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nSTALE");
                        }
                        if stream.write_all(out.as_bytes()).await.is_err() {
                            return;
                        }
                        match after {
                            After::HalfClose if answered == 1 => {
                                let _ = stream.shutdown().await;
                            }
                            After::Reset if answered == 1 => {
                                // A zero linger resets at once: the drop does not block.
                                #[allow(deprecated)]
                                let _ = stream.set_linger(Some(Duration::ZERO));
                                return;
                            }
                            _ => {}
                        }
                    }
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    (base, counts)
}

/// An upstream that answers a request twice (a stale answer queued behind the first on a
/// connection the proxy keeps), half-closes it or resets it once idle: each later request
/// through the proxy gets its own answer, never the stale one, and not a `502` from a dead
/// pooled connection.
#[tokio::test(flavor = "multi_thread")]
async fn a_pooled_upstream_connection_never_answers_with_a_stale_or_dead_answer() {
    for after in [After::Stale, After::HalfClose, After::Reset] {
        let (upstream, counts) = treacherous(after).await;
        let (_proxy, base, _log) = proxy_on("127.0.0.1:0", &upstream, &[]).await;
        for n in 0..4 {
            let path = format!("/item-{n}");
            let (status, _, body) = send("GET", &format!("{base}{path}"), &[], "").await;
            assert_eq!(
                (status.as_u16(), String::from_utf8_lossy(&body).as_ref()),
                (200, path.as_str()),
                "request {n}"
            );
            // Time for the upstream's FIN or RST to arrive before the next request.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            counts.opened.load(Ordering::SeqCst) >= 2,
            "a connection was reused"
        );
    }
}
