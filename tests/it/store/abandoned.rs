//! Records of abandoned operations expire (`running_ttl`): a running record that nothing has
//! shown alive — no write, no renewal of a lease on its key — for the TTL reads as absent, in
//! every store (memory and a redb file on Tokio's paused clock, exact; a real Redis, whose own
//! clock expires keys: the expiries the store sets are read back with `PTTL`); one whose holder
//! renews its lease stays however long its operation runs without news.

use std::sync::Arc;
use std::time::Duration;

use tower_lro::store::{MemoryStore, OperationRecord, OperationStore, Outcome};

use super::{client, layer, outcome, until_polling, Upstream};
use crate::support::send;

/// The running-record TTL the contract runs with (on a paused clock).
const RUNNING_TTL: Duration = Duration::from_millis(400);

pub(super) fn submitted() -> OperationRecord {
    let json = r#"{"fingerprint":"00ff","first_sent":1,"state":{"state":"submitted"}}"#;
    OperationRecord::from_json(json.as_bytes()).unwrap()
}

pub(super) fn failed() -> OperationRecord {
    let json = r#"{"fingerprint":"00ff","first_sent":1,"state":{"state":"failed","word":"Failed","code":null,"message":null}}"#;
    OperationRecord::from_json(json.as_bytes()).unwrap()
}

/// The contract, for a store built with a running-record TTL of [`RUNNING_TTL`] and no
/// finished-record TTL: the abandoned record goes, the one whose holder renews stays, a
/// finished one is not touched by the running TTL.
async fn running_expiry_contract(store: &dyn OperationStore) {
    let running = submitted();
    store.save("abandoned", &running).await.unwrap();
    store.save("driven", &running).await.unwrap();
    store.save("done", &failed()).await.unwrap();
    let lease = Duration::from_millis(150);
    assert!(store.acquire("driven", "holder", lease).await.unwrap());
    let step = Duration::from_millis(50);
    let steps = (3 * RUNNING_TTL.as_millis() / step.as_millis()) as usize;
    let mut gone_after = None;
    for n in 0..steps {
        tokio::time::sleep(step).await;
        assert!(store.renew("driven", "holder", lease).await.unwrap());
        if store.load("abandoned").await.unwrap().is_none() {
            gone_after = Some(n);
            break;
        }
    }
    assert!(gone_after.is_some(), "an abandoned running record expires");
    // The holder keeps renewing for longer than the TTL: its record stays.
    for _ in 0..(RUNNING_TTL.as_millis() / step.as_millis() + 2) {
        tokio::time::sleep(step).await;
        assert!(store.renew("driven", "holder", lease).await.unwrap());
    }
    assert_eq!(store.load("driven").await.unwrap(), Some(running.clone()));
    // A later write (which sweeps) keeps the abandoned one gone; the finished one stays.
    store.save("other", &running).await.unwrap();
    assert!(store.load("abandoned").await.unwrap().is_none());
    assert_eq!(store.load("done").await.unwrap(), Some(failed()));
    // Finished: the running expiry goes with the write.
    store.save("driven", &failed()).await.unwrap();
    tokio::time::sleep(RUNNING_TTL + Duration::from_millis(100)).await;
    assert_eq!(store.load("driven").await.unwrap(), Some(failed()));
}

#[tokio::test(start_paused = true)]
async fn memory_running_records_expire_when_abandoned() {
    running_expiry_contract(&MemoryStore::new().running_ttl(RUNNING_TTL)).await;
}

/// On Tokio's paused clock: the redb store's time follows it (it waited the real 400 ms, and
/// more on a loaded machine, when its expiries were read from the wall clock).
#[tokio::test(start_paused = true)]
async fn redb_running_records_expire_when_abandoned() {
    let dir = tempfile::tempdir().unwrap();
    let store = tower_lro::store::RedbStore::open(dir.path().join("ops.redb")).unwrap();
    running_expiry_contract(&store.running_ttl(RUNNING_TTL)).await;
}

