//! Reads a body to its end under a size limit, keeping what was read if it runs over.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
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

/// A future that reads `body` to the end, or until it is known to exceed `limit`.
pub(crate) struct ReadLimited<B> {
    body: Option<Pin<Box<B>>>,
    // The first chunk, kept as it came: most status bodies arrive in one frame, zero-copy.
    first: Option<Bytes>,
    buf: BytesMut,
    read: usize,
    limit: usize,
}

impl<B: Body> ReadLimited<B> {
    pub(crate) fn new(body: B, limit: usize) -> Self {
        Self {
            body: Some(Box::pin(body)),
            first: None,
            buf: BytesMut::new(),
            read: 0,
            limit,
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
        loop {
            let body = this
                .body
                .as_mut()
                .expect("ReadLimited polled after completion");
            if this.read == 0 && body.size_hint().lower() > this.limit as u64 {
                let rest = this.body.take().expect("present");
                return Poll::Ready(ReadOutcome::TooLarge {
                    head: Bytes::new(),
                    rest,
                });
            }
            match ready!(body.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let Ok(mut data) = frame.into_data() else {
                        continue;
                    };
                    let len = data.remaining();
                    if len == 0 {
                        continue;
                    }
                    let chunk = data.copy_to_bytes(len);
                    this.read = this.read.saturating_add(len);
                    match this.first.take() {
                        None if this.buf.is_empty() => this.first = Some(chunk),
                        first => {
                            if let Some(first) = first {
                                this.buf.extend_from_slice(&first);
                            }
                            this.buf.extend_from_slice(&chunk);
                        }
                    }
                    if this.read > this.limit {
                        let rest = this.body.take().expect("present");
                        return Poll::Ready(ReadOutcome::TooLarge {
                            head: this.take(),
                            rest,
                        });
                    }
                }
                Some(Err(e)) => {
                    this.body = None;
                    return Poll::Ready(ReadOutcome::Failed(e.into()));
                }
                None => {
                    this.body = None;
                    return Poll::Ready(ReadOutcome::Complete(this.take()));
                }
            }
        }
    }
}

impl<B> ReadLimited<B> {
    /// What was read so far, as one `Bytes`.
    fn take(&mut self) -> Bytes {
        match self.first.take() {
            Some(first) => first,
            None => std::mem::take(&mut self.buf).freeze(),
        }
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
