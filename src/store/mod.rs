//! Operations that outlive the process: a store of operation records and leases, keyed by the
//! [idempotency key](crate::LroOptions::idempotency_key) of a request.
//!
//! [`LroLayer::store`](crate::LroLayer::store) turns a layer into a [`StoreLayer`]. For a
//! request that carries a key, its [`StoreService`] consults the store before anything is sent:
//!
//! - no record: it takes the operation's **lease**, records the operation as
//!   [`Submitted`](OperationState::Submitted), sends the submission, and records the
//!   [`ResumeHandle`] after every status poll (and renews the lease) until the end;
//! - a record that is still running, with the lease free (its holder ended or
//!   [handed it over](StoreLayer::hand_over), or its lease expired): it **resumes** from the
//!   recorded handle — the submission is not sent again;
//! - a record whose lease another process holds: it **waits**, reading the store at the poll
//!   interval, until the operation ends or the lease is free, within the deadline;
//! - a finished record: it answers from the store — a result's URL is fetched again, a small
//!   result recorded whole is returned as it was, a failure is an [`Error`](crate::Error) of
//!   kind [`OperationFailed`](crate::ErrorKind::OperationFailed);
//! - a record made by a *different* request (method, URL or
//!   [body](crate::LroOptions::request_body)) under the same key: an error of kind
//!   [`Conflict`](crate::ErrorKind::Conflict), never a merge.
//!
//! # What is guaranteed, and what is not
//!
//! - The submission is sent **at most once per key among the processes that share a store**,
//!   except in one window: from the write of [`Submitted`](OperationState::Submitted) to the
//!   write of the first handle. `Submitted` is written under the lease once the upstream's
//!   slot is taken (the inner service is ready: a concurrency permit), right before the send,
//!   so it means "sent, or being sent"; the handle is written at the first report after the
//!   submission's answer. A process that dies in between leaves `Submitted`, and the next
//!   holder cannot know whether the upstream got it: it sends the submission **again, under
//!   the same key** (stamped when the layer has an
//!   [idempotency header](crate::LroLayer::idempotency_header); [`Outcome::Resubmitted`],
//!   counted as [`RESUBMITTED`](crate::metrics::RESUBMITTED)). A record that holds a handle
//!   or an end is never submitted again. So, across crashes: one *operation* per key when the
//!   upstream honours the header (stamp it), and per key at most one raw submission more per
//!   holder that died inside the window.
//! - The window is as wide as the store's write latency: reports that say nothing new (the
//!   same handle but for its poll count, status and figure) are not written, so that the
//!   first handles of new operations do not queue behind them.
//! - Without a key, or without a shared store, nothing is deduplicated across processes.
//! - A lease is a time-bounded claim, not a lock: a holder paused longer than the lease (a
//!   stopped VM) may poll alongside its successor. Polls are `GET`s, so that costs requests,
//!   not correctness; the records both write are the operation's own progress.
//! - A record with the result recorded whole holds at most
//!   [`StoreLayer::embed_limit`] bytes; a larger result without a URL of its own is not
//!   recorded, and a later request under the key sends the submission again.
//! - Records are never expired by the layer; remove them with [`OperationStore::remove`], or
//!   let the store expire finished ones ([`MemoryStore::finished_ttl`],
//!   `RedbStore::finished_ttl`, `RedisStore::finished_ttl`: one contract — a finished record
//!   reads as absent once its TTL has passed). Records of running operations are kept until
//!   they end, unless the store expires abandoned ones ([`MemoryStore::running_ttl`],
//!   `RedbStore::running_ttl`, `RedisStore::running_ttl`: a running record that nothing showed
//!   alive — no write, no renewal of a lease on its key — for its TTL reads as absent, and a
//!   request under its key is a new operation). Without it, an operation whose holder died and
//!   that no caller asks about again stays in the store for good.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::resume::ResumeHandle;

mod front;
mod future;
mod memory;
#[cfg(feature = "store-redb")]
mod redb;
#[cfg(feature = "store-redis")]
mod redis;
mod requests;

#[cfg(feature = "store-redb")]
pub use self::redb::RedbStore;
#[cfg(feature = "store-redis")]
pub use self::redis::RedisStore;
pub use front::{Outcome, StoreLayer, StoreService};
pub use future::StoreResponseFuture;
pub use memory::MemoryStore;

