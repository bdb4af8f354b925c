//! The clock of the driver: tokio's (so tests can pause it) in the core's terms.

use crate::proto::Now;

/// Now, as the core wants it: tokio's monotonic clock, and the wall clock when an HTTP-date
/// asks for it.
pub(crate) fn now() -> Now {
    Now::wall_when_asked(tokio::time::Instant::now().into_std())
}
