//! Server-sent events of an operation's status (`Accept: text/event-stream` on its status URL).
//!
//! Each event is `id: {revision}`, `event: status` and `data: {the status document}`, sent
//! whenever the record's revision grows; a reconnect with `Last-Event-ID: n` gets only what
//! came after revision `n` (the store keeps the latest state, so that is the latest document,
//! or nothing when nothing changed; a finished operation's last revision gets `204 No Content`,
//! which stops an `EventSource`'s reconnecting). The stream ends after the event of the operation's end,
//! when the record goes away, or at the request's deadline (`--max-time`, else 300 s); a
//! comment line is sent as a heartbeat when nothing else was for 15 s.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::Response;
use http_body::{Body, Frame};
use http_body_util::Either;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio::time::Instant;

use tower_lro::store::OperationRecord;

use super::{doc, Facade};
use crate::proxy::{Bounded, ProxyBody};

const HEARTBEAT: Duration = Duration::from_secs(15);

/// Whether the request asks for an event stream.
pub fn wanted(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let media = t.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("text/event-stream")
        })
}

/// The client's `Last-Event-ID`, when it is one of ours (a revision).
fn last_event_id(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Whether a reconnecting client already has the last event of a finished operation: it is
/// answered `204 No Content`, which tells an `EventSource` to stop reconnecting (HTML's
/// server-sent events), rather than an empty stream it would reconnect to forever.
pub fn caught_up(headers: &HeaderMap, record: &OperationRecord) -> bool {
    record.is_finished() && last_event_id(headers) == Some(record.revision)
}

/// `204 No Content` for a client that [caught up](caught_up).
pub fn no_more() -> Response<ProxyBody> {
    let mut response = Response::new(Either::Right(http_body_util::Full::new(Bytes::new())));
    *response.status_mut() = http::StatusCode::NO_CONTENT;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The events of the operation under `id`, streamed from a task that reads the store.
pub fn stream(
    facade: &Arc<Facade>,
    id: &str,
    headers: &HeaderMap,
    deadline: Option<Instant>,
) -> Response<ProxyBody> {
    // Open streams are bounded like the operations: beyond, `503` and a time to come back
    // (before anything is streamed; an `EventSource` reports the error).
    let Ok(slot) = facade.streams.clone().try_acquire_owned() else {
        let message = "the proxy streams to --max-operations clients already; retry later";
        let status = http::StatusCode::SERVICE_UNAVAILABLE;
        let refused = crate::proxy_limits::over_limit(status, "max-operations", message);
        let mut response = refused.map(http_body_util::Either::Right);
        super::retry_headers(response.headers_mut(), Duration::from_secs(1));
        return response;
    };
    let last = last_event_id(headers);
    let until = deadline.unwrap_or_else(|| Instant::now() + facade.events_for);
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(feed(
        facade.clone(),
        id.to_owned(),
        headers.clone(),
        last,
        until,
        tx,
    ));
    let body = Bounded::new(Either::Right(EventBody { rx, _slot: slot }), None);
    let mut response = Response::new(Either::Left(body));
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Reads the store when this process writes the record, or every tick for an operation
/// another instance runs, and sends what is new, until the end, the deadline, or the client's
/// going away.
async fn feed(
    facade: Arc<Facade>,
    id: String,
    headers: HeaderMap,
    mut last: Option<u64>,
    until: Instant,
    tx: mpsc::Sender<Bytes>,
) {
    let tick = facade
        .hint
        .clamp(Duration::from_millis(20), Duration::from_secs(1));
    let retry = format!("retry: {}\n\n", facade.hint.as_millis().max(1));
    if tx.send(Bytes::from(retry)).await.is_err() {
        return;
    }
    let mut quiet_until = Instant::now() + HEARTBEAT;
    let mut probe_at = Instant::now() + facade.lease;
    let written = facade.signals.subscribe(&id);
    loop {
        // Enabled before the read: a write between the read and the wait is not missed.
        let notified = written.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let Ok(Some(record)) = facade.store.load(&id).await else {
            return;
        };
        // A revision other than the last one seen: newer, or an id this store never issued
        // (junk, another store's), which gets the current document rather than silence.
        if last != Some(record.revision) {
            let data = doc::document(&id, &record);
            let event = format!("id: {}\nevent: status\ndata: {data}\n\n", record.revision);
            if tx.send(Bytes::from(event)).await.is_err() {
                return;
            }
            last = Some(record.revision);
            quiet_until = Instant::now() + HEARTBEAT;
        }
        if record.is_finished() {
            return;
        }
        let now = Instant::now();
        if now >= until {
            return;
        }
        if now >= probe_at {
            // Still unfinished after a lease: whoever polled it may be gone.
            // A stream has no query to continue a query-credential operation with: such an
            // operation is taken over by a status request that carries it (`doc::status`).
            let _ = facade.take_over(&id, &headers, None, &record).await;
            probe_at = now + facade.lease;
        }
        if now >= quiet_until {
            if tx
                .send(Bytes::from_static(b": heartbeat\n\n"))
                .await
                .is_err()
            {
                return;
            }
            quiet_until = now + HEARTBEAT;
        }
        // This process's own operation is read when it is written (the tick is a safety net);
        // another instance's, every tick.
        let every = if facade.runs(&id, false) {
            HEARTBEAT
        } else {
            tick
        };
        let wake = (now + every).min(until).min(quiet_until).min(probe_at);
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep_until(wake) => {}
            () = tx.closed() => return,
        }
    }
}

/// The body of an event stream: what the feeding task sends. It holds its stream's place
/// under `--max-operations` until it ends or the client goes away (the body is dropped).
pub struct EventBody {
    rx: mpsc::Receiver<Bytes>,
    _slot: OwnedSemaphorePermit,
}

impl Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.get_mut()
            .rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_stream_is_asked_for_by_accept() {
        let mut h = HeaderMap::new();
        assert!(!wanted(&h));
        h.insert(
            "accept",
            HeaderValue::from_static("application/json, text/event-stream;q=0.9"),
        );
        assert!(wanted(&h));
    }
}
