//! What the driver is built from: the layer's configuration and the user's hooks.

use std::sync::Arc;

use http::Request;

use super::trace::{self, Trace};
use crate::config::Config;
use crate::metadata::Progress;
use crate::options::LroOptions;
use crate::proto::dialect::Dialect;
use crate::proto::{Machine, Params, PollRequest};

/// A hook that shapes each request the layer sends by itself (polls and the resource `GET`),
/// after the layer has set its URI and headers: sign it afresh, add a tracing header, …
pub(crate) type PollHook = Arc<dyn Fn(&mut Request<()>) + Send + Sync>;
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
}

impl Settings {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config: Arc::new(config),
            hook: None,
            progress: None,
            dialect: Dialect::default(),
            idempotency: None,
        }
    }

    /// The per-request choices, resolved from the request's options: the core reads no
    /// request extensions.
    pub(crate) fn params(&self, options: Option<&LroOptions>) -> Params {
        let mut params = Params::new(&self.config).dialect(self.dialect(options).clone());
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
    /// `on_poll_request` hook.
    pub(crate) fn poll_request(&self, request: PollRequest) -> Request<()> {
        if request.kind() == crate::PollKind::Status {
            crate::metrics::polled();
        }
        let mut req = request.into_request();
        if let Some(hook) = &self.hook {
            hook(&mut req);
        }
        req
    }

    /// Tells the progress hook and the trace where `machine` stands, when it has a report due.
    pub(crate) fn report(&self, trace: &Trace, machine: &mut Machine) {
        if self.progress.is_none() && !trace::ENABLED {
            return;
        }
        let Some(progress) = machine.poll_progress(super::time::now().mono()) else {
            return;
        };
        trace.poll(&progress);
        if let Some(hook) = &self.progress {
            hook(&progress);
        }
    }
}
