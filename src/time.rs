//! The clock of the drivers: tokio's (so tests can pause it) in the core's `std` terms.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// About 30 years: stands for "no deadline" without overflowing any timer.
pub(crate) const FOREVER: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// Now, as the core wants it: tokio's monotonic clock and the wall clock (for HTTP-dates).
pub(crate) fn clock() -> (std::time::Instant, SystemTime) {
    (Instant::now().into_std(), SystemTime::now())
}

/// `d` from now, saturating at [`FOREVER`].
pub(crate) fn deadline_from_now(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d).unwrap_or_else(|| now + FOREVER)
}
