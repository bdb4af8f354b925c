//! The knobs of a resolution: [`Config`] (read back from the layer) and [`FinalState`].

use std::time::Duration;

use http::header::{HeaderName, AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
use serde::{Deserialize, Serialize};

use crate::vocab::Vocabulary;

/// Where the final response comes from once an operation has succeeded ([the final response](crate::_protocol#final-response)).
///
/// The names follow Azure's `x-ms-long-running-operation-options.final-state-via`:
/// `location` → [`Location`](FinalState::Location), `original-uri` →
/// [`OriginalUri`](FinalState::OriginalUri), `azure-async-operation` / `operation-location` →
/// [`StatusMonitor`](FinalState::StatusMonitor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FinalState {
    /// The rules of [the final response](crate::_protocol#final-response), first that applies: `Resource-Location` header, `201` with
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

/// The configuration of a layer, what the protocol core is started with. Not part of the API:
/// it is set through [`LroLayer`](crate::LroLayer)'s builder methods, the one configuration
/// surface, shown by the layer's `Debug`, and read back only by the crate's own fuzz harness,
/// property tests and benches (through `__private`).
///
/// ```
/// use std::time::Duration;
/// let layer = tower_lro::LroLayer::new().poll_interval(Duration::from_millis(500));
/// let config = tower_lro::__private::config(&layer);
/// assert_eq!(config.poll_interval(), Duration::from_millis(500));
/// assert_eq!(config.deadline(), Duration::from_secs(600));
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// The first unhinted wait as set (`None`: 1 s).
    pub(crate) poll_interval: Option<Duration>,
    /// The cap of unhinted waits as set (`None`: the first wait when that was set, else 30 s).
    pub(crate) max_poll_interval: Option<Duration>,
    /// The share of a wait the layer chose that jitter may take off (0: no jitter).
    pub(crate) jitter: f64,
    /// The seed of every operation's jitter sequence (`None`: a fresh one per operation).
    pub(crate) jitter_seed: Option<u64>,
    pub(crate) min_wait: Duration,
    pub(crate) max_wait: Duration,
    pub(crate) deadline: Duration,
    pub(crate) max_polls: u32,
    pub(crate) transient_retries: u32,
    pub(crate) status_body_limit: usize,
    pub(crate) final_state: FinalState,
    pub(crate) failure_as_response: bool,
    pub(crate) carry_query: Vec<String>,
    pub(crate) credential_headers: Vec<HeaderName>,
    pub(crate) allowed_origins: Vec<Origin>,
    pub(crate) detect_provisioning_state: bool,
    pub(crate) vocabulary: Vocabulary,
    pub(crate) ssrf_guard: bool,
    pub(crate) accepted_retry: bool,
    pub(crate) bound_final_body: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            poll_interval: None,
            max_poll_interval: None,
            jitter: 0.0,
            jitter_seed: None,
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
            vocabulary: Vocabulary::new(),
            ssrf_guard: true,
            accepted_retry: false,
            bound_final_body: true,
        }
    }
}

