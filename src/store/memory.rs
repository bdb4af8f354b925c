//! [`MemoryStore`]: records and leases in this process's memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{OperationRecord, OperationStore, StoreFuture};

/// Records and leases in memory: one process, lost when it ends. Clients in the same process
/// that retry with their key attach to the operation instead of submitting again.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<HashMap<String, OperationRecord>>,
    leases: Mutex<HashMap<String, (String, Instant)>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn ready<T: Send + 'static>(value: T) -> StoreFuture<'static, T> {
    Box::pin(std::future::ready(Ok(value)))
}

impl OperationStore for MemoryStore {
    fn load(&self, key: &str) -> StoreFuture<'_, Option<OperationRecord>> {
        ready(self.records.lock().expect("not poisoned").get(key).cloned())
    }

    fn save(&self, key: &str, record: &OperationRecord) -> StoreFuture<'_, ()> {
        let mut records = self.records.lock().expect("not poisoned");
        records.insert(key.to_owned(), record.clone());
        ready(())
    }

    fn remove(&self, key: &str) -> StoreFuture<'_, ()> {
        self.records.lock().expect("not poisoned").remove(key);
        ready(())
    }

    fn acquire(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        let now = Instant::now();
        let mut leases = self.leases.lock().expect("not poisoned");
        let free = leases
            .get(key)
            .is_none_or(|(h, until)| h == holder || *until <= now);
        if free {
            leases.insert(key.to_owned(), (holder.to_owned(), now + ttl));
        }
        ready(free)
    }

    fn renew(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        let now = Instant::now();
        let mut leases = self.leases.lock().expect("not poisoned");
        let held = match leases.get_mut(key) {
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
        if leases.get(key).is_some_and(|(h, _)| h == holder) {
            leases.remove(key);
        }
        ready(())
    }
}
