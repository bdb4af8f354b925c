//! [`MemoryStore`]: records and leases in this process's memory.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{OperationRecord, OperationStore, StoreFuture};

/// How many expired records one write removes at most.
const SWEEP: usize = 64;

/// The bytes (of their JSON) of finished records a store keeps by default; see
/// [`MemoryStore::finished_budget`].
const FINISHED_BUDGET: usize = 64 * 1024 * 1024;

/// Records and leases in memory: one process, lost when it ends. Clients in the same process
/// that retry with their key attach to the operation instead of submitting again.
///
/// Finished records are kept within a budget of bytes ([`finished_budget`](Self::finished_budget),
/// 64 MiB by default): every new idempotency key a client invents leaves one, up to 64 KiB
/// with a result recorded whole, and memory is not a disk.
///
/// Time is Tokio's clock ([`tokio::time::Instant`]): lease and record expiries follow a paused
/// clock in tests.
#[derive(Debug)]
pub struct MemoryStore {
    records: Mutex<Records>,
    leases: Mutex<Leases>,
    finished_ttl: Option<Duration>,
    running_ttl: Option<Duration>,
    finished_budget: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            records: Mutex::default(),
            leases: Mutex::default(),
            finished_ttl: None,
            running_ttl: None,
            finished_budget: FINISHED_BUDGET,
        }
    }
}

/// The records; finished ones also in the order they were written (the first expire first,
/// and go first beyond the budget), with their size.
#[derive(Debug, Default)]
struct Records {
    by_key: HashMap<String, (OperationRecord, Option<Finished>)>,
    /// Finished records' keys by the number of their write.
    finished: BTreeSet<(u64, String)>,
    finished_bytes: usize,
    writes: u64,
    /// Running records' last sign of life (a write, or a renewal of a lease on their key), by
    /// key and in order: kept only when running records expire ([`MemoryStore::running_ttl`]).
    touched: HashMap<String, Instant>,
    touched_order: BTreeSet<(Instant, String)>,
}

/// When a finished record was written (and the how-manieth write it was), and its size.
#[derive(Debug, Clone, Copy)]
struct Finished {
    at: Instant,
    write: u64,
    bytes: usize,
}

/// The leases, by key: holder and expiry. A lease whose holder never releases it (a call
/// dropped before its end) is removed once expired, when the map has doubled since the last
/// sweep: amortised constant work a lease, memory bounded by twice the live leases.
#[derive(Debug, Default)]
struct Leases {
    by_key: HashMap<String, (String, Instant)>,
    swept_at: usize,
}

impl Leases {
    fn insert(&mut self, key: &str, holder: &str, until: Instant, now: Instant) {
        self.by_key
            .insert(key.to_owned(), (holder.to_owned(), until));
        if self.by_key.len() >= 2 * self.swept_at.max(SWEEP) {
            self.by_key.retain(|_, (_, until)| *until > now);
            self.swept_at = self.by_key.len();
        }
    }
}

impl Records {
    /// Removes `key`'s record, and its place among the finished or the running ones.
    fn take(&mut self, key: &str) {
        if let Some((_, Some(done))) = self.by_key.remove(key) {
            self.finished.remove(&(done.write, key.to_owned()));
            self.finished_bytes -= done.bytes;
        }
        self.untouch(key);
    }

    /// Forgets when `key`'s running record last showed life.
    fn untouch(&mut self, key: &str) {
        if let Some(at) = self.touched.remove(key) {
            self.touched_order.remove(&(at, key.to_owned()));
        }
    }

    /// Notes a sign of life of `key`'s running record at `now`.
    fn touch(&mut self, key: &str, now: Instant) {
        self.untouch(key);
        self.touched.insert(key.to_owned(), now);
        self.touched_order.insert((now, key.to_owned()));
    }

    /// Removes up to [`SWEEP`] running records that showed no life for `ttl`.
    fn sweep_running(&mut self, ttl: Duration, now: Instant) {
        for _ in 0..SWEEP {
            match self.touched_order.first() {
                Some((at, key)) if expired(*at, ttl, now) => {
                    let key = key.clone();
                    self.take(&key);
                }
                _ => break,
            }
        }
    }

    /// Removes the first written finished record.
    fn take_first(&mut self) {
        if let Some((_, key)) = self.finished.first().cloned() {
            self.take(&key);
        }
    }

    /// Removes up to [`SWEEP`] finished records written `ttl` ago or earlier.
    fn sweep(&mut self, ttl: Duration, now: Instant) {
        for _ in 0..SWEEP {
            let first = self
                .finished
                .first()
                .and_then(|(_, key)| self.by_key.get(key));
            match first {
                Some((_, Some(done))) if expired(done.at, ttl, now) => self.take_first(),
                _ => break,
            }
        }
    }

