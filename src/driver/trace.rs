//! Optional `tracing` output of the Tower driver: a span per operation, an event per poll.
//! Without the `tracing` feature every method is a no-op the compiler removes. It also keeps
//! the operation's [`Meter`] (the `metrics` feature).

use http::{Method, Uri};

use crate::metadata::{LroMetadata, Progress};
use crate::metrics::Meter;
use crate::proto::Machine;

/// Whether progress snapshots are worth building for tracing.
pub(crate) const ENABLED: bool = cfg!(feature = "tracing");

#[cfg(feature = "tracing")]
pub(crate) struct Trace {
    span: tracing::Span,
    meter: Meter,
}

#[cfg(not(feature = "tracing"))]
pub(crate) struct Trace {
    meter: Meter,
}

/// Stands for an entered span when tracing is off.
#[cfg(not(feature = "tracing"))]
pub(crate) struct Entered;

#[cfg(feature = "tracing")]
impl Trace {
    pub(crate) fn new(method: &Method, uri: &Uri) -> Self {
        use tracing::field::Empty;
        let span = tracing::info_span!(
            "lro",
            method = %method,
            url = %Logged(uri),
            rule = Empty,
            operation_url = Empty,
            operation_id = Empty,
        );
        Self {
            span,
            meter: Meter::default(),
        }
    }

    pub(crate) fn enter(&self) -> tracing::span::Entered<'_> {
        self.span.enter()
    }

    pub(crate) fn started(&self, machine: &Machine) {
        self.meter.started();
        self.span.record("rule", machine.rule().as_str());
    }

    pub(crate) fn poll(&self, p: &Progress) {
        self.span.record(
            "operation_url",
            tracing::field::display(Logged(p.operation_url())),
        );
        if let Some(id) = p.operation_id() {
            self.span.record("operation_id", id);
        }
        let wait_ms = p.next_poll_in().map(|d| d.as_millis() as u64);
        let reason = p.wait_reason().map(ToString::to_string);
        if !p.status().is_recognised() {
            tracing::info!(
                status = %Quoted(p.status().as_str()),
                "lro status word not recognised: polling on until the deadline"
            );
        }
        tracing::debug!(
            status = %Quoted(p.status().as_str()),
            recognised = p.status().is_recognised(),
            percent_complete = p.percent_complete(),
            polls = p.polls(),
            wait_ms,
            reason,
            "lro poll"
        );
    }

    pub(crate) fn finished(&self, meta: &LroMetadata) {
        self.meter.delivered(meta.status());
        tracing::debug!(
            status = %Quoted(meta.status().as_str()),
            polls = meta.polls(),
            elapsed_ms = meta.elapsed().as_millis() as u64,
            resource_url = meta.resource_url().map(|u| tracing::field::display(Logged(u))),
            "lro finished"
        );
    }

    pub(crate) fn failed(&self, error: &(dyn std::error::Error + 'static)) {
        self.meter.failed(error);
        tracing::debug!(error = %error, "lro failed");
    }
}

/// A URL as a log line shows it: credential values masked, escaped and bounded, as an error's
/// `Display` shows it (formatted only when a subscriber records it).
#[cfg(feature = "tracing")]
struct Logged<T>(T);

#[cfg(feature = "tracing")]
impl<T: std::fmt::Display> std::fmt::Display for Logged<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = self.0.to_string();
        let masked = crate::credentials::mask_url(&url);
        std::fmt::Display::fmt(&Quoted(&masked), f)
    }
}

/// A server's text (a status word, a URL) escaped and bounded, as in error messages.
#[cfg(feature = "tracing")]
struct Quoted<'a>(&'a str);

#[cfg(feature = "tracing")]
impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let limit = 2 * crate::error::shown::LIMIT;
        std::fmt::Display::fmt(&crate::error::shown::Shown::new(self.0, limit), f)
    }
}

#[cfg(not(feature = "tracing"))]
impl Trace {
    pub(crate) fn new(_: &Method, _: &Uri) -> Self {
        Self {
            meter: Meter::default(),
        }
    }
    pub(crate) fn enter(&self) -> Entered {
        Entered
    }
    pub(crate) fn started(&self, _: &Machine) {
        self.meter.started();
    }
    pub(crate) fn poll(&self, _: &Progress) {}
    pub(crate) fn finished(&self, meta: &LroMetadata) {
        self.meter.delivered(meta.status());
    }
    pub(crate) fn failed(&self, error: &(dyn std::error::Error + 'static)) {
        self.meter.failed(error);
    }
}

impl Trace {
    /// The operation continues from a resume handle.
    pub(crate) fn resumed(&self) {
        self.meter.resumed();
    }
}
