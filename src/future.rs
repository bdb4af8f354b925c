//! [`ResponseFuture`]: a small pass-through state, and the boxed driver of a real LRO.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::body::LroBody;
use crate::driver::{Call, Driver, Resume, Settings};
use crate::options::LroOptions;
use crate::proto::{classify, Classify, RequestHead};
use crate::resume::ResumeHandle;

type BoxError = tower::BoxError;

pin_project! {
    /// Response future of [`LroService`](crate::LroService).
    ///
    /// Until the submission's answer head arrives it is a thin wrapper over the inner future;
    /// an answer that is not an LRO is returned at once, untouched. Only an LRO moves the work
    /// into one boxed driver that polls.
    pub struct ResponseFuture<S, ReqB, ResB>
    where
        S: Service<Request<ReqB>>,
    {
        #[pin]
        state: State<S, ReqB, ResB>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqB, ResB>
    where
        S: Service<Request<ReqB>>,
    {
        // The submission (or a request the layer leaves alone, with no call kept) is in flight.
        Called {
            #[pin]
            future: S::Future,
            call: Option<Call<S>>,
        },
        // A resume handle: no submission is sent.
        Resuming {
            args: Option<Resume<S>>,
        },
        Resolving {
            driver: Pin<Box<Driver<S, ReqB, ResB>>>,
        },
        Done,
    }
}

impl<S, ReqB, ResB> std::fmt::Debug for ResponseFuture<S, ReqB, ResB>
where
    S: Service<Request<ReqB>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Called { call: None, .. } => "PassThrough",
            State::Called { .. } => "Submitted",
            State::Resuming { .. } => "Resuming",
            State::Resolving { .. } => "Resolving",
            State::Done => "Done",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

impl<S, ReqB, ResB> ResponseFuture<S, ReqB, ResB>
where
    S: Service<Request<ReqB>>,
{
    pub(crate) fn pass_through(future: S::Future) -> Self {
        Self {
            state: State::Called { future, call: None },
        }
    }

    pub(crate) fn submitted(
        future: S::Future,
        service: S,
        settings: Arc<Settings>,
        head: RequestHead,
        options: Option<LroOptions>,
    ) -> Self {
        let call = Call {
            service,
            settings,
            head,
            options,
        };
        Self {
            state: State::Called {
                future,
                call: Some(call),
            },
        }
    }

    pub(crate) fn resume(
        service: S,
        settings: Arc<Settings>,
        handle: ResumeHandle,
        head: RequestHead,
        options: Option<LroOptions>,
    ) -> Self {
        let args = Resume {
            service,
            settings,
            handle,
            head,
            options,
        };
        Self {
            state: State::Resuming { args: Some(args) },
        }
    }
}

impl<S, ReqB, ResB> Future for ResponseFuture<S, ReqB, ResB>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    S::Error: Into<BoxError>,
    ReqB: Default + 'static,
    ResB: Body,
    ResB::Data: From<bytes::Bytes>,
    ResB::Error: Into<BoxError>,
{
    type Output = Result<Response<LroBody<ResB>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Called { future, call } => {
                    let response = match ready!(future.poll(cx)) {
                        Ok(response) => response,
                        Err(e) => {
                            this.state.set(State::Done);
                            return Poll::Ready(Err(e.into()));
                        }
                    };
                    let inspect = call.as_ref().is_some_and(|c| {
                        let (status, headers) = (response.status(), response.headers());
                        classify(
                            &c.settings.config,
                            c.settings.dialect(c.options.as_ref()),
                            &c.head.method,
                            status,
                            headers,
                        ) == Classify::Inspect
                    });
                    if !inspect {
                        this.state.set(State::Done);
                        return Poll::Ready(Ok(response.map(LroBody::stream)));
                    }
                    let call = call.take().expect("checked above");
                    let driver = Box::pin(Driver::inspect(call, response));
                    this.state.set(State::Resolving { driver });
                }
                StateProj::Resuming { args } => {
                    let args = args.take().expect("resume args are taken once");
                    let driver = Box::pin(Driver::resume(args));
                    this.state.set(State::Resolving { driver });
                }
                StateProj::Resolving { driver } => {
                    let out = ready!(driver.as_mut().poll(cx));
                    this.state.set(State::Done);
                    return Poll::Ready(out);
                }
                StateProj::Done => panic!("ResponseFuture polled after completion"),
            }
        }
    }
}
