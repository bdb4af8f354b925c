//! The knobs of a resolution, shared by every driver of the protocol core.

use std::time::Duration;

use http::header::{HeaderName, AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
use serde::{Deserialize, Serialize};

/// Where the final response comes from once an operation has succeeded (spec §6).
///
/// The names follow Azure's `x-ms-long-running-operation-options.final-state-via`:
/// `location` → [`Location`](FinalState::Location), `original-uri` →
/// [`OriginalUri`](FinalState::OriginalUri), `azure-async-operation` / `operation-location` →
/// [`StatusMonitor`](FinalState::StatusMonitor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FinalState {
    /// The rules of spec §6, first that applies: `Resource-Location` header, `201` with
    /// `Location`, body `resourceLocation`, the request's own URL for `PUT`/`PATCH`, the
    /// submission's `Location` for `POST`, else the terminal status response.
    #[default]
    Auto,
    /// `GET` the `Location` header of the submission response (falls back to `Auto` when the
    /// submission had none).
    Location,
    /// `GET` the URL of the original request.
    OriginalUri,
    /// No extra `GET`: the terminal status response is the final response.
    StatusMonitor,
}

/// Configuration of the protocol core. Build it with [`LroLayer`](crate::LroLayer)'s methods, or
/// directly for another driver: `Config::default()` and assign the fields.
///
/// ```
/// use std::time::Duration;
/// let mut cfg = tower_lro::Config::default();
/// cfg.poll_interval = Duration::from_millis(500);
/// assert_eq!(cfg.deadline, Duration::from_secs(600));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The wait when a response carries no wait hint. Default 1 s. Unhinted waits grow from it
    /// up to [`Config::max_poll_interval`]; [`LroLayer::poll_interval`](crate::LroLayer::poll_interval)
    /// also pins that maximum, setting this field alone does not.
    pub poll_interval: Duration,
    /// Unhinted waits stay at `poll_interval` for the first 5 polls, then double each poll up to
    /// this cap, so a long operation is not polled every second for an hour. Default 30 s.
    pub max_poll_interval: Duration,
    /// Every wait, hinted or not, is at least this. Default 0.
    pub min_wait: Duration,
    /// Every wait, hinted or not, is at most this: an absurd `Retry-After` is clamped here.
    /// Default 5 minutes.
    pub max_wait: Duration,
    /// The whole resolution, measured from the submission's response, must end within this.
    /// Default 10 minutes.
    pub deadline: Duration,
    /// At most this many requests to the status monitor (retries included). Default 1000.
    pub max_polls: u32,
    /// A poll that fails transiently (`408`, `429`, `500`, `502`, `503`, `504`, a transport
    /// error, a body cut short) is retried at most this many times in a row. Default 5.
    pub transient_retries: u32,
    /// Status and submission bodies are read up to this many bytes. Default 1 MiB.
    pub status_body_limit: usize,
    /// Where the final response comes from. Default [`FinalState::Auto`].
    pub final_state: FinalState,
    /// Return a `Failed`/`Canceled` terminal status response as the final response instead of
    /// an error. Default `false`.
    pub failure_as_response: bool,
    /// Query parameters of the submission URL carried onto poll and resource URLs that lack
    /// them. Default `["api-version"]`.
    pub carry_query: Vec<String>,
    /// Headers (and query parameters of the same name) never sent to an origin other than the
    /// submission's. Default `Authorization`, `Proxy-Authorization`, `Cookie`,
    /// `subscription-key`, `Ocp-Apim-Subscription-Key`.
    pub credential_headers: Vec<HeaderName>,
    /// Origins other than the submission's that may receive credentials. Default none.
    pub allowed_origins: Vec<url::Origin>,
    /// Detect the ARM `PUT`/`PATCH` → `provisioningState` shape. It costs buffering the body
    /// of `200`/`201` JSON answers to `PUT`/`PATCH` (up to `status_body_limit`). Default `true`.
    pub detect_provisioning_state: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            max_poll_interval: Duration::from_secs(30),
            min_wait: Duration::ZERO,
            max_wait: Duration::from_secs(300),
            deadline: Duration::from_secs(600),
            max_polls: 1000,
            transient_retries: 5,
            status_body_limit: 1024 * 1024,
            final_state: FinalState::Auto,
            failure_as_response: false,
            carry_query: vec!["api-version".to_owned()],
            credential_headers: vec![
                AUTHORIZATION,
                PROXY_AUTHORIZATION,
                COOKIE,
                HeaderName::from_static("subscription-key"),
                HeaderName::from_static("ocp-apim-subscription-key"),
            ],
            allowed_origins: Vec::new(),
            detect_provisioning_state: true,
        }
    }
}

impl Config {
    /// Number of unhinted waits that stay at `poll_interval` before growth starts.
    pub(crate) const FLAT_POLLS: u32 = 5;

    /// The wait for the `n`-th poll that had no hint (0-based), before clamping.
    pub(crate) fn unhinted_wait(&self, n: u32) -> Duration {
        let cap = self.max_poll_interval.max(self.poll_interval);
        let doublings = n.saturating_sub(Self::FLAT_POLLS - 1).min(32);
        self.poll_interval
            .checked_mul(1u32 << doublings.min(31))
            .unwrap_or(cap)
            .min(cap)
    }

    /// The wait after the `k`-th transient failure in a row (1-based), before clamping.
    pub(crate) fn transient_wait(&self, k: u32) -> Duration {
        let cap = self.max_poll_interval.max(self.poll_interval);
        let doublings = k.saturating_sub(1).min(31);
        self.poll_interval
            .checked_mul(1u32 << doublings)
            .unwrap_or(cap)
            .min(cap)
    }

    /// Clamps a wait to `[min_wait, max_wait]` (tolerating a misconfigured `min > max`).
    pub(crate) fn clamp_wait(&self, wait: Duration) -> Duration {
        wait.max(self.min_wait)
            .min(self.max_wait.max(self.min_wait))
    }

    pub(crate) fn is_credential(&self, name: &str) -> bool {
        self.credential_headers
            .iter()
            .any(|h| h.as_str().eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhinted_backoff_is_flat_then_doubles_to_cap() {
        let c = Config::default();
        let got: Vec<u64> = (0..12).map(|n| c.unhinted_wait(n).as_secs()).collect();
        assert_eq!(got, [1, 1, 1, 1, 1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(c.unhinted_wait(u32::MAX), Duration::from_secs(30));
        let t: Vec<u64> = (1..8).map(|k| c.transient_wait(k).as_secs()).collect();
        assert_eq!(t, [1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn clamp_handles_absurd_values() {
        let c = Config::default();
        assert_eq!(
            c.clamp_wait(Duration::from_secs(99_999_999_999)),
            c.max_wait
        );
        assert_eq!(c.clamp_wait(Duration::MAX), c.max_wait);
        let odd = Config {
            min_wait: Duration::from_secs(10),
            max_wait: Duration::from_secs(1),
            ..Config::default()
        };
        assert_eq!(odd.clamp_wait(Duration::ZERO), Duration::from_secs(10));
    }
}
