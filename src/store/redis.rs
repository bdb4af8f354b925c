//! [`RedisStore`]: records and leases on a Redis server, for a fleet.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use super::{OperationRecord, OperationStore, StoreError, StoreFuture};

// Extends the lease only when `holder` holds it (check-and-set in one script); then, when
// ARGV[3] is not `0` (running records expire), the expiry of the record KEYS[2] while it is
// still running (the holder is alive, so is its operation), one it had or none (a running
// record written while the store had no `running_ttl` gets one). A finished record is left as
// its last write set it: a renewal that raced the finish (sent before, run after) moves no
// finished record's expiry.
const RENEW: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then
  local renewed = redis.call('PEXPIRE', KEYS[1], ARGV[2])
  local bytes = ARGV[3] ~= '0' and redis.call('GET', KEYS[2])
  if bytes then
    local ok, record = pcall(cjson.decode, bytes)
    local state = ok and type(record) == 'table' and type(record.state) == 'table'
      and record.state.state
    if state == 'submitted' or state == 'polling' then
      redis.call('PEXPIRE', KEYS[2], ARGV[3])
    end
  end
  return renewed
else
  return 0
end";
// The value under KEYS[1], written first as ARGV[1] when there is none (set-if-absent and
// read in one step, never expired).
const SHARED: &str = r"local v = redis.call('GET', KEYS[1])
if v then
  return v
end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]";
// Deletes the lease only when `holder` holds it.
const RELEASE: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
else
  return 0
end";

/// Records and leases on a Redis server (through the `redis` crate's connection manager,
/// which reconnects): what a fleet of processes shares. A lease is a key taken with
/// `SET key holder NX PX ttl`, renewed and released by small check-and-set scripts; Redis
/// expires it when its holder stops renewing. Keys are `PREFIX{k:KEY}:op` and
/// `PREFIX{k:KEY}:lease` (default prefix `tower-lro:`), and `PREFIXshared:NAME` for the values
/// of [`shared_value`](Self::shared_value).
///
/// A key's record and lease share a Redis Cluster hash tag (`{k:KEY}`: the part of a name in its
/// first braces is what the cluster hashes), so they lie in one hash slot and the renewal's
/// script, which reads both, is not refused (`CROSSSLOT`). Keep braces out of the prefix: a
/// prefix with `{}` in it makes the cluster hash whole names again. The connection is to one
/// server (not cluster-aware: a `MOVED` is not followed): a cluster whose slots one node holds,
/// or a proxy in front of a cluster, works.
///
/// Records and leases written by versions before 0.1.0 that named them `PREFIXop:KEY` and
/// `PREFIXlease:KEY` are not read: a request under such a key is a new operation. Stop (or
/// [hand over](super::StoreLayer::hand_over)) every process of the older version before the
/// new ones start — the two would not see each other's leases — and delete the old names
/// (`SCAN` for `tower-lro:op:*` and `tower-lro:lease:*`) or let their TTLs expire them.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    finished_ttl: Option<Duration>,
    running_ttl: Option<Duration>,
    renew: Script,
    release: Script,
    shared: Script,
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
            running_ttl: None,
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
            shared: Script::new(SHARED),
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
    /// expire only with [`running_ttl`](Self::running_ttl). Default: finished records are kept until removed.
    #[must_use]
    pub fn finished_ttl(mut self, ttl: Duration) -> Self {
        self.finished_ttl = Some(ttl);
        self
    }

    /// Expire a running record (submitted or polling) once nothing has shown it alive for
    /// `ttl`: its last write, or the last renewal of a lease on its key while it runs (Redis `PX`, set by
    /// each write and pushed back by each renewal; a holder renews every third of its lease
    /// while it polls, and takes a lapsed one again and rewrites its record, so an operation
    /// being polled never expires; give a `ttl` longer than the lease). An operation whose
    /// holder ended and that no caller asked about again is then gone (a request under its key
    /// is a new operation). Default: running records are kept until they end or are removed.
    ///
    /// A running record already on the server without an expiry (written while the store had
    /// no `running_ttl`) gets one at its next write or lease renewal — a request under its key
    /// resumes it, and its holder writes and renews. One that no request asks about again is
    /// kept: remove it ([`OperationStore::remove`], or `DEL`). Reads are plain `GET`s, so none
    /// is given at a read.
    #[must_use]
    pub fn running_ttl(mut self, ttl: Duration) -> Self {
        self.running_ttl = Some(ttl);
        self
    }

    /// The value kept under `name` in the store (key `{prefix}shared:{name}`), written first as
    /// `initial` when there is none: set-if-absent and read back in one atomic step, so every
    /// process that shares the server gets the same value, however many ask first at once.
    /// The value is never expired nor replaced; delete the key by hand to have a new one made.
    ///
    /// For a setting every process of a fleet must agree on, made by whichever starts first
    /// (`lro proxy` keeps the secret of its idempotency-key scopes so when none is given).
    /// Anyone who can read the store can read it.
    pub async fn shared_value(&self, name: &str, initial: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut conn = self.conn.clone();
        self.shared
            .key(format!("{}shared:{name}", self.prefix))
            .arg(initial)
            .invoke_async(&mut conn)
            .await
            .map_err(StoreError::new)
    }

    fn op(&self, key: &str) -> String {
        named(&self.prefix, key, "op")
    }

    fn lease(&self, key: &str) -> String {
        named(&self.prefix, key, "lease")
    }
}

