//! What the driver is built from: the layer's configuration and the user's hooks.

use std::sync::Arc;

use http::Request;

use super::trace::{self, Trace};
use crate::config::Config;
use crate::metadata::Progress;
use crate::options::LroOptions;
use crate::proto::cancel::CancelRequest;
use crate::proto::dialect::Dialect;
use crate::proto::{Machine, Params, PollRequest};

/// A hook that shapes each request the layer sends by itself (polls and the resource `GET`),
/// after the layer has set its URI and headers: sign it afresh, add a tracing header, …
pub(crate) type PollHook = Arc<dyn Fn(&mut Request<()>) + Send + Sync>;
/// How to make a request body of the service's type from bytes (`LroLayer::poll_body`): a
/// [`PollBody<B>`], type-erased, found again by the body type at use.
pub(crate) type PollBodyMaker = Arc<dyn std::any::Any + Send + Sync>;
/// The function `LroLayer::poll_body` was given, for one body type.
pub(crate) struct PollBody<B>(pub(crate) Box<dyn Fn(bytes::Bytes) -> B + Send + Sync>);
/// A hook told where an operation stands after every status poll.
pub(crate) type ProgressHook = Arc<dyn Fn(&Progress) + Send + Sync>;

/// The configuration and hooks shared by every call of one layer.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) config: Arc<Config>,
    pub(crate) hook: Option<PollHook>,
    pub(crate) progress: Option<ProgressHook>,
    pub(crate) dialect: Dialect,
    pub(crate) idempotency: Option<crate::IdempotencyHeader>,
    /// Cancel an operation when giving up on it (deadline, poll limit).
    pub(crate) cancel_on_give_up: bool,
    /// Put an `LroRequest` in the extensions of the requests the layer sends by itself.
    pub(crate) tag_requests: bool,

    pub(crate) poll_body: Option<PollBodyMaker>,
}

impl Settings {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config: Arc::new(config),
            hook: None,
            progress: None,
            dialect: Dialect::default(),
            idempotency: None,
            cancel_on_give_up: false,
            tag_requests: false,

            poll_body: None,
        }
    }

    /// The per-request choices, resolved from the request's options: the core reads no
    /// request extensions.
    pub(crate) fn params(&self, options: Option<&LroOptions>) -> Params {
        let mut params = Params::new(&self.config).dialect(self.dialect(options).clone());
        let cancel = options.and_then(LroOptions::cancels_on_give_up);
        params = params.cancel_on_give_up(cancel.unwrap_or(self.cancel_on_give_up));
        if let Some(options) = options {
            if let Some(d) = options.deadline {
                params = params.deadline(d);
            }
            params = params.start_only(options.start_only);
            if let Some(f) = options.final_state {
                params = params.final_state(f);
            }
            if let Some(b) = options.bound_final_body {
                params = params.bound_final_body(b);
            }
        }
        params
    }

    /// The dialect of a request: its options', else the layer's.
    pub(crate) fn dialect<'a>(&'a self, options: Option<&'a LroOptions>) -> &'a Dialect {
        options
            .and_then(|o| o.dialect.as_ref())
            .unwrap_or(&self.dialect)
    }

    /// The request a driver sends for `request`: built by the core, then shaped by the
    /// `on_poll_request` hook. Its body is `B::default()`, or made by the layer's
    /// [`PollBody`] when the request has one; `Err` (the body type) when the layer has none
    /// for `B`.
    pub(crate) fn poll_request<B: Default + 'static>(
        &self,
        request: PollRequest,
    ) -> Result<Request<B>, &'static str> {
        if request.kind() == crate::PollKind::Status {
            crate::metrics::polled();
        }
        // The usual request: no body, no hook; built with its body type at once.
        if request.body().is_none() && self.hook.is_none() {
            return Ok(request.build::<B>(self.tag_requests));
        }
        self.shaped_request(request)
    }

    /// [`Settings::poll_request`] for a request with a body, or a layer with a hook. Out of
    /// line: the usual poll has neither.
    #[inline(never)]
    fn shaped_request<B: Default + 'static>(
        &self,
        request: PollRequest,
    ) -> Result<Request<B>, &'static str> {
        let body = self.body_of::<B>(request.body())?;
        Ok(self.hooked(request.build::<()>(self.tags_requests()), body))
    }

    /// `req` shaped by the `on_poll_request` hook, if any, then given its body (`B::default()`
    /// when it has none).
    fn hooked<B: Default>(&self, mut req: Request<()>, body: Option<B>) -> Request<B> {
        if let Some(hook) = &self.hook {
            hook(&mut req);
        }
        req.map(|()| body.unwrap_or_default())
    }

    /// A request body of type `B` made of `bytes` by the layer's [`PollBody`]; `Err` (the body
    /// type) when there are bytes and the layer has no way to make a `B`.
    fn body_of<B: 'static>(&self, bytes: Option<&bytes::Bytes>) -> Result<Option<B>, &'static str> {
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let maker = self
            .poll_body
            .as_ref()
            .and_then(|m| m.downcast_ref::<PollBody<B>>());
        match maker {
            Some(PollBody(make)) => Ok(Some(make(bytes.clone()))),
            None => Err(std::any::type_name::<B>()),
        }
    }

    /// Whether the requests the layer sends by itself carry an `LroRequest`: when asked, and
    /// always with a hook (its documentation promises it the extension).
    pub(crate) fn tags_requests(&self) -> bool {
        self.tag_requests || self.hook.is_some()
    }

    /// The cancel request a driver sends, shaped by the `on_poll_request` hook as polls are;
    /// its body (a declared `cancel`'s) made as a poll's is, `Err` (the body type) when the
    /// layer cannot make one.
    pub(crate) fn cancel_request<B: Default + 'static>(
        &self,
        request: CancelRequest,
    ) -> Result<Request<B>, &'static str> {
        let body = self.body_of::<B>(request.body())?;
        Ok(self.hooked(request.build::<()>(self.tags_requests()), body))
    }

    /// Tells the progress hook and the trace where `machine` stands, when it has a report due.
    #[inline]
    pub(crate) fn report(&self, trace: &Trace, machine: &mut Machine) {
        // Asked after every step of the driver's loop: the usual answer, no hook and no trace,
        // without a call.
        if self.progress.is_none() && !trace::ENABLED {
            return;
        }
        self.report_due(trace, machine);
    }

    #[inline(never)]
    fn report_due(&self, trace: &Trace, machine: &mut Machine) {
        let Some(progress) = machine.poll_progress(super::time::now().mono()) else {
            return;
        };
        trace.poll(&progress);
        if let Some(hook) = &self.progress {
            hook(&progress);
        }
    }
}
