//! The one driver of the protocol core: a hand-written future that performs the I/O and the
//! timer the core asks for, through the inner service.
//!
//! It follows the contract in [`crate::proto`]'s docs step by step. It holds one tokio timer:
//! the wait before a poll, else the deadline of whatever is in flight.

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
use crate::metadata::LroMetadata;
use crate::options::LroOptions;
use crate::proto::{
    Action, Answer, Begin, Failure, Machine, Params, Plan, PollRequest, RequestHead, Submission,
};
use crate::resume::ResumeHandle;

mod read;
pub(crate) mod settings;
mod time;
mod trace;

use read::{ReadLimited, ReadOutcome};
pub(crate) use settings::Settings;
use time::now;
use trace::Trace;

type BoxError = tower::BoxError;

/// What a call keeps to poll later: the one copy the pass-through path pays for.
pub(crate) struct Call<S> {
    pub(crate) service: S,
    pub(crate) settings: Arc<Settings>,
    pub(crate) head: RequestHead,
    pub(crate) options: Option<LroOptions>,
}

/// A call that continues an operation from a handle.
pub(crate) struct Resume<S> {
    pub(crate) service: S,
    pub(crate) settings: Arc<Settings>,
    pub(crate) handle: ResumeHandle,
    pub(crate) head: RequestHead,
    pub(crate) options: Option<LroOptions>,
}

