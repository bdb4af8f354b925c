//! The clock of the driver: tokio's (so tests can pause it) in the core's terms.

use crate::proto::Now;

/// Now, as the core wants it: tokio's monotonic clock; the wall clock (for HTTP-dates) is read
/// only when an answer needs it.
pub(crate) fn now() -> Now {
    Now::monotonic(tokio::time::Instant::now().into_std())
}
