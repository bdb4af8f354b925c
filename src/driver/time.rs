//! The clock of the driver: tokio's (so tests can pause it) in the core's terms.

use std::time::SystemTime;

use crate::proto::Now;

/// Now, as the core wants it: tokio's monotonic clock and the wall clock (for HTTP-dates).
pub(crate) fn now() -> Now {
    Now::new(tokio::time::Instant::now().into_std(), SystemTime::now())
}
