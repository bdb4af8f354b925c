//! `lro proxy`'s access log: one line a request, with what is known of its operation.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http::Request;
use hyper::body::Incoming;
use tower::BoxError;
use tower_lro::{OperationStatus, ResumeHandle};

use crate::redact;
use crate::term::shown;

/// The latest progress report of a request's operation.
#[derive(Default)]
pub(crate) struct Latest {
    pub(crate) handle: Option<ResumeHandle>,
    pub(crate) status: Option<OperationStatus>,
}

impl Latest {
    /// What the log line says of the operation.
    pub(crate) fn summary(&self) -> String {
        summary(
            self.status.as_ref().and_then(word),
            self.handle.as_ref().map(|h| h.rule().to_string()),
            self.handle.as_ref().map(ResumeHandle::polls),
        )
    }
}

/// What the log line says of the operation, carried by an answer that has no `LroMetadata`.
#[derive(Clone)]
pub(crate) struct Known(pub(crate) String);

/// The access-log line of one request, printed when its answer is ready, or when the client
/// went away first (the request's future is then dropped): `499`, with what is known of its
/// operation.
pub(crate) struct AccessLog {
    line: String,
    pub(crate) started: Instant,
    pub(crate) cell: Arc<Mutex<Latest>>,
    printed: bool,
}

impl AccessLog {
    pub(crate) fn new(peer: SocketAddr, req: &Request<Incoming>) -> Self {
        let url = redact::access_target(&req.uri().to_string());
        Self {
            line: format!("{peer} {} {}", shown(req.method().as_str()), shown(&url)),
            started: Instant::now(),
            cell: Arc::default(),
            printed: false,
        }
    }

    /// `{line} -> {what}{lro} in {secs} s`.
    pub(crate) fn print(&mut self, what: &str, lro: &str) {
        self.printed = true;
        eprintln!(
            "{} -> {what}{lro} in {:.3} s",
            self.line,
            self.started.elapsed().as_secs_f64()
        );
    }
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        if !self.printed {
            let known = self
                .cell
                .lock()
                .map_or_else(|_| String::new(), |latest| latest.summary());
            self.print("499 client went away", &known);
        }
    }
}

/// The status word for the log: none before an answer gave one (the `NotStarted` the layer
/// assumes is no server's word).
pub(crate) fn word(status: &OperationStatus) -> Option<String> {
    (!status.is_assumed()).then(|| status.to_string())
}

/// ` (Running via operation-location, 3 polls)`: what is known of an operation, for the log.
pub(crate) fn summary(status: Option<String>, rule: Option<String>, polls: Option<u32>) -> String {
    let status = status.map(|s| shown(&s).into_owned());
    let rule = rule.map(|r| shown(&r).into_owned());
    let mut parts = match (status, rule) {
        (Some(s), Some(r)) => vec![format!("{s} via {r}")],
        (Some(s), None) => vec![s],
        (None, Some(r)) => vec![format!("via {r}")],
        (None, None) => Vec::new(),
    };
    if let Some(n) = polls {
        parts.push(match n {
            1 => "1 poll".to_owned(),
            n => format!("{n} polls"),
        });
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// What an error of the client stack tells of the operation, for the log.
pub(crate) fn known_of(err: &BoxError) -> Known {
    let Some(e) = err.downcast_ref::<tower_lro::Error>() else {
        return Known(String::new());
    };
    Known(summary(
        e.operation_status().and_then(word),
        e.rule().map(|r| r.to_string()),
        e.resume_handle().map(ResumeHandle::polls),
    ))
}
