//! [`RedbStore`]: records and leases in one embedded database file (redb).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redb::{Database, ReadableTable, TableDefinition};

use super::{OperationRecord, OperationStore, StoreError, StoreFuture};

const RECORDS: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("tower-lro-records");
// Holder id and expiry (milliseconds since the Unix epoch).
const LEASES: TableDefinition<'static, &str, (&str, u64)> =
    TableDefinition::new("tower-lro-leases");
// When a record expires (milliseconds since the Unix epoch), by key — a finished one, or a
// running one when running records expire; and the same ordered by expiry, for the sweep.
const EXPIRES: TableDefinition<'static, &str, u64> = TableDefinition::new("tower-lro-expires");
const EXPIRY_ORDER: TableDefinition<'static, (u64, &str), ()> =
    TableDefinition::new("tower-lro-expiry-order");
/// How many expired records one write removes at most.
const SWEEP: usize = 64;
/// A lease write is synced to disk only when nothing was synced for this long (milliseconds).
const LEASE_SYNC_MS: u64 = 1_000;

/// Records and leases in one file on this machine (an embedded [redb] database): they survive
/// a restart, and every process that opens the file shares them (redb lets one process open
/// a file at a time; share it between the tasks of that process). Each call runs on Tokio's
/// blocking pool.
///
/// Time (lease and record expiries) is the wall clock when the store was opened, carried on by
/// Tokio's clock ([`tokio::time::Instant`]): monotone within a process (a wall clock set back
/// moves no expiry), stamped in milliseconds since the Unix epoch in the file so that the next
/// process to open it reads them, and paused with Tokio's clock in tests, as
/// [`MemoryStore`](super::MemoryStore)'s.
///
/// Records are synced to disk before a write returns. Lease writes are not, unless nothing was
/// synced for a second: only this process opens the file, so a lease matters on disk only
/// after a crash, when its holder is gone — a lost lease write then only frees its operation
/// sooner for the next process. Fewer syncs keep lease renewals from queueing in front of the
/// writes that record an operation's handle.
///
/// [redb]: https://www.redb.org
#[derive(Clone)]
pub struct RedbStore {
    db: Arc<Database>,
    finished_ttl: Option<Duration>,
    running_ttl: Option<Duration>,
    // When a commit last synced to disk (milliseconds since the Unix epoch).
    synced_ms: Arc<AtomicU64>,
    clock: Clock,
}

/// The store's time: the wall clock at `opened`, carried on by Tokio's clock.
#[derive(Debug, Clone, Copy)]
struct Clock {
    wall_ms: u64,
    opened: tokio::time::Instant,
}

impl Clock {
    fn new() -> Self {
        Self {
            wall_ms: super::unix_ms(),
            opened: tokio::time::Instant::now(),
        }
    }

