//! [`StoreLayer`] and [`StoreService`]: the front that consults an operation store before the
//! driver starts, and records the driver's progress reports.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use super::future::{Output, StoreResponseFuture};
use super::requests::{resuming, submission};
use super::{fingerprint, OperationRecord, OperationState, OperationStore, RecordedStatus};
use crate::driver::Settings;
use crate::error::{Error, Reason};
use crate::metadata::Progress;
use crate::{LroBody, LroLayer, LroMetadata, LroOptions, LroService, ResumeHandle};

mod answer;
mod holder;
mod until;

use until::{until_done, Ended};

type BoxError = tower::BoxError;

/// The inner service of a keyed call: what the front's private impls ask of it, written once
/// (every such service has it).
trait Upstream<ReqB, ResB>:
    Service<Request<ReqB>, Response = Response<ResB>, Future: Send + 'static, Error: Into<BoxError>>
    + Clone
    + Send
    + 'static
{
}

impl<S, ReqB, ResB> Upstream<ReqB, ResB> for S
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
}

/// The inner service's response body, as a keyed call passes it on (every such body has it).
trait UpstreamBody: Body<Data: From<Bytes> + Send, Error: Into<BoxError>> + Send + 'static {}

impl<B> UpstreamBody for B
where
    B: Body + Send + 'static,
    B::Data: From<Bytes> + Send,
    B::Error: Into<BoxError>,
{
}

/// How a response under an idempotency key came about, in its extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// This call sent the submission: the key was new.
    Submitted,
    /// This call sent the submission again, under the same key: a record said it was sent
    /// (or being sent), but no handle was recorded (its sender ended in between).
    Resubmitted,
    /// This call continued a recorded operation from its handle: nothing was submitted.
    Resumed,
    /// The operation had ended: the answer comes from the store (a result fetched again from
    /// its URL, or recorded whole). Nothing was submitted.
    Answered,
}

/// The store and how the front uses it.
#[derive(Clone)]
struct Front {
    store: Arc<dyn OperationStore>,
    holder: String,
    lease: Duration,
    embed_limit: usize,
    /// `true` once the layer hands its calls over ([`StoreLayer::hand_over`]).
    stop: Arc<watch::Sender<bool>>,
}

/// An [`LroLayer`] with an [operation store](crate::store): wraps a service in a
/// [`StoreService`]. Made by [`LroLayer::store`].
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use tower_lro::{store::MemoryStore, LroLayer};
/// # let http_client = tower::service_fn(|_: http::Request<Full<Bytes>>| async {
/// #     Ok::<_, std::convert::Infallible>(http::Response::new(Full::<Bytes>::default()))
/// # });
/// let layer = LroLayer::new()
///     .store(Arc::new(MemoryStore::new()))
///     .lease(Duration::from_secs(10))
///     .holder("worker-1");
/// assert_eq!(layer.holder_id(), "worker-1");
/// let svc = tower::ServiceBuilder::new().layer(layer).service(http_client);
/// # let _ = svc;
/// ```
#[derive(Clone)]
pub struct StoreLayer {
    layer: LroLayer,
    front: Arc<Front>,
}

impl std::fmt::Debug for StoreLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreLayer")
            .field("layer", &self.layer)
            .field("holder", &self.front.holder)
            .field("lease", &self.front.lease)
            .finish()
    }
}

impl LroLayer {
    /// Keep operations of requests that carry an
    /// [idempotency key](crate::LroOptions::idempotency_key) in `store`, so that they outlive
    /// this process: see the [`store`](crate::store) module for what that guarantees.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tower_lro::{store::MemoryStore, IdempotencyHeader, LroLayer};
    /// let layer = LroLayer::new()
    ///     .idempotency_header(IdempotencyHeader::IdempotencyKey)
    ///     .store(Arc::new(MemoryStore::new()));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn store(self, store: Arc<dyn OperationStore>) -> StoreLayer {
        let n = CALLS.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let holder = holder::holder_id(std::process::id(), nanos, n);
        let front = Front {
            store,
            holder,
            lease: Duration::from_secs(30),
            embed_limit: 64 * 1024,
            stop: Arc::new(watch::channel(false).0),
        };
        StoreLayer {
            layer: self,
            front: Arc::new(front),
        }
    }
}

impl StoreLayer {
    fn edit(mut self, f: impl FnOnce(&mut Front)) -> Self {
        f(Arc::make_mut(&mut self.front));
        self
    }

