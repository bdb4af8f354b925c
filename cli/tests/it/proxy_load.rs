//! `lro proxy` under load: 10 000 concurrent clients whose operations take 2 s.
//!
//! Ignored by default (it opens over 10 000 sockets in each process and takes the machine for a few seconds); run it
//! in release, as BENCHMARKS.md says:
//!
//! ```text
//! cargo test --release -p lro-cli --test it proxy_load -- --ignored --nocapture
//! ```
//!
//! `LRO_LOAD_CLIENTS=N` changes the number of clients (default 10 000), `LRO_LOAD_PROXY_ARGS`
//! adds options to the proxy's command line (`--max-concurrent 256`).

use std::convert::Infallible;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How many clients, by default.
const CLIENTS: usize = 10_000;
/// How long each operation takes, from its submission.
const OPERATION: Duration = Duration::from_secs(2);

/// Raises this process's soft limit on open files to its hard limit; the limit then.
fn raise_open_files_limit() -> u64 {
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
    limit.rlim_cur
}

/// A lean upstream on loopback: `POST /timed` answers `202` with a status URL that carries
/// when the operation ends (2 s later) and `Retry-After: 1`; the status URL answers `Running`
/// until then, then `Succeeded` with the resource's URL. Counts the requests it answered and
/// the connections it accepted.
async fn upstream(
    requests: Arc<AtomicU64>,
    last_submission: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let start = Instant::now();
    let b = base.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            connections.fetch_add(1, Ordering::Relaxed);
            let (base, requests, last) = (b.clone(), requests.clone(), last_submission.clone());
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    requests.fetch_add(1, Ordering::Relaxed);
                    let now = start.elapsed().as_millis() as u64;
                    if req.uri().path() == "/timed" {
                        last.fetch_max(now, Ordering::Relaxed);
                    }
                    let answer = answer(req.uri().path(), now, &base);
                    async move { Ok::<_, Infallible>(answer) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    base
}

fn answer(path: &str, now_ms: u64, base: &str) -> Response<Full<Bytes>> {
    let (status, headers, body): (u16, Vec<(&str, String)>, &'static str) = if path == "/timed" {
        let end = now_ms + OPERATION.as_millis() as u64;
        let monitor = format!("{base}/ops/{end}");
        let headers = vec![("operation-location", monitor), ("retry-after", "1".into())];
        (202, headers, "")
    } else if let Some(end) = path.strip_prefix("/ops/") {
        if now_ms >= end.parse::<u64>().unwrap() {
            let resource = ("resource-location", format!("{base}/done"));
            (200, vec![resource], r#"{"status":"Succeeded"}"#)
        } else {
            let wait = ("retry-after", "1".to_owned());
            (200, vec![wait], r#"{"status":"Running"}"#)
        }
    } else if path == "/done" {
        (200, vec![], r#"{"done":true}"#)
    } else {
        (404, vec![], "")
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    for (name, value) in headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// The proxy's resident set (`VmRSS`), in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The proxy's CPU time so far (user + system), in seconds.
fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is field 3, utime 14.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    Some(ticks as f64 / hz as f64)
}

/// One client: its answer's status and how long it took.
async fn client(proxy: String) -> (u16, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(&proxy).await.unwrap();
    let head =
        "POST /timed HTTP/1.1\r\nHost: proxy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let status = std::str::from_utf8(&answer)
        .ok()
        .and_then(|a| a.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, started.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "load test: 10 000 sockets; run in release with --ignored"]
async fn ten_thousand_clients_whose_operations_take_two_seconds() {
    let clients: usize = std::env::var("LRO_LOAD_CLIENTS").map_or(CLIENTS, |n| n.parse().unwrap());
    let extra = std::env::var("LRO_LOAD_PROXY_ARGS").unwrap_or_default();
    let files = raise_open_files_limit();
    // Here the clients and the upstream's side of the proxy's connections; the proxy, another
    // process, raises its own limit.
    assert!(
        files >= clients as u64 + 1000,
        "needs {} open files, the limit is {files}",
        clients + 1000
    );
    let requests = Arc::new(AtomicU64::new(0));
    let last_submission = Arc::new(AtomicU64::new(0));
    let connections = Arc::new(AtomicU64::new(0));
    let up = upstream(
        requests.clone(),
        last_submission.clone(),
        connections.clone(),
    )
    .await;
    let up_started = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lro"))
        .args(["proxy", "--listen", "127.0.0.1:0", "--upstream", &up])
        .args(["--max-time", "60"])
        .args(extra.split_whitespace())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    println!("{first}");
    let proxy = first
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap()
        .trim_end_matches(',')
        .to_owned();
    let logged = Arc::new(AtomicU64::new(0));
    let count = logged.clone();
    tokio::spawn(async move {
        while let Ok(Some(_)) = lines.next_line().await {
            count.fetch_add(1, Ordering::Relaxed);
        }
    });
    let idle_rss = rss_kib(pid).unwrap();

    // The proxy's peak resident set while the clients wait, sampled every 20 ms.
    let peak = Arc::new(AtomicU64::new(idle_rss));
    let sampled = peak.clone();
    let sampler = tokio::spawn(async move {
        loop {
            if let Some(kib) = rss_kib(pid) {
                sampled.fetch_max(kib, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });

    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| tokio::spawn(client(proxy.clone())))
        .collect();
    let mut times = Vec::with_capacity(clients);
    let mut failed = 0;
    for task in tasks {
        let (status, took) = tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("a client got no answer within 60 s")
            .unwrap();
        if status == 200 {
            times.push(took);
        } else {
            failed += 1;
        }
    }
    let wall = started.elapsed();
    let after_rss = rss_kib(pid).unwrap();
    let cpu = cpu_secs(pid).unwrap_or(f64::NAN);
    let offset = started.duration_since(up_started).as_millis() as u64;
    let last = last_submission
        .load(Ordering::Relaxed)
        .saturating_sub(offset);
    sampler.abort();
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "{clients} clients, operations of {OPERATION:?}: {} answered 200, {failed} not; all \
         answered in {wall:.2?}; per client p50 {:.2?}, p90 {:.2?}, p99 {:.2?}, max {:.2?}",
        times.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
    println!(
        "last submission reached the upstream {last} ms after the first client started; \
         proxy CPU (user + system) {cpu:.2} s"
    );
    println!(
        "upstream requests: {} on {} connections; proxy VmRSS: idle {} KiB, peak {} KiB, after {} KiB; \
         peak - idle per client {} B",
        requests.load(Ordering::Relaxed),
        connections.load(Ordering::Relaxed),
        idle_rss,
        peak.load(Ordering::Relaxed),
        after_rss,
        (peak.load(Ordering::Relaxed) - idle_rss) * 1024 / clients as u64
    );
    assert_eq!(failed, 0);
    assert!(
        wall < OPERATION + Duration::from_secs(5),
        "all answered in {wall:?}"
    );
    // Each access-log line was written (one per request).
    for _ in 0..200 {
        if logged.load(Ordering::Relaxed) >= clients as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(logged.load(Ordering::Relaxed), clients as u64);
}
