//! [`ResponseFuture`]: a small pass-through state, and the driver of a real LRO in the same space.

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
    /// an answer that is not an LRO is returned at once, untouched. Only an LRO starts the
    /// driver that polls, in the space the submission's call leaves (an operation that waits
    /// holds no block of its own for the driver, and the call, which keeps of the submission's
    /// headers only those polls carry, adds nothing to it unless the inner service's future is
    /// large and unboxed). It is not `Unpin`: pin it to poll it by hand.
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
    // A tag of its own (8 bytes with the padding): with the tag in the driver's niches the
    // compiler built a call's state on the stack and copied it out, one `memcpy` of the whole
    // future more per call, pass-through included.
    #[repr(u8)]
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
        // A resume handle: no submission is sent (boxed: rare, and larger than a call).
        Resuming {
            args: Option<Box<Resume<S>>>,
        },
        Resolving {
            #[pin]
            driver: Driver<S, ReqB, ResB>,
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
            state: State::Resuming {
                args: Some(Box::new(args)),
            },
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
                    start(this.state.as_mut(), || Driver::inspect(call, response));
                }
                StateProj::Resuming { args } => {
                    let args = args.take().expect("resume args are taken once");
                    start(this.state.as_mut(), || Driver::resume(*args));
                }
                StateProj::Resolving { driver } => {
                    let out = ready!(driver.poll(cx));
                    this.state.set(State::Done);
                    return Poll::Ready(out);
                }
                StateProj::Done => panic!("ResponseFuture polled after completion"),
            }
        }
    }
}

/// Starts the driver in the state's space. Out of line: building a driver takes a large stack
/// frame, which the pass-through path (polled twice a request) would otherwise set up and save
/// registers for on every poll.
#[inline(never)]
fn start<S, ReqB, ResB>(
    mut state: Pin<&mut State<S, ReqB, ResB>>,
    driver: impl FnOnce() -> Driver<S, ReqB, ResB>,
) where
    S: Service<Request<ReqB>>,
{
    state.set(State::Resolving { driver: driver() });
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::future::Future;
    use std::mem::size_of;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use http::{Request, Response};
    use tower_service::Service;

    use super::ResponseFuture;
    use crate::driver::{Call, Driver};

    /// The sizes of the driver, the call (the service's future and what the call keeps) and the
    /// response future. The future is an enum of the two: the larger and its tag.
    fn sizes<S, ReqB, ResB>() -> (usize, usize, usize)
    where
        S: Service<Request<ReqB>>,
    {
        let called = size_of::<S::Future>() + size_of::<Option<Call<S>>>();
        let driver = size_of::<Driver<S, ReqB, ResB>>();
        let future = size_of::<ResponseFuture<S, ReqB, ResB>>();
        (driver, called, future)
    }

    /// A service whose future is large and unboxed.
    #[derive(Clone)]
    struct Large;

    struct LargeFuture([u8; 512]);

    impl Future for LargeFuture {
        type Output = Result<Response<String>, Infallible>;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
            Poll::Ready(Ok(Response::new(self.0.len().to_string())))
        }
    }

    impl Service<Request<String>> for Large {
        type Response = Response<String>;
        type Error = Infallible;
        type Future = LargeFuture;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: Request<String>) -> LargeFuture {
            LargeFuture([0; 512])
        }
    }

    #[test]
    fn the_driver_takes_the_space_of_the_call() {
        type Client = hyper_util::client::legacy::Client<
            hyper_util::client::legacy::connect::HttpConnector,
            String,
        >;
        let client = sizes::<Client, String, hyper::body::Incoming>();
        let large = sizes::<Large, String, String>();
        let mock =
            sizes::<tower_test::mock::Mock<Request<String>, Response<String>>, String, String>();
        println!("driver / call / future: client {client:?}, large {large:?}, mock {mock:?}");
        // What a future takes must not grow, for each kind of service: with hyper-util's client
        // 392 B; with a service whose future is large and unboxed, that future and what the call
        // keeps (the driver, which holds one such future at a time, is no larger); with
        // tower-test's mock, the driver. The `tracing` feature's span adds 40 B to the driver.
        // (The budgets without it were 8 B short, unseen while CI built with every feature.)
        for (name, (_, _, future), plain, traced) in [
            ("client", client, 392, 432),
            ("large", large, 712, 712),
            ("mock", mock, 312, 352),
        ] {
            let budget = if cfg!(feature = "tracing") {
                traced
            } else {
                plain
            };
            assert!(future <= budget, "{name}: future {future} B > {budget} B");
        }
        // With hyper-util's client the call is the smaller: the pass-through state adds nothing
        // to an operation that waits.
        assert!(
            client.1 <= client.0,
            "call {} B > driver {} B",
            client.1,
            client.0
        );
    }
}
