//! A scenario as data (it prints with `{:?}` and is written back as a value), and what
//! [`run`](super::run) observed.

use super::*;

/// A response: status, headers, body.
#[derive(Clone)]
pub struct Answer {
    /// Status code (any `u16` that `http` accepts).
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Body bytes (`None`: the driver did not read it).
    pub body: Option<Vec<u8>>,
}

/// Bytes printed as a Rust byte-string literal, so a printed scenario reads (and pastes) back.
struct ByteStr<'a>(&'a [u8]);

impl std::fmt::Debug for ByteStr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<_> = self.headers.iter().map(|(n, v)| (n, ByteStr(v))).collect();
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("headers", &headers)
            .field("body", &self.body.as_deref().map(ByteStr))
            .finish()
    }
}

/// What happens to a request the machine sent.
#[derive(Debug, Clone)]
pub enum Event {
    /// A response arrives `latency_ms` after the send.
    Response {
        /// The answer.
        answer: Answer,
        /// Time in flight.
        latency_ms: u32,
    },
    /// The inner service failed.
    Transport {
        /// Time in flight.
        latency_ms: u32,
    },
    /// The head arrived, the body was over the limit.
    TooLarge {
        /// Status and headers of the head.
        answer: Answer,
        /// Time in flight.
        latency_ms: u32,
    },
    /// The head arrived, the body broke.
    BodyRead {
        /// Status and headers of the head.
        answer: Answer,
        /// Time in flight.
        latency_ms: u32,
    },
}

/// Knobs of [`Config`] the scenario sets.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// `poll_interval`.
    pub poll_interval: Duration,
    /// `max_poll_interval`.
    pub max_poll_interval: Duration,
    /// `min_wait`.
    pub min_wait: Duration,
    /// `max_wait`.
    pub max_wait: Duration,
    /// `deadline`.
    pub deadline: Duration,
    /// `max_polls`.
    pub max_polls: u32,
    /// `transient_retries`.
    pub transient_retries: u32,
    /// `final_state`.
    pub final_state: FinalState,
    /// `failure_as_response`.
    pub failure_as_response: bool,
    /// `detect_provisioning_state`.
    pub detect_provisioning_state: bool,
    /// Also carry `subscription-key` / `Subscription-Key`.
    pub carry_key: bool,
    /// Allow `https://other.example` to receive credentials.
    pub allow_other: bool,
    /// Per-request deadline override.
    pub option_deadline: Option<Duration>,
    /// Per-request final-state override.
    pub option_final_state: Option<FinalState>,
}

/// One whole exchange.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Configuration.
    pub knobs: Knobs,
    /// Submission method.
    pub method: Method,
    /// Submission URL (index into [`SUBMISSIONS`]).
    pub url: usize,
    /// Which of [`REQUEST_HEADERS`] the submission carries.
    pub request_headers: Vec<usize>,
    /// The submission's response.
    pub submission: Answer,
    /// What happens to each request the machine sends, in order. When they run out, every
    /// further request is answered `200` with a running status document.
    pub events: Vec<Event>,
    /// The dialect the submission is read in (`Params::dialect`).
    pub dialect: DialectSpec,
}

/// A dialect a scenario names, as data (so a scenario prints and clones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialectSpec {
    /// The default dialect (spec §1–§5).
    Default,
    /// `Dialect::google()`, or `google_with_base(base)` (falling back to `google()` when the
    /// base is refused).
    Google(Option<String>),
    /// `Dialect::compute()`.
    Compute,
    /// `Dialect::from_json(json)`; only descriptions it accepts are made.
    Declared(String),
}

impl DialectSpec {
    /// The dialect itself.
    pub fn build(&self) -> Dialect {
        match self {
            DialectSpec::Default => Dialect::default(),
            DialectSpec::Google(None) => Dialect::google(),
            DialectSpec::Google(Some(base)) => {
                Dialect::google_with_base(base).unwrap_or_else(|_| Dialect::google())
            }
            DialectSpec::Compute => Dialect::compute(),
            DialectSpec::Declared(json) => {
                Dialect::from_json(json).expect("only accepted descriptions are made")
            }
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `Submission::start` returned an error of this kind.
    StartError(ErrorKind),
    /// Not an LRO.
    NotLro,
    /// `Deliver`.
    Delivered,
    /// `Fail` with this kind.
    Failed(ErrorKind),
    /// The deadline passed while a request was in flight: `Failure::DeadlinePassed`.
    Deadline,
}

/// What [`run`] observed.
#[derive(Debug, Clone)]
pub struct Summary {
    /// How it ended.
    pub end: End,
    /// Status polls sent.
    pub status_sends: u32,
    /// Resource fetches sent.
    pub resource_sends: u32,
    /// Synthetic time from the submission's response to the end.
    pub elapsed: Duration,
}
