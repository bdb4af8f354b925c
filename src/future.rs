//! The response future: a small pass-through state, and the boxed driver of a real LRO.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::response::Parts;
use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower_service::Service;

use crate::body::LroBody;
use crate::layer::Settings;
use crate::metadata::LroMetadata;
use crate::options::LroOptions;
use crate::proto::{
    classify, resolution_deadline, submission_body_timeout, Action, Begin, BodyError, Classify,
    Machine, PollRequest, RequestHead,
};
use crate::read::{ReadLimited, ReadOutcome};
use crate::resume::ResumeHandle;
use crate::time::clock;
use crate::trace::Trace;

type BoxError = tower::BoxError;

pin_project! {
    /// Response future of [`LroService`](crate::LroService).
    ///
    /// Until the submission's response head arrives it is a thin wrapper over the inner
    /// future; a response that is not an LRO is returned at once, untouched. Only an LRO moves
    /// the work into one boxed driver that polls.
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
        Called {
            #[pin]
            future: S::Future,
            ctx: Option<Submission<S>>,
        },
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
            State::Called { ctx: None, .. } => "PassThrough",
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

/// A submission whose answer's head has arrived; the machine starts from that instant.
struct Answered {
    head: RequestHead,
    options: LroOptions,
    at: std::time::Instant,
    wall: std::time::SystemTime,
}

/// What a call keeps to poll later: the one copy the pass-through path pays for.
struct Submission<S> {
    service: S,
    settings: Arc<Settings>,
    head: RequestHead,
    options: Option<LroOptions>,
}

struct Resume<S> {
    service: S,
    settings: Arc<Settings>,
    handle: ResumeHandle,
    head: RequestHead,
    options: LroOptions,
}

impl<S, ReqB, ResB> ResponseFuture<S, ReqB, ResB>
where
    S: Service<Request<ReqB>>,
{
    pub(crate) fn pass_through(future: S::Future) -> Self {
        Self {
            state: State::Called { future, ctx: None },
        }
    }

    pub(crate) fn submitted(
        future: S::Future,
        service: S,
        settings: Arc<Settings>,
        head: RequestHead,
        options: Option<LroOptions>,
    ) -> Self {
        let ctx = Submission {
            service,
            settings,
            head,
            options,
        };
        Self {
            state: State::Called {
                future,
                ctx: Some(ctx),
            },
        }
    }

    pub(crate) fn resume(
        service: S,
        settings: Arc<Settings>,
        handle: ResumeHandle,
        head: RequestHead,
        options: LroOptions,
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
    ReqB: Default,
    ResB: Body,
    ResB::Data: From<bytes::Bytes>,
    ResB::Error: Into<BoxError>,
{
    type Output = Result<Response<LroBody<ResB>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Called { future, ctx } => {
                    let response = match ready!(future.poll(cx)) {
                        Ok(response) => response,
                        Err(e) => {
                            this.state.set(State::Done);
                            return Poll::Ready(Err(e.into()));
                        }
                    };
                    let inspect = ctx.as_ref().is_some_and(|c| {
                        classify(
                            &c.settings.config,
                            &c.head.method,
                            response.status(),
                            response.headers(),
                        ) == Classify::Inspect
                    });
                    if !inspect {
                        this.state.set(State::Done);
                        return Poll::Ready(Ok(response.map(LroBody::stream)));
                    }
                    let ctx = ctx.take().expect("checked above");
                    let driver = Driver::inspect(ctx, response);
                    this.state.set(State::Resolving {
                        driver: Box::pin(driver),
                    });
                }
                StateProj::Resuming { args } => {
                    let args = args.take().expect("resume args are taken once");
                    let driver = Driver::resume(args);
                    this.state.set(State::Resolving {
                        driver: Box::pin(driver),
                    });
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

pin_project! {
    /// Drives one LRO: performs the I/O and timers the protocol core asks for.
    struct Driver<S, ReqB, ResB>
    where
        S: Service<Request<ReqB>>,
    {
        service: S,
        settings: Arc<Settings>,
        machine: Option<Box<Machine>>,
        // Boxed: needed only until the submission's answer is read, and large.
        start: Option<Box<Answered>>,
        trace: Trace,
        // A status answer (or the submission) was just read: tell the progress hook and trace.
        report: bool,
        // The one timer: the wait before a poll, else the deadline of what is in flight.
        #[pin]
        timer: Sleep,
        #[pin]
        step: Step<S, ReqB, ResB>,
    }
}

pin_project! {
    #[project = StepProj]
    enum Step<S, ReqB, ResB>
    where
        S: Service<Request<ReqB>>,
    {
        // Reading the submission's body to decide.
        Inspect { parts: Option<Parts>, read: ReadLimited<ResB> },
        // Waiting for the timer to send a request.
        Wait { request: Option<PollRequest> },
        // Waiting for the service to be ready for that request.
        Ready { request: Option<PollRequest> },
        // A poll or resource request in flight.
        Call { #[pin] future: S::Future },
        // Reading a status response's body.
        Read { parts: Option<Parts>, read: ReadLimited<ResB> },
        // Failed before the first poll.
        Failed { error: Option<BoxError> },
        Done,
    }
}

/// What an arm of the driver loop decided, once its borrows have ended.
enum Next<F, ResB> {
    Act(Action),
    Send(PollRequest),
    Call(F),
    Read(Parts, ResB),
    // The operation's final response, delivered after the last progress report.
    Deliver(Parts, LroBody<ResB>, LroMetadata),
    Return(Result<Response<LroBody<ResB>>, BoxError>),
}

/// A request that failed before any answer: the core decides on a retry.
fn failed_attempt<F, B>(machine: &mut Machine, report: &mut bool, error: BoxError) -> Next<F, B> {
    let (now, wall) = clock();
    *report = machine.is_polling();
    Next::Act(machine.on_transport_error(error, now, wall))
}

impl<S, ReqB, ResB> Driver<S, ReqB, ResB>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    S::Error: Into<BoxError>,
    ReqB: Default,
    ResB: Body,
    ResB::Data: From<bytes::Bytes>,
    ResB::Error: Into<BoxError>,
{
    fn inspect(ctx: Submission<S>, response: Response<ResB>) -> Self {
        let options = ctx.options.unwrap_or_default();
        let (at, wall) = clock();
        // The same instant the machine will count its deadline from.
        let deadline = resolution_deadline(&ctx.settings.config, &options, at);
        let (parts, body) = response.into_parts();
        let limit = ctx.settings.config.status_body_limit;
        Self {
            service: ctx.service,
            settings: ctx.settings,
            machine: None,
            trace: Trace::new(&ctx.head.method, &ctx.head.uri),
            report: false,
            start: Some(Box::new(Answered {
                head: ctx.head,
                options,
                at,
                wall,
            })),
            timer: tokio::time::sleep_until(Instant::from_std(deadline)),
            step: Step::Inspect {
                parts: Some(parts),
                read: ReadLimited::new(body, limit),
            },
        }
    }

    fn resume(args: Resume<S>) -> Self {
        let (now, _) = clock();
        let trace = Trace::new(&args.head.method, &args.head.uri);
        let config = args.settings.config.clone();
        let (machine, step) =
            match Machine::resume(config, &args.handle, &args.head, &args.options, now) {
                Ok((machine, Action::Send { request, .. })) => (
                    Some(machine),
                    Step::Wait {
                        request: Some(request),
                    },
                ),
                Ok((_, Action::Fail(e))) | Err(e) => (
                    None,
                    Step::Failed {
                        error: Some(e.into()),
                    },
                ),
                Ok((_, Action::Deliver(_))) => unreachable!("resume starts with a poll"),
            };
        Self {
            service: args.service,
            settings: args.settings,
            machine,
            start: None,
            trace,
            report: false,
            // Due at once: the first poll of a resumed operation is not delayed.
            timer: tokio::time::sleep_until(Instant::now()),
            step,
        }
    }
}

impl<S, ReqB, ResB> Future for Driver<S, ReqB, ResB>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    S::Error: Into<BoxError>,
    ReqB: Default,
    ResB: Body,
    ResB::Data: From<bytes::Bytes>,
    ResB::Error: Into<BoxError>,
{
    type Output = Result<Response<LroBody<ResB>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let _entered = this.trace.enter();
        loop {
            let next = match this.step.as_mut().project() {
                StepProj::Inspect { parts, read } => {
                    let outcome = match Pin::new(read).poll(cx) {
                        Poll::Ready(outcome) => outcome,
                        Poll::Pending => {
                            ready!(this.timer.as_mut().poll(cx));
                            let start = this.start.take().expect("inspect has its head");
                            let error = submission_body_timeout(&start.head.uri);
                            this.trace.failed(&error);
                            return Poll::Ready(Err(error.into()));
                        }
                    };
                    let parts = parts.take().expect("parts are taken once");
                    let Answered {
                        head,
                        options,
                        at,
                        wall,
                    } = *this.start.take().expect("inspect has its head");
                    let body = outcome.complete();
                    let config = this.settings.config.clone();
                    match Machine::start(
                        config,
                        head,
                        &options,
                        parts.status,
                        &parts.headers,
                        body,
                        at,
                        wall,
                    ) {
                        Err(e) => Next::Return(Err(e.into())),
                        Ok(Begin::NotLro) => Next::Return(
                            outcome
                                .into_body()
                                .map(|body| Response::from_parts(parts, body)),
                        ),
                        Ok(Begin::Lro(machine, action)) => {
                            this.trace.started(&machine);
                            *this.machine = Some(machine);
                            *this.report = true;
                            Next::Act(action)
                        }
                    }
                }
                StepProj::Wait { request } => {
                    ready!(this.timer.as_mut().poll(cx));
                    Next::Send(request.take().expect("a wait has its request"))
                }
                StepProj::Ready { request } => {
                    let machine = this.machine.as_mut().expect("polling has a machine");
                    match this.service.poll_ready(cx) {
                        Poll::Pending => {
                            ready!(this.timer.as_mut().poll(cx));
                            Next::Return(Err(machine.on_deadline(clock().0).into()))
                        }
                        Poll::Ready(Err(e)) => {
                            // The next attempt goes through a fresh clone.
                            *this.service = this.service.clone();
                            failed_attempt(machine, this.report, e.into())
                        }
                        Poll::Ready(Ok(())) => {
                            let request = request.take().expect("a request is sent once");
                            let req = this.settings.poll_request(request);
                            let req = req.map(|()| ReqB::default());
                            // The ready instance takes the call; a clone waits for the next.
                            let clone = this.service.clone();
                            Next::Call(std::mem::replace(this.service, clone).call(req))
                        }
                    }
                }
                StepProj::Call { future } => {
                    let machine = this.machine.as_mut().expect("polling has a machine");
                    match future.poll(cx) {
                        Poll::Pending => {
                            ready!(this.timer.as_mut().poll(cx));
                            Next::Return(Err(machine.on_deadline(clock().0).into()))
                        }
                        Poll::Ready(Err(e)) => failed_attempt(machine, this.report, e.into()),
                        Poll::Ready(Ok(response)) => {
                            let (parts, body) = response.into_parts();
                            if machine.wants_body(parts.status) {
                                Next::Read(parts, body)
                            } else {
                                let (now, wall) = clock();
                                match machine.on_response(
                                    parts.status,
                                    &parts.headers,
                                    None,
                                    now,
                                    wall,
                                ) {
                                    Action::Deliver(meta) => {
                                        Next::Deliver(parts, LroBody::stream(body), meta)
                                    }
                                    other => Next::Act(other),
                                }
                            }
                        }
                    }
                }
                StepProj::Read { parts, read } => {
                    let machine = this.machine.as_mut().expect("polling has a machine");
                    let outcome = match Pin::new(read).poll(cx) {
                        Poll::Ready(outcome) => outcome,
                        Poll::Pending => {
                            ready!(this.timer.as_mut().poll(cx));
                            let error = machine.on_deadline(clock().0);
                            this.trace.failed(&error);
                            return Poll::Ready(Err(error.into()));
                        }
                    };
                    let parts = parts.take().expect("parts are taken once");
                    let (now, wall) = clock();
                    *this.report = machine.is_polling();
                    match outcome {
                        ReadOutcome::Complete(bytes) => {
                            match machine.on_response(
                                parts.status,
                                &parts.headers,
                                Some(&bytes),
                                now,
                                wall,
                            ) {
                                Action::Deliver(meta) => {
                                    Next::Deliver(parts, LroBody::buffered(bytes), meta)
                                }
                                other => Next::Act(other),
                            }
                        }
                        ReadOutcome::TooLarge { .. } => Next::Act(machine.on_body_error(
                            parts.status,
                            &parts.headers,
                            BodyError::TooLarge,
                            now,
                            wall,
                        )),
                        ReadOutcome::Failed(e) => Next::Act(machine.on_body_error(
                            parts.status,
                            &parts.headers,
                            BodyError::Read(e),
                            now,
                            wall,
                        )),
                    }
                }
                StepProj::Failed { error } => {
                    Next::Return(Err(error.take().expect("a failure is reported once")))
                }
                StepProj::Done => panic!("LRO driver polled after completion"),
            };

            if std::mem::take(this.report) {
                if let Some(machine) = this.machine.as_ref() {
                    let next_at = match &next {
                        Next::Act(action) => action.next_status_poll(),
                        _ => None,
                    };
                    this.settings.report(this.trace, machine, next_at);
                }
            }

            let request = match next {
                Next::Deliver(parts, body, meta) => {
                    // After the last progress report: "finished" is the operation's last event.
                    this.trace.finished(&meta);
                    let mut response = Response::from_parts(parts, body);
                    response.extensions_mut().insert(meta);
                    this.step.set(Step::Done);
                    return Poll::Ready(Ok(response));
                }
                Next::Return(result) => {
                    if let Err(e) = &result {
                        this.trace.failed(e.as_ref());
                    }
                    this.step.set(Step::Done);
                    return Poll::Ready(result);
                }
                Next::Read(parts, body) => {
                    let limit = this.settings.config.status_body_limit;
                    this.step.set(Step::Read {
                        parts: Some(parts),
                        read: ReadLimited::new(body, limit),
                    });
                    continue;
                }
                Next::Call(future) => {
                    this.step.set(Step::Call { future });
                    continue;
                }
                Next::Send(request) => request,
                Next::Act(Action::Send { at, request }) => {
                    let at = Instant::from_std(at);
                    if at > Instant::now() {
                        this.timer.as_mut().reset(at);
                        this.step.set(Step::Wait {
                            request: Some(request),
                        });
                        continue;
                    }
                    request
                }
                Next::Act(Action::Fail(error)) => {
                    this.trace.failed(&error);
                    this.step.set(Step::Done);
                    return Poll::Ready(Err(error.into()));
                }
                Next::Act(Action::Deliver(_)) => {
                    unreachable!("the core delivers only a response that was handed in")
                }
            };

            // Send: once the service is ready (poll_ready, then call on that instance), bounded
            // by the deadline.
            let machine = this.machine.as_ref().expect("polling has a machine");
            let deadline = Instant::from_std(machine.deadline());
            if this.timer.deadline() != deadline {
                this.timer.as_mut().reset(deadline);
            }
            this.step.set(Step::Ready {
                request: Some(request),
            });
        }
    }
}
