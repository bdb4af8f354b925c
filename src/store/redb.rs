//! [`RedbStore`]: records and leases in one embedded database file (redb).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableTable, TableDefinition};

use super::{OperationRecord, OperationStore, StoreError, StoreFuture};

const RECORDS: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("tower-lro-records");
// Holder id and expiry (milliseconds since the Unix epoch).
const LEASES: TableDefinition<'static, &str, (&str, u64)> =
    TableDefinition::new("tower-lro-leases");

/// Records and leases in one file on this machine (an embedded [redb] database): they survive
/// a restart, and every process that opens the file shares them (redb lets one process open
/// a file at a time; share it between the tasks of that process). Lease expiries are wall-clock
/// time. Each call runs on Tokio's blocking pool.
///
/// [redb]: https://www.redb.org
#[derive(Clone)]
pub struct RedbStore {
    db: Arc<Database>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore").finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Opens the database at `path`, creating it when missing.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(StoreError::new)?;
        let tx = db.begin_write().map_err(StoreError::new)?;
        tx.open_table(RECORDS).map_err(StoreError::new)?;
        tx.open_table(LEASES).map_err(StoreError::new)?;
        tx.commit().map_err(StoreError::new)?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Runs `f` with the database on the blocking pool.
    fn with<T, F>(&self, f: F) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.db.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(&db))
                .await
                .map_err(StoreError::new)?
        })
    }

    /// Runs `f` in one write transaction, committed when it returns.
    fn write<T, F>(&self, f: F) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&redb::WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        self.with(move |db| {
            let tx = db.begin_write()?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }
}

// redb's errors, each as a store error (boxed: they are large).
macro_rules! from_redb {
    ($($error:ty),*) => {$(
        impl From<$error> for StoreError {
            fn from(e: $error) -> Self {
                StoreError::new(e)
            }
        }
    )*};
}
from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

fn now_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    since.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn until(ttl: Duration) -> u64 {
    now_ms().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
}

impl OperationStore for RedbStore {
    fn load(&self, key: &str) -> StoreFuture<'_, Option<OperationRecord>> {
        let key = key.to_owned();
        let read = self.with(move |db| {
            let tx = db.begin_read()?;
            let table = tx.open_table(RECORDS)?;
            let bytes = table.get(key.as_str())?.map(|v| v.value().to_vec());
            Ok(bytes)
        });
        Box::pin(async move {
            match read.await? {
                Some(bytes) => OperationRecord::from_json(&bytes).map(Some),
                None => Ok(None),
            }
        })
    }

    fn save(&self, key: &str, record: &OperationRecord) -> StoreFuture<'_, ()> {
        let (key, json) = (key.to_owned(), record.to_json());
        self.write(move |tx| {
            tx.open_table(RECORDS)?
                .insert(key.as_str(), json.as_slice())?;
            Ok(())
        })
    }

    fn remove(&self, key: &str) -> StoreFuture<'_, ()> {
        let key = key.to_owned();
        self.write(move |tx| {
            tx.open_table(RECORDS)?.remove(key.as_str())?;
            Ok(())
        })
    }

    fn acquire(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        let (key, holder) = (key.to_owned(), holder.to_owned());
        self.write(move |tx| {
            let mut table = tx.open_table(LEASES)?;
            let free = match table.get(key.as_str())? {
                Some(lease) => {
                    let (h, expiry) = lease.value();
                    h == holder || expiry <= now_ms()
                }
                None => true,
            };
            if free {
                table.insert(key.as_str(), (holder.as_str(), until(ttl)))?;
            }
            Ok(free)
        })
    }

    fn renew(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        let (key, holder) = (key.to_owned(), holder.to_owned());
        self.write(move |tx| {
            let mut table = tx.open_table(LEASES)?;
            let held = table.get(key.as_str())?.is_some_and(|lease| {
                let (h, expiry) = lease.value();
                h == holder && expiry > now_ms()
            });
            if held {
                table.insert(key.as_str(), (holder.as_str(), until(ttl)))?;
            }
            Ok(held)
        })
    }

    fn release(&self, key: &str, holder: &str) -> StoreFuture<'_, ()> {
        let (key, holder) = (key.to_owned(), holder.to_owned());
        self.write(move |tx| {
            let mut table = tx.open_table(LEASES)?;
            let ours = table
                .get(key.as_str())?
                .is_some_and(|lease| lease.value().0 == holder);
            if ours {
                table.remove(key.as_str())?;
            }
            Ok(())
        })
    }
}
