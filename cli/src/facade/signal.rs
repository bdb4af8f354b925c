//! The store the proxy hands to its layer and its façade, with a signal per key: every write
//! of this process (`save`, `remove`) wakes whoever waits on that key, so the façade reads a
//! record when this process changed it, not on a timer. Operations another instance runs
//! change in its process, not here: for those the façade still reads on a tick.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tower_lro::store::{OperationRecord, OperationStore, StoreFuture};

/// An [`OperationStore`] that signals each key's writes (see the module's docs).
pub struct Signalled {
    inner: Arc<dyn OperationStore>,
    // Weak: a key's entry lives while someone waits on it; dead entries are swept as the map
    // grows.
    waiters: Mutex<HashMap<String, Weak<Notify>>>,
}

impl Signalled {
    pub fn new(inner: Arc<dyn OperationStore>) -> Self {
        Self {
            inner,
            waiters: Mutex::default(),
        }
    }

    /// The signal of `key`'s writes in this process. Enable a `notified()` of it before
    /// reading the record, so that a write between the read and the wait is not missed.
    pub fn subscribe(&self, key: &str) -> Arc<Notify> {
        let mut waiters = self.waiters.lock().expect("not poisoned");
        if let Some(notify) = waiters.get(key).and_then(Weak::upgrade) {
            return notify;
        }
        if waiters.len() >= 64 && waiters.len().is_power_of_two() {
            waiters.retain(|_, w| w.strong_count() > 0);
        }
        let notify = Arc::new(Notify::new());
        waiters.insert(key.to_owned(), Arc::downgrade(&notify));
        notify
    }

    fn signal(&self, key: &str) {
        let waiters = self.waiters.lock().expect("not poisoned");
        if let Some(notify) = waiters.get(key).and_then(Weak::upgrade) {
            notify.notify_waiters();
        }
    }
}

impl OperationStore for Signalled {
    fn load(&self, key: &str) -> StoreFuture<'_, Option<OperationRecord>> {
        self.inner.load(key)
    }

    fn save(&self, key: &str, record: &OperationRecord) -> StoreFuture<'_, ()> {
        let write = self.inner.save(key, record);
        let key = key.to_owned();
        Box::pin(async move {
            let out = write.await;
            self.signal(&key);
            out
        })
    }

    fn remove(&self, key: &str) -> StoreFuture<'_, ()> {
        let write = self.inner.remove(key);
        let key = key.to_owned();
        Box::pin(async move {
            let out = write.await;
            self.signal(&key);
            out
        })
    }

    fn acquire(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        self.inner.acquire(key, holder, ttl)
    }

    fn renew(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        self.inner.renew(key, holder, ttl)
    }

    fn release(&self, key: &str, holder: &str) -> StoreFuture<'_, ()> {
        self.inner.release(key, holder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lro::store::MemoryStore;

    #[tokio::test]
    async fn a_write_wakes_the_keys_waiter_and_no_other() {
        let store = Arc::new(Signalled::new(Arc::new(MemoryStore::new())));
        let (mine, other) = (store.subscribe("k"), store.subscribe("other"));
        let woken = mine.notified();
        let not_woken = other.notified();
        tokio::pin!(woken, not_woken);
        woken.as_mut().enable();
        not_woken.as_mut().enable();
        let record: OperationRecord = serde_json::from_value(serde_json::json!({
            "state": {"state": "submitted"}, "first_sent": 1, "fingerprint": "f"
        }))
        .expect("a record");
        store.save("k", &record).await.unwrap();
        // Polled once each (no wait): the write signalled before `save` returned.
        assert!(tokio::time::timeout(Duration::ZERO, woken).await.is_ok());
        assert!(tokio::time::timeout(Duration::ZERO, not_woken)
            .await
            .is_err());
        assert!(store.load("k").await.unwrap().is_some(), "written through");
    }

    #[test]
    fn dead_entries_are_swept_as_the_map_grows() {
        let store = Signalled::new(Arc::new(MemoryStore::new()));
        for n in 0..1000 {
            drop(store.subscribe(&format!("k{n}")));
        }
        let kept = store.waiters.lock().unwrap().len();
        assert!(kept <= 512, "{kept} entries kept for nobody");
    }
}
