//! Lease renewals and the records' expiries, interleaved by hand: a renewal that raced the
//! finish (sent before the finished record was written, run after it) moves no finished
//! record's expiry, in every store; and Redis Cluster takes the renewal's script, which reads a
//! key's lease and record.

use std::time::Duration;

use tower_lro::store::{MemoryStore, OperationRecord, OperationStore};

use super::abandoned::{failed, submitted};

const FINISHED_TTL: Duration = Duration::from_secs(10);
const RUNNING_TTL: Duration = Duration::from_secs(100);
const LEASE: Duration = Duration::from_secs(30);

/// The holder's last renewal runs after its finish was written, the lease still held (it is
/// released after the finish): the finished record keeps the finished TTL.
async fn late_renewal(store: &dyn OperationStore) {
    store.save("k", &submitted()).await.unwrap();
    assert!(store.acquire("k", "holder", LEASE).await.unwrap());
    store.save("k", &failed()).await.unwrap();
    assert!(store.renew("k", "holder", LEASE).await.unwrap());
}

/// On Tokio's paused clock: once the finished TTL has passed, the record reads as absent.
async fn finished_expiry_kept(store: &dyn OperationStore) {
    late_renewal(store).await;
    tokio::time::sleep(FINISHED_TTL - Duration::from_millis(1)).await;
    assert_eq!(store.load("k").await.unwrap(), Some(failed()));
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(
        store.load("k").await.unwrap(),
        None,
        "the finished record expires by the finished TTL, not the running one"
    );
}

#[tokio::test(start_paused = true)]
async fn memory_a_late_renewal_moves_no_finished_expiry() {
    let store = MemoryStore::new()
        .finished_ttl(FINISHED_TTL)
        .running_ttl(RUNNING_TTL);
    finished_expiry_kept(&store).await;
}

#[tokio::test(start_paused = true)]
async fn redb_a_late_renewal_moves_no_finished_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let store = tower_lro::store::RedbStore::open(dir.path().join("ops.redb")).unwrap();
    finished_expiry_kept(&store.finished_ttl(FINISHED_TTL).running_ttl(RUNNING_TTL)).await;
}

/// Redis: the finished record's `PTTL` after the late renewal is the finished TTL's (it was
/// pushed to the running TTL's).
#[cfg(feature = "store-redis")]
#[tokio::test]
async fn redis_a_late_renewal_moves_no_finished_expiry() {
    use redis::AsyncCommands;
    let server = super::redis_server::RedisServer::start();
    let store = tower_lro::store::RedisStore::connect(&server.url)
        .await
        .unwrap()
        .finished_ttl(Duration::from_secs(600))
        .running_ttl(Duration::from_secs(60));
    late_renewal(&store).await;
    let client = redis::Client::open(server.url.as_str()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let left: i64 = raw
        .pttl(super::abandoned::op_key("tower-lro:", "k"))
        .await
        .unwrap();
    assert!(left > 60_000, "the finished TTL stays: {left} ms left");
    let record: OperationRecord = store.load("k").await.unwrap().unwrap();
    assert_eq!(record, failed());
}

/// A single-node Redis Cluster (every slot on one node, which refuses a script whose keys lie
/// in two slots): the renewal's script, which reads a key's lease and its record, runs — when
/// the holder renews, and when another asks for a lease that is held.
#[cfg(feature = "store-redis")]
#[tokio::test]
async fn redis_cluster_takes_the_renewal_script() {
    let server = super::redis_server::RedisServer::start_cluster();
    let store = tower_lro::store::RedisStore::connect(&server.url)
        .await
        .unwrap()
        .finished_ttl(Duration::from_secs(600))
        .running_ttl(Duration::from_secs(60));
    store.save("k", &submitted()).await.unwrap();
    assert!(store.acquire("k", "holder", LEASE).await.unwrap());
    assert!(store.acquire("k", "holder", LEASE).await.unwrap());
    assert!(!store.acquire("k", "other", LEASE).await.unwrap());
    assert!(store.renew("k", "holder", LEASE).await.unwrap());
    store.save("k", &failed()).await.unwrap();
    store.release("k", "holder").await.unwrap();
    assert!(store.acquire("k", "other", LEASE).await.unwrap());
    assert_eq!(store.load("k").await.unwrap(), Some(failed()));
}

/// A running record written without an expiry (by a version before `running_ttl`, or by a store
/// opened without it) gets the running TTL at the first renewal of its lease by a holder that
/// resumed it; it kept no expiry at all, and never expired.
#[tokio::test(start_paused = true)]
async fn redb_a_running_record_without_an_expiry_gets_one_at_its_renewal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops.redb");
    let before = tower_lro::store::RedbStore::open(&path).unwrap();
    before.save("old", &submitted()).await.unwrap();
    drop(before);
    let store = tower_lro::store::RedbStore::open(&path)
        .unwrap()
        .running_ttl(RUNNING_TTL);
    assert!(store.acquire("old", "holder", LEASE).await.unwrap());
    assert!(store.renew("old", "holder", LEASE).await.unwrap());
    store.release("old", "holder").await.unwrap();
    tokio::time::sleep(RUNNING_TTL - Duration::from_millis(1)).await;
    assert_eq!(store.load("old").await.unwrap(), Some(submitted()));
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(store.load("old").await.unwrap(), None);
}

/// Redis: the same, read back with `PTTL` (`-1` before: no expiry).
#[cfg(feature = "store-redis")]
#[tokio::test]
async fn redis_a_running_record_without_an_expiry_gets_one_at_its_renewal() {
    use redis::AsyncCommands;
    let server = super::redis_server::RedisServer::start();
    let before = tower_lro::store::RedisStore::connect(&server.url)
        .await
        .unwrap();
    before.save("old", &submitted()).await.unwrap();
    let store = before.running_ttl(Duration::from_secs(60));
    let client = redis::Client::open(server.url.as_str()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let name = super::abandoned::op_key("tower-lro:", "old");
    assert_eq!(raw.pttl::<_, i64>(&name).await.unwrap(), -1);
    assert!(store.acquire("old", "holder", LEASE).await.unwrap());
    assert!(store.renew("old", "holder", LEASE).await.unwrap());
    let left: i64 = raw.pttl(&name).await.unwrap();
    assert!(left > 55_000 && left <= 60_000, "{left} ms left");
}
