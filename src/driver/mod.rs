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
use crate::proto::cancel::{noted, CancelRequest, CANCEL_BOUND};
use crate::proto::{
    Action, Answer, AnsweredFrom, Begin, Delivery, Failure, Machine, Params, Plan, PollRequest,
    RequestHead, Submission,
};
use crate::resume::ResumeHandle;

mod part;
mod read;
pub(crate) mod settings;
mod time;
mod trace;

use part::cut;
use read::{ReadLimited, ReadOutcome, StatusBodyRead, StatusRead};
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
        // Reading the submission's answer body to decide (boxed with the submission: needed
        // only until then, and large).
        Inspect { state: Option<Box<Inspecting<ResB>>> },
        // A request to send: first waiting for the timer (`waiting`: the timer is the wait
        // before it), then for the service to be ready for it (the timer is the deadline).
        // One step for both: the end of a wait changes a flag, not the step.
        Send { request: Option<PollRequest>, waiting: bool },
        // A poll or resource request in flight.
        Call { #[pin] future: S::Future },
        // Reading a status answer's body (head and body boxed: the step stays sized for
        // waiting, which is where an operation spends its life).
        Read { state: Pin<Box<StatusBodyRead<ResB>>> },
        // Giving up, and cancelling first: waiting for the service to be ready for the cancel.
        CancelReady { state: Option<Box<Cancelling>> },
        // The cancel in flight.
        Cancel { #[pin] future: S::Future, state: Option<Box<Cancelling>> },
        // Failed before the first poll.
        Failed { error: Option<BoxError> },
        Done,
    }
}

/// The submission's answer being read, and the submission.
struct Inspecting<ResB> {
    parts: Parts,
    read: ReadLimited<ResB>,
    submission: Submission,
    // When the body is to be cut, should the answer be final at once.
    bound: Option<Instant>,
}

impl<ResB> Inspecting<ResB> {
    /// What the submission's answer starts, once its body was read (`None`: the deadline
    /// passed while reading it). Out of line: once an operation, not on the polling path.
    #[inline(never)]
    fn end<F>(
        self,
        outcome: Option<ReadOutcome<ResB>>,
        slot: (&mut Option<Box<Machine>>, &Trace),
    ) -> Next<F, ResB> {
        let Inspecting {
            parts,
            submission,
            bound,
            ..
        } = self;
        match outcome {
            None => Next::End(End::Return(Err(submission.timed_out().into()))),
            Some(outcome) => start(submission, parts, outcome, slot, bound),
        }
    }
}

/// The cancel sent when the layer gives up, and the error to return after it.
type Cancelling = (CancelRequest, crate::Error);

/// What an arm of the driver loop decided, once its borrows have ended. Moved a few times per
/// answer, so kept small: a status body to read comes boxed, a delivery as its response.
enum Next<F, ResB> {
    /// Give up, cancelling first.
    Cancel(Box<Cancelling>),
    /// The cancel was sent.
    CancelCall(F, Box<Cancelling>),
    /// Wait until `at`, then send (`None`: at once — the wait is over, or was none when the
    /// core decided).
    Send(Option<std::time::Instant>, PollRequest),
    Call(F),
    Read(Pin<Box<StatusBodyRead<ResB>>>),
    End(End<ResB>),
}

/// How the operation ends.
enum End<ResB> {
    // The final response, delivered after the last progress report: its metadata is in its
    // extensions already (where it ends up anyway; `Next` stays half the size).
    Deliver(Response<LroBody<ResB>>),
    Fail(crate::Error),
    // A pass-through answer, or an error that is not the core's.
    Return(Result<Response<LroBody<ResB>>, BoxError>),
}

impl<F, ResB> Next<F, ResB> {
    /// What the core planned, decided at `now` (its own reading: no clock is read again to
    /// tell a wait from none).
    fn planned(plan: Plan, now: std::time::Instant) -> Self {
        match plan {
            Plan::Send { at, request } => Next::Send(ahead(at, now), request),
            Plan::Cancel { request, error } => Next::Cancel(Box::new((request, error))),
            Plan::Fail(e) => Next::End(End::Fail(e)),
        }
    }

