//! `lro proxy`'s bounds on what one request may hold beyond its place in `--max-operations`:
//! the bytes of request bodies read whole and held in memory (`--max-held-bodies`), and the
//! requests one client may have in flight (`--max-client-operations`). A request over either
//! is refused at once, before anything is sent upstream, and counted on `/metrics`
//! ([`REFUSED`], by the `limit` it met).

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::proxy_map::json_response;

/// Requests the proxy answered itself because one of its bounds was met, by `limit`: the
/// option's name without its dashes (`max-operations`, `max-held-bodies`,
/// `max-client-operations`, `idle-timeout`, `body-min-rate`).
pub const REFUSED: &str = "lro_proxy_refused_total";
/// Bytes of request bodies held in memory now (`--max-held-bodies` bounds it).
pub const HELD: &str = "lro_proxy_held_body_bytes";

/// The `limit` labels of [`REFUSED`], each shown at 0 from the start.
pub const LIMITS: [&str; 5] = [
    "max-operations",
    "max-held-bodies",
    "max-client-operations",
    "idle-timeout",
    "body-min-rate",
];

/// Shows [`REFUSED`] for every limit, and [`HELD`], at 0.
pub fn show_at_zero() {
    for limit in LIMITS {
        metrics::counter!(REFUSED, "limit" => limit).increment(0);
    }
    metrics::gauge!(HELD).set(0.0);
}

/// Counts one request refused at `limit`.
pub fn refused(limit: &'static str) {
    metrics::counter!(REFUSED, "limit" => limit).increment(1);
}

/// `status` with `Retry-After: 1`, body `{"error":{"code","message","limit"}}`: a request
/// refused at once because `limit` (the option's name without its dashes) is met. Counted.
pub fn over_limit(
    status: StatusCode,
    limit: &'static str,
    message: &str,
) -> Response<http_body_util::Full<Bytes>> {
    refused(limit);
    let code = if status == StatusCode::TOO_MANY_REQUESTS {
        "TooManyRequests"
    } else {
        "ServiceUnavailable"
    };
    let body = json!({"error": {"code": code, "message": message, "limit": limit}});
    let mut response = json_response(status, &body);
    response
        .headers_mut()
        .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// `--max-held-bodies`: the bytes of request bodies that may be held in memory at once.
pub struct HeldBodies {
    bytes: Arc<Semaphore>,
    cap: u64,
}

/// Bytes of the budget a body holds, given back (and taken off [`HELD`]) when dropped.
#[derive(Debug)]
pub struct Held(Option<OwnedSemaphorePermit>);

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(permit) = self.0.take() {
            metrics::gauge!(HELD).decrement(permit.num_permits() as f64);
        }
    }
}

impl Held {
    fn add(&mut self, more: OwnedSemaphorePermit) {
        metrics::gauge!(HELD).increment(more.num_permits() as f64);
        match &mut self.0 {
            Some(permit) => permit.merge(more),
            None => self.0 = Some(more),
        }
    }

    fn bytes(&self) -> usize {
        self.0.as_ref().map_or(0, OwnedSemaphorePermit::num_permits)
    }
}

/// Why a body could not be read whole.
#[derive(Debug)]
pub enum ReadError<E> {
    /// Over the size limit of the request's kind.
    TooLarge,
    /// Held, it would take the bodies held at once over `--max-held-bodies`.
    OverBudget,
    /// The body's own error (broke off, stopped coming).
    Body(E),
}

impl HeldBodies {
    /// A budget of `cap` bytes.
    pub fn new(cap: u64) -> Arc<Self> {
        let permits = usize::try_from(cap)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Arc::new(Self {
            bytes: Arc::new(Semaphore::new(permits)),
            cap,
        })
    }

    /// The budget, in bytes.
    pub fn cap(&self) -> u64 {
        self.cap
    }

    /// `n` more bytes of the budget for `held`, when that many are free.
    fn take(&self, held: &mut Held, n: usize) -> Result<(), ()> {
        if n == 0 {
            return Ok(());
        }
        let n = u32::try_from(n).map_err(|_| ())?;
        let permit = self
            .bytes
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| ())?;
        held.add(permit);
        Ok(())
    }

    /// `body` read whole, within `limit` bytes, every byte counted against the budget while it
    /// is held: a body whose declared length (`Content-Length`) does not fit is refused before
    /// any of it is read, one without a length as soon as what came does not fit. The bytes
    /// come with their place in the budget ([`HeldBytes`]).
    pub async fn read<B>(&self, body: B, limit: usize) -> Result<HeldBytes, ReadError<B::Error>>
    where
        B: Body<Data = Bytes> + Unpin,
    {
        let declared = body.size_hint().lower();
        if declared > limit as u64 {
            return Err(ReadError::TooLarge);
        }
        let mut held = Held(None);
        let declared = declared as usize; // within `limit`
        self.take(&mut held, declared)
            .map_err(|()| ReadError::OverBudget)?;
        let mut buf = BytesMut::with_capacity(declared);
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(ReadError::Body)?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers: not kept
            };
            let len = buf.len() + data.len();
            if len > limit {
                return Err(ReadError::TooLarge);
            }
            let more = len.saturating_sub(held.bytes());
            if more > 0 {
                self.take(&mut held, more)
                    .map_err(|()| ReadError::OverBudget)?;
            }
            buf.extend_from_slice(&data);
        }
        Ok(HeldBytes {
            bytes: buf.freeze(),
            held,
        })
    }
}

