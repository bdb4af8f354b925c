//! The response body the layer returns: the inner body untouched, or one the layer had to read.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use crate::error::{Error, Reason};

type BoxError = tower::BoxError;

pin_project! {
    /// Body of every response from [`LroService`](crate::LroService).
    ///
    /// Pass-through responses stream the inner body as it comes, with no timer. A status
    /// response the layer had to read (a terminal status document, a `PUT` answer inspected for
    /// `provisioningState`) is replayed from memory.
    ///
    /// The final body of a resolved operation that still streams (a fetched resource, an answer
    /// too large to read whole) is bounded by the operation's deadline: when the deadline passes
    /// before the body ends, the body yields an [`Error`](crate::Error) of kind
    /// [`Timeout`](crate::ErrorKind::Timeout) whose [`url`](crate::Error::url) is the URL the
    /// body comes from, and then ends. [`LroLayer::bound_final_body`](crate::LroLayer::bound_final_body)
    /// and [`LroOptions::bound_final_body`](crate::LroOptions::bound_final_body) turn this off.
    /// Errors of the inner body are passed on, boxed.
    pub struct LroBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Stream { #[pin] inner: B },
        Buffered { data: Option<Bytes> },
        Prefixed { head: Option<Bytes>, rest: Pin<Box<B>> },
        // A delivered final body that streams, cut at the operation's deadline. Boxed: the
        // timer exists only for such bodies, and every other body stays as small as it was.
        Bounded { state: Pin<Box<Bounded<B>>> },
    }
}

pin_project! {
    /// A streaming final body and its deadline.
    struct Bounded<B> {
        #[pin]
        timer: Sleep,
        // Where the body comes from, for the error.
        url: Box<str>,
        #[pin]
        body: Rest<B>,
    }
}

pin_project! {
    #[project = RestProj]
    enum Rest<B> {
        Whole { #[pin] inner: B },
        Prefixed { head: Option<Bytes>, rest: Pin<Box<B>> },
    }
}

impl<B> LroBody<B> {
    pub(crate) fn stream(inner: B) -> Self {
        Self {
            kind: Kind::Stream { inner },
        }
    }

    pub(crate) fn buffered(data: Bytes) -> Self {
        let data = (!data.is_empty()).then_some(data);
        Self {
            kind: Kind::Buffered { data },
        }
    }

    pub(crate) fn prefixed(head: Bytes, rest: Pin<Box<B>>) -> Self {
        let head = (!head.is_empty()).then_some(head);
        Self {
            kind: Kind::Prefixed { head, rest },
        }
    }

    /// The same body, cut at `deadline` if it still streams (a buffered body has nothing left
    /// to wait for and gets no timer). `url` names where it comes from, for the error.
    pub(crate) fn bounded(self, deadline: Instant, url: &str) -> Self {
        let body = match self.kind {
            Kind::Stream { inner } => Rest::Whole { inner },
            Kind::Prefixed { head, rest } => Rest::Prefixed { head, rest },
            other => return Self { kind: other },
        };
        let state = Box::pin(Bounded {
            timer: tokio::time::sleep_until(deadline),
            url: url.into(),
            body,
        });
        Self {
            kind: Kind::Bounded { state },
        }
    }

    /// Whether the body was read by the layer and is replayed from memory.
    pub fn is_buffered(&self) -> bool {
        !matches!(self.kind, Kind::Stream { .. } | Kind::Bounded { .. })
    }

    /// The whole body, when it is replayed from memory and not yet read.
    pub(crate) fn whole(&self) -> Option<&Bytes> {
        match &self.kind {
            Kind::Buffered { data } => data.as_ref(),
            _ => None,
        }
    }
}

impl<B> std::fmt::Debug for LroBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Stream { .. } => "Stream",
            Kind::Buffered { .. } => "Buffered",
            Kind::Prefixed { .. } => "Prefixed",
            Kind::Bounded { .. } => "Bounded",
        };
        f.debug_struct("LroBody").field("kind", &kind).finish()
    }
}

type PollFrame<D> = Poll<Option<Result<Frame<D>, BoxError>>>;

/// A frame of an inner body, its error boxed.
fn boxed<D, E: Into<BoxError>>(p: Poll<Option<Result<Frame<D>, E>>>) -> PollFrame<D> {
    p.map(|frame| frame.map(|f| f.map_err(Into::into)))
}