    /// What the core said, at `now`, about an answer whose head is `parts` and whose body is
    /// `body`.
    fn after_answer(
        action: Action,
        parts: Parts,
        body: LroBody<ResB>,
        now: std::time::Instant,
    ) -> Self {
        match action {
            Action::Deliver(delivery) => Next::End(End::deliver(parts, body, delivery)),
            Action::Send { at, request } => Next::Send(ahead(at, now), request),
            Action::Cancel { request, error } => Next::Cancel(Box::new((request, error))),
            Action::Fail(e) => Next::End(End::Fail(e)),
        }
    }
}

/// `at`, when it is ahead of `now`: a wait; `None`, no wait.
fn ahead(at: std::time::Instant, now: std::time::Instant) -> Option<std::time::Instant> {
    (at > now).then_some(at)
}

impl<ResB> End<ResB> {
    /// The final response: the answer, with the status the delivery names when it names one.
    fn deliver(mut parts: Parts, body: LroBody<ResB>, delivery: Delivery) -> Self {
        if let Some(status) = delivery.status {
            parts.status = status;
        }
        parts.extensions.insert(delivery.metadata);
        End::Deliver(Response::from_parts(parts, body))
    }

    /// The driver's output, traced.
    /// `bound`: the deadline of the final body, when it is to be cut there.
    #[inline(never)]
    fn into_output(
        self,
        trace: &Trace,
        bound: Option<Instant>,
    ) -> Result<Response<LroBody<ResB>>, BoxError> {
        match self {
            End::Deliver(response) => {
                let (parts, body) = response.into_parts();
                let meta = parts.extensions.get::<LroMetadata>();
                let meta = meta.expect("a delivery carries its metadata");
                trace.finished(meta);
                let body = match bound {
                    Some(at) => {
                        body.bounded(at, meta.resource_url().unwrap_or(meta.operation_url()))
                    }
                    None => body,
                };
                Ok(Response::from_parts(parts, body))
            }
            End::Fail(error) => {
                trace.failed(&error);
                Err(error.into())
            }
            End::Return(result) => {
                if let Err(e) = &result {
                    trace.failed(e.as_ref());
                }
                result
            }
        }
    }
}