    /// How long a lease lasts unless renewed (default 30 s); the holder renews it every third
    /// of that while it polls, and another process takes over once it expires.
    #[must_use]
    pub fn lease(self, ttl: Duration) -> Self {
        self.edit(|f| f.lease = ttl.max(Duration::from_millis(3)))
    }

    /// The id this layer's leases are held under (default: process id, time, a counter and 64
    /// random bits, `{pid}-{nanos}-{n}-{random}` in hex: unique per layer, and across
    /// processes that share a pid, as containers do); each call holds its lease as
    /// `{id}/{count}`. An id given here must be as unique: two processes under one id would
    /// each take the other's lease for its own.
    #[must_use]
    pub fn holder(self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.edit(|f| f.holder = id)
    }

    /// The largest result recorded whole, in bytes (default 64 KiB), for a result that has no
    /// URL of its own (a terminal status document).
    #[must_use]
    pub fn embed_limit(self, bytes: usize) -> Self {
        self.edit(|f| f.embed_limit = bytes)
    }

    /// The id leases are held under.
    pub fn holder_id(&self) -> &str {
        &self.front.holder
    }

    /// Hands over the operations this layer's services lead, for a process about to exit:
    /// each call stops polling, records its latest resume handle, releases its lease and ends
    /// with an error of [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) carrying the handle,
    /// so that another process continues the operation at once instead of after the lease
    /// expires. Calls made afterwards end so before they take a lease. Shared by the layers
    /// made from this one.
    pub fn hand_over(&self) {
        self.front.stop.send_replace(true);
    }
}

impl<S> Layer<S> for StoreLayer {
    type Service = StoreService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StoreService {
            inner,
            settings: self.layer.settings.clone(),
            front: self.front.clone(),
        }
    }
}

/// An [`LroService`] that keeps the operations of requests with an idempotency key in an
/// [operation store](crate::store). Requests without a key go through as they would through
/// [`LroService`], with its own future inside [`StoreResponseFuture`] (not boxed); a keyed
/// call's future is boxed. Its futures are `Send` when the service's are.
#[derive(Clone)]
pub struct StoreService<S> {
    inner: S,
    settings: Arc<Settings>,
    front: Arc<Front>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for StoreService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreService")
            .field("inner", &self.inner)
            .field("holder", &self.front.holder)
            .finish()
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for StoreService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ReqB: Default + Send + 'static,
    ResB: Body + Send + 'static,
    ResB::Data: From<Bytes> + Send,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<LroBody<ResB>>;
    type Error = BoxError;
    type Future = StoreResponseFuture<S, ReqB, ResB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        let key = req
            .extensions()
            .get::<LroOptions>()
            .and_then(|o| o.key_arc().cloned());
        let layer = LroLayer {
            settings: self.settings.clone(),
        };
        match key {
            None => StoreResponseFuture::plain(LroService::new(ready, layer).call(req)),
            Some(key) => {
                // Each request of a keyed call goes through a fresh clone, made ready as it is
                // sent: what readiness reserved here (a concurrency permit) is given back now,
                // not held through the whole wait.
                drop(ready);
                let inner = self.inner.clone();
                StoreResponseFuture::keyed(Box::pin(run(
                    inner,
                    self.settings.clone(),
                    self.front.clone(),
                    req,
                    key,
                )))
            }
        }
    }
}

/// What one keyed call works with.
struct Keyed<S, ReqB, ResB> {
    inner: S,
    // This call's lease holder: the layer's id and a count (two calls of one layer under one
    // key must not both lead).
    holder: String,
    marker: std::marker::PhantomData<fn(ReqB) -> ResB>,
    settings: Arc<Settings>,
    front: Arc<Front>,
    key: Arc<str>,
    fingerprint: String,
    /// Continue only what the store recorded (`LroOptions::continue_recorded`).
    adopt: bool,
    /// What the next record written says besides its state.
    latest: std::sync::Mutex<Latest>,
}

/// The latest status, progress figure and revision of a keyed call's record.
#[derive(Debug, Clone, Copy, Default)]
struct Latest {
    status: Option<RecordedStatus>,
    percent: Option<f64>,
    revision: u64,
}

/// A progress report, as the recorder writes it.
#[derive(Debug, Clone, PartialEq)]
struct Report {
    handle: ResumeHandle,
    status: RecordedStatus,
    percent: Option<f64>,
}

static CALLS: AtomicU64 = AtomicU64::new(0);

