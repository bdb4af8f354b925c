//! [`MemoryStore`]: records and leases in this process's memory.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{OperationRecord, OperationStore, StoreFuture};

/// How many expired records one write removes at most.
const SWEEP: usize = 64;

/// Records and leases in memory: one process, lost when it ends. Clients in the same process
/// that retry with their key attach to the operation instead of submitting again.
///
/// Time is Tokio's clock ([`tokio::time::Instant`]): lease and record expiries follow a paused
/// clock in tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<Records>,
    leases: Mutex<Leases>,
    finished_ttl: Option<Duration>,
}

/// The records, and when finished ones expire (in order, for the sweep).
#[derive(Debug, Default)]
struct Records {
    by_key: HashMap<String, (OperationRecord, Option<Instant>)>,
    expiry: BTreeSet<(Instant, String)>,
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
    /// Removes `key`'s record and its expiry.
    fn take(&mut self, key: &str) {
        if let Some((_, Some(at))) = self.by_key.remove(key) {
            self.expiry.remove(&(at, key.to_owned()));
        }
    }

    /// Removes up to [`SWEEP`] records whose expiry has passed.
    fn sweep(&mut self, now: Instant) {
        for _ in 0..SWEEP {
            match self.expiry.first() {
                Some((at, _)) if *at <= now => {}
                _ => break,
            }
            if let Some((_, key)) = self.expiry.pop_first() {
                self.by_key.remove(&key);
            }
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Expire a finished record (succeeded or failed) `ttl` after it is written: it reads as
    /// absent from then on (a request under its key is a new operation), and each later write
    /// removes up to 64 expired records. Records of running operations never expire. Default:
    /// finished records are kept until removed — the same contract as
    /// `RedbStore::finished_ttl` and `RedisStore::finished_ttl`.
    #[must_use]
    pub fn finished_ttl(mut self, ttl: Duration) -> Self {
        self.finished_ttl = Some(ttl);
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
        let found = records.by_key.get(key).and_then(|(record, expires)| {
            let live = expires.is_none_or(|at| at > now);
            live.then(|| record.clone())
        });
        ready(found)
    }

    fn save(&self, key: &str, record: &OperationRecord) -> StoreFuture<'_, ()> {
        let now = Instant::now();
        let mut records = self.records.lock().expect("not poisoned");
        records.take(key);
        let expires = self
            .finished_ttl
            .filter(|_| record.is_finished())
            .and_then(|ttl| now.checked_add(ttl));
        if let Some(at) = expires {
            records.expiry.insert((at, key.to_owned()));
        }
        records
            .by_key
            .insert(key.to_owned(), (record.clone(), expires));
        records.sweep(now);
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
        assert_eq!(store.records.lock().unwrap().expiry.len(), 1);
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
