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
// When a finished record expires (milliseconds since the Unix epoch), by key; and the same
// ordered by expiry, for the sweep.
const EXPIRES: TableDefinition<'static, &str, u64> = TableDefinition::new("tower-lro-expires");
const EXPIRY_ORDER: TableDefinition<'static, (u64, &str), ()> =
    TableDefinition::new("tower-lro-expiry-order");
/// How many expired records one write removes at most.
const SWEEP: usize = 64;

/// Records and leases in one file on this machine (an embedded [redb] database): they survive
/// a restart, and every process that opens the file shares them (redb lets one process open
/// a file at a time; share it between the tasks of that process). Lease expiries are wall-clock
/// time. Each call runs on Tokio's blocking pool.
///
/// [redb]: https://www.redb.org
#[derive(Clone)]
pub struct RedbStore {
    db: Arc<Database>,
    finished_ttl: Option<Duration>,
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
        tx.open_table(EXPIRES).map_err(StoreError::new)?;
        tx.open_table(EXPIRY_ORDER).map_err(StoreError::new)?;
        tx.commit().map_err(StoreError::new)?;
        Ok(Self {
            db: Arc::new(db),
            finished_ttl: None,
        })
    }

    /// Expire a finished record (succeeded or failed) `ttl` after it is written: it reads as
    /// absent from then on (a request under its key is a new operation), and each later write
    /// removes up to 64 expired records from the file. Records of running operations never
    /// expire. Default: finished records are kept until removed.
    pub fn finished_ttl(mut self, ttl: Duration) -> Self {
        self.finished_ttl = Some(ttl);
        self
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

/// Forgets when `key`'s record expires.
fn unexpire(tx: &redb::WriteTransaction, key: &str) -> Result<(), StoreError> {
    let old = tx.open_table(EXPIRES)?.remove(key)?.map(|at| at.value());
    if let Some(at) = old {
        tx.open_table(EXPIRY_ORDER)?.remove((at, key))?;
    }
    Ok(())
}

/// Removes up to [`SWEEP`] records whose expiry has passed.
fn remove_expired(tx: &redb::WriteTransaction) -> Result<(), StoreError> {
    let now = now_ms();
    let mut order = tx.open_table(EXPIRY_ORDER)?;
    let mut due = Vec::new();
    for entry in order.iter()? {
        let (guard, _) = entry?;
        let (at, key) = guard.value();
        if at > now || due.len() == SWEEP {
            break;
        }
        due.push((at, key.to_owned()));
    }
    let (mut expires, mut records) = (tx.open_table(EXPIRES)?, tx.open_table(RECORDS)?);
    for (at, key) in &due {
        order.remove((*at, key.as_str()))?;
        expires.remove(key.as_str())?;
        records.remove(key.as_str())?;
    }
    Ok(())
}

impl OperationStore for RedbStore {
    fn load(&self, key: &str) -> StoreFuture<'_, Option<OperationRecord>> {
        let key = key.to_owned();
        let read = self.with(move |db| {
            let tx = db.begin_read()?;
            let expires = tx.open_table(EXPIRES)?.get(key.as_str())?;
            if expires.is_some_and(|at| at.value() <= now_ms()) {
                return Ok(None);
            }
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
        let (sweep, ttl) = (self.finished_ttl.is_some(), self.finished_ttl);
        let ttl = ttl.filter(|_| record.is_finished());
        self.write(move |tx| {
            tx.open_table(RECORDS)?
                .insert(key.as_str(), json.as_slice())?;
            unexpire(tx, &key)?;
            if let Some(ttl) = ttl {
                let at = until(ttl);
                tx.open_table(EXPIRES)?.insert(key.as_str(), at)?;
                tx.open_table(EXPIRY_ORDER)?
                    .insert((at, key.as_str()), ())?;
            }
            if sweep {
                remove_expired(tx)?;
            }
            Ok(())
        })
    }

    fn remove(&self, key: &str) -> StoreFuture<'_, ()> {
        let key = key.to_owned();
        self.write(move |tx| {
            tx.open_table(RECORDS)?.remove(key.as_str())?;
            unexpire(tx, &key)
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