/// Consults the store until this call leads the operation, or it has ended, or the deadline.
async fn run<S, ReqB, ResB>(
    inner: S,
    settings: Arc<Settings>,
    front: Arc<Front>,
    req: Request<ReqB>,
    key: Arc<str>,
) -> Output<ResB>
where
    S: Upstream<ReqB, ResB>,
    ReqB: Default + Send + 'static,
    ResB: UpstreamBody,
{
    let (parts, body) = req.into_parts();
    let options = parts.extensions.get::<LroOptions>();
    let digest = options.and_then(LroOptions::body_digest);
    let wait = options.and_then(|o| o.deadline);
    let adopt = options.is_some_and(LroOptions::continues_recorded);
    let deadline = Instant::now().checked_add(wait.unwrap_or(settings.config.deadline));
    let mut call = Keyed {
        fingerprint: fingerprint(&parts.method, &parts.uri, digest),
        adopt,
        latest: std::sync::Mutex::default(),
        holder: format!("{}/{}", front.holder, CALLS.fetch_add(1, Ordering::Relaxed)),
        inner,
        marker: std::marker::PhantomData,
        settings,
        front,
        key,
    };
    let mut body = Some(body);
    let store = call.front.store.clone();
    loop {
        match store.load(&call.key).await? {
            Some(record) => {
                if call.adopt {
                    call.fingerprint.clone_from(&record.fingerprint);
                }
                call.check(&record)?;
                if record.is_finished() {
                    return call.answer(&parts, &record).await;
                }
            }
            None if call.adopt => return Err(call.nothing().into()),
            None => {}
        }
        if *call.front.stop.borrow() {
            let key = call.key.to_string();
            return Err(Error::new(None, Reason::HandedOver { key }).into());
        }
        let (holder, lease) = (&call.holder, call.front.lease);
        if store.acquire(&call.key, holder, lease).await? {
            let out = call.lead(&parts, &mut body).await;
            // A lease that cannot be released expires: the answer is not lost for it.
            let _ = store.release(&call.key, holder).await;
            return out;
        }
        crate::metrics::waited("lease");
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            let key = call.key.to_string();
            return Err(Error::new(None, Reason::LeaseHeld { key }).into());
        }
        let next = now + call.settings.config.poll_interval();
        tokio::time::sleep_until(deadline.map_or(next, |d| d.min(next))).await;
    }
}

impl<S, ReqB, ResB> Keyed<S, ReqB, ResB> {
    /// Refuses a record made by a different request.
    fn check(&self, record: &OperationRecord) -> Result<(), Error> {
        if record.fingerprint == self.fingerprint {
            return Ok(());
        }
        let key = self.key.to_string();
        Err(Error::new(None, Reason::IdempotencyMismatch { key }))
    }

    /// The error for a call that may only continue a recorded operation, when there is none
    /// with a handle to continue from.
    fn nothing(&self) -> Error {
        let key = self.key.to_string();
        Error::new(None, Reason::NothingRecorded { key })
    }

    /// Starts from what `record` said (a call that leads after another wrote).
    fn seed(&self, record: Option<&OperationRecord>) {
        let mut latest = self.latest.lock().expect("not poisoned");
        if let Some(r) = record {
            *latest = Latest {
                status: r.status,
                percent: r.percent_complete,
                revision: latest.revision.max(r.revision),
            };
        }
    }

    /// Notes a status (and a progress figure, when one came) for the next record.
    fn note(&self, status: RecordedStatus, percent: Option<f64>) {
        let mut latest = self.latest.lock().expect("not poisoned");
        latest.status = Some(status);
        latest.percent = percent.or(latest.percent);
    }

    fn record(&self, first_sent: u64, state: OperationState) -> OperationRecord {
        let mut latest = self.latest.lock().expect("not poisoned");
        latest.revision += 1;
        let status = match &state {
            OperationState::Submitted => latest.status.unwrap_or(RecordedStatus::NotStarted),
            OperationState::Polling { .. } => latest.status.unwrap_or(RecordedStatus::Running),
            OperationState::Succeeded { .. } => RecordedStatus::Succeeded,
            OperationState::Failed { .. } => match latest.status {
                Some(RecordedStatus::Canceled) => RecordedStatus::Canceled,
                _ => RecordedStatus::Failed,
            },
        };
        latest.status = Some(status);
        let withheld = state.withheld();
        OperationRecord {
            fingerprint: self.fingerprint.clone(),
            first_sent,
            state,
            status: Some(status),
            percent_complete: latest.percent,
            updated_ms: super::unix_ms(),
            revision: latest.revision,
            credentials_withheld: withheld,
            partial_word: None,
            metadata: None,
            failure_status: None,
        }
    }
}