/// The name of the Redis key a `RedisStore` with `prefix` keeps `key`'s record under.
#[cfg(feature = "store-redis")]
pub(super) fn op_key(prefix: &str, key: &str) -> String {
    format!("{prefix}{{k:{key}}}:op")
}

/// Redis expires keys by its own clock, which no test can pause: what the store owes is the
/// expiry it sets, read back exactly with `PTTL` — the TTL from each write of a running record
/// and from each renewal of a lease on its key, none on a finished record — without waiting
/// for it to pass (that a key with a `PTTL` goes is Redis's part). Time passing is a `PEXPIRE`
/// of the test's own that lowers the remaining TTL.
#[cfg(feature = "store-redis")]
#[tokio::test]
async fn redis_running_records_expire_when_abandoned() {
    use redis::AsyncCommands;
    const TTL: Duration = Duration::from_secs(600);
    let server = crate::store::redis_server::RedisServer::start();
    let store = tower_lro::store::RedisStore::connect(&server.url)
        .await
        .unwrap()
        .running_ttl(TTL);
    let client = redis::Client::open(server.url.as_str()).unwrap();
    let raw = client.get_multiplexed_async_connection().await.unwrap();
    let op = |key: &str| op_key("tower-lro:", key);
    // Milliseconds left, as Redis says (`-1`: no expiry; `-2`: no key).
    let pttl = |key: &str| {
        let (mut raw, name) = (raw.clone(), op(key));
        async move { raw.pttl::<_, i64>(name).await.unwrap() }
    };
    let fresh = |left: i64| left > TTL.as_millis() as i64 - 5_000 && left <= TTL.as_millis() as i64;

    let running = submitted();
    store.save("abandoned", &running).await.unwrap();
    store.save("driven", &running).await.unwrap();
    store.save("done", &failed()).await.unwrap();
    assert!(
        fresh(pttl("abandoned").await),
        "a running record's write sets the TTL"
    );
    assert_eq!(
        pttl("done").await,
        -1,
        "a finished record gets no running TTL"
    );

    // Most of the TTL passes for both; the holder of "driven" renews its lease.
    let mut lower = raw.clone();
    for key in ["abandoned", "driven"] {
        let _: bool = lower.pexpire(op(key), 1_000).await.unwrap();
    }
    let lease = Duration::from_secs(30);
    assert!(store.acquire("driven", "holder", lease).await.unwrap());
    assert!(store.renew("driven", "holder", lease).await.unwrap());
    assert!(fresh(pttl("driven").await), "a renewal pushes the TTL back");
    let left = pttl("abandoned").await;
    assert!(
        (0..=1_000).contains(&left),
        "nothing renews the abandoned one: {left}"
    );
    // Another holder's renewal is refused and moves nothing.
    let _: bool = lower.pexpire(op("driven"), 1_000).await.unwrap();
    assert!(!store.renew("driven", "other", lease).await.unwrap());
    assert!(pttl("driven").await <= 1_000);
    // Finished: the running expiry goes with the write.
    store.save("driven", &failed()).await.unwrap();
    assert_eq!(pttl("driven").await, -1);
    assert_eq!(store.load("driven").await.unwrap(), Some(failed()));
}