pin_project! {
    /// Drives one LRO, from the submission's answer (or a resume handle) to the final response.
    pub(crate) struct Driver<S, ReqB, ResB>
    where
        S: Service<Request<ReqB>>,
    {
        service: S,
        settings: Arc<Settings>,
        machine: Option<Box<Machine>>,
        trace: Trace,
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
        // Reading the submission's answer body to decide (the submission is boxed: it is
        // needed only until then, and large).
        Inspect { parts: Option<Parts>, read: ReadLimited<ResB>, submission: Option<Box<Submission>> },
        // Waiting for the timer to send a request.
        Wait { request: Option<PollRequest> },
        // Waiting for the service to be ready for that request.
        Ready { request: Option<PollRequest> },
        // A poll or resource request in flight.
        Call { #[pin] future: S::Future },
        // Reading a status answer's body.
        Read { parts: Option<Parts>, read: ReadLimited<ResB> },
        // Failed before the first poll.
        Failed { error: Option<BoxError> },
        Done,
    }
}

/// What an arm of the driver loop decided, once its borrows have ended.
enum Next<F, ResB> {
    Plan(Plan),
    Call(F),
    Read(Parts, ResB),
    // The operation's final response, delivered after the last progress report.
    Deliver(Parts, LroBody<ResB>, LroMetadata),
    Return(Result<Response<LroBody<ResB>>, BoxError>),
}

impl<F, ResB> Next<F, ResB> {
    /// What the core said about an answer whose head is `parts` and whose body is `body`.
    fn after_answer(action: Action, parts: Parts, body: LroBody<ResB>) -> Self {
        match action {
            Action::Deliver(meta) => Next::Deliver(parts, body, meta),
            Action::Send { at, request } => Next::Plan(Plan::Send { at, request }),
            Action::Fail(e) => Next::Plan(Plan::Fail(e)),
        }
    }
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
    /// Starts from a submission's answer whose head said "maybe an LRO".
    pub(crate) fn inspect(call: Call<S>, response: Response<ResB>) -> Self {
        let params = call.settings.params(call.options.as_ref());
        let trace = Trace::new(&call.head.method, &call.head.uri);
        let config = call.settings.config.clone();
        let submission = Submission::new(config, call.head, params, now());
        let deadline = submission.read_deadline();
        let (parts, body) = response.into_parts();
        let limit = call.settings.config.status_body_limit();
        Self {
            service: call.service,
            settings: call.settings,
            machine: None,
            trace,
            timer: tokio::time::sleep_until(Instant::from_std(deadline)),
            step: Step::Inspect {
                parts: Some(parts),
                read: ReadLimited::new(body, limit),
                submission: Some(Box::new(submission)),
            },
        }
    }

    /// Continues an operation from a handle: the first poll is due at once.
    pub(crate) fn resume(args: Resume<S>) -> Self {
        let trace = Trace::new(&args.head.method, &args.head.uri);
        let params: Params = args.settings.params(args.options.as_ref());
        let config = args.settings.config.clone();
        let now = now().mono();
        let (machine, step) = match Machine::resume(config, &args.handle, &args.head, &params, now)
        {
            Ok((machine, Plan::Send { request, .. })) => (
                Some(machine),
                Step::Wait {
                    request: Some(request),
                },
            ),
            Ok((_, Plan::Fail(e))) | Err(e) => (
                None,
                Step::Failed {
                    error: Some(e.into()),
                },
            ),
        };
        Self {
            service: args.service,
            settings: args.settings,
            machine,
            trace,
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
                StepProj::Inspect {
                    parts,
                    read,
                    submission,
                } => {
                    let outcome = match Pin::new(read).poll(cx) {
                        Poll::Ready(outcome) => Some(outcome),
                        Poll::Pending => {
                            ready!(this.timer.as_mut().poll(cx));
                            None
                        }
                    };
                    let submission = *submission.take().expect("inspect has its submission");
                    let parts = parts.take().expect("parts are taken once");
                    match outcome {
                        None => Next::Return(Err(submission.timed_out().into())),
                        Some(outcome) => {
                            start(submission, parts, outcome, this.machine, this.trace)
                        }
                    }
                }
                StepProj::Wait { request } => {
                    ready!(this.timer.as_mut().poll(cx));
                    let request = request.take().expect("a wait has its request");
                    Next::Plan(Plan::Send {
                        at: Instant::now().into_std(),
                        request,
                    })
                }
                StepProj::Ready { request } => {
                    let machine = this.machine.as_mut().expect("polling has a machine");
                    match this.service.poll_ready(cx) {
                        Poll::Pending => {
                            ready!(this.timer.as_mut().poll(cx));
                            Next::Plan(machine.handle_failure(now(), Failure::DeadlinePassed))
                        }
                        Poll::Ready(Err(e)) => {
                            // The next attempt goes through a fresh clone.
                            *this.service = this.service.clone();
                            let failure = Failure::Transport(e.into());
                            Next::Plan(machine.handle_failure(now(), failure))
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
                            Next::Plan(machine.handle_failure(now(), Failure::DeadlinePassed))
                        }
                        Poll::Ready(Err(e)) => {
                            let failure = Failure::Transport(e.into());
                            Next::Plan(machine.handle_failure(now(), failure))
                        }
                        Poll::Ready(Ok(response)) => {
                            let (parts, body) = response.into_parts();
                            if machine.wants_body(parts.status) {
                                Next::Read(parts, body)
                            } else {
                                let answer = Answer {
                                    status: parts.status,
                                    headers: &parts.headers,
                                    body: None,
                                };
                                let action = machine.handle_answer(now(), answer);
                                Next::after_answer(action, parts, LroBody::stream(body))
                            }
                        }
                    }
                }
                StepProj::Read { parts, read } => {
                    let machine = this.machine.as_mut().expect("polling has a machine");
                    match Pin::new(read).poll(cx) {
                        Poll::Ready(outcome) => {
                            let parts = parts.take().expect("parts are taken once");
                            read_answer(machine, parts, outcome)
                        }
                        Poll::Pending => {
                            ready!(this.timer.as_mut().poll(cx));
                            Next::Plan(machine.handle_failure(now(), Failure::DeadlinePassed))
                        }
                    }
                }
                StepProj::Failed { error } => {
                    Next::Return(Err(error.take().expect("a failure is reported once")))
                }
                StepProj::Done => panic!("LRO driver polled after completion"),
            };

            // A status answer (or the submission's) was read: report it, before any delivery.
            if let Some(machine) = this.machine.as_mut() {
                this.settings.report(this.trace, machine);
            }

            let request = match next {
                Next::Deliver(parts, body, meta) => {
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
                Next::Plan(Plan::Fail(error)) => {
                    this.trace.failed(&error);
                    this.step.set(Step::Done);
                    return Poll::Ready(Err(error.into()));
                }
                Next::Read(parts, body) => {
                    let limit = this.settings.config.status_body_limit();
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
                Next::Plan(Plan::Send { at, request }) => {
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

/// Starts the core on the submission's answer, read as far as `outcome` says.
fn start<F, ResB>(
    submission: Submission,
    parts: Parts,
    outcome: ReadOutcome<ResB>,
    slot: &mut Option<Box<Machine>>,
    trace: &Trace,
) -> Next<F, ResB> {
    match submission.start(parts.status, &parts.headers, outcome.complete()) {
        Err(e) => Next::Return(Err(e.into())),
        Ok(Begin::NotLro) => Next::Return(
            outcome
                .into_body()
                .map(|body| Response::from_parts(parts, body)),
        ),
        Ok(Begin::Lro(machine, plan)) => {
            trace.started(&machine);
            *slot = Some(machine);
            Next::Plan(plan)
        }
    }
}

/// Hands a read answer (or why it could not be read) to the core.
fn read_answer<F, ResB>(
    machine: &mut Machine,
    parts: Parts,
    outcome: ReadOutcome<ResB>,
) -> Next<F, ResB> {
    let status = parts.status;
    match outcome {
        ReadOutcome::Complete(bytes) => {
            let answer = Answer {
                status,
                headers: &parts.headers,
                body: Some(&bytes),
            };
            let action = machine.handle_answer(now(), answer);
            Next::after_answer(action, parts, LroBody::buffered(bytes))
        }
        ReadOutcome::TooLarge { .. } => {
            let headers = &parts.headers;
            let failure = Failure::BodyTooLarge { status, headers };
            Next::Plan(machine.handle_failure(now(), failure))
        }
        ReadOutcome::Failed(error) => {
            let headers = &parts.headers;
            let failure = Failure::BodyFailed {
                status,
                headers,
                error,
            };
            Next::Plan(machine.handle_failure(now(), failure))
        }
    }
}
