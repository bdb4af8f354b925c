//! Every store (memory, an embedded file in a temp dir, a real Redis on a loopback port)
//! against one contract — leases, records, finished-record expiry; the embedded file across a
//! restart; Redis shared by two layers (two "processes") — real stores, real loopback upstreams.

use std::sync::Arc;
use std::time::Duration;

use tower_lro::store::{
    MemoryStore, OperationRecord, OperationState, OperationStore, Outcome, StoreFuture, StoreLayer,
};

use super::{client, eventually, layer, until_polling, Upstream};
use crate::support::{body_bytes, send};

/// The contract: one holder at a time, renew and release only by the holder, expiry frees.
async fn lease_contract(store: &dyn OperationStore) {
    let ttl = Duration::from_secs(30);
    assert!(store.acquire("k", "a", ttl).await.unwrap());
    assert!(!store.acquire("k", "b", ttl).await.unwrap());
    assert!(
        store.acquire("k", "a", ttl).await.unwrap(),
        "the holder again"
    );
    assert!(store.renew("k", "a", ttl).await.unwrap());
    assert!(!store.renew("k", "b", ttl).await.unwrap());
    store.release("k", "b").await.unwrap();
    assert!(
        !store.acquire("k", "b", ttl).await.unwrap(),
        "not released by another"
    );
    store.release("k", "a").await.unwrap();
    assert!(store.acquire("k", "b", ttl).await.unwrap());

    let short = Duration::from_millis(100);
    assert!(store.acquire("e", "a", short).await.unwrap());
    assert!(!store.acquire("e", "b", ttl).await.unwrap());
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(
        store.acquire("e", "b", ttl).await.unwrap(),
        "an expired lease is free"
    );
    assert!(!store.renew("e", "a", ttl).await.unwrap());
}

/// Records: none, saved, read back equal, removed.
async fn record_contract(store: &dyn OperationStore) {
    assert!(store.load("r").await.unwrap().is_none());
    let json = r#"{"fingerprint":"00ff","first_sent":784111777,"state":{"state":"succeeded","result":{"kind":"url","url":"https://s.example/things/1"}}}"#;
    let record = OperationRecord::from_json(json.as_bytes()).unwrap();
    store.save("r", &record).await.unwrap();
    let back = store.load("r").await.unwrap().expect("saved");
    assert_eq!(back, record);
    assert!(back.is_finished());
    store.remove("r").await.unwrap();
    assert!(store.load("r").await.unwrap().is_none());
}

/// The finished-record TTL the contract runs with: long enough for a save and a load in a row
/// on a loaded machine, short enough for a test.
const FINISHED_TTL: Duration = Duration::from_millis(300);

/// The one contract every store keeps, for a store built with a finished-record TTL of
/// [`FINISHED_TTL`].
async fn store_contract(store: &dyn OperationStore) {
    lease_contract(store).await;
    record_contract(store).await;
    expiry_contract(store).await;
}

/// Finished records expire after the store's finished-record TTL; records of running
/// operations do not.
async fn expiry_contract(store: &dyn OperationStore) {
    let running = r#"{"fingerprint":"00ff","first_sent":1,"state":{"state":"submitted"}}"#;
    let running = OperationRecord::from_json(running.as_bytes()).unwrap();
    let done = failed();
    store.save("done", &done).await.unwrap();
    store.save("running", &running).await.unwrap();
    assert_eq!(store.load("done").await.unwrap(), Some(done.clone()));
    let mut gone = false;
    let step = Duration::from_millis(10);
    for _ in 0..(3 * FINISHED_TTL.as_millis() / step.as_millis()) {
        if store.load("done").await.unwrap().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(step).await;
    }
    assert!(gone, "a finished record expires");
    // A later write (which sweeps expired records) keeps it gone; the running one stays.
    store.save("other", &done).await.unwrap();
    assert!(store.load("done").await.unwrap().is_none());
    assert_eq!(store.load("running").await.unwrap(), Some(running.clone()));
    // Running again: the expiry goes.
    store.save("other", &running).await.unwrap();
    tokio::time::sleep(FINISHED_TTL + Duration::from_millis(50)).await;
    assert_eq!(store.load("other").await.unwrap(), Some(running));
}

