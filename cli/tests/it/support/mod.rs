//! Mock HTTP(S) servers on loopback and a runner for the built `lro` binary.

use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncBufReadExt;
use tokio::net::TcpListener;

pub mod client;
pub mod creds;
/// The library's `redis-server` runner (the store tests of `tests/it/` start one the same way).
#[path = "../../../../tests/it/store/redis_server.rs"]
pub mod redis_server;
pub mod stall;
pub mod upstream;

/// What a mock sees of a request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

pub type Handler = Arc<dyn Fn(&Seen, &str) -> Response<Full<Bytes>> + Send + Sync>;

/// A running mock; it stops when the test's runtime ends.
pub struct Mock {
    pub base: String,
    pub seen: Arc<std::sync::Mutex<Vec<Seen>>>,
}

impl Mock {
    /// Plain HTTP on `127.0.0.1:0`. The handler gets the request and the mock's base URL.
    pub async fn start(
        handler: impl Fn(&Seen, &str) -> Response<Full<Bytes>> + Send + Sync + 'static,
    ) -> Mock {
        Self::serve(Arc::new(handler), None).await
    }

    /// HTTPS with `tls`.
    pub async fn start_tls(
        handler: impl Fn(&Seen, &str) -> Response<Full<Bytes>> + Send + Sync + 'static,
        tls: tokio_rustls::TlsAcceptor,
    ) -> Mock {
        Self::serve(Arc::new(handler), Some(tls)).await
    }

    async fn serve(handler: Handler, tls: Option<tokio_rustls::TlsAcceptor>) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base = format!("{scheme}://{}", listener.local_addr().unwrap());
        let seen: Arc<std::sync::Mutex<Vec<Seen>>> = Arc::default();
        let (b, s) = (base.clone(), seen.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (handler, base, seen, tls) =
                    (handler.clone(), b.clone(), s.clone(), tls.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (handler, base, seen) = (handler.clone(), base.clone(), seen.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let target = parts
                                .uri
                                .path_and_query()
                                .map_or("/", |p| p.as_str())
                                .to_owned();
                            let req = Seen {
                                method: parts.method.to_string(),
                                target,
                                headers: parts.headers,
                                body,
                            };
                            seen.lock().unwrap().push(req.clone());
                            Ok::<_, Infallible>(handler(&req, &base))
                        }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(tls) => {
                            if let Ok(stream) = tls.accept(stream).await {
                                let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                            }
                        }
                        None => {
                            let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                        }
                    }
                });
            }
        });
        Mock { base, seen }
    }

    /// How many requests went to `path` (the path, without the query).
    pub fn count(&self, path: &str) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|r| r.target.split('?').next() == Some(path))
            .count()
    }

    /// Waits (bounded: 10 s) until `path` was requested at least `n` times.
    pub async fn until_count(&self, path: &str, n: usize) {
        for _ in 0..1000 {
            if self.count(path) >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{path} was not requested {n} times within 10 s");
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A response with headers and a body.
pub fn resp(status: u16, headers: &[(&str, String)], body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_owned())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    for (name, value) in headers {
        r.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    r
}

/// The V2 shape of an operation that succeeds at its first poll: `/jobs` answers `202` with
/// `Operation-Location: /ops/1`, which names `/things/1` as the resource; `None` for another path.
pub fn first_poll_succeeds(path: &str, base: &str) -> Option<Response<Full<Bytes>>> {
    match path {
        "/jobs" => Some(resp(
            202,
            &[("operation-location", format!("{base}/ops/1")), now()],
            "",
        )),
        "/ops/1" => Some(resp(
            200,
            &[("resource-location", format!("{base}/things/1"))],
            r#"{"status":"Succeeded"}"#,
        )),
        _ => None,
    }
}

/// The outcome of one run of `lro`.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

/// `lro ARGS` started with stdout and stderr piped and `stdin` as its input; killed when dropped.
pub fn lro_child(args: &[&str], stdin: Stdio) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_lro"))
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// `lro ARGS`, bounded to 30 s.
pub async fn lro(args: &[&str]) -> Run {
    finished(lro_child(args, Stdio::null())).await
}

/// `lro ARGS` reading `input` on its standard input, bounded to 30 s.
pub async fn lro_with_stdin(args: &[&str], input: &str) -> Run {
    let mut child = lro_child(args, Stdio::piped());
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, input.as_bytes())
        .await
        .unwrap();
    drop(stdin);
    finished(child).await
}

async fn finished(child: tokio::process::Child) -> Run {
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("lro did not finish within 30 s")
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The stderr of a running `lro`, line by line.
pub type StderrLines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>;

/// Starts `lro ARGS`, waits (bounded to 20 s) until it reports its first poll, and sends it
/// `SIGINT`; the child and the rest of its stderr.
pub async fn lro_interrupted_while_waiting(args: &[&str]) -> (tokio::process::Child, StderrLines) {
    let mut child = lro_child(args, Stdio::null());
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let waiting = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("(poll 1)") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(waiting, Ok(true), "lro never reported its first poll");
    let pid = child.id().unwrap() as libc::pid_t;
    // SAFETY: sending a signal to our own child process, by its PID.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    (child, lines)
}

/// A fresh, empty directory for a test's files.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lro-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What `lro proxy` makes the credential scope of a key (`{scope}:{key}`, a façade id's head)
/// under `secret` as its file or store holds it (trailing whitespace aside): an HMAC-SHA256 of
/// the credential headers (`name:value\n`, sorted), its first 128 bits in hex. The test's own
/// statement of the rule, to check the proxy's scopes against.
pub fn scope_under(secret: &[u8], credentials: &[(&str, &str)]) -> String {
    let end = secret.len()
        - secret
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret[..end]);
    let mut sorted = credentials.to_vec();
    sorted.sort_unstable();
    let text: String = sorted.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    hex16(ring::hmac::sign(&key, text.as_bytes()).as_ref())
}

/// The unkeyed SHA-256 of the same credentials, first 128 bits in hex: what the proxy's scope
/// was before it had a secret, and what must not be recomputable from a credential.
pub fn unkeyed_scope(credentials: &[(&str, &str)]) -> String {
    let mut sorted = credentials.to_vec();
    sorted.sort_unstable();
    let text: String = sorted.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    hex16(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
}

fn hex16(bytes: &[u8]) -> String {
    bytes[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// `"\"{value}\""`: the seed documents print URLs in quotes.
pub fn quoted(value: String) -> String {
    format!("\"{value}\"")
}

pub const NOW: (&str, &str) = ("retry-after", "0");

pub fn now() -> (&'static str, String) {
    (NOW.0, NOW.1.to_owned())
}

/// The proxy's log lines (after the start-up line), as they come.
pub type Log = Arc<std::sync::Mutex<Vec<String>>>;

/// Starts `lro proxy --listen LISTEN`; the child, its base URL and its log.
pub async fn proxy_on(
    listen: &str,
    upstream: &str,
    extra: &[&str],
) -> (tokio::process::Child, String, Log) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lro"))
        .args(["proxy", "--listen", listen, "--upstream", upstream])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the proxy did not start")
        .unwrap()
        .unwrap();
    let addr = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .trim_end_matches(',')
        .to_owned();
    let log: Log = Arc::default();
    let sink = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    (child, addr, log)
}