    /// Milliseconds since the Unix epoch, by this clock. Read in the caller's task, before the
    /// blocking pool (whose threads need not see a paused clock).
    fn now_ms(self) -> u64 {
        let since = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.wall_ms.saturating_add(since)
    }
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore").finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Opens the database at `path`, creating it when missing. A file it creates is readable
    /// and writable by its owner only (mode `0600` on Unix): records hold what the server
    /// handed out to fetch a result again (a result URL it signed, a small result whole). An
    /// existing file keeps the mode it has.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(StoreError::new)?;
        let db = Database::builder()
            .create_file(file)
            .map_err(StoreError::new)?;
        let tx = db.begin_write().map_err(StoreError::new)?;
        tx.open_table(RECORDS).map_err(StoreError::new)?;
        tx.open_table(LEASES).map_err(StoreError::new)?;
        tx.open_table(EXPIRES).map_err(StoreError::new)?;
        tx.open_table(EXPIRY_ORDER).map_err(StoreError::new)?;
        tx.commit().map_err(StoreError::new)?;
        Ok(Self {
            db: Arc::new(db),
            finished_ttl: None,
            running_ttl: None,
            synced_ms: Arc::new(AtomicU64::new(super::unix_ms())),
            clock: Clock::new(),
        })
    }

    /// Expire a finished record (succeeded or failed) `ttl` after it is written: it reads as
    /// absent from then on (a request under its key is a new operation), and each later write
    /// removes up to 64 expired records from the file. Records of running operations expire
    /// only with [`running_ttl`](Self::running_ttl). Default: finished records are kept until removed.
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
    /// (a request under its key is a new operation), and each later write removes up to 64
    /// expired records from the file. Default: running records are kept until they end or are
    /// removed.
    ///
    /// A running record already in the file without an expiry (written by a version before
    /// this setting, or by a store opened without it) gets one at its next write or lease
    /// renewal — a request under its key resumes it, and its holder writes and renews. One that
    /// no request asks about again is kept: remove it ([`OperationStore::remove`]). Reads do
    /// not write, so none is given at a read.
    #[must_use]
    pub fn running_ttl(mut self, ttl: Duration) -> Self {
        self.running_ttl = Some(ttl);
        self
    }

    /// Runs `f` with the database on the blocking pool.
    fn with<T, F>(&self, f: F) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, DbError> + Send + 'static,
    {
        let db = self.db.clone();
        Box::pin(async move {
            let done = tokio::task::spawn_blocking(move || f(&db)).await;
            done.map_err(StoreError::new)?.map_err(|DbError(e)| e)
        })
    }

    /// Runs `f` in one write transaction, committed and synced when it returns.
    fn write<T, F>(&self, f: F) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&redb::WriteTransaction) -> Result<T, DbError> + Send + 'static,
    {
        self.commit(true, f)
    }

    /// Runs `f` in one write transaction for a lease, synced only when nothing was for
    /// [`LEASE_SYNC_MS`] (an unsynced commit reaches the disk with the next synced one; redb
    /// frees pages only on those, so they must keep coming).
    fn lease_write<T, F>(&self, f: F) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&redb::WriteTransaction) -> Result<T, DbError> + Send + 'static,
    {
        let last = self.synced_ms.load(Ordering::Relaxed);
        self.commit(super::unix_ms().saturating_sub(last) >= LEASE_SYNC_MS, f)
    }

    fn commit<T, F>(&self, sync: bool, f: F) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&redb::WriteTransaction) -> Result<T, DbError> + Send + 'static,
    {
        let synced = self.synced_ms.clone();
        self.with(move |db| {
            let mut tx = db.begin_write()?;
            if !sync {
                tx.set_durability(redb::Durability::None);
            }
            let out = f(&tx)?;
            tx.commit()?;
            if sync {
                synced.fetch_max(super::unix_ms(), Ordering::Relaxed);
            }
            Ok(out)
        })
    }
}

/// A redb error inside this module, as the store error it becomes (boxed: they are large).
/// Private, so that redb's types stay out of [`StoreError`]'s public conversions: a new redb
/// is no change to the crate's API.
struct DbError(StoreError);