fn failed() -> OperationRecord {
    let json = r#"{"fingerprint":"00ff","first_sent":1,"state":{"state":"failed","word":"Failed","code":null,"message":null}}"#;
    OperationRecord::from_json(json.as_bytes()).unwrap()
}

/// The memory store keeps time with tokio's clock: paused, its leases and finished records
/// expire without a real wait.
#[tokio::test(start_paused = true)]
async fn memory_store_contract() {
    store_contract(&MemoryStore::new().finished_ttl(FINISHED_TTL)).await;
}

/// Without a finished-record TTL, every store keeps a finished record until it is removed
/// (the memory store here, on a paused clock a day later).
#[tokio::test(start_paused = true)]
async fn finished_records_are_kept_without_a_ttl() {
    let store = MemoryStore::new();
    store.save("done", &failed()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(86_400)).await;
    assert_eq!(store.load("done").await.unwrap(), Some(failed()));
}

/// A finished record of `body_len` bytes of embedded result, as a keyed request whose
/// operation ended with its final body recorded whole leaves one.
fn embedded(body_len: usize) -> OperationRecord {
    let json = serde_json::json!({
        "fingerprint": "00ff",
        "first_sent": 1,
        "state": {"state": "succeeded", "result": {
            "kind": "embedded", "status": 200, "content_type": "application/json",
            "body": "r".repeat(body_len),
        }},
    });
    OperationRecord::from_json(json.to_string().as_bytes()).unwrap()
}

/// The memory store holds its finished records within a budget of bytes (64 MiB by
/// default): a client that sends a new idempotency key with every request no longer grows the
/// process without bound until the records expire (64 KiB recorded a key, a day by default).
/// Beyond the budget, the finished records written first read as absent (a request under their
/// key is a new operation, as after their expiry); running operations' records are kept.
#[tokio::test(start_paused = true)]
async fn the_memory_store_holds_its_finished_records_within_a_budget() {
    let store = MemoryStore::new().finished_ttl(Duration::from_secs(86_400));
    let running = OperationRecord::from_json(
        br#"{"fingerprint":"00ff","first_sent":1,"state":{"state":"submitted"}}"#,
    )
    .unwrap();
    store.save("running", &running).await.unwrap();
    let record = embedded(64 * 1024);
    // 1 100 records of 64 KiB: 69 MiB, over the default budget.
    for n in 0..1_100 {
        store.save(&format!("k{n}"), &record).await.unwrap();
    }
    assert!(
        store.load("k0").await.unwrap().is_none(),
        "the first written went"
    );
    assert!(
        store.load("k1099").await.unwrap() == Some(record.clone()),
        "the last written stays"
    );
    let kept = {
        let mut kept = 0;
        for n in 0..1_100 {
            kept += usize::from(store.load(&format!("k{n}")).await.unwrap().is_some());
        }
        kept
    };
    assert!((900..1_024).contains(&kept), "{kept} kept");
    assert_eq!(store.load("running").await.unwrap(), Some(running));
    // A smaller budget, set: the same flood keeps fewer.
    let store = MemoryStore::new().finished_budget(1024 * 1024);
    for n in 0..100 {
        store.save(&format!("k{n}"), &record).await.unwrap();
    }
    let mut kept = 0;
    for n in 0..100 {
        kept += usize::from(store.load(&format!("k{n}")).await.unwrap().is_some());
    }
    assert_eq!(kept, 15, "1 MiB holds 15 records of 64 KiB and their JSON");
}