/// Through the layer: an operation polled without news for longer than the TTL keeps its
/// record (its holder's lease renewals keep it alive, though nothing is written); once its
/// caller is gone (the call dropped: its lease never released) and nobody asks again, the
/// record expires, and a request under the key is a new operation.
#[tokio::test]
async fn an_abandoned_keyed_operation_expires_and_its_key_is_new_again() {
    let up = Upstream::start().await;
    let store = Arc::new(MemoryStore::new().running_ttl(Duration::from_millis(300)));
    let svc = client(layer(store.clone()).lease(Duration::from_millis(60)));
    let call = tokio::spawn({
        let (svc, req) = (svc.clone(), up.keyed("a", "{}"));
        async move { send(&svc, req).await }
    });
    until_polling(&*store, "a").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        store.load("a").await.unwrap().is_some(),
        "a driven operation's record stays without writes"
    );
    call.abort();
    let _ = call.await;
    let mut expired = false;
    for _ in 0..100 {
        if store.load("a").await.unwrap().is_none() {
            expired = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(expired, "the abandoned operation's record expired");
    up.finish();
    let again = send(&svc, up.keyed("a", "{}")).await.unwrap();
    assert_eq!(outcome(&again), Outcome::Submitted);
    assert_eq!(up.submissions(), 2);
}

/// A [`MemoryStore`] whose lease renewals fail while `out` is set (a store that did not answer
/// for a while).
struct Outage {
    inner: MemoryStore,
    out: std::sync::atomic::AtomicBool,
}

impl OperationStore for Outage {
    fn load(&self, key: &str) -> tower_lro::store::StoreFuture<'_, Option<OperationRecord>> {
        self.inner.load(key)
    }
    fn save(&self, key: &str, record: &OperationRecord) -> tower_lro::store::StoreFuture<'_, ()> {
        self.inner.save(key, record)
    }
    fn remove(&self, key: &str) -> tower_lro::store::StoreFuture<'_, ()> {
        self.inner.remove(key)
    }
    fn acquire(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> tower_lro::store::StoreFuture<'_, bool> {
        self.inner.acquire(key, holder, ttl)
    }
    fn renew(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> tower_lro::store::StoreFuture<'_, bool> {
        if self.out.load(std::sync::atomic::Ordering::SeqCst) {
            let e = tower_lro::store::StoreError::new("the store did not answer");
            return Box::pin(std::future::ready(Err(e)));
        }
        self.inner.renew(key, holder, ttl)
    }
    fn release(&self, key: &str, holder: &str) -> tower_lro::store::StoreFuture<'_, ()> {
        self.inner.release(key, holder)
    }
}

/// A holder that is alive but whose lease lapsed (its renewals failed for longer than a lease:
/// a store outage, a starved task) takes the lease again and writes its record again: its
/// operation's record does not expire under it while it still polls (which would make a
/// request under the key a second submission of the same work). On a `tower-test` mock and
/// Tokio's paused clock: the outage, the lease and the TTL are exact, nothing waits real time.
#[tokio::test(start_paused = true)]
async fn a_holder_whose_lease_lapsed_keeps_its_record_alive() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

    use super::{two_mock_origins, A_JOBS, B_OPS};
    use crate::support::{post, resp};

    const THING: &str = "https://a.example/things/1";
    let store = Arc::new(Outage {
        inner: MemoryStore::new().running_ttl(Duration::from_millis(300)),
        out: AtomicBool::new(false),
    });
    let done = Arc::new(AtomicBool::new(false));
    let finished = done.clone();
    let (svc, seen) = two_mock_origins(
        layer(store.clone()).lease(Duration::from_millis(60)),
        move |s| match s.uri.as_str() {
            B_OPS if finished.load(SeqCst) => resp(
                200,
                &[("resource-location", THING.as_bytes())],
                r#"{"status":"Succeeded"}"#,
            ),
            B_OPS => resp(200, &[("retry-after-ms", b"20")], r#"{"status":"Running"}"#),
            THING => resp(200, &[("content-type", b"application/json")], "{}"),
            _ => resp(404, &[], ""),
        },
    );
    let mut req = post(A_JOBS, "{}");
    let options = tower_lro::LroOptions::new()
        .idempotency_key("s")
        .request_body(b"{}");
    req.extensions_mut().insert(options);
    let call = tokio::spawn({
        let svc = svc.clone();
        async move { send(&svc, req).await }
    });
    until_polling(&*store, "s").await;
    store.out.store(true, SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    store.out.store(false, SeqCst);
    // Still polled (nothing new, so nothing written) for longer than the running TTL.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(70)).await;
        assert!(
            store.load("s").await.unwrap().is_some(),
            "the record of an operation still polled stays"
        );
    }
    done.store(true, SeqCst);
    let answer = call.await.unwrap().unwrap();
    assert_eq!(outcome(&answer), Outcome::Submitted);
    drop(svc);
    let seen = seen.await.unwrap();
    let submissions = seen.iter().filter(|s| s.uri == A_JOBS).count();
    assert_eq!(submissions, 1);
}