/// A body read whole, with its place in `--max-held-bodies`.
#[derive(Debug)]
pub struct HeldBytes {
    pub bytes: Bytes,
    held: Held,
}

impl HeldBytes {
    /// The body to send: it gives its place back once its bytes are handed to the upstream
    /// connection (or it is dropped unsent).
    pub fn into_body(self) -> HeldBody {
        HeldBody {
            bytes: (!self.bytes.is_empty()).then_some(self.bytes),
            held: Some(self.held),
        }
    }
}

/// See [`HeldBytes::into_body`].
#[derive(Debug)]
pub struct HeldBody {
    bytes: Option<Bytes>,
    held: Option<Held>,
}

impl Body for HeldBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        this.held = None;
        Poll::Ready(this.bytes.take().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.bytes.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.bytes.as_ref().map_or(0, |b| b.len() as u64))
    }
}

/// `--max-client-operations`: the requests being answered for one client, a client being its
/// connections' peer address (an IPv4-mapped IPv6 address counts as its IPv4 one).
pub struct PerClient {
    cap: u32,
    counts: Mutex<HashMap<IpAddr, u32>>,
}

/// A client's place among its `--max-client-operations`, given back when dropped.
pub struct ClientSlot {
    clients: Arc<PerClient>,
    ip: IpAddr,
}

impl PerClient {
    /// At most `cap` requests a client; `None` for 0 (no bound).
    pub fn new(cap: u32) -> Option<Arc<Self>> {
        (cap > 0).then(|| {
            Arc::new(Self {
                cap,
                counts: Mutex::default(),
            })
        })
    }

    /// The bound.
    pub fn cap(&self) -> u32 {
        self.cap
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, u32>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for one more request of the client at `ip`, unless it has `cap` already.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ClientSlot> {
        let ip = ip.to_canonical();
        let mut counts = self.lock();
        let count = counts.entry(ip).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            clients: self.clone(),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut counts = self.clients.lock();
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                // No entry is kept for a client with nothing in flight.
                counts.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clients_places_are_given_back_and_its_entry_removed() {
        let clients = PerClient::new(2).unwrap();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let one = clients.admit(a).unwrap();
        let two = clients.admit(mapped).unwrap();
        assert!(
            clients.admit(a).is_none(),
            "the mapped address is the same client"
        );
        assert!(clients.admit("127.0.0.2".parse().unwrap()).is_some());
        drop(one);
        let three = clients.admit(a).unwrap();
        drop((two, three));
        assert!(clients.lock().is_empty());
        assert!(PerClient::new(0).is_none());
    }

    fn body(len: usize) -> http_body_util::Full<Bytes> {
        http_body_util::Full::new(Bytes::from(vec![b'x'; len]))
    }

    /// The edges: a body exactly at its kind's limit is read, one byte more is too large; the
    /// budget's last byte can be held, none beyond it; a body given back makes its room again.
    #[tokio::test]
    async fn a_body_exactly_at_the_limit_and_the_budget_is_held() {
        let held = HeldBodies::new(10);
        // A body within its limit but over the whole budget is refused, not waited for.
        assert!(matches!(
            held.read(body(11), 11).await,
            Err(ReadError::OverBudget)
        ));
        assert_eq!(held.bytes.available_permits(), 10);
        assert!(matches!(
            held.read(body(5), 4).await,
            Err(ReadError::TooLarge)
        ));
        let first = held.read(body(4), 4).await.unwrap();
        let second = held.read(body(6), 6).await.unwrap();
        assert_eq!(held.bytes.available_permits(), 0);
        assert!(matches!(
            held.read(body(1), 6).await,
            Err(ReadError::OverBudget)
        ));
        // An empty body takes nothing of a spent budget.
        assert!(held.read(body(0), 6).await.is_ok());
        drop(first);
        assert_eq!(held.bytes.available_permits(), 4);
        let third = held.read(body(4), 4).await.unwrap();
        assert_eq!(third.bytes.len(), 4);
        drop((second, third));
        assert_eq!(held.bytes.available_permits(), 10);
    }
}