/// A holder that dies mid-wait (its task aborted: no release) leaves a `Polling` record and a
/// lease; `second` takes over once the lease expires and resumes: one submission in all.
async fn takeover(
    up: &Upstream,
    store: Arc<dyn OperationStore>,
    second: impl FnOnce() -> StoreLayer,
) {
    let svc = client(layer(store.clone()).lease(Duration::from_millis(300)));
    let req = up.keyed("job-1", r#"{"n":1}"#);
    let first = tokio::spawn(async move { send(&svc, req).await });
    until_polling(&*store, "job-1").await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    drop(store);

    let svc = client(second());
    let req = up.keyed("job-1", r#"{"n":1}"#);
    let polled = up.polls();
    let pending = tokio::spawn(async move { send(&svc, req).await });
    // The restarted worker polls the operation it resumed before the operation ends.
    eventually("a poll after the restart", || up.polls() > polled).await;
    up.finish();
    let response = pending
        .await
        .unwrap()
        .expect("the resumed operation succeeds");
    assert_eq!(
        response.extensions().get::<Outcome>(),
        Some(&Outcome::Resumed)
    );
    assert_eq!(
        body_bytes(response.into_body()).await,
        r#"{"id":"thing-1"}"#
    );
    assert_eq!(up.submissions(), 1, "resumed, not submitted again");
}

#[cfg(feature = "store-redb")]
mod redb {
    use super::*;
    use tower_lro::store::RedbStore;

    /// Opens `path`, waiting (bounded) for a previous owner's last blocking call to let go.
    async fn open(path: &std::path::Path) -> Arc<RedbStore> {
        for _ in 0..100 {
            if let Ok(store) = RedbStore::open(path) {
                return Arc::new(store);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the database file stayed locked");
    }

    #[tokio::test]
    async fn redb_store_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path().join("ops.redb")).unwrap();
        store_contract(&store.finished_ttl(FINISHED_TTL)).await;
    }

    /// A file the store creates is its owner's alone: its records hold result URLs the server
    /// signed (a `sig=` is a bearer credential) and small results whole. It was created with
    /// the process's umask (`0644` under the usual `022`: every local user could read them),
    /// beside `lro proxy`'s scope secret of mode `0600`. An existing file keeps its mode.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_store_file_is_its_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ops.redb");
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        drop(RedbStore::open(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
        let shared = dir.path().join("shared.redb");
        std::fs::write(&shared, b"").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).unwrap();
        drop(RedbStore::open(&shared).unwrap());
        assert_eq!(mode(&shared), 0o640, "the owner's choice is kept");
    }

    /// The process "dies" mid-wait; a new layer on the same file and key resumes the
    /// operation from the file, without a second submission.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_restart_resumes_from_the_file_without_resubmitting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ops.redb");
        let up = Upstream::start().await;
        let store = open(&path).await;
        let reopened = {
            let path = path.clone();
            move || {
                let store = std::thread::spawn(move || {
                    for _ in 0..100 {
                        if let Ok(s) = RedbStore::open(&path) {
                            return s;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    panic!("the database file stayed locked")
                })
                .join()
                .unwrap();
                let store = Arc::new(store);
                let recorded = tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(store.load("job-1"))
                });
                assert!(
                    matches!(
                        recorded.unwrap().unwrap().state,
                        OperationState::Polling { .. }
                    ),
                    "the handle survived the restart"
                );
                layer(store).lease(Duration::from_millis(300))
            }
        };
        takeover(&up, store, reopened).await;
    }
}

#[cfg(feature = "store-redis")]
mod redis {
    use super::*;
    use crate::store::redis_server::RedisServer;
    use tower_lro::store::RedisStore;

    async fn connect(server: &RedisServer) -> Arc<RedisStore> {
        Arc::new(
            RedisStore::connect(&server.url)
                .await
                .expect("redis connects"),
        )
    }

    #[tokio::test]
    async fn redis_store_contract() {
        let server = RedisServer::start();
        let store = RedisStore::connect(&server.url).await.unwrap();
        store_contract(&store.finished_ttl(FINISHED_TTL)).await;
    }

    /// Two layers (two "processes", two connections) on one Redis: a holder dies, the other
    /// takes over when its lease expires and resumes.
    #[tokio::test]
    async fn another_process_takes_over_from_redis() {
        let server = RedisServer::start();
        let up = Upstream::start().await;
        let other = connect(&server).await;
        takeover(&up, connect(&server).await, move || {
            layer(other).lease(Duration::from_millis(300))
        })
        .await;
    }

    /// A shared value is set once: eight connections that ask at once with eight different
    /// first values all get the same one, later asks get it too, and another prefix has its own.
    #[tokio::test]
    async fn a_shared_value_is_the_first_writers_for_everyone() {
        let server = RedisServer::start();
        let mut asks = tokio::task::JoinSet::new();
        for n in 0..8u8 {
            let store = connect(&server).await;
            asks.spawn(async move { store.shared_value("secret", &[n; 4]).await.unwrap() });
        }
        let mut got = Vec::new();
        while let Some(value) = asks.join_next().await {
            got.push(value.unwrap());
        }
        assert!(got.iter().all(|v| *v == got[0]), "{got:?}");
        assert!(
            (0..8u8).any(|n| got[0] == [n; 4]),
            "one of the first values"
        );
        let later = connect(&server).await;
        assert_eq!(later.shared_value("secret", b"late").await.unwrap(), got[0]);
        assert_eq!(later.shared_value("other", b"o").await.unwrap(), b"o");
        let apart = RedisStore::connect(&server.url)
            .await
            .unwrap()
            .prefix("apart:");
        assert_eq!(apart.shared_value("secret", b"own").await.unwrap(), b"own");
    }

    /// Callers with one key on two layers at once: one submission, one answer for both.
    #[tokio::test]
    async fn callers_on_two_layers_share_one_submission() {
        let server = RedisServer::start();
        let up = Upstream::start().await;
        let (a, b) = (
            client(layer(connect(&server).await)),
            client(layer(connect(&server).await)),
        );
        let calls: Vec<_> = [a, b]
            .into_iter()
            .map(|svc| {
                let req = up.keyed("shared", "{}");
                tokio::spawn(async move { send(&svc, req).await })
            })
            .collect();
        // The lease holder polls at least twice while the other caller waits for it.
        eventually("two polls by the lease holder", || up.polls() > 1).await;
        up.finish();
        for call in calls {
            let response = call.await.unwrap().expect("both succeed");
            assert_eq!(
                body_bytes(response.into_body()).await,
                r#"{"id":"thing-1"}"#
            );
        }
        assert_eq!(up.submissions(), 1);
    }
}

/// A memory store that notes the holder of every lease asked for.
#[derive(Default)]
struct NotedHolders {
    inner: MemoryStore,
    holders: std::sync::Mutex<Vec<String>>,
}

impl OperationStore for NotedHolders {
    fn load(&self, key: &str) -> StoreFuture<'_, Option<OperationRecord>> {
        self.inner.load(key)
    }
    fn save(&self, key: &str, record: &OperationRecord) -> StoreFuture<'_, ()> {
        self.inner.save(key, record)
    }
    fn remove(&self, key: &str) -> StoreFuture<'_, ()> {
        self.inner.remove(key)
    }
    fn acquire(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        self.holders.lock().unwrap().push(holder.to_owned());
        self.inner.acquire(key, holder, ttl)
    }
    fn renew(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        self.inner.renew(key, holder, ttl)
    }
    fn release(&self, key: &str, holder: &str) -> StoreFuture<'_, ()> {
        self.inner.release(key, holder)
    }
}

