//! [`RedisStore`]: records and leases on a Redis server, for a fleet.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use super::{OperationRecord, OperationStore, StoreError, StoreFuture};

// Extends the lease only when `holder` holds it (check-and-set in one script).
const RENEW: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  return 0
end";
// Deletes the lease only when `holder` holds it.
const RELEASE: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
else
  return 0
end";

/// Records and leases on a Redis server (through the `redis` crate's connection manager,
/// which reconnects): what a fleet of processes shares. A lease is a key taken with
/// `SET key holder NX PX ttl`, renewed and released by small check-and-set scripts; Redis
/// expires it when its holder stops renewing. Keys are `{prefix}op:{key}` and
/// `{prefix}lease:{key}` (default prefix `tower-lro:`).
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    finished_ttl: Option<Duration>,
    renew: Script,
    release: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// How long a connection attempt or a command waits for the server.
    pub const TIMEOUT: Duration = Duration::from_secs(5);

    /// Connects to `url` (`redis://HOST:PORT[/DB]`). A connection attempt and each command
    /// wait at most [`TIMEOUT`](Self::TIMEOUT) for the server, and a lost connection is tried
    /// again twice (each at most half a second later) before a command fails: a store that is
    /// gone answers with an error soon rather than holding its callers.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(StoreError::new)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Self::TIMEOUT)
            .set_response_timeout(Self::TIMEOUT)
            // The retry delay is min(1 s × factorⁿ, max delay) with jitter: at most 0.5 s.
            .set_factor(2)
            .set_max_delay(500)
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(StoreError::new)?;
        Ok(Self {
            conn,
            prefix: "tower-lro:".to_owned(),
            finished_ttl: None,
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
        })
    }

    /// The prefix of every key this store writes.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Expire a finished record (succeeded or failed) `ttl` after it is written (Redis `PX`);
    /// a request under its key after that is a new operation. Records of running operations
    /// never expire. Default: finished records are kept until removed.
    #[must_use]
    pub fn finished_ttl(mut self, ttl: Duration) -> Self {
        self.finished_ttl = Some(ttl);
        self
    }

    fn op(&self, key: &str) -> String {
        format!("{}op:{key}", self.prefix)
    }

    fn lease(&self, key: &str) -> String {
        format!("{}lease:{key}", self.prefix)
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl OperationStore for RedisStore {
    fn load(&self, key: &str) -> StoreFuture<'_, Option<OperationRecord>> {
        let (mut conn, op) = (self.conn.clone(), self.op(key));
        Box::pin(async move {
            let bytes: Option<Vec<u8>> = conn.get(op).await.map_err(StoreError::new)?;
            bytes.map(|b| OperationRecord::from_json(&b)).transpose()
        })
    }

    fn save(&self, key: &str, record: &OperationRecord) -> StoreFuture<'_, ()> {
        let (mut conn, op, json) = (self.conn.clone(), self.op(key), record.to_json());
        // A plain SET also clears an expiry the key had.
        let ttl = self.finished_ttl.filter(|_| record.is_finished());
        Box::pin(async move {
            let mut set = redis::cmd("SET");
            set.arg(op).arg(json);
            if let Some(ttl) = ttl {
                set.arg("PX").arg(millis(ttl));
            }
            set.query_async::<()>(&mut conn)
                .await
                .map_err(StoreError::new)
        })
    }

    fn remove(&self, key: &str) -> StoreFuture<'_, ()> {
        let (mut conn, op) = (self.conn.clone(), self.op(key));
        Box::pin(async move { conn.del(op).await.map_err(StoreError::new) })
    }

    fn acquire(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        let (mut conn, lease, holder) = (self.conn.clone(), self.lease(key), holder.to_owned());
        Box::pin(async move {
            let taken: Option<String> = redis::cmd("SET")
                .arg(&lease)
                .arg(&holder)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl))
                .query_async(&mut conn)
                .await
                .map_err(StoreError::new)?;
            if taken.is_some() {
                return Ok(true);
            }
            // Already ours (a holder that asks again): renewed.
            let renewed: i64 = self
                .renew
                .key(&lease)
                .arg(&holder)
                .arg(millis(ttl))
                .invoke_async(&mut conn)
                .await
                .map_err(StoreError::new)?;
            Ok(renewed == 1)
        })
    }

    fn renew(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        let (mut conn, lease, holder) = (self.conn.clone(), self.lease(key), holder.to_owned());
        Box::pin(async move {
            let renewed: i64 = self
                .renew
                .key(&lease)
                .arg(&holder)
                .arg(millis(ttl))
                .invoke_async(&mut conn)
                .await
                .map_err(StoreError::new)?;
            Ok(renewed == 1)
        })
    }

    fn release(&self, key: &str, holder: &str) -> StoreFuture<'_, ()> {
        let (mut conn, lease, holder) = (self.conn.clone(), self.lease(key), holder.to_owned());
        Box::pin(async move {
            let _: i64 = self
                .release
                .key(&lease)
                .arg(&holder)
                .invoke_async(&mut conn)
                .await
                .map_err(StoreError::new)?;
            Ok(())
        })
    }
}