/// The future a store method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where operation records and leases live. Object-safe: the layer holds an
/// `Arc<dyn OperationStore>`.
///
/// A record is plain data ([`OperationRecord`], serializable); a lease is a holder id with an
/// expiry. Implementations must make [`acquire`](Self::acquire) atomic across every process
/// that shares the store (Redis: `SET NX PX`; an embedded database: one write transaction).
///
/// Implement it for a store of your own; a method added in a later release comes with a
/// default body, so that an implementation keeps compiling.
pub trait OperationStore: Send + Sync + 'static {
    /// The record under `key`, if any.
    fn load(&self, key: &str) -> StoreFuture<'_, Option<OperationRecord>>;
    /// Writes the record under `key`, replacing any.
    fn save(&self, key: &str, record: &OperationRecord) -> StoreFuture<'_, ()>;
    /// Removes the record under `key` (and nothing else).
    fn remove(&self, key: &str) -> StoreFuture<'_, ()>;
    /// Takes the lease on `key` for `holder` for `ttl` when it is free or expired; `true` when
    /// `holder` holds it now (a holder that already held it has it renewed).
    fn acquire(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool>;
    /// Extends the lease `holder` holds on `key` to `ttl` from now; `false` when it holds it no
    /// more.
    fn renew(&self, key: &str, holder: &str, ttl: Duration) -> StoreFuture<'_, bool>;
    /// Gives up the lease `holder` holds on `key`; nothing when another holds it.
    fn release(&self, key: &str, holder: &str) -> StoreFuture<'_, ()>;
}

/// A store that failed (I/O, a lost connection, a record that does not read).
#[derive(Debug)]
pub struct StoreError(tower::BoxError);

impl StoreError {
    /// Wraps any error.
    pub fn new(error: impl Into<tower::BoxError>) -> Self {
        Self(error.into())
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "operation store: {}", self.0)
    }
}

// The message says what failed, with the wrapped error's own words: its cause, not itself, is
// the source (an error printed with its chain would otherwise say them twice).
impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// What a store keeps for one key: which request made it, and where its operation stands.
/// Plain JSON ([`to_json`](Self::to_json)); it holds none of the caller's credential values
/// (see [`ResumeHandle`]). A result URL the server signed itself (a `sig=` it wrote) is kept
/// as written, to fetch the result again; `Debug` masks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OperationRecord {
    /// A hash of the request's method, URL (its credential values masked) and body (when
    /// given; by its MAC when given so, [`LroOptions::request_body_mac`](crate::LroOptions::request_body_mac)):
    /// a request under the same key with another fingerprint is refused.
    pub fingerprint: String,
    /// When the submission was first sent, in seconds since the Unix epoch
    /// (`Repeatability-First-Sent`).
    pub first_sent: u64,
    /// Where the operation stands.
    pub state: OperationState,
    /// The latest status, in the five words of a normalised status document (absent in
    /// records written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RecordedStatus>,
    /// The latest progress figure the upstream reported, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_complete: Option<f64>,
    /// When the record was last written, in milliseconds since the Unix epoch (0: unknown).
    #[serde(default)]
    pub updated_ms: u64,
    /// Counts the writes of the record (the submission, each progress report, the end), across
    /// the processes that share the store: a reader that saw revision `n` has seen every
    /// state up to it.
    #[serde(default)]
    pub revision: u64,
    /// Whether a request of the operation went to an origin that gets no credentials (see
    /// [`LroMetadata::credentials_withheld`](crate::LroMetadata::credentials_withheld)): the
    /// result, fetched again for a later request under the key, gets none either. A running
    /// operation's record says what its handle says
    /// ([`ResumeHandle::credentials_withheld`](crate::ResumeHandle::credentials_withheld)).
    /// Absent (`false`) when none did, in a failure's record, and in records written before it
    /// was kept.
    #[serde(default, skip_serializing_if = "is_false")]
    pub credentials_withheld: bool,
    /// The upstream's word when the operation ended without success but left a result (a
    /// declared dialect's `partial_result`: OpenAI's `expired` batch): `state` is then
    /// [`Succeeded`](OperationState::Succeeded), its result the one left, to fetch again as any
    /// other, and `status` says [`Failed`](RecordedStatus::Failed) or
    /// [`Canceled`](RecordedStatus::Canceled). Absent for every other record, and in records
    /// written before it was kept (which a reader of those takes for a success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_word: Option<String>,
    /// What the first answer's [`LroMetadata`](crate::LroMetadata) said of a finished
    /// operation that delivered a result, so that a later request answered from the store
    /// gets it too. Absent in failures' records, and in records written before it was kept
    /// (their answers carry no `LroMetadata`, as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<RecordedMetadata>,
    /// The upstream's own `4xx`/`5xx` for a failed operation (its terminal answer's status, or
    /// the one an OData `AsyncResult` header named), so that a later request answered from the
    /// store gets the same status as the first. Absent for every other record, and in records
    /// written before it was kept (answered with the status the error code gives, see
    /// [`failure_status`](crate::gateway::failure_status)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_status: Option<u16>,
}