/// `StoreLayer::holder`: a layer's leases are held as `{id}/{count}` under the id it is given;
/// without the call, under an id of its own.
#[tokio::test]
async fn leases_are_held_under_the_holder_id() {
    let up = Upstream::start().await;
    up.finish();
    for named in [true, false] {
        let store = Arc::new(NotedHolders::default());
        let mut layer = layer(store.clone());
        if named {
            layer = layer.holder("worker-a");
            assert_eq!(layer.holder_id(), "worker-a");
        }
        let id = layer.holder_id().to_owned();
        let svc = client(layer);
        let answer = send(&svc, up.keyed(&format!("h-{named}"), "{}"))
            .await
            .unwrap();
        assert_eq!(body_bytes(answer.into_body()).await, r#"{"id":"thing-1"}"#);
        let holders = store.holders.lock().unwrap().clone();
        assert!(!holders.is_empty(), "a lease was asked for");
        for holder in &holders {
            assert_eq!(holder.starts_with("worker-a/"), named, "{holder}");
            // `{holder id}/{call}`: the layer's id (its own when none is given), then a number.
            let call = holder.strip_prefix(&format!("{id}/"));
            assert!(
                call.is_some_and(|n| n.parse::<u64>().is_ok()),
                "{holder} ({id})"
            );
        }
    }
}