impl Config {
    /// The first wait when a response carries no wait hint (default 1 s); unhinted waits grow
    /// from it up to [`max_poll_interval`](Self::max_poll_interval).
    pub fn poll_interval(&self) -> Duration {
        self.backoff().0
    }
    /// The cap of unhinted waits (default 30 s), never below the poll interval. Equal to the
    /// poll interval when [`LroLayer::poll_interval`](crate::LroLayer::poll_interval) was set
    /// and no cap was.
    pub fn max_poll_interval(&self) -> Duration {
        self.backoff().1
    }
    /// The share of each wait the layer chose that jitter may take off, in `[0, 1]` (default
    /// 0: no jitter).
    pub fn poll_jitter(&self) -> f64 {
        self.jitter
    }
    /// Every wait is at least this (default 0).
    pub fn min_wait(&self) -> Duration {
        self.min_wait
    }
    /// Every wait is at most this (default 5 min).
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }
    /// The whole resolution, from the submission's answer (default 10 min).
    pub fn deadline(&self) -> Duration {
        self.deadline
    }
    /// Requests to the status monitor, retries included (default 1000).
    pub fn max_polls(&self) -> u32 {
        self.max_polls
    }
    /// Transient poll failures retried in a row (default 5).
    pub fn transient_retries(&self) -> u32 {
        self.transient_retries
    }
    /// Status and submission bodies are read up to this many bytes (default 1 MiB).
    pub fn status_body_limit(&self) -> usize {
        self.status_body_limit
    }
    /// Where the final response comes from (default [`FinalState::Auto`]).
    pub fn final_state(&self) -> FinalState {
        self.final_state
    }
    /// Whether a failed terminal status response is delivered instead of an error.
    pub fn failure_as_response(&self) -> bool {
        self.failure_as_response
    }
    /// Query parameters carried from the submission URL (default `["api-version"]`).
    pub fn carry_query(&self) -> &[String] {
        &self.carry_query
    }
    /// Headers (and query parameters of those names) never sent to another origin, besides
    /// every name the library's list ([`crate::credentials`]) names: the five it always named
    /// and those added with [`LroLayer::credential_header`](crate::LroLayer::credential_header).
    pub fn credential_headers(&self) -> &[HeaderName] {
        &self.credential_headers
    }
    /// Origins other than the submission's that may receive credentials.
    pub fn allowed_origins(&self) -> &[Origin] {
        &self.allowed_origins
    }
    /// Whether the ARM `PUT`/`PATCH` → `provisioningState` shape is detected (default `true`).
    pub fn detect_provisioning_state(&self) -> bool {
        self.detect_provisioning_state
    }

    /// Whether URLs from answers that name internal hosts are refused (default `true`).
    pub fn ssrf_guard(&self) -> bool {
        self.ssrf_guard
    }

    /// Whether a `202` with nothing to poll, to a `GET`, is re-sent until ready (default
    /// `false`).
    pub fn accepted_means_retry(&self) -> bool {
        self.accepted_retry
    }

    /// Whether a delivered final body that streams is cut at the deadline (default `true`).
    pub fn bound_final_body(&self) -> bool {
        self.bound_final_body
    }

    /// The unhinted backoff in force, `(first, cap)` with `cap >= first`: each setter alone
    /// means the same whatever the order of the calls.
    pub(crate) fn backoff(&self) -> (Duration, Duration) {
        let first = self.poll_interval.unwrap_or(Duration::from_secs(1));
        let cap = match (self.max_poll_interval, self.poll_interval) {
            (Some(cap), _) => cap,
            (None, Some(first)) => first,
            (None, None) => Duration::from_secs(30),
        };
        (first, cap.max(first))
    }

    /// A credential header: the library's list ([`crate::credentials`]) or one the caller added.
    pub(crate) fn is_credential_header(&self, name: &str) -> bool {
        crate::credentials::is_credential_header(name) || self.added_credential(name)
    }

    /// A credential query parameter (decoded name): the library's list or one the caller added.
    pub(crate) fn is_credential_query(&self, name: &str) -> bool {
        crate::credentials::is_credential_query(name) || self.added_credential(name)
    }

    fn added_credential(&self, name: &str) -> bool {
        self.credential_headers
            .iter()
            .any(|h| h.as_str().eq_ignore_ascii_case(name))
    }
}

/// An origin (`scheme://host[:port]`) that may receive credentials although it is not the
/// submission's: see [`LroLayer::allow_origin`](crate::LroLayer::allow_origin).
///
/// ```
/// let origin: tower_lro::Origin = "https://status.example.com".parse().unwrap();
/// assert_eq!(origin.to_string(), "https://status.example.com");
/// assert!("ftp://files.example.com".parse::<tower_lro::Origin>().is_err());
/// assert!("status.example.com".parse::<tower_lro::Origin>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin(pub(crate) url::Origin);

impl Origin {
    /// Reads an absolute `http`/`https` URL's origin (a path, if any, is ignored).
    pub fn parse(text: &str) -> Result<Self, InvalidOrigin> {
        url::Url::parse(text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .map(|u| Origin(u.origin()))
            // The text is kept masked: it is shown by `Display` and `Debug`.
            .ok_or_else(|| InvalidOrigin(crate::credentials::mask_url(text).into_owned()))
    }
}

impl std::str::FromStr for Origin {
    type Err = InvalidOrigin;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.ascii_serialization())
    }
}

/// A text that is not an absolute `http`/`https` origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidOrigin(String);

impl std::fmt::Display for InvalidOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} is not an http(s) origin", self.0)
    }
}

impl std::error::Error for InvalidOrigin {}
