//! Metrics of the layer through the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`): install any recorder (a Prometheus exporter, a StatsD one) and the layer's
//! counters appear in it. Without the feature nothing is counted and nothing is compiled in;
//! the names below are always here, for dashboards and tests.
//!
//! | name | kind | labels | counts |
//! | --- | --- | --- | --- |
//! | [`STARTED`] | counter | | operations a submission's answer started |
//! | [`RESUMED`] | counter | | operations continued from a [`ResumeHandle`](crate::ResumeHandle) (by a caller, or by the [store](crate::store) after another process) |
//! | [`ATTACHED`] | counter | | requests under a known idempotency key answered from the [store](crate::store): nothing sent again |
//! | [`RESUBMITTED`] | counter | | submissions sent again under their key by the [store](crate::store): a record said the submission may have gone out, and no handle was recorded (its sender ended in between) |
//! | [`FINISHED`] | counter | `outcome`: `succeeded`, `failed`, `canceled`, `timeout`, `error`, `dropped` | operations started or resumed that ended, and how (`dropped`: the response future was dropped first, a client that went away; a response delivered after a word that means failed or canceled, a declared `partial_result` or [`failure_as_response`](crate::LroLayer::failure_as_response), counts as `failed` or `canceled`) |
//! | [`POLLS`] | counter | | status polls sent |
//! | [`WAITS`] | counter | `on`: `poll` (between two polls), `lease` (for the process that leads a keyed operation) | waits |
//! | [`IN_FLIGHT`] | gauge | | operations started or resumed that have not ended |

/// Operations a submission's answer started (counter).
pub const STARTED: &str = "lro_operations_started_total";
/// Operations continued from a resume handle (counter).
pub const RESUMED: &str = "lro_operations_resumed_total";
/// Requests under a known idempotency key answered from the store (counter).
pub const ATTACHED: &str = "lro_operations_attached_total";
/// Submissions sent again under their idempotency key after their sender ended (counter).
pub const RESUBMITTED: &str = "lro_operations_resubmitted_total";
/// Operations that ended, by `outcome` (counter).
pub const FINISHED: &str = "lro_operations_finished_total";
/// Status polls sent (counter).
pub const POLLS: &str = "lro_polls_total";
/// Waits, `on` a `poll` interval or a `lease` (counter).
pub const WAITS: &str = "lro_waits_total";
/// Operations started or resumed that have not ended (gauge).
pub const IN_FLIGHT: &str = "lro_operations_in_flight";

/// One driven operation's share of the counters: counts its start (or resumption), its end,
/// and keeps [`IN_FLIGHT`] in between. Empty without the feature.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    #[cfg(feature = "metrics")]
    live: std::sync::atomic::AtomicBool,
}

#[cfg(feature = "metrics")]
impl Meter {
    fn begin(&self, name: &'static str) {
        use std::sync::atomic::Ordering;
        if !self.live.swap(true, Ordering::Relaxed) {
            metrics::counter!(name).increment(1);
            metrics::gauge!(IN_FLIGHT).increment(1.0);
        }
    }

    pub(crate) fn started(&self) {
        self.begin(STARTED);
    }

    pub(crate) fn resumed(&self) {
        self.begin(RESUMED);
    }

    /// A final response delivered: `succeeded`, unless its status says the operation failed
    /// or was canceled and left a result (a declared `partial_result`, `failure_as_response`).
    pub(crate) fn delivered(&self, status: &crate::OperationStatus) {
        self.end(match status.meaning() {
            crate::StatusMeaning::Failed => "failed",
            crate::StatusMeaning::Canceled => "canceled",
            _ => "succeeded",
        });
    }

    pub(crate) fn failed(&self, error: &(dyn std::error::Error + 'static)) {
        self.end(outcome(error));
    }

    fn end(&self, outcome: &'static str) {
        use std::sync::atomic::Ordering;
        if self.live.swap(false, Ordering::Relaxed) {
            metrics::counter!(FINISHED, "outcome" => outcome).increment(1);
            metrics::gauge!(IN_FLIGHT).decrement(1.0);
        }
    }
}

#[cfg(feature = "metrics")]
impl Drop for Meter {
    fn drop(&mut self) {
        self.end("dropped");
    }
}

#[cfg(not(feature = "metrics"))]
impl Meter {
    pub(crate) fn started(&self) {}
    pub(crate) fn resumed(&self) {}
    pub(crate) fn delivered(&self, _: &crate::OperationStatus) {}
    pub(crate) fn failed(&self, _: &(dyn std::error::Error + 'static)) {}
}

/// How an error ended an operation, as the `outcome` label says it.
#[cfg(feature = "metrics")]
fn outcome(error: &(dyn std::error::Error + 'static)) -> &'static str {
    use crate::ErrorKind;
    match error.downcast_ref::<crate::Error>() {
        Some(e) if e.is_canceled() => "canceled",
        Some(e) => match e.kind() {
            ErrorKind::OperationFailed => "failed",
            ErrorKind::Timeout | ErrorKind::PollLimit => "timeout",
            _ => "error",
        },
        None => "error",
    }
}

/// A status poll was sent.
#[inline]
pub(crate) fn polled() {
    #[cfg(feature = "metrics")]
    metrics::counter!(POLLS).increment(1);
}

/// A wait began, `on` a poll interval or a lease.
#[inline]
pub(crate) fn waited(on: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(WAITS, "on" => on).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = on;
}

/// A submission was sent again under its key: its record held no handle.
#[inline]
pub(crate) fn resubmitted() {
    #[cfg(feature = "metrics")]
    metrics::counter!(RESUBMITTED).increment(1);
}

/// A request under a known key was answered from the store.
#[inline]
pub(crate) fn attached() {
    #[cfg(feature = "metrics")]
    metrics::counter!(ATTACHED).increment(1);
}
