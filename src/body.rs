//! The response body the layer returns: the inner body untouched, or one the layer had to read.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// Body of every response from [`LroService`](crate::LroService).
    ///
    /// Pass-through responses and fetched resources stream the inner body as it comes. A status
    /// response the layer had to read (a terminal status document, a `PUT` answer inspected for
    /// `provisioningState`) is replayed from memory.
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

    /// Whether the body was read by the layer and is replayed from memory.
    pub fn is_buffered(&self) -> bool {
        !matches!(self.kind, Kind::Stream { .. })
    }
}

impl<B> std::fmt::Debug for LroBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Stream { .. } => "Stream",
            Kind::Buffered { .. } => "Buffered",
            Kind::Prefixed { .. } => "Prefixed",
        };
        f.debug_struct("LroBody").field("kind", &kind).finish()
    }
}

impl<B> Body for LroBody<B>
where
    B: Body,
    B::Data: From<Bytes>,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Stream { inner } => inner.poll_frame(cx),
            KindProj::Buffered { data } => {
                Poll::Ready(data.take().map(|d| Ok(Frame::data(d.into()))))
            }
            KindProj::Prefixed { head, rest } => match head.take() {
                Some(d) => Poll::Ready(Some(Ok(Frame::data(d.into())))),
                None => rest.as_mut().poll_frame(cx),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Stream { inner } => inner.is_end_stream(),
            Kind::Buffered { data } => data.is_none(),
            Kind::Prefixed { head, rest } => head.is_none() && rest.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Stream { inner } => inner.size_hint(),
            Kind::Buffered { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Kind::Prefixed { head, rest } => {
                let extra = head.as_ref().map_or(0, |d| d.len() as u64);
                let inner = rest.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(inner.lower() + extra);
                if let Some(upper) = inner.upper() {
                    hint.set_upper(upper + extra);
                }
                hint
            }
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