/// What a record keeps of a delivered operation's [`LroMetadata`](crate::LroMetadata); the
/// answer from the store carries it back (its
/// [`resource_url`](crate::LroMetadata::resource_url) is the recorded result's URL, and its
/// status the word with the meaning the record says).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RecordedMetadata {
    /// The status monitor that was polled last, its credential query values masked (`***`):
    /// a record holds none of the caller's.
    pub operation_url: String,
    /// The operation's id, when one was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    /// Which shape of the submission applied.
    pub rule: crate::Rule,
    /// The terminal status word, as the upstream wrote it.
    pub word: String,
    /// Requests sent to the status monitor.
    pub polls: u32,
    /// Milliseconds from the submission's response to the final response's head.
    pub elapsed_ms: u64,
    /// The dialect the operation was read in.
    pub dialect: String,
}

impl RecordedMetadata {
    /// What a record keeps of `meta`, under the layer's configuration `cfg` (whose credential
    /// names the caller may have added to the library's).
    pub(crate) fn of(meta: &crate::LroMetadata, cfg: &crate::config::Config) -> Self {
        Self {
            operation_url: masked(meta.operation_url(), cfg),
            operation_id: meta.operation_id().map(str::to_owned),
            rule: meta.rule(),
            word: meta.status().as_str().to_owned(),
            polls: meta.polls(),
            elapsed_ms: u64::try_from(meta.elapsed().as_millis()).unwrap_or(u64::MAX),
            dialect: meta.dialect().to_owned(),
        }
    }
}

/// `url` with its user information and the values of its credential query parameters masked
/// ([`mask_url`](crate::credentials::mask_url)), the names the caller added
/// ([`credential_header`](crate::LroLayer::credential_header)) included.
fn masked(url: &str, cfg: &crate::config::Config) -> String {
    crate::credentials::mask_url_with(url, |name| cfg.is_credential_query(name)).into_owned()
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Where an operation stands, in the words of Azure Maps Creator V2's status document (what
/// `lro proxy`'s asynchronous façade answers whatever the upstream's dialect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RecordedStatus {
    /// Submitted; the upstream has not reported a status yet, or reported that it has not
    /// started.
    NotStarted,
    /// Running.
    Running,
    /// Ended in success.
    Succeeded,
    /// Ended in failure.
    Failed,
    /// Ended because someone canceled it.
    Canceled,
}

impl RecordedStatus {
    /// The word: `NotStarted`, `Running`, `Succeeded`, `Failed` or `Canceled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "NotStarted",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Canceled => "Canceled",
        }
    }

    /// What an upstream's status means, in these words (a word such as `NotStarted`,
    /// `Queued` or `Pending` that says the work has not begun is `NotStarted`).
    pub fn of(status: &crate::OperationStatus) -> Self {
        use crate::StatusMeaning as M;
        match status.meaning() {
            M::Succeeded => Self::Succeeded,
            M::Failed => Self::Failed,
            M::Canceled => Self::Canceled,
            _ => {
                let word = status.as_str();
                let waiting = ["notstarted", "not started", "queued", "pending", "accepted"];
                if waiting.iter().any(|w| word.eq_ignore_ascii_case(w)) {
                    Self::NotStarted
                } else {
                    Self::Running
                }
            }
        }
    }

    /// Succeeded, failed or canceled.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }
}

/// Where a recorded operation stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum OperationState {
    /// The submission was sent or is being sent (its slot upstream was taken first); no handle
    /// yet. A holder that finds it sends the submission again under the same key.
    Submitted,
    /// Polling: the handle to continue from.
    Polling {
        /// Continues the operation.
        handle: ResumeHandle,
    },
    /// Ended in success.
    Succeeded {
        /// Where the result is.
        result: StoredResult,
    },
    /// Ended in failure.
    Failed {
        /// The failure word (`Failed`, `Canceled`).
        word: String,
        /// The error's code, if any.
        code: Option<String>,
        /// The error's message, if any.
        message: Option<String>,
    },
}

/// Where a finished operation's result is.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StoredResult {
    /// Fetched again with a `GET` of this URL.
    Url {
        /// The resource.
        url: String,
    },
    /// Recorded whole (UTF-8, within the embed limit).
    Embedded {
        /// The final response's status.
        status: u16,
        /// Its `Content-Type`, if any.
        content_type: Option<String>,
        /// Its body.
        body: String,
    },
}