    /// Removes the first written finished records while they take more than `budget` bytes
    /// (the last one written stays).
    fn trim(&mut self, budget: usize) {
        while self.finished_bytes > budget && self.finished.len() > 1 {
            self.take_first();
        }
    }
}

/// Whether a record finished at `at` has expired at `now`.
fn expired(at: Instant, ttl: Duration, now: Instant) -> bool {
    at.checked_add(ttl).is_some_and(|end| end <= now)
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Expire a finished record (succeeded or failed) `ttl` after it is written: it reads as
    /// absent from then on (a request under its key is a new operation), and each later write
    /// removes up to 64 expired records. Records of running operations expire only with
    /// [`running_ttl`](Self::running_ttl). Default:
    /// finished records are kept until removed (within the [budget](Self::finished_budget)) —
    /// the same contract as `RedbStore::finished_ttl` and `RedisStore::finished_ttl`.
    #[must_use]
    pub fn finished_ttl(mut self, ttl: Duration) -> Self {
        self.finished_ttl = Some(ttl);
        self
    }

    /// Expire a running record (submitted or polling) once nothing has shown it alive for
    /// `ttl`: its last write, or the last renewal of a lease on its key while it runs (a holder renews every
    /// third of its lease while it polls, and takes a lapsed one again and rewrites its record,
    /// so an operation being polled never expires; give a `ttl` longer than the lease). An
    /// operation whose holder ended and that no caller asked about again then reads as absent
    /// (a request under its key is a new operation), and each later write removes up to 64 such
    /// records. Default: running records are kept until they end or are removed — the same
    /// contract as `RedbStore::running_ttl` and `RedisStore::running_ttl`.
    #[must_use]
    pub fn running_ttl(mut self, ttl: Duration) -> Self {
        self.running_ttl = Some(ttl);
        self
    }

    /// Keep finished records within `bytes` (the size of their JSON): beyond it, the first
    /// written are removed, as if expired (a request under their key is a new operation).
    /// Records of running operations are not counted and never removed. Default: 64 MiB.
    #[must_use]
    pub fn finished_budget(mut self, bytes: usize) -> Self {
        self.finished_budget = bytes;
        self
    }
}

fn ready<T: Send + 'static>(value: T) -> StoreFuture<'static, T> {
    Box::pin(std::future::ready(Ok(value)))
}

