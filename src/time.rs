//! The clock of the drivers: tokio's (so tests can pause it) in the core's `std` terms.

use std::time::SystemTime;

use tokio::time::Instant;

/// Now, as the core wants it: tokio's monotonic clock and the wall clock (for HTTP-dates).
pub(crate) fn clock() -> (std::time::Instant, SystemTime) {
    (Instant::now().into_std(), SystemTime::now())
}
