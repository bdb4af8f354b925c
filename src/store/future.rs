//! [`StoreResponseFuture`]: the layer's own future for a request without a key, one boxed
//! future for a keyed call.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::future::ResponseFuture;
use crate::LroBody;

type BoxError = tower::BoxError;
pub(super) type Output<ResB> = Result<Response<LroBody<ResB>>, BoxError>;
pub(super) type Keyed<ResB> = Pin<Box<dyn Future<Output = Output<ResB>> + Send>>;

pin_project! {
    /// Response future of [`StoreService`](super::StoreService).
    ///
    /// A request without an idempotency key goes through [`LroService`](crate::LroService)'s
    /// own [`ResponseFuture`], unboxed: a pass-through answer costs what it costs without a
    /// store. A keyed call, which consults the store, is one boxed future.
    pub struct StoreResponseFuture<S, ReqB, ResB>
    where
        S: Service<Request<ReqB>>,
    {
        #[pin]
        kind: Kind<S, ReqB, ResB>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, ReqB, ResB>
    where
        S: Service<Request<ReqB>>,
    {
        Plain {
            #[pin]
            future: ResponseFuture<S, ReqB, ResB>,
        },
        Keyed {
            future: Keyed<ResB>,
        },
    }
}

impl<S, ReqB, ResB> StoreResponseFuture<S, ReqB, ResB>
where
    S: Service<Request<ReqB>>,
{
    pub(super) fn plain(future: ResponseFuture<S, ReqB, ResB>) -> Self {
        Self {
            kind: Kind::Plain { future },
        }
    }

    pub(super) fn keyed(future: Keyed<ResB>) -> Self {
        Self {
            kind: Kind::Keyed { future },
        }
    }
}

impl<S, ReqB, ResB> std::fmt::Debug for StoreResponseFuture<S, ReqB, ResB>
where
    S: Service<Request<ReqB>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Plain { future } => f
                .debug_tuple("StoreResponseFuture::Plain")
                .field(future)
                .finish(),
            Kind::Keyed { .. } => f.write_str("StoreResponseFuture::Keyed"),
        }
    }
}

impl<S, ReqB, ResB> Future for StoreResponseFuture<S, ReqB, ResB>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    S::Error: Into<BoxError>,
    ReqB: Default + 'static,
    ResB: Body,
    ResB::Data: From<bytes::Bytes>,
    ResB::Error: Into<BoxError>,
{
    type Output = Output<ResB>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Plain { future } => future.poll(cx),
            KindProj::Keyed { future } => future.as_mut().poll(cx),
        }
    }
}
