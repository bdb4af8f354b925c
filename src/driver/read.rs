//! Reads a body to its end under a size limit, keeping what was read if it runs over.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body::Body;

/// What reading a body under a limit came to.
pub(crate) enum ReadOutcome<B> {
    /// The whole body, within the limit.
    Complete(Bytes),
    /// The body runs over the limit: what was read so far (including the frame that crossed
    /// the limit) and the unread rest.
    TooLarge { head: Bytes, rest: Pin<Box<B>> },
    /// The body failed mid-way.
    Failed(tower::BoxError),
}

impl<B> ReadOutcome<B> {
    /// The whole body, when it was read within the limit: what the core is handed.
    pub(crate) fn complete(&self) -> Option<&Bytes> {
        match self {
            ReadOutcome::Complete(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The body to hand back when the answer turned out final as it is: what was read, then
    /// the unread rest.
    pub(crate) fn into_body(self) -> Result<crate::LroBody<B>, tower::BoxError> {
        match self {
            ReadOutcome::Complete(bytes) => Ok(crate::LroBody::buffered(bytes)),
            ReadOutcome::TooLarge { head, rest } => Ok(crate::LroBody::prefixed(head, rest)),
            ReadOutcome::Failed(e) => Err(e),
        }
    }
}

/// What was read so far of a body, under a limit.
struct Acc {
    // The first chunk, kept as it came: most status bodies arrive in one frame, zero-copy.
    first: Option<Bytes>,
    buf: BytesMut,
    read: usize,
    limit: usize,
}

/// Where a read ended: the body itself stays with the caller.
enum Ended {
    Complete(Bytes),
    TooLarge(Bytes),
    Failed(tower::BoxError),
}

impl Acc {
    fn new(limit: usize) -> Self {
        Self {
            first: None,
            buf: BytesMut::new(),
            read: 0,
            limit,
        }
    }

    /// Reads `body` until it ends, fails, or is known to exceed the limit.
    fn poll_body<B>(&mut self, mut body: Pin<&mut B>, cx: &mut Context<'_>) -> Poll<Ended>
    where
        B: Body,
        B::Error: Into<tower::BoxError>,
    {
        loop {
            if self.read == 0 && body.size_hint().lower() > self.limit as u64 {
                return Poll::Ready(Ended::TooLarge(Bytes::new()));
            }
            match ready!(body.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    let len = data.remaining();
                    if len == 0 {
                        continue;
                    }
                    self.read = self.read.saturating_add(len);
                    self.push(data, len);
                    if self.read > self.limit {
                        return Poll::Ready(Ended::TooLarge(self.take()));
                    }
                    // A body that says it has ended has no frame left (a `Content-Length` body
                    // usually says so with its last data): no poll for the end.
                    if body.is_end_stream() {
                        return Poll::Ready(Ended::Complete(self.take()));
                    }
                }
                Some(Err(e)) => return Poll::Ready(Ended::Failed(e.into())),
                None => return Poll::Ready(Ended::Complete(self.take())),
            }
        }
    }

    /// Appends a chunk of `len` bytes: the first is kept as it came (zero-copy); later ones are
    /// copied slice by slice into one buffer that grows geometrically, with no handle made per
    /// chunk (a body of a million one-byte chunks costs no allocation or reference count per
    /// chunk).
    fn push<D: Buf>(&mut self, mut data: D, len: usize) {
        if self.first.is_none() && self.buf.is_empty() {
            self.first = Some(data.copy_to_bytes(len));
            return;
        }
        if let Some(first) = self.first.take() {
            self.buf.reserve(first.len().saturating_add(len).max(64));
            self.buf.extend_from_slice(&first);
        }
        // One contiguous slice (a `Bytes` always is): one copy, no cursor to advance.
        match data.chunk() {
            chunk if chunk.len() == len => self.buf.extend_from_slice(chunk),
            _ => self.buf.put(data),
        }
    }

    /// What was read so far, as one `Bytes`.
    fn take(&mut self) -> Bytes {
        match self.first.take() {
            Some(first) => first,
            None => std::mem::take(&mut self.buf).freeze(),
        }
    }
}

/// A future that reads `body` to the end, or until it is known to exceed `limit`; the unread
/// rest of a body over the limit is handed back (a submission's answer that turns out final).
pub(crate) struct ReadLimited<B> {
    body: Option<Pin<Box<B>>>,
    acc: Acc,
}

impl<B: Body> ReadLimited<B> {
    pub(crate) fn new(body: B, limit: usize) -> Self {
        Self {
            body: Some(Box::pin(body)),
            acc: Acc::new(limit),
        }
    }
}

impl<B> Future for ReadLimited<B>
where
    B: Body,
    B::Error: Into<tower::BoxError>,
{
    type Output = ReadOutcome<B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let body = this
            .body
            .as_mut()
            .expect("ReadLimited polled after completion");
        let ended = ready!(this.acc.poll_body(body.as_mut(), cx));
        let body = this.body.take().expect("present");
        Poll::Ready(match ended {
            Ended::Complete(bytes) => ReadOutcome::Complete(bytes),
            Ended::TooLarge(head) => ReadOutcome::TooLarge { head, rest: body },
            Ended::Failed(e) => ReadOutcome::Failed(e),
        })
    }
}

/// What reading a status answer's body came to (the rest of a body over the limit is not
/// needed: that answer fails the operation).
pub(crate) enum StatusRead {
    Complete(Bytes),
    TooLarge,
    Failed(tower::BoxError),
}

pin_project_lite::pin_project! {
    /// A status answer being read: its head and its body in one block (one allocation per
    /// read, and the driver's step stays sized for waiting rather than reading).
    pub(crate) struct StatusBodyRead<B> {
        parts: Option<http::response::Parts>,
        #[pin]
        body: B,
        acc: Acc,
    }
}

impl<B> StatusBodyRead<B> {
    pub(crate) fn new(parts: http::response::Parts, body: B, limit: usize) -> Pin<Box<Self>> {
        Box::pin(Self {
            parts: Some(parts),
            body,
            acc: Acc::new(limit),
        })
    }

    /// The answer's head, taken once the read is over.
    pub(crate) fn take_parts(self: Pin<&mut Self>) -> Option<http::response::Parts> {
        self.project().parts.take()
    }
}

impl<B> StatusBodyRead<B>
where
    B: Body,
    B::Error: Into<tower::BoxError>,
{
    /// Reads the body to its end (or its failure, or past the limit).
    pub(crate) fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<StatusRead> {
        let this = self.project();
        Poll::Ready(match ready!(this.acc.poll_body(this.body, cx)) {
            Ended::Complete(bytes) => StatusRead::Complete(bytes),
            Ended::TooLarge(_) => StatusRead::TooLarge,
            Ended::Failed(e) => StatusRead::Failed(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full, StreamBody};

    #[tokio::test]
    async fn within_and_over_the_limit() {
        match ReadLimited::new(Full::new(Bytes::from_static(b"hello")), 5).await {
            ReadOutcome::Complete(b) => assert_eq!(b, "hello"),
            _ => panic!("expected complete"),
        }
        // Full's exact size hint lets the reader refuse without reading.
        match ReadLimited::new(Full::new(Bytes::from_static(b"hello!")), 5).await {
            ReadOutcome::TooLarge { head, rest } => {
                assert!(head.is_empty());
                assert_eq!(rest.collect().await.unwrap().to_bytes(), "hello!");
            }
            _ => panic!("expected too large"),
        }
        let frames = vec![
            Ok::<_, std::io::Error>(http_body::Frame::data(Bytes::from_static(b"abc"))),
            Ok(http_body::Frame::data(Bytes::from_static(b"def"))),
            Ok(http_body::Frame::data(Bytes::from_static(b"ghi"))),
        ];
        let body = StreamBody::new(futures_util_stream(frames));
        match ReadLimited::new(body, 4).await {
            ReadOutcome::TooLarge { head, rest } => {
                assert_eq!(head, "abcdef");
                assert_eq!(rest.collect().await.unwrap().to_bytes(), "ghi");
            }
            _ => panic!("expected too large"),
        }
    }

    #[tokio::test]
    async fn body_errors_are_reported() {
        let frames = vec![
            Ok(http_body::Frame::data(Bytes::from_static(b"abc"))),
            Err(std::io::Error::other("reset")),
        ];
        let body = StreamBody::new(futures_util_stream(frames));
        assert!(matches!(
            ReadLimited::new(body, 100).await,
            ReadOutcome::Failed(_)
        ));
    }

    /// A body that says it has ended after its data is complete at once: the end is not polled
    /// for (this one would never say it).
    #[test]
    fn a_body_that_says_it_ended_is_not_polled_again() {
        struct Once(Option<Bytes>);
        impl Body for Once {
            type Data = Bytes;
            type Error = std::io::Error;
            fn poll_frame(
                mut self: Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
                match self.0.take() {
                    Some(data) => Poll::Ready(Some(Ok(http_body::Frame::data(data)))),
                    None => Poll::Pending,
                }
            }
            fn is_end_stream(&self) -> bool {
                self.0.is_none()
            }
        }
        let mut read = ReadLimited::new(Once(Some(Bytes::from_static(b"{}"))), 10);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match Pin::new(&mut read).poll(&mut cx) {
            Poll::Ready(ReadOutcome::Complete(b)) => assert_eq!(b, "{}"),
            _ => panic!("expected the whole body at once"),
        }
    }

    fn futures_util_stream<T: Unpin>(items: Vec<T>) -> impl futures_core::Stream<Item = T> + Unpin {
        struct Iter<T>(std::vec::IntoIter<T>);
        impl<T: Unpin> futures_core::Stream for Iter<T> {
            type Item = T;
            fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
                Poll::Ready(self.0.next())
            }
        }
        Iter(items.into_iter())
    }
}