impl<S, ReqB, ResB> Keyed<S, ReqB, ResB>
where
    S: Upstream<ReqB, ResB>,
    ReqB: Default + Send + 'static,
    ResB: UpstreamBody,
{
    /// Under the lease: submits, submits again, resumes, or answers what ended meanwhile.
    async fn lead(&self, parts: &http::request::Parts, body: &mut Option<ReqB>) -> Output<ResB> {
        let store = &self.front.store;
        let record = store.load(&self.key).await?;
        self.seed(record.as_ref());
        if let Some(record) = &record {
            self.check(record)?;
            if record.is_finished() {
                return self.answer(parts, record).await;
            }
        }
        let mut inner = self.inner.clone();
        let (req, first_sent, outcome) = match record {
            Some(OperationRecord {
                state: OperationState::Polling { handle },
                first_sent,
                ..
            }) => {
                // Never sent: a handle is recorded, and this call ends with the operation. Let
                // go now, not when the operation ends (a body may hold a budget of the caller's:
                // `lro proxy`'s `--max-held-bodies`).
                drop(body.take());
                (resuming(parts, handle), first_sent, Outcome::Resumed)
            }
            _ if self.adopt => return Err(self.nothing().into()),
            other => {
                let first_sent = match &other {
                    Some(record) => record.first_sent,
                    None => super::unix_ms() / 1000,
                };
                // The crash window opens here: the upstream's slot (a concurrency permit) is
                // taken first, so `Submitted` means "sent, or being sent", never "queued".
                inner.ready().await.map_err(Into::into)?;
                if other.is_none() {
                    store
                        .save(
                            &self.key,
                            &self.record(first_sent, OperationState::Submitted),
                        )
                        .await?;
                }
                let mut req = submission(parts, body.take().unwrap_or_default());
                if let Some(style) = self.settings.idempotency {
                    let at = UNIX_EPOCH + Duration::from_secs(first_sent);
                    crate::idempotency::stamp(req.headers_mut(), style, &self.key, at);
                }
                let outcome = match other {
                    Some(_) => {
                        crate::metrics::resubmitted();
                        Outcome::Resubmitted
                    }
                    None => Outcome::Submitted,
                };
                (req, first_sent, outcome)
            }
        };
        let (settings, handles) = recording(&self.settings);
        let latest = handles.clone();
        let layer = LroLayer { settings };
        let lro = LroService::new(inner, layer);
        let saving = AtomicBool::new(false);
        let recorder = self.recorder(first_sent, handles, &saving);
        let mut stop = self.front.stop.subscribe();
        match until_done(lro.oneshot(req), recorder, &saving, &mut stop).await {
            Ended::Done(out) => self.finish(first_sent, out, outcome).await,
            Ended::Stopped => Err(self.hand_over(first_sent, &latest).await.into()),
        }
    }

    /// Saves every handle the driver reports, and renews the lease, until dropped; `saving`
    /// while a save is under way (it is not dropped then: a store may finish a dropped save
    /// later, over the final record).
    async fn recorder(
        &self,
        first_sent: u64,
        mut handles: watch::Receiver<Option<Report>>,
        saving: &AtomicBool,
    ) {
        let front = &self.front;
        let every = front.lease / 3;
        let mut renew_at = Instant::now() + every;
        let mut saved: Option<Report> = None;
        loop {
            // A renewal that is due goes first: reports that keep coming (a server that answers
            // faster than the store writes) always have a change ready, and the timeout polls
            // the change before its timer.
            let next = match Instant::now() >= renew_at {
                true => None,
                false => tokio::time::timeout_at(renew_at, handles.changed())
                    .await
                    .ok(),
            };
            match next.ok_or(()) {
                Ok(Ok(())) => {
                    let report = handles.borrow_and_update().clone();
                    // Nothing new (the same handle but its poll count, status, figure): not
                    // written, so that other operations' first handles (each one's crash
                    // window) queue behind fewer writes.
                    if let (Some(new), Some(old)) = (&report, &mut saved) {
                        old.handle.polls = new.handle.polls;
                        if new == old {
                            continue;
                        }
                    }
                    saved.clone_from(&report);
                    if let Some(Report {
                        handle,
                        status,
                        percent,
                    }) = report
                    {
                        self.note(status, percent);
                        let record = self.record(first_sent, OperationState::Polling { handle });
                        // Best effort: the next report writes again.
                        saving.store(true, Ordering::Relaxed);
                        let _ = front.store.save(&self.key, &record).await;
                        saving.store(false, Ordering::Relaxed);
                    }
                }
                Ok(Err(_)) => std::future::pending::<()>().await,
                Err(_) => {
                    let held = front
                        .store
                        .renew(&self.key, &self.holder, front.lease)
                        .await;
                    // The lease lapsed under a holder still at work (the store did not answer
                    // for a lease, or this task was held up): taken again when nobody else
                    // took it, and the record written again — a store that expires running
                    // records (`running_ttl`) counts only the renewals of a lease held, and
                    // would let a request under the key submit the work a second time.
                    if !matches!(held, Ok(true))
                        && matches!(
                            front
                                .store
                                .acquire(&self.key, &self.holder, front.lease)
                                .await,
                            Ok(true)
                        )
                    {
                        if let Some(report) = &saved {
                            let state = OperationState::Polling {
                                handle: report.handle.clone(),
                            };
                            let record = self.record(first_sent, state);
                            saving.store(true, Ordering::Relaxed);
                            let _ = front.store.save(&self.key, &record).await;
                            saving.store(false, Ordering::Relaxed);
                        }
                    }
                    renew_at = Instant::now() + every;
                }
            }
        }
    }

    /// Records how the operation ended (or the handle to continue it), and hands the answer on.
    async fn finish(&self, first_sent: u64, out: Output<ResB>, outcome: Outcome) -> Output<ResB> {
        let store = &self.front.store;
        let mut response = match out {
            Ok(response) => response,
            Err(e) => {
                let error = e.downcast_ref::<Error>();
                if error.is_some_and(Error::is_canceled) {
                    self.note(RecordedStatus::Canceled, None);
                }
                if let Some(error) = error {
                    if let Some(state) = OperationState::after_error(error) {
                        let mut record = self.record(first_sent, state);
                        // The upstream's own status for a failure, to answer a retry with.
                        let status = crate::gateway::upstream_failure_status(error);
                        record.failure_status = status
                            .filter(|_| matches!(record.state, OperationState::Failed { .. }))
                            .map(|s| s.as_u16());
                        store.save(&self.key, &record).await?;
                    }
                }
                return Err(e);
            }
        };
        let meta = response.extensions().get::<LroMetadata>();
        // A result left by an operation that did not succeed (a declared `partial_result`):
        // recorded as a result, with the word and what it means.
        let partial = meta
            .map(LroMetadata::status)
            .filter(|s| s.is_failure())
            .map(|s| (s.as_str().to_owned(), RecordedStatus::of(s)));
        let state = match meta.and_then(LroMetadata::resume_handle) {
            // Only started (`LroOptions::start_only`): whoever comes next continues it.
            Some(handle) => Some(OperationState::Polling {
                handle: handle.clone(),
            }),
            None => meta
                .and_then(|meta| self.result(meta, &response))
                .map(|result| OperationState::Succeeded { result }),
        };
        let withheld = meta.is_some_and(LroMetadata::credentials_withheld);
        match state {
            Some(state) => {
                let mut record = self.record(first_sent, state);
                record.credentials_withheld = withheld;
                if matches!(record.state, OperationState::Succeeded { .. }) {
                    record.metadata =
                        meta.map(|m| super::RecordedMetadata::of(m, &self.settings.config));
                }
                if let (OperationState::Succeeded { .. }, Some((word, status))) =
                    (&record.state, partial)
                {
                    record.partial_word = Some(word);
                    record.status = Some(status);
                }
                store.save(&self.key, &record).await?
            }
            // Nothing to answer a later request with: it submits again.
            None => store.remove(&self.key).await?,
        }
        response.extensions_mut().insert(outcome);
        Ok(response)
    }
}

/// Per-request settings whose progress hook also hands each resume handle on.
fn recording(base: &Settings) -> (Arc<Settings>, watch::Receiver<Option<Report>>) {
    let (tx, rx) = watch::channel(None);
    let settings = crate::service::with_progress(base, move |p: &Progress| {
        if let Some(handle) = p.resume_handle() {
            tx.send_replace(Some(Report {
                handle: handle.clone(),
                status: RecordedStatus::of(p.status()),
                percent: p.percent_complete(),
            }));
        }
    });
    (settings, rx)
}