macro_rules! from_redb {
    ($($error:ty),*) => {$(
        impl From<$error> for DbError {
            fn from(e: $error) -> Self {
                DbError(StoreError::new(e))
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

/// `ttl` after `now` (milliseconds since the Unix epoch).
fn until(now: u64, ttl: Duration) -> u64 {
    now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
}

/// Sets when `key`'s record expires.
fn expire_at(tx: &redb::WriteTransaction, key: &str, at: u64) -> Result<(), DbError> {
    unexpire(tx, key)?;
    tx.open_table(EXPIRES)?.insert(key, at)?;
    tx.open_table(EXPIRY_ORDER)?.insert((at, key), ())?;
    Ok(())
}

/// Forgets when `key`'s record expires.
fn unexpire(tx: &redb::WriteTransaction, key: &str) -> Result<(), DbError> {
    let old = tx.open_table(EXPIRES)?.remove(key)?.map(|at| at.value());
    if let Some(at) = old {
        tx.open_table(EXPIRY_ORDER)?.remove((at, key))?;
    }
    Ok(())
}

/// Removes up to [`SWEEP`] records whose expiry has passed at `now`.
fn remove_expired(tx: &redb::WriteTransaction, now: u64) -> Result<(), DbError> {
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
        let (key, now) = (key.to_owned(), self.clock.now_ms());
        let read = self.with(move |db| {
            let tx = db.begin_read()?;
            let expires = tx.open_table(EXPIRES)?.get(key.as_str())?;
            if expires.is_some_and(|at| at.value() <= now) {
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
        let now = self.clock.now_ms();
        let sweep = self.finished_ttl.is_some() || self.running_ttl.is_some();
        let ttl = if record.is_finished() {
            self.finished_ttl
        } else {
            self.running_ttl
        };
        self.write(move |tx| {
            tx.open_table(RECORDS)?
                .insert(key.as_str(), json.as_slice())?;
            match ttl {
                Some(ttl) => expire_at(tx, &key, until(now, ttl))?,
                None => unexpire(tx, &key)?,
            }
            if sweep {
                remove_expired(tx, now)?;
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
        let (key, holder, now) = (key.to_owned(), holder.to_owned(), self.clock.now_ms());
        self.lease_write(move |tx| {
            let mut table = tx.open_table(LEASES)?;
            let free = match table.get(key.as_str())? {
                Some(lease) => {
                    let (h, expiry) = lease.value();
                    h == holder || expiry <= now
                }
                None => true,
            };
            if free {
                table.insert(key.as_str(), (holder.as_str(), until(now, ttl)))?;
            }
            Ok(free)
        })
    }

    fn renew(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        let (key, holder, now) = (key.to_owned(), holder.to_owned(), self.clock.now_ms());
        let running_ttl = self.running_ttl;
        self.lease_write(move |tx| {
            let mut table = tx.open_table(LEASES)?;
            let held = table.get(key.as_str())?.is_some_and(|lease| {
                let (h, expiry) = lease.value();
                h == holder && expiry > now
            });
            if held {
                table.insert(key.as_str(), (holder.as_str(), until(now, ttl)))?;
            }
            // The holder is alive: so is its operation's record, while it runs. Read in this
            // transaction: a renewal that comes after the end was written (it raced the finish)
            // leaves the finished record's expiry as the finish set it. A running record with no
            // expiry (written by a version before `running_ttl`, or while the store had none)
            // gets one here.
            if let Some(running) = running_ttl.filter(|_| held) {
                let records = tx.open_table(RECORDS)?;
                let record = records.get(key.as_str())?;
                if record.is_some_and(|r| super::is_running_json(r.value())) {
                    expire_at(tx, &key, until(now, running))?;
                }
            }
            Ok(held)
        })
    }

    fn release(&self, key: &str, holder: &str) -> StoreFuture<'_, ()> {
        let (key, holder) = (key.to_owned(), holder.to_owned());
        self.lease_write(move |tx| {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Lease writes within a second of a synced commit are not synced; a record write always
    /// is, and so is a lease write after a second with none. Every write is read back at once.
    #[tokio::test]
    async fn lease_writes_sync_at_most_once_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path().join("ops.redb")).unwrap();
        let synced = || store.synced_ms.load(Ordering::Relaxed);
        let ttl = Duration::from_secs(30);

        store.synced_ms.store(u64::MAX / 2, Ordering::Relaxed);
        assert!(store.acquire("k", "a", ttl).await.unwrap());
        assert!(store.renew("k", "a", ttl).await.unwrap());
        assert_eq!(
            synced(),
            u64::MAX / 2,
            "recent sync: lease writes are not synced"
        );
        assert!(
            !store.acquire("k", "b", ttl).await.unwrap(),
            "an unsynced lease holds within the process"
        );

        store.synced_ms.store(0, Ordering::Relaxed);
        assert!(store.renew("k", "a", ttl).await.unwrap());
        assert!(
            synced() > 0,
            "a second without a sync: the lease write syncs"
        );

        let json = r#"{"fingerprint":"00ff","first_sent":1,"state":{"state":"submitted"}}"#;
        let record = OperationRecord::from_json(json.as_bytes()).unwrap();
        store.synced_ms.store(0, Ordering::Relaxed);
        store.save("k", &record).await.unwrap();
        assert!(synced() > 0, "a record write syncs");
    }
}