impl<S, ReqB, ResB> Driver<S, ReqB, ResB>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    S::Error: Into<BoxError>,
    ReqB: Default + 'static,
    ResB: Body,
    ResB::Data: From<bytes::Bytes>,
    ResB::Error: Into<BoxError>,
{
    /// Starts from a submission's answer whose head said "maybe an LRO".
    pub(crate) fn inspect(call: Call<S>, response: Response<ResB>) -> Self {
        let params = call.settings.params(call.options.as_ref());
        let bound = params.bounds_body();
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
                state: Some(Box::new(Inspecting {
                    parts,
                    read: ReadLimited::new(body, limit),
                    submission,
                    bound: bound.then(|| Instant::from_std(deadline)),
                })),
            },
        }
    }

    /// Continues an operation from a handle: the first poll is due at once.
    pub(crate) fn resume(args: Resume<S>) -> Self {
        let trace = Trace::new(&args.head.method, &args.head.uri);
        trace.resumed();
        let params: Params = args.settings.params(args.options.as_ref());
        let config = args.settings.config.clone();
        let now = now().mono();
        let (machine, step) = match Machine::resume(config, &args.handle, &args.head, &params, now)
        {
            Ok((machine, Plan::Send { request, .. })) => (
                Some(machine),
                Step::Send {
                    request: Some(request),
                    waiting: true,
                },
            ),
            Ok((_, Plan::Fail(e) | Plan::Cancel { error: e, .. })) | Err(e) => (
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
    ReqB: Default + 'static,
    ResB: Body,
    ResB::Data: From<bytes::Bytes>,
    ResB::Error: Into<BoxError>,
{
    type Output = Result<Response<LroBody<ResB>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let _entered = this.trace.enter();
        loop {
            // A deadline in any step that waits on the server ends it.
            let expired = |timer: Pin<&mut Sleep>, cx: &mut Context<'_>| timer.poll(cx).is_ready();
            let next = match this.step.as_mut().project() {
                StepProj::Inspect { state } => {
                    let inspecting = state.as_mut().expect("inspect has its state");
                    let outcome = match Pin::new(&mut inspecting.read).poll(cx) {
                        Poll::Ready(outcome) => Some(outcome),
                        Poll::Pending if expired(this.timer.as_mut(), cx) => None,
                        Poll::Pending => return Poll::Pending,
                    };
                    let inspected = *state.take().expect("inspect has its state");
                    inspected.end(outcome, (&mut *this.machine, &*this.trace))
                }
                StepProj::Send { request, waiting } => {
                    let machine = this.machine.as_mut().expect("polling has a machine");
                    if *waiting {
                        ready!(this.timer.as_mut().poll(cx));
                        *waiting = false;
                        bound(this.timer.as_mut(), machine);
                    }
                    match this.service.poll_ready(cx) {
                        Poll::Pending if expired(this.timer.as_mut(), cx) => deadline(machine),
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => {
                            // The next attempt goes through a fresh clone.
                            *this.service = this.service.clone();
                            transport(machine, e.into())
                        }
                        Poll::Ready(Ok(())) => {
                            let request = request.take().expect("a request is sent once");
                            match this.settings.poll_request::<ReqB>(request) {
                                Ok(req) => Next::Call(call_ready(this.service, req)),
                                Err(body_type) => no_poll_body(machine, body_type),
                            }
                        }
                    }
                }
                StepProj::Call { future } => {
                    let machine = this.machine.as_mut().expect("polling has a machine");
                    match future.poll(cx) {
                        Poll::Pending if expired(this.timer.as_mut(), cx) => deadline(machine),
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => transport(machine, e.into()),
                        Poll::Ready(Ok(response)) => answered(machine, this.settings, response),
                    }
                }
                StepProj::Read { state } => {
                    let machine = this.machine.as_mut().expect("polling has a machine");
                    match state.as_mut().poll_read(cx) {
                        Poll::Pending if expired(this.timer.as_mut(), cx) => deadline(machine),
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(outcome) => {
                            let parts = state.as_mut().take_parts();
                            read_answer(machine, parts.expect("parts are taken once"), outcome)
                        }
                    }
                }
                StepProj::CancelReady { state } => {
                    match send_cancel(cx, this.service, this.settings, state) {
                        Some(next) => next,
                        None if expired(this.timer.as_mut(), cx) => cancelled(state, None),
                        None => return Poll::Pending,
                    }
                }
                StepProj::Cancel { future, state } => match future.poll(cx) {
                    Poll::Pending if expired(this.timer.as_mut(), cx) => cancelled(state, None),
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(answer) => cancelled(state, answer.ok().map(|a| a.status())),
                },
                StepProj::Failed { error } => {
                    Next::End(End::Return(Err(error.take().expect("reported once"))))
                }
                StepProj::Done => panic!("LRO driver polled after completion"),
            };

            // A status answer (or the submission's) was read: report it, before any delivery.
            if let Some(machine) = this.machine.as_mut() {
                this.settings.report(this.trace, machine);
            }

            let (step, timer) = (this.step.as_mut(), this.timer.as_mut());
            let machine = this.machine.as_deref();
            if let Some(output) = advance(step, timer, machine, this.trace, next) {
                return Poll::Ready(output);
            }
        }
    }
}

/// Moves to the step `next` asks for; the output when the operation ended.
fn advance<S, ReqB, ResB>(
    mut step: Pin<&mut Step<S, ReqB, ResB>>,
    mut timer: Pin<&mut Sleep>,
    machine: Option<&Machine>,
    trace: &Trace,
    next: Next<S::Future, ResB>,
) -> Option<Result<Response<LroBody<ResB>>, BoxError>>
where
    S: Service<Request<ReqB>>,
    ResB: Body,
{
    match next {
        Next::Send(at, request) => {
            let waiting = match at {
                Some(at) => {
                    crate::metrics::waited("poll");
                    timer.as_mut().reset(Instant::from_std(at));
                    true
                }
                None => {
                    bound(timer, machine.expect("polling has a machine"));
                    false
                }
            };
            let request = Some(request);
            step.set(Step::Send { request, waiting });
            None
        }
        Next::Read(state) => {
            step.set(Step::Read { state });
            None
        }
        Next::Call(future) => {
            step.set(Step::Call { future });
            None
        }
        Next::Cancel(cancelling) => {
            // The deadline has passed: the cancel has a bound of its own.
            timer.as_mut().reset(Instant::now() + CANCEL_BOUND);
            let state = Some(cancelling);
            step.set(Step::CancelReady { state });
            None
        }
        Next::CancelCall(future, cancelling) => {
            let state = Some(cancelling);
            step.set(Step::Cancel { future, state });
            None
        }
        Next::End(end) => {
            step.set(Step::Done);
            // An answer final at once was bounded by `start`, which has no machine.
            let bound = machine
                .and_then(Machine::final_body_deadline)
                .map(Instant::from_std);
            Some(end.into_output(trace, bound))
        }
    }
}

/// A request about to be sent (`poll_ready`, then `call` on that instance) is bounded by the
/// operation's deadline: the timer is set to it.
fn bound(mut timer: Pin<&mut Sleep>, machine: &Machine) {
    let deadline = Instant::from_std(machine.deadline());
    if timer.deadline() != deadline {
        timer.as_mut().reset(deadline);
    }
}

/// Sends the cancel once the service is ready (`None` while it is not); a service that fails
/// to get ready ends it unanswered.
#[cold]
#[inline(never)]
fn send_cancel<S, ReqB, ResB>(
    cx: &mut Context<'_>,
    service: &mut S,
    settings: &Settings,
    state: &mut Option<Box<Cancelling>>,
) -> Option<Next<S::Future, ResB>>
where
    S: Service<Request<ReqB>> + Clone,
    ReqB: Default + 'static,
{
    match service.poll_ready(cx) {
        Poll::Pending => None,
        Poll::Ready(Err(_)) => Some(cancelled(state, None)),
        Poll::Ready(Ok(())) => {
            let cancelling = state.take().expect("a cancel is sent once");
            match settings.cancel_request::<ReqB>(cancelling.0.clone()) {
                Ok(req) => Some(Next::CancelCall(call_ready(service, req), cancelling)),
                // No body of the service's type: nothing is sent, and the error stays as it
                // was, with no cancel noted.
                Err(_) => Some(Next::End(End::Fail(cancelling.1))),
            }
        }
    }
}

/// The cancel sent on giving up was answered with `status` (`None`: it failed, or its bound
/// passed): the error, with that noted.
#[cold]
#[inline(never)]
fn cancelled<F, ResB>(
    state: &mut Option<Box<Cancelling>>,
    status: Option<http::StatusCode>,
) -> Next<F, ResB> {
    let (request, error) = *state.take().expect("a cancel ends once");
    Next::End(End::Fail(noted(error, &request, status)))
}

/// The deadline passed while a request was in flight.
#[cold]
#[inline(never)]
fn deadline<F, ResB>(machine: &mut Machine) -> Next<F, ResB> {
    let now = now();
    Next::planned(
        machine.handle_failure(now, Failure::DeadlinePassed),
        now.mono(),
    )
}

/// The layer cannot make the body a request needs: the operation ends.
#[cold]
#[inline(never)]
fn no_poll_body<F, ResB>(machine: &mut Machine, body_type: &'static str) -> Next<F, ResB> {
    // The machine ends itself, naming the URL it was about to ask (the monitor or the result).
    let error = machine.end(crate::error::Reason::NoPollBody { body_type }, None);
    Next::End(End::Fail(error))
}

/// The service failed to answer.
#[cold]
#[inline(never)]
fn transport<F, ResB>(machine: &mut Machine, error: BoxError) -> Next<F, ResB> {
    let now = now();
    Next::planned(
        machine.handle_failure(now, Failure::Transport(error)),
        now.mono(),
    )
}

/// Calls the service that was just driven to readiness. The same instance serves the next
/// request: `call` used up its readiness, so it is driven to readiness again first, as tower's
/// contract asks (no clone per request: cloning a client costs its reference counts).
fn call_ready<S: Service<R>, R>(service: &mut S, req: R) -> S::Future {
    service.call(req)
}

/// Hands an answer's head to the core, or asks for its body to be read first.
fn answered<F, ResB>(
    machine: &mut Machine,
    settings: &Settings,
    response: Response<ResB>,
) -> Next<F, ResB> {
    let (parts, body) = response.into_parts();
    if let Some(AnsweredFrom(url)) = parts.extensions.get::<AnsweredFrom>() {
        machine.answered_from(url);
    }
    // tower-http's `FollowRedirect` inside the layer says where it ended up.
    #[cfg(feature = "tower-http")]
    if let Some(tower_http::follow_redirect::RequestUri(url)) = parts.extensions.get() {
        machine.answered_from(url);
    }
    if machine.wants_body(parts.status) {
        let limit = settings.config.status_body_limit();
        return Next::Read(StatusBodyRead::new(parts, body, limit));
    }
    let answer = Answer {
        status: parts.status,
        headers: &parts.headers,
        body: None,
    };
    let now = now();
    let action = machine.handle_answer(now, answer);
    Next::after_answer(action, parts, LroBody::stream(body), now.mono())
}

/// Starts the core on the submission's answer, read as far as `outcome` says.
fn start<F, ResB>(
    submission: Submission,
    parts: Parts,
    outcome: ReadOutcome<ResB>,
    (slot, trace): (&mut Option<Box<Machine>>, &Trace),
    bound: Option<Instant>,
) -> Next<F, ResB> {
    // Where the answer came from, should its body be cut (a `Uri` clone shares its bytes).
    let bound = bound.map(|at| (at, submission.request_uri().clone()));
    match submission.start(parts.status, &parts.headers, outcome.complete()) {
        Err(e) => Next::End(End::Fail(e)),
        Ok(Begin::NotLro) => {
            let body = outcome.into_body();
            Next::End(End::Return(
                body.map(|body| Response::from_parts(parts, body)),
            ))
        }
        Ok(Begin::Lro(machine, plan)) => {
            trace.started(&machine);
            *slot = Some(machine);
            // Planned when the submission was made: measured against the clock again.
            Next::planned(plan, now().mono())
        }
        Ok(Begin::Final(delivery)) => {
            let mut parts = parts;
            match outcome {
                ReadOutcome::Complete(bytes) => {
                    let body = LroBody::buffered(cut(&mut parts, bytes, &delivery));
                    Next::End(End::deliver(parts, body, delivery))
                }
                // Read only in part (over the limit): what was read, then the rest, with the
                // metadata all the same (a `start_only` handle), cut at the deadline.
                other => match other.into_body() {
                    Ok(body) => {
                        let body = match bound {
                            Some((at, uri)) => body.bounded(at, &uri.to_string()),
                            None => body,
                        };
                        Next::End(End::deliver(parts, body, delivery))
                    }
                    Err(e) => Next::End(End::Return(Err(e))),
                },
            }
        }
    }
}

/// Hands a read answer (or why it could not be read) to the core.
fn read_answer<F, ResB>(machine: &mut Machine, parts: Parts, outcome: StatusRead) -> Next<F, ResB> {
    let status = parts.status;
    let now = now();
    match outcome {
        StatusRead::Complete(bytes) => {
            let answer = Answer {
                status,
                headers: &parts.headers,
                body: Some(&bytes),
            };
            let action = machine.handle_answer(now, answer);
            let mut parts = parts;
            let bytes = match &action {
                Action::Deliver(delivery) => cut(&mut parts, bytes, delivery),
                _ => bytes,
            };
            Next::after_answer(action, parts, LroBody::buffered(bytes), now.mono())
        }
        StatusRead::TooLarge => {
            let headers = &parts.headers;
            let failure = Failure::BodyTooLarge { status, headers };
            Next::planned(machine.handle_failure(now, failure), now.mono())
        }
        StatusRead::Failed(error) => {
            let failure = Failure::BodyFailed { error };
            Next::planned(machine.handle_failure(now, failure), now.mono())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    /// The decision moved between the loop's arms is no larger than the response it may carry
    /// (it was 312 bytes with hyper's body when it carried a delivery's parts and metadata apart).
    #[test]
    fn next_is_no_larger_than_a_response() {
        type B = hyper::body::Incoming;
        type F = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
        let response = size_of::<http::Response<super::LroBody<B>>>();
        assert!(size_of::<super::Next<F, B>>() <= response + size_of::<usize>());
    }
}