// `Debug` masks credential values in the URL (a `sig=` the server put in its result URL is
// kept in the record, to fetch the result again); the serialized record keeps them.
impl std::fmt::Debug for StoredResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Url { url } => f
                .debug_struct("Url")
                .field("url", &crate::credentials::mask_url(url))
                .finish(),
            Self::Embedded {
                status,
                content_type,
                body,
            } => f
                .debug_struct("Embedded")
                .field("status", status)
                .field("content_type", content_type)
                .field("body", body)
                .finish(),
        }
    }
}

impl OperationRecord {
    /// The record as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a record serializes")
    }
    /// A record from JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, StoreError> {
        serde_json::from_slice(bytes).map_err(StoreError::new)
    }
    /// Whether this record was made by a request with this method, URL and body (the body as
    /// given to [`LroOptions::request_body`](crate::LroOptions::request_body), `None` when
    /// none was): a different request under the same key is refused, never merged. The values
    /// of the URL's [credential](crate::credentials) query parameters are not compared (the
    /// fingerprint holds no digest of them), as credential headers are not: a retry with a
    /// renewed credential is the same request.
    ///
    /// A record of a request whose body was given by its MAC
    /// ([`LroOptions::request_body_mac`](crate::LroOptions::request_body_mac)) is made by no
    /// body given here: see [`made_by_mac`](Self::made_by_mac).
    pub fn made_by(&self, method: &http::Method, uri: &http::Uri, body: Option<&[u8]>) -> bool {
        let digest = body.map(|b| BodyDigest::Plain(fnv1a(b)));
        self.fingerprint == fingerprint(method, uri, digest)
    }

    /// Whether this record was made by a request with this method and URL whose body was given
    /// by this MAC ([`LroOptions::request_body_mac`](crate::LroOptions::request_body_mac)).
    pub fn made_by_mac(&self, method: &http::Method, uri: &http::Uri, mac: &[u8]) -> bool {
        let digest = Some(BodyDigest::Keyed(fnv1a(mac)));
        self.fingerprint == fingerprint(method, uri, digest)
    }

    /// How the operation ended when it left a result without succeeding (see
    /// [`partial_word`](Self::partial_word)): the upstream's word, and
    /// [`Failed`](RecordedStatus::Failed) or [`Canceled`](RecordedStatus::Canceled).
    pub fn partial(&self) -> Option<(&str, RecordedStatus)> {
        let word = self.partial_word.as_deref()?;
        let status = match self.status {
            Some(RecordedStatus::Canceled) => RecordedStatus::Canceled,
            _ => RecordedStatus::Failed,
        };
        Some((word, status))
    }

    /// Whether the operation has ended.
    pub fn is_finished(&self) -> bool {
        matches!(
            self.state,
            OperationState::Succeeded { .. } | OperationState::Failed { .. }
        )
    }
}

/// FNV-1a, 64 bits: a stable hash for fingerprints (a mismatch detector, not a security check).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_from(0xcbf2_9ce4_8422_2325, bytes)
}

fn fnv1a_from(mut hash: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// How a request's body is in its fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyDigest {
    /// FNV-1a of the body: unkeyed ([`LroOptions::request_body`](crate::LroOptions::request_body)).
    Plain(u64),
    /// FNV-1a of the body's MAC under the caller's secret
    /// ([`LroOptions::request_body_mac`](crate::LroOptions::request_body_mac)).
    Keyed(u64),
}

/// The fingerprint of a request: method, URL and body digest. The URL's credential values are
/// masked first (as [`mask_url`](crate::credentials::mask_url) prints it): a fast unkeyed hash
/// of `?sig=hunter2` in a store would let its readers test guesses of the credential offline,
/// and credential headers are not in the fingerprint either. A body given by its MAC is marked
/// (`k` before the hash, and a byte in it), so that it never matches a body given whole;
/// fingerprints without one are as they were written before MACs were taken.
pub(crate) fn fingerprint(
    method: &http::Method,
    uri: &http::Uri,
    body: Option<BodyDigest>,
) -> String {
    let mut hash = fnv1a(method.as_str().as_bytes());
    hash = fnv1a_from(hash, b" ");
    let url = uri.to_string();
    hash = fnv1a_from(hash, crate::credentials::mask_url(&url).as_bytes());
    match body {
        None => format!("{:016x}", fnv1a_from(hash, &0u64.to_le_bytes())),
        Some(BodyDigest::Plain(digest)) => {
            format!("{:016x}", fnv1a_from(hash, &digest.to_le_bytes()))
        }
        Some(BodyDigest::Keyed(digest)) => {
            hash = fnv1a_from(hash, b"k");
            format!("k{:016x}", fnv1a_from(hash, &digest.to_le_bytes()))
        }
    }
}