impl OperationStore for MemoryStore {
    fn load(&self, key: &str) -> StoreFuture<'_, Option<OperationRecord>> {
        let now = Instant::now();
        let records = self.records.lock().expect("not poisoned");
        let found = records.by_key.get(key).and_then(|(record, finished)| {
            let gone = match (finished, self.finished_ttl, self.running_ttl) {
                (Some(done), Some(ttl), _) => expired(done.at, ttl, now),
                (None, _, Some(ttl)) => records
                    .touched
                    .get(key)
                    .is_some_and(|at| expired(*at, ttl, now)),
                _ => false,
            };
            (!gone).then(|| record.clone())
        });
        ready(found)
    }

    fn save(&self, key: &str, record: &OperationRecord) -> StoreFuture<'_, ()> {
        let now = Instant::now();
        // Sized outside the lock: a finished record is written once or twice an operation.
        let bytes = record
            .is_finished()
            .then(|| record.to_json().len() + key.len());
        let mut records = self.records.lock().expect("not poisoned");
        records.take(key);
        records.writes += 1;
        let finished = bytes.map(|bytes| Finished {
            at: now,
            write: records.writes,
            bytes,
        });
        if let Some(done) = finished {
            records.finished.insert((done.write, key.to_owned()));
            records.finished_bytes += done.bytes;
        }
        records
            .by_key
            .insert(key.to_owned(), (record.clone(), finished));
        if finished.is_none() && self.running_ttl.is_some() {
            records.touch(key, now);
        }
        if let Some(ttl) = self.finished_ttl {
            records.sweep(ttl, now);
        }
        if let Some(ttl) = self.running_ttl {
            records.sweep_running(ttl, now);
        }
        records.trim(self.finished_budget);
        ready(())
    }

    fn remove(&self, key: &str) -> StoreFuture<'_, ()> {
        self.records.lock().expect("not poisoned").take(key);
        ready(())
    }

    fn acquire(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        let now = Instant::now();
        let mut leases = self.leases.lock().expect("not poisoned");
        let free = leases
            .by_key
            .get(key)
            .is_none_or(|(h, until)| h == holder || *until <= now);
        if free {
            leases.insert(key, holder, now + ttl, now);
        }
        ready(free)
    }

    fn renew(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        let now = Instant::now();
        let mut leases = self.leases.lock().expect("not poisoned");
        let held = match leases.by_key.get_mut(key) {
            Some((h, until)) if h == holder && *until > now => {
                *until = now + ttl;
                true
            }
            _ => false,
        };
        drop(leases);
        if held && self.running_ttl.is_some() {
            // The holder is alive: so is its operation's record.
            let mut records = self.records.lock().expect("not poisoned");
            if records.touched.contains_key(key) {
                records.touch(key, now);
            }
        }
        ready(held)
    }

    fn release(&self, key: &str, holder: &str) -> StoreFuture<'_, ()> {
        let mut leases = self.leases.lock().expect("not poisoned");
        if leases.by_key.get(key).is_some_and(|(h, _)| h == holder) {
            leases.by_key.remove(key);
        }
        ready(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expired records are removed by later writes, at most [`SWEEP`] a write: bounded work.
    #[tokio::test(start_paused = true)]
    async fn a_write_sweeps_at_most_64_expired_records() {
        let json = r#"{"fingerprint":"00ff","first_sent":1,"state":{"state":"failed","word":"Failed","code":null,"message":null}}"#;
        let done = OperationRecord::from_json(json.as_bytes()).unwrap();
        let ttl = Duration::from_millis(300);
        let store = MemoryStore::new().finished_ttl(ttl);
        let held = || store.records.lock().unwrap().by_key.len();
        for n in 0..100 {
            store.save(&format!("k{n}"), &done).await.unwrap();
        }
        assert_eq!(held(), 100);
        tokio::time::sleep(ttl).await;
        assert!(
            store.load("k0").await.unwrap().is_none(),
            "expired reads as absent"
        );
        store.save("next", &done).await.unwrap();
        assert_eq!(held(), 100 + 1 - SWEEP);
        store.remove("next").await.unwrap();
        store.save("next", &done).await.unwrap();
        assert_eq!(held(), 1, "the next write sweeps the rest");
        assert_eq!(store.records.lock().unwrap().finished.len(), 1);
    }

    /// The budget's count follows every write: a finished record written again (its size
    /// changed), made running again, or removed gives its bytes back, so churn on a few keys
    /// never pushes out the records of others.
    #[tokio::test(start_paused = true)]
    async fn the_budget_counts_replaced_and_removed_records_once() {
        let record = |state: &str| {
            let json = format!(r#"{{"fingerprint":"00ff","first_sent":1,"state":{state}}}"#);
            OperationRecord::from_json(json.as_bytes()).unwrap()
        };
        let small = record(r#"{"state":"failed","word":"Failed","code":null,"message":null}"#);
        let large = record(&format!(
            r#"{{"state":"failed","word":"Failed","code":null,"message":"{}"}}"#,
            "m".repeat(500)
        ));
        let running = record(r#"{"state":"submitted"}"#);
        let sizes = |keys: &[&str], r: &OperationRecord| -> usize {
            keys.iter().map(|k| r.to_json().len() + k.len()).sum()
        };
        // Room for the two kept records and one large churned one, not for two large ones.
        let budget = sizes(&["kept1", "kept2"], &small) + sizes(&["churn"], &large) + 10;
        let store = MemoryStore::new().finished_budget(budget);
        store.save("kept1", &small).await.unwrap();
        store.save("kept2", &small).await.unwrap();
        for n in 0..200 {
            let next = match n % 4 {
                0 => &small,
                1 => &large,
                _ => &running,
            };
            store.save("churn", next).await.unwrap();
            if n % 7 == 0 {
                store.remove("churn").await.unwrap();
            }
        }
        store.save("churn", &large).await.unwrap();
        let bytes = store.records.lock().unwrap().finished_bytes;
        let expected = sizes(&["kept1", "kept2"], &small) + sizes(&["churn"], &large);
        assert_eq!(bytes, expected);
        assert_eq!(store.load("kept1").await.unwrap(), Some(small.clone()));
        assert_eq!(store.load("kept2").await.unwrap(), Some(small));
    }

    /// Leases never released (their calls dropped) are removed once expired, as the map grows:
    /// the map stays within twice the live leases.
    #[tokio::test(start_paused = true)]
    async fn expired_leases_that_are_never_released_are_swept() {
        let store = MemoryStore::new();
        let ttl = Duration::from_secs(1);
        let held = || store.leases.lock().unwrap().by_key.len();
        for n in 0..100 {
            assert!(store.acquire(&format!("k{n}"), "a", ttl).await.unwrap());
        }
        assert_eq!(held(), 100, "live leases are kept");
        tokio::time::sleep(ttl).await;
        for n in 0..100 {
            assert!(store.acquire(&format!("j{n}"), "b", ttl).await.unwrap());
        }
        assert!(held() < 150, "expired leases swept: {} held", held());
        assert!(
            !store.acquire("j0", "c", ttl).await.unwrap(),
            "a live lease survives the sweep"
        );
    }
}