/// A [`MemoryStore`] whose writes take `save_takes` (a store on a slow disk or network), and
/// which counts lease renewals.
struct SlowSaves {
    inner: MemoryStore,
    save_takes: Duration,
    renewals: std::sync::atomic::AtomicUsize,
}

impl OperationStore for SlowSaves {
    fn load(&self, key: &str) -> tower_lro::store::StoreFuture<'_, Option<OperationRecord>> {
        self.inner.load(key)
    }
    fn save(&self, key: &str, record: &OperationRecord) -> tower_lro::store::StoreFuture<'_, ()> {
        let (key, record) = (key.to_owned(), record.clone());
        Box::pin(async move {
            tokio::time::sleep(self.save_takes).await;
            self.inner.save(&key, &record).await
        })
    }
    fn remove(&self, key: &str) -> tower_lro::store::StoreFuture<'_, ()> {
        self.inner.remove(key)
    }
    fn acquire(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> tower_lro::store::StoreFuture<'_, bool> {
        self.inner.acquire(key, holder, ttl)
    }
    fn renew(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> tower_lro::store::StoreFuture<'_, bool> {
        self.renewals
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.renew(key, holder, ttl)
    }
    fn release(&self, key: &str, holder: &str) -> tower_lro::store::StoreFuture<'_, ()> {
        self.inner.release(key, holder)
    }
}

/// A server that paces its polls faster than the store writes (`Retry-After-ms: 1`, a new
/// `percentComplete` on every answer) keeps a new report waiting each time a write ends: the
/// holder still renews its lease every third of it, so nobody else can take the lease (and
/// poll, or continue the operation) while it polls. (A `tower-test` mock on Tokio's paused
/// clock: no real waits.)
#[tokio::test(start_paused = true)]
async fn a_holder_renews_its_lease_while_reports_keep_coming() {
    use super::{two_mock_origins, A_JOBS, B_OPS};
    use crate::support::{post, resp};
    use tower_lro::LroOptions;
    const POLLS: usize = 400;
    let lease = Duration::from_millis(60);
    let store = Arc::new(SlowSaves {
        inner: MemoryStore::new().running_ttl(Duration::from_millis(300)),
        save_takes: Duration::from_millis(5),
        renewals: Default::default(),
    });
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = polls.clone();
    let (svc, seen) = two_mock_origins(layer(store.clone()).lease(lease), move |s| {
        assert_eq!(s.uri, B_OPS);
        let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n >= POLLS {
            return resp(200, &[], r#"{"status":"Succeeded"}"#);
        }
        let body = format!(r#"{{"status":"Running","percentComplete":{}}}"#, n % 100);
        resp(200, &[("retry-after-ms", b"1")], body)
    });
    let mut req = post(A_JOBS, "{}");
    req.extensions_mut().insert(
        LroOptions::new()
            .idempotency_key("fast")
            .request_body(b"{}"),
    );
    let call = tokio::spawn({
        let svc = svc.clone();
        async move { send(&svc, req).await }
    });
    // Well into the run (more than three leases of reports), another holder asks for the lease.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        polls.load(std::sync::atomic::Ordering::SeqCst) < POLLS,
        "still polled"
    );
    let taken = store.acquire("fast", "intruder", lease).await.unwrap();
    assert!(
        store.renewals.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "the holder renewed its lease"
    );
    assert!(
        !taken,
        "the lease of an operation still polled was free to take"
    );
    let done = call.await.unwrap().unwrap();
    assert_eq!(outcome(&done), Outcome::Submitted);
    drop(svc);
    let _ = seen.await;
}