impl<B> Bounded<B>
where
    B: Body,
    B::Data: From<Bytes>,
    B::Error: Into<BoxError>,
{
    /// The next frame; `Err` with the timeout error once the deadline has passed with the body
    /// pending.
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Result<PollFrame<B::Data>, BoxError> {
        let this = self.project();
        let polled = match this.body.project() {
            RestProj::Whole { inner } => inner.poll_frame(cx),
            RestProj::Prefixed { head, rest } => match head.take() {
                Some(d) => return Ok(Poll::Ready(Some(Ok(Frame::data(d.into()))))),
                None => rest.as_mut().poll_frame(cx),
            },
        };
        if polled.is_ready() || this.timer.poll(cx).is_pending() {
            return Ok(boxed(polled));
        }
        let url = std::mem::take(this.url).into_string();
        Err(Error::new(Some(url), Reason::FinalBodyTimeout).into())
    }

    fn is_end_stream(&self) -> bool {
        match &self.body {
            Rest::Whole { inner } => inner.is_end_stream(),
            Rest::Prefixed { head, rest } => head.is_none() && rest.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.body {
            Rest::Whole { inner } => inner.size_hint(),
            Rest::Prefixed { head, rest } => prefixed_hint(head.as_ref(), rest.size_hint()),
        }
    }
}

/// The size of what was read, then the rest.
fn prefixed_hint(head: Option<&Bytes>, rest: SizeHint) -> SizeHint {
    let extra = head.map_or(0, |d| d.len() as u64);
    let mut hint = SizeHint::new();
    hint.set_lower(rest.lower() + extra);
    if let Some(upper) = rest.upper() {
        hint.set_upper(upper + extra);
    }
    hint
}

impl<B> Body for LroBody<B>
where
    B: Body,
    B::Data: From<Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> PollFrame<Self::Data> {
        let mut kind = self.project().kind;
        let cut = match kind.as_mut().project() {
            KindProj::Stream { inner } => return boxed(inner.poll_frame(cx)),
            KindProj::Buffered { data } => {
                return Poll::Ready(data.take().map(|d| Ok(Frame::data(d.into()))))
            }
            KindProj::Prefixed { head, rest } => match head.take() {
                Some(d) => return Poll::Ready(Some(Ok(Frame::data(d.into())))),
                None => return boxed(rest.as_mut().poll_frame(cx)),
            },
            KindProj::Bounded { state } => match state.as_mut().poll_frame(cx) {
                Ok(polled) => return polled,
                Err(timeout) => timeout,
            },
        };
        // Cut: the inner body is dropped (its connection closes) and the body ends.
        kind.set(Kind::Buffered { data: None });
        Poll::Ready(Some(Err(cut)))
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Stream { inner } => inner.is_end_stream(),
            Kind::Buffered { data } => data.is_none(),
            Kind::Prefixed { head, rest } => head.is_none() && rest.is_end_stream(),
            Kind::Bounded { state } => state.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Stream { inner } => inner.size_hint(),
            Kind::Buffered { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Kind::Prefixed { head, rest } => prefixed_hint(head.as_ref(), rest.size_hint()),
            Kind::Bounded { state } => state.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};

    #[tokio::test]
    async fn variants_replay_their_bytes() {
        let s = LroBody::stream(Full::new(Bytes::from_static(b"abc")));
        assert!(!s.is_buffered());
        assert_eq!(s.collect().await.unwrap().to_bytes(), "abc");
        let b: LroBody<Full<Bytes>> = LroBody::buffered(Bytes::from_static(b"xyz"));
        assert_eq!(b.size_hint().exact(), Some(3));
        assert_eq!(b.collect().await.unwrap().to_bytes(), "xyz");
        let e: LroBody<Full<Bytes>> = LroBody::buffered(Bytes::new());
        assert!(e.is_end_stream());
        let p = LroBody::prefixed(
            Bytes::from_static(b"12"),
            Box::pin(Full::new(Bytes::from_static(b"345"))),
        );
        assert_eq!(p.size_hint().exact(), Some(5));
        assert_eq!(p.collect().await.unwrap().to_bytes(), "12345");
    }
}
