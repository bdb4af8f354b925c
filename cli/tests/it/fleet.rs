//! A fleet of `lro proxy` that loses nothing (issue 16): clients that retry with their
//! idempotency key on another proxy whenever an answer fails, while a proxy is killed with
//! `SIGKILL` mid-run. On a real Redis shared by three proxies, and on a file store with one
//! proxy restarted on it.
//!
//! Every client must get its final answer, the upstream must create exactly one operation per
//! key, and no record may be left unfinished. The upstream honours `Idempotency-Key` (as the
//! IETF draft describes), so a submission sent again — possible when a proxy dies between
//! sending it and the store's record of its handle — creates no second operation. Such raw
//! repeats are bounded: the test reads the store just after the kill, and a key may be sent
//! again only if its record then said `submitted` (sent, or being sent, with no handle yet).
//! The figures are printed (`--nocapture`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{proxy_on, resp, Mock};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::process::Child;
use tower_lro::store::{OperationState, OperationStore};

/// How long each operation runs upstream, from its creation.
const OPERATION: Duration = Duration::from_secs(3);
/// How many times a client sends its request before the test fails.
const ATTEMPTS: u32 = 300;

/// The upstream: `POST /jobs` creates an operation per `Idempotency-Key` (a repeat gets the
/// same operation back), polled at `/ops/N` until it has run [`OPERATION`], whose result
/// `/things/N` names its key.
struct Upstream {
    mock: Mock,
    /// Submissions received, repeats included.
    raw: Arc<AtomicU32>,
    /// Per key: the operation and how many submissions carried the key.
    ops: Arc<Mutex<HashMap<String, (usize, u32)>>>,
    /// Per key, when its first submission arrived.
    first: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Upstream {
    async fn start() -> Self {
        let raw = Arc::new(AtomicU32::new(0));
        let ops: Arc<Mutex<HashMap<String, (usize, u32)>>> = Arc::default();
        let started: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
        let (r, o) = (raw.clone(), ops.clone());
        let first: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let f = first.clone();
        let mock = Mock::start(move |req, base| {
            let path = req.target.split('?').next().unwrap();
            if req.method == "POST" && path == "/jobs" {
                r.fetch_add(1, Ordering::SeqCst);
                let Some(key) = req.headers.get("idempotency-key") else {
                    return resp(400, &[], "a key is required");
                };
                let key = key.to_str().unwrap().to_owned();
                f.lock()
                    .unwrap()
                    .entry(key.clone())
                    .or_insert_with(Instant::now);
                let mut ops = o.lock().unwrap();
                let mut started = started.lock().unwrap();
                let entry = ops.entry(key.clone()).or_insert_with(|| {
                    started.push((Instant::now(), key));
                    (started.len() - 1, 0)
                });
                entry.1 += 1;
                let location = format!("{base}/ops/{}", entry.0);
                let wait = ("retry-after-ms", "300".to_owned());
                return resp(202, &[("operation-location", location), wait], "");
            }
            if let Some(n) = path.strip_prefix("/ops/") {
                let (at, _) = &started.lock().unwrap()[n.parse::<usize>().unwrap()];
                if at.elapsed() < OPERATION {
                    let wait = ("retry-after-ms", "300".to_owned());
                    return resp(200, &[wait], r#"{"status":"Running"}"#);
                }
                let thing = ("resource-location", format!("{base}/things/{n}"));
                return resp(200, &[thing], r#"{"status":"Succeeded"}"#);
            }
            if let Some(n) = path.strip_prefix("/things/") {
                let key = &started.lock().unwrap()[n.parse::<usize>().unwrap()].1;
                return resp(200, &[], &serde_json::json!({ "key": key }).to_string());
            }
            resp(404, &[], "")
        })
        .await;
        Self {
            mock,
            raw,
            ops,
            first,
        }
    }

    fn created(&self) -> usize {
        self.ops.lock().unwrap().len()
    }
}

/// The proxy's store key of client `n`: its key in `scope`, the scope of no credentials under
/// the fleet's secret (see [`submitted_at_kill`]).
fn store_key(scope: &str, n: usize) -> String {
    format!("{scope}:k-{n}")
}

/// `Idempotency-Key` as sent: a structured-field string.
fn key_header(n: usize) -> String {
    format!("\"k-{n}\"")
}

/// One client: `POST /jobs` with its key, again on the next proxy in `proxies` whenever an
/// answer fails (no answer, a `5xx`), until it gets its final answer; how many it sent.
async fn client(
    http: Client<HttpConnector, Full<Bytes>>,
    proxies: Arc<Mutex<Vec<String>>>,
    n: usize,
) -> u32 {
    for attempt in 0..ATTEMPTS {
        let base = {
            let proxies = proxies.lock().unwrap();
            proxies[(n + attempt as usize) % proxies.len()].clone()
        };
        let req = Request::post(format!("{base}/jobs"))
            .header("idempotency-key", key_header(n))
            .body(Full::new(Bytes::from(format!(r#"{{"n":{n}}}"#))))
            .unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(30), async {
            let response = http.request(req).await.ok()?;
            let status = response.status();
            let body = response.into_body().collect().await.ok()?.to_bytes();
            Some((status, body))
        });
        match answer.await {
            Ok(Some((StatusCode::OK, body))) => {
                let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(
                    body["key"],
                    key_header(n),
                    "client {n} got another's answer"
                );
                return attempt + 1;
            }
            Ok(Some((status, body))) => assert!(
                status.is_server_error(),
                "client {n}: {status} {}",
                String::from_utf8_lossy(&body)
            ),
            Ok(None) | Err(_) => {}
        }
        // A proxy that is gone refuses at once: a short pause before the next.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("client {n}: no final answer in {ATTEMPTS} attempts");
}

/// `SIGKILL` to `child`, by its PID; reaped.
async fn kill(child: &mut Child) {
    let pid = child.id().expect("running") as libc::pid_t;
    // SAFETY: kill(2) on the PID of a child we started and have not reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the killed proxy ended")
        .unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
}

/// Waits (bounded) until the upstream has created `n` operations.
async fn until_created(up: &Upstream, n: usize) {
    for _ in 0..2000 {
        if up.created() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!(
        "the upstream did not see {n} operations within 10 s: {} created, {} submissions, {} requests",
        up.created(),
        up.raw.load(Ordering::SeqCst),
        up.mock.requests().len()
    );
}

/// The keys whose record said `submitted` just after the kill: their submission was sent (or
/// was being sent) and no handle was recorded yet. Read before any other proxy could take the
/// killed one's operations over (their leases had not expired), all at once. The keys are
/// scoped under `secret`, the store's own as the proxies made it.
async fn submitted_at_kill(
    store: Arc<dyn OperationStore>,
    secret: &[u8],
    clients: usize,
) -> InFlight {
    let at = Instant::now();
    let scope = crate::support::scope_under(secret, &[]);
    let mut reads = tokio::task::JoinSet::new();
    for n in 0..clients {
        let (store, key) = (store.clone(), store_key(&scope, n));
        reads.spawn(async move { (n, store.load(&key).await.unwrap()) });
    }
    let mut submitted = HashSet::new();
    while let Some(read) = reads.join_next().await {
        if let (n, Some(record)) = read.unwrap() {
            if record.state == OperationState::Submitted {
                submitted.insert(n);
            }
        }
    }
    InFlight {
        keys: submitted,
        at,
        scope,
    }
}

/// The submissions in flight at the kill (see [`submitted_at_kill`]).
struct InFlight {
    keys: HashSet<usize>,
    /// When the store was read.
    at: Instant,
    /// The scope of the clients' keys (they send no credentials).
    scope: String,
}

/// Starts `clients` clients over `proxies`; their join handle.
fn clients(proxies: &Arc<Mutex<Vec<String>>>, clients: usize) -> tokio::task::JoinHandle<Vec<u32>> {
    let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let tasks: Vec<_> = (0..clients)
        .map(|n| tokio::spawn(client(http.clone(), proxies.clone(), n)))
        .collect();
    tokio::spawn(async move {
        let mut sent = Vec::with_capacity(tasks.len());
        for task in tasks {
            sent.push(task.await.unwrap());
        }
        sent
    })
}

/// What the run shows: every key created once, every record finished, a client interrupted,
/// raw repeats only of submissions in flight at the kill; the figures printed.
async fn check(
    what: &str,
    up: &Upstream,
    store: &dyn OperationStore,
    sent: &[u32],
    in_flight: &InFlight,
    first_on_killed: impl Fn(usize) -> bool,
    took: Duration,
) {
    let clients = sent.len();
    assert_eq!(up.created(), clients, "one operation per key");
    let ops = up.ops.lock().unwrap().clone();
    for n in 0..clients {
        assert!(
            ops.contains_key(&key_header(n)),
            "key {n} never reached the upstream"
        );
        let record = store.load(&store_key(&in_flight.scope, n)).await.unwrap();
        let record = record.unwrap_or_else(|| panic!("no record for key {n}"));
        assert!(record.is_finished(), "key {n} left unfinished: {record:?}");
    }
    let raw = up.raw.load(Ordering::SeqCst) as usize;
    let retried = sent.iter().filter(|&&s| s > 1).count();
    assert!(retried > 0, "the kill interrupted no client");
    let repeated: Vec<usize> = (0..clients)
        .filter(|n| ops[&key_header(*n)].1 > 1)
        .collect();
    // How long the oldest submission in flight at the kill had been waiting for its handle to
    // be recorded: the crash window's width under this load.
    let first = up.first.lock().unwrap();
    let mut waited: Vec<u128> = in_flight
        .keys
        .iter()
        .filter_map(|n| first.get(&key_header(*n)))
        .map(|t| in_flight.at.saturating_duration_since(*t).as_millis())
        .collect();
    waited.sort_unstable();
    // The killed proxy's own: the keys of the clients that started on it.
    let killed = in_flight
        .keys
        .iter()
        .filter(|n| first_on_killed(**n))
        .count();
    eprintln!(
        "{what}: {clients} clients ({retried} retried, {} requests), 1 SIGKILL, {} operations \
         created, {raw} submissions received ({} repeated by a proxy after the crash), {:.2} s; \
         {} submissions in flight at the kill ({killed} on the killed proxy), sent {:?} ms before \
         it (median, max)",
        sent.iter().sum::<u32>(),
        up.created(),
        raw - clients,
        took.as_secs_f64(),
        in_flight.keys.len(),
        (waited.get(waited.len() / 2), waited.last()),
    );
    let outside: Vec<_> = repeated
        .iter()
        .filter(|n| !in_flight.keys.contains(n))
        .collect();
    assert!(
        outside.is_empty(),
        "submitted again though their record held a handle or an end at the kill: {outside:?}"
    );
    assert!(
        raw - clients <= in_flight.keys.len(),
        "at most one repeat per key in flight"
    );
}

/// Three proxies on one Redis; one killed while the clients' operations run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_on_redis_loses_nothing_when_a_proxy_dies() {
    const CLIENTS: usize = 300;
    let redis = crate::support::redis_server::RedisServer::start();
    let up = Upstream::start().await;
    let args = [
        "--store",
        &redis.url,
        "--store-lease",
        "1",
        "--poll-interval",
        "0.3",
    ];
    let mut children = Vec::new();
    let mut bases = Vec::new();
    for _ in 0..3 {
        let (child, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
        children.push(child);
        bases.push(base);
    }
    let proxies = Arc::new(Mutex::new(bases));
    let started = Instant::now();
    let run = clients(&proxies, CLIENTS);
    until_created(&up, CLIENTS / 2).await;
    let store = tower_lro::store::RedisStore::connect(&redis.url)
        .await
        .unwrap();
    // The proxies made it at their start: this asks for it, never sets it.
    let secret = store.shared_value("scope-secret", b"").await.unwrap();
    let store: Arc<dyn OperationStore> = Arc::new(store);
    kill(&mut children[0]).await;
    let in_flight = submitted_at_kill(store.clone(), &secret, CLIENTS).await;
    let sent = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("every client answered within 60 s")
        .unwrap();
    let took = started.elapsed();
    check(
        "redis, 3 proxies",
        &up,
        &*store,
        &sent,
        &in_flight,
        |n| n % 3 == 0,
        took,
    )
    .await;
}

/// One proxy on a file store, killed while the clients' operations run and started again on
/// the same file and port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_on_a_file_store_loses_nothing_across_a_restart() {
    const CLIENTS: usize = 200;
    let up = Upstream::start().await;
    let dir = crate::support::temp_dir("fleet-file");
    let file = dir.join("ops.redb");
    let args = [
        "--store",
        file.to_str().unwrap(),
        "--store-lease",
        "1",
        "--poll-interval",
        "0.3",
    ];
    let (mut child, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let listen = base.trim_start_matches("http://").to_owned();
    let proxies = Arc::new(Mutex::new(vec![base]));
    let started = Instant::now();
    let run = clients(&proxies, CLIENTS);
    until_created(&up, CLIENTS / 2).await;
    kill(&mut child).await;
    // The proxy made it beside its store.
    let secret = std::fs::read(dir.join("ops.redb.scope-secret")).unwrap();
    let in_flight = {
        // Nothing takes over before the restart.
        let store = tower_lro::store::RedbStore::open(&file).unwrap();
        submitted_at_kill(Arc::new(store), &secret, CLIENTS).await
    };
    let (mut child, _, _log) = proxy_on(&listen, &up.mock.base, &args).await;
    let sent = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("every client answered within 60 s")
        .unwrap();
    let took = started.elapsed();
    // The file is the proxy's while it runs.
    kill(&mut child).await;
    let store = tower_lro::store::RedbStore::open(&file).unwrap();
    check(
        "file, 1 proxy restarted",
        &up,
        &store,
        &sent,
        &in_flight,
        |_| true,
        took,
    )
    .await;
}