impl OperationState {
    /// Whether a running operation's handle says its credentials were withheld (what its
    /// record says, [`OperationRecord::credentials_withheld`]).
    pub(crate) fn withheld(&self) -> bool {
        matches!(self, Self::Polling { handle } if handle.credentials_withheld())
    }

    /// What an error leaves in the store: a failure, or the handle to continue from.
    pub(crate) fn after_error(e: &crate::Error) -> Option<Self> {
        if e.is_operation_failed() {
            let odata = e.odata_error();
            let (mut code, mut message) = (
                odata.and_then(|o| o.code()).map(str::to_owned),
                odata.and_then(|o| o.message()).map(str::to_owned),
            );
            if odata.is_none() {
                // No status document said it (an OData `AsyncResult: 400`: the body is the
                // original request's answer): its `error` object's code and message, as the
                // gateway answers them, so that a retry under the key gets the same ones.
                (code, message) = sent_error(e.body());
            }
            return Some(OperationState::Failed {
                word: e
                    .operation_status()
                    .map_or("Failed", |s| s.as_str())
                    .to_owned(),
                code,
                message,
            });
        }
        let handle = e.resume_handle()?.clone();
        Some(OperationState::Polling { handle })
    }
}

/// The string `code` and `message` of the `error` object of a JSON body, if it has one.
fn sent_error(body: Option<&bytes::Bytes>) -> (Option<String>, Option<String>) {
    let sent = body.and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok());
    let error = sent.as_ref().and_then(|v| v.get("error"));
    let text = |name: &str| {
        let value = error?.get(name)?;
        value.as_str().map(str::to_owned)
    };
    (text("code"), text("message"))
}

/// Whether a record's JSON is of a running operation (submitted or polling), read from its
/// `state` tag (a store checks it inside the write that renews a lease: a renewal that comes
/// after the operation's end moves no finished record's expiry).
#[cfg(feature = "store-redb")]
pub(crate) fn is_running_json(bytes: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Tag {
        state: String,
    }
    #[derive(Deserialize)]
    struct Head {
        state: Tag,
    }
    serde_json::from_slice::<Head>(bytes)
        .is_ok_and(|head| matches!(head.state.state.as_str(), "submitted" | "polling"))
}

/// Milliseconds since the Unix epoch, by the wall clock (what records and their expiries are
/// stamped with).
pub(crate) fn unix_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod error_tests {
    use std::error::Error as _;
    use std::fmt;

    use super::StoreError;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("table unreadable")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    /// Each cause is said once along the chain: the store error's message holds the wrapped
    /// error's words, and its source is that error's cause (it was the wrapped error itself,
    /// so a chain printer repeated it).
    #[test]
    fn a_store_errors_chain_says_each_cause_once() {
        let e = StoreError::new(Outer(std::io::Error::other("disk gone")));
        assert_eq!(e.to_string(), "operation store: table unreadable");
        let mut chain = Vec::new();
        let mut next = e.source();
        while let Some(cause) = next {
            chain.push(cause.to_string());
            next = cause.source();
        }
        assert_eq!(chain, ["disk gone"]);
    }
}

#[cfg(test)]
mod fingerprint_tests {
    use super::{fingerprint, fnv1a, BodyDigest};

    /// Fingerprints of requests without a body, or with one given whole, are as versions before
    /// MACs wrote them (values worked out apart from this code, from FNV-1a's definition): their
    /// records still match. One given by its MAC is marked, and matches no body given whole.
    #[test]
    fn fingerprints_without_a_mac_are_as_written_before() {
        let post = http::Method::POST;
        let jobs: http::Uri = "https://api.example/jobs?api-version=1".parse().unwrap();
        let plain = Some(BodyDigest::Plain(fnv1a(br#"{"n":1}"#)));
        assert_eq!(fingerprint(&post, &jobs, plain), "208b73f3d59562b0");
        let bare: http::Uri = "https://api.example/jobs".parse().unwrap();
        assert_eq!(
            fingerprint(&http::Method::GET, &bare, None),
            "b29ff5c6f047e377"
        );
        let digest = fnv1a(b"a MAC");
        let keyed = fingerprint(&post, &jobs, Some(BodyDigest::Keyed(digest)));
        assert!(keyed.starts_with('k') && keyed.len() == 17, "{keyed}");
        let given_whole = fingerprint(&post, &jobs, Some(BodyDigest::Plain(digest)));
        assert_ne!(keyed[1..], given_whole);
    }
}