/// `PREFIX{k:KEY}:WHAT`: the record's and the lease's names share everything up to the brace
/// that closes the hash tag (the first `}` after the first `{`), so a cluster hashes the same
/// text of both, whatever `}` the key holds; the tag is never empty (`k:`), so an empty key or
/// one that starts with `}` does not make the cluster hash the whole names.
fn named(prefix: &str, key: &str, what: &str) -> String {
    format!("{prefix}{{k:{key}}}:{what}")
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
        let ttl = if record.is_finished() {
            self.finished_ttl
        } else {
            self.running_ttl
        };
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
        let (op, running) = (self.op(key), self.running_ttl.map_or(0, millis));
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
                .key(&op)
                .arg(&holder)
                .arg(millis(ttl))
                .arg(running)
                .invoke_async(&mut conn)
                .await
                .map_err(StoreError::new)?;
            Ok(renewed == 1)
        })
    }

    fn renew(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        let (mut conn, lease, holder) = (self.conn.clone(), self.lease(key), holder.to_owned());
        let (op, running) = (self.op(key), self.running_ttl.map_or(0, millis));
        Box::pin(async move {
            let renewed: i64 = self
                .renew
                .key(&lease)
                .key(&op)
                .arg(&holder)
                .arg(millis(ttl))
                .arg(running)
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

#[cfg(test)]
mod tests {
    use super::named;

    /// CRC16/XMODEM, as Redis Cluster hashes a name to one of 16384 slots.
    fn crc16(bytes: &[u8]) -> u16 {
        let mut crc = 0u16;
        for b in bytes {
            crc ^= u16::from(*b) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc
    }

    /// The slot of `name`, by the cluster specification's rule: the bytes between the first
    /// `{` and the first `}` after it, when there are some; else the whole name.
    fn slot(name: &str) -> u16 {
        let bytes = name.as_bytes();
        let hashed = bytes
            .iter()
            .position(|b| *b == b'{')
            .and_then(|open| {
                let len = bytes[open + 1..].iter().position(|b| *b == b'}')?;
                (len > 0).then(|| &bytes[open + 1..open + 1 + len])
            })
            .unwrap_or(bytes);
        crc16(hashed) % 16384
    }

    /// A key's record and lease lie in one hash slot (the renewal script reads both: a cluster
    /// refuses a script whose keys lie in two), whatever braces the key holds, for an empty
    /// key too; different keys spread over slots. The slots of the specification's examples
    /// hold (`123456789`: CRC16 `0x31C3`).
    #[test]
    fn a_keys_record_and_lease_share_a_hash_slot() {
        assert_eq!(crc16(b"123456789"), 0x31c3);
        assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
        assert_eq!(slot("foo{}{bar}"), crc16(b"foo{}{bar}") % 16384);
        let keys = ["job-1", "", "}", "{", "a}b", "{x}", "}{", "k:1", "é-ü"];
        for key in keys {
            for prefix in ["tower-lro:", "", "app:{tenant-1}:"] {
                let (op, lease) = (named(prefix, key, "op"), named(prefix, key, "lease"));
                assert_eq!(slot(&op), slot(&lease), "{op} and {lease}");
            }
        }
        let spread: std::collections::HashSet<u16> = (0..64)
            .map(|n| slot(&named("tower-lro:", &format!("job-{n}"), "op")))
            .collect();
        assert!(
            spread.len() > 32,
            "keys spread over slots: {}",
            spread.len()
        );
        // The names as they were (before the hash tag) lay in two slots.
        assert_ne!(slot("tower-lro:op:job-1"), slot("tower-lro:lease:job-1"));
    }
}
