//! Dialects of the pattern ([dialects](crate::_protocol#dialects)): the default one (Azure and RFC 9110), Google's
//! `Operation` (AIP-151), Compute Engine's `Operation`, dialects declared as data, and two
//! open standards declared in the same language (`standards.rs`: FHIR, OGC API – Processes).
//!
//! A dialect is data plus a few pure readers. This file holds one `match` over the dialects
//! per question the machine asks; nothing outside `proto/dialect/` names a dialect:
//!
//! | question | asked through |
//! | --- | --- |
//! | may this answer head start an operation | `Dialect::inspects` |
//! | does this answer start an operation, and where is its monitor | `Dialect::start`: a `Start` the submission acts on |
//! | how its status requests are sent, when not as a bodiless `GET` | `Dialect::status_check`, `Dialect::resumed_check` (a declared `status_request`; `result_request` is read with the result, `poll.rs`) |
//! | which shape is it, for metadata and handles | `Dialect::rule` |
//! | what does this answer mean | `Dialect::read`: a `Reading` (`poll.rs`) the machine acts on (`Machine::act`) |
//! | does an answer reached through a redirect read as a status | `Dialect::reads_as_status` |
//! | which words does it add to the vocabulary | `Dialect::vocabulary` |
//! | how is it saved in a handle | `Dialect::to_handle`, `Dialect::from_handle` |
//! | how is it cancelled | `Dialect::cancel_target` (the request: `proto/cancel.rs`), `Dialect::cancel_answer` (what a `2xx` answer says) |
//!
//! Everything else — waits, deadline, budgets, credentials, limits, metadata, progress,
//! resume handles — is shared.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use serde_json::Value;
use url::Url;

use crate::cancel::NotCancellable;
use crate::config::Config;
use crate::credentials::mask_url;
use crate::error::Reason;
use crate::metadata::Rule;
use crate::proto::link::Link;
use crate::proto::machine::Operation;
use crate::status::StatusDocument;
use crate::vocab::Vocabulary;
pub(crate) use poll::{Misread, Reading};

pub(crate) mod check;
pub(crate) mod declared;
pub(crate) mod default;
mod flat;
pub(crate) mod google;
pub(crate) mod json;
pub(crate) mod pointer;
pub(crate) mod poll;
pub(crate) mod prefer;
pub(crate) mod standards;
pub(crate) mod template;

use declared::DeclaredDialect;

/// Which dialect of the asynchronous request-reply pattern a service speaks ([dialects](crate::_protocol#dialects)).
///
/// The default dialect needs no configuration. The others are named per layer
/// ([`LroLayer::dialect`](crate::LroLayer::dialect)) or per request
/// ([`LroOptions::dialect`](crate::LroOptions::dialect)), because recognising them means reading
/// every plain `200` body.
///
/// ```
/// use tower_lro::Dialect;
/// let google = Dialect::google();
/// assert_eq!(google.name(), "google");
/// // A service described as data: DigitalOcean's droplet actions.
/// let digitalocean = Dialect::from_json(r#"{
///     "name": "digitalocean",
///     "start_on": [201],
///     "status_url": {"template": "https://api.digitalocean.com/v2/actions/{/action/id}"},
///     "status_word": "/action/status"
/// }"#).unwrap();
/// assert_eq!(digitalocean.name(), "digitalocean");
/// // The open standards, by name.
/// assert_eq!("fhir".parse::<Dialect>().unwrap(), Dialect::fhir());
/// assert_eq!(Dialect::ogc_processes().name(), "ogc-processes");
/// assert!(Dialect::from_json(r#"{"status_word": "/status"}"#).is_err()); // no status_url
/// ```
#[derive(Clone, Default)]
pub struct Dialect {
    kind: Kind,
}

#[derive(Clone, Default)]
pub(crate) enum Kind {
    /// [What starts an operation](crate::_protocol#what-starts-an-operation) to [provisioning state](crate::_protocol#provisioning-state).
    #[default]
    Default,
    /// Google `Operation` (AIP-151); `base` overrides the service root.
    Google { base: Option<Arc<Url>> },
    /// Compute Engine `Operation`.
    Compute,
    /// A declared dialect.
    Declared(Arc<DeclaredDialect>),
}

/// What a submission's answer starts ([`Dialect::start`]).
// Lives on the stack for one call: boxing the document would cost the default dialect an
// allocation per operation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Start<'h> {
    /// Nothing: the answer is final as it is.
    NotLro,
    /// One of the default dialect's shapes, with the header naming its monitor (`None`: the
    /// request's own URL) and the answer's status document, when it is one.
    Shape {
        rule: Rule,
        header: Option<(HeaderName, &'h HeaderValue)>,
        doc: Option<StatusDocument>,
    },
    /// An operation of another dialect, polled at `url` (to resolve against the request's
    /// URL); `reads_submission`: the answer is itself its first status answer; `operation_id`:
    /// the id the answer carries, where a declared dialect says it is.
    Monitor {
        url: String,
        reads_submission: bool,
        operation_id: Option<String>,
    },
}

/// A dialect description that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidDialect(String);

impl fmt::Display for InvalidDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid dialect: {}", self.0)
    }
}

impl std::error::Error for InvalidDialect {}

impl Dialect {
    /// Google's long-running `Operation` over JSON/HTTP (AIP-151): polled by its `name` under
    /// the submission's service root and version (`https://svc/v1/...` → `https://svc/v1/{name}`).
    pub fn google() -> Self {
        Self {
            kind: Kind::Google { base: None },
        }
    }

    /// [`google`](Self::google), with operation names resolved under `base` instead (for a
    /// service whose URLs have no version segment).
    pub fn google_with_base(base: &str) -> Result<Self, InvalidDialect> {
        let url = Url::parse(base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| InvalidDialect(format!("{:?} is not an http(s) URL", mask_url(base))))?;
        Ok(Self {
            kind: Kind::Google {
                base: Some(Arc::new(url)),
            },
        })
    }

    /// Compute Engine's `Operation`: polled at its `selfLink`, the `targetLink` fetched at the end
    /// (unless the operation was a delete).
    pub fn compute() -> Self {
        Self {
            kind: Kind::Compute,
        }
    }

    /// HL7 FHIR's Asynchronous Request Pattern, as Bulk Data `$export` uses it: `202` +
    /// `Content-Location`; the status URL answers `202` while running (its `X-Progress` text
    /// is [`Progress::progress_text`](crate::Progress::progress_text)), `200` with the result
    /// (the manifest), or an error status with an `OperationOutcome`: a failure with its
    /// `diagnostics` (an outcome whose issues are all transient is retried). A FHIR operation
    /// (`…/$export`) that carries no `Prefer` is sent with `Prefer: respond-async`.
    /// <https://hl7.org/fhir/uv/bulkdata/export.html>, <https://hl7.org/fhir/R4/async.html>
    pub fn fhir() -> Self {
        Self {
            kind: Kind::Declared(standards::fhir()),
        }
    }

    /// OGC API – Processes – Part 1: Core (OGC 18-062r2): execution answers `201` + `Location`
    /// of the job; its `statusInfo` says `accepted`/`running` (with `progress`), `successful`
    /// (the results are fetched by the link of relation
    /// `http://www.opengis.net/def/rel/ogc/1.0/results` or `results`, else at
    /// `/jobs/{jobID}/results`), `failed` (its `exception`, else its `message`) or `dismissed`
    /// (canceled). A `POST …/execution` that carries no `Prefer` is sent with
    /// `Prefer: respond-async`. <https://docs.ogc.org/is/18-062r2/18-062r2.html>
    pub fn ogc_processes() -> Self {
        Self {
            kind: Kind::Declared(standards::ogc_processes()),
        }
    }

    /// A dialect declared as JSON data: where the status URL, the status word, the result and
    /// the error are. See [declared dialects](crate::_protocol#declared-dialects) for the members and an example.
    pub fn from_json(text: &str) -> Result<Self, InvalidDialect> {
        let declared =
            DeclaredDialect::from_json(text).map_err(|e| InvalidDialect(e.to_string()))?;
        Ok(Self {
            kind: Kind::Declared(Arc::new(declared)),
        })
    }

    /// `default`, `google`, `compute`, `fhir`, `ogc-processes`, or a declared dialect's `name`
    /// (`declared` without one).
    pub fn name(&self) -> &str {
        match &self.kind {
            Kind::Default => "default",
            Kind::Google { .. } => "google",
            Kind::Compute => "compute",
            Kind::Declared(d) => d.name.as_deref().unwrap_or("declared"),
        }
    }

    /// Whether this is the default dialect.
    pub fn is_default(&self) -> bool {
        matches!(self.kind, Kind::Default)
    }

    /// Whether a submission's answer (its body when it was read whole) starts an operation,
    /// and where its monitor is. `Err` for an answer that could start one but is malformed.
    pub(crate) fn start<'h>(
        &self,
        cfg: &Config,
        method: &Method,
        request_uri: &http::Uri,
        status: StatusCode,
        headers: &'h HeaderMap,
        body: Option<&Bytes>,
    ) -> Result<Start<'h>, Reason> {
        let base = || {
            crate::proto::link::Link::from_request(request_uri)
                .map_err(|why| Reason::BadRequestUrl { why })
        };
        let found = match &self.kind {
            Kind::Default => return default::start(cfg, method, status, headers, body),
            Kind::Google { base: root } => {
                poll::google_monitor(root.as_deref(), &base()?, status, body)
            }
            Kind::Compute => poll::compute_monitor(status, body),
            Kind::Declared(d) => poll::declared_monitor(d, &base()?, status, headers, body),
        }?;
        Ok(match found {
            Some((url, reads_submission, operation_id)) => Start::Monitor {
                url,
                reads_submission,
                operation_id,
            },
            None => Start::NotLro,
        })
    }

    /// Whether a poll answer with this transient (non-`2xx`) status still carries a status
    /// body, to read rather than retry: one the dialect declares, or an `OperationOutcome` the
    /// operation failed with (asked of transient statuses only).
    pub(crate) fn status_body_on(
        &self,
        rule: Rule,
        status: StatusCode,
        headers: &HeaderMap,
        body: Option<&Bytes>,
    ) -> bool {
        let body = body.map(|b| &b[..]).unwrap_or_default();
        let failed = |o: standards::Outcome| !o.transient;
        match &self.kind {
            Kind::Declared(d) => {
                (!status.is_success() && d.is_status_body(status))
                    || standards::declared_outcome(d, body).is_some_and(failed)
            }
            Kind::Default if rule == Rule::ContentLocation => {
                standards::fhir_outcome(headers, body).is_some_and(failed)
            }
            _ => false,
        }
    }

    /// Whether a poll answer whose body runs over the status body limit is the operation's
    /// result: a success other than `202` of a monitor polled by location rules (or of a `GET`
    /// re-sent until ready), which is done unless its body is a status document that says
    /// otherwise, and a body that large is none.
    pub(crate) fn oversized_is_result(&self, rule: Rule, status: StatusCode) -> bool {
        matches!(self.kind, Kind::Default)
            && matches!(
                rule,
                Rule::Location | Rule::ContentLocation | Rule::AcceptedRetry
            )
            && status.is_success()
            && status != StatusCode::ACCEPTED
    }

    /// Whether a submission (`method`, its URL's `path`) in this dialect is sent with
    /// `Prefer: respond-async` when it carries no `Prefer` of its own: a declared dialect's
    /// `prefer_async` (`prefer.rs`) says.
    pub(crate) fn asks_async(&self, method: &Method, path: &str) -> bool {
        match &self.kind {
            Kind::Declared(d) => d
                .prefer_async
                .as_ref()
                .is_some_and(|p| p.matches(method, path)),
            _ => false,
        }
    }

    pub(crate) fn kind(&self) -> &Kind {
        &self.kind
    }

    /// What a status answer means, recording what it says of the operation in `op`. The
    /// shape being polled decides who reads it: the default dialect's shapes by its readers
    /// (`default.rs`), the others' by theirs (`poll.rs`); a resumed handle carries both.
    pub(crate) fn read(
        op: &mut Operation,
        cfg: &Config,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Reading, Misread> {
        default::read(op, cfg, status, headers, body)
    }

    /// What a status answer of the form most polls get means, read in one short pass (exactly
    /// as [`read`](Self::read) reads it, and recorded in `op` as it records it); `None`, with
    /// nothing recorded, for any other answer: `read` reads those.
    #[inline]
    pub(crate) fn read_common(
        op: &mut Operation,
        cfg: &Config,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Result<Reading, Misread>> {
        flat::read(op, cfg, status, headers, body)
    }

    /// Whether a submission's answer head may start an operation: read its body then (cheap
    /// and allocation-free: this runs on every pass-through answer).
    #[inline]
    pub(crate) fn inspects(
        &self,
        cfg: &Config,
        method: &Method,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> bool {
        match &self.kind {
            Kind::Default => default::inspects(cfg, method, status, headers),
            // Their operations come in plain `200` JSON bodies: read those.
            Kind::Google { .. } | Kind::Compute => {
                status.is_success()
                    && looks_like_json(headers)
                    && !longer_than(headers, cfg.status_body_limit)
            }
            Kind::Declared(d) => {
                d.starts_polling(status) && !longer_than(headers, cfg.status_body_limit)
            }
        }
    }

    /// How an operation's status requests are sent when not as a bodiless `GET` (a declared
    /// `status_request`), filled once from the submission's answer; `Err` names a template
    /// that found nothing.
    pub(crate) fn status_check(
        &self,
        headers: &HeaderMap,
        body: Option<&Bytes>,
        urls: (&Url, &Url),
    ) -> Result<Option<check::Check>, String> {
        let spec = match &self.kind {
            Kind::Declared(d) => d.status_request.as_ref(),
            _ => None,
        };
        let Some(spec) = spec.filter(|s| !s.is_plain_get()) else {
            return Ok(None);
        };
        let value = match (&spec.body, body) {
            (Some(_), Some(body)) => serde_json::from_slice(body).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        let src = template::Sources {
            body: &value,
            headers,
            status_url: Some(urls.0),
            submission_url: Some(urls.1),
        };
        spec.fill(&src)
            .map(Some)
            .map_err(|e| format!("`status_request`: {e}"))
    }

    /// The status requests of an operation resumed from a handle, whose filled body the
    /// handle kept.
    pub(crate) fn resumed_check(&self, body: Option<&str>) -> Option<check::Check> {
        match &self.kind {
            Kind::Declared(d) => d
                .status_request
                .as_ref()
                .filter(|s| !s.is_plain_get())
                .map(|s| s.with_body(body.map(|b| Bytes::copy_from_slice(b.as_bytes())))),
            _ => None,
        }
    }

    /// The shape an operation of a dialect other than the default one is reported as (the
    /// default dialect's shape comes from the submission's answer).
    pub(crate) fn rule(&self) -> Option<Rule> {
        match &self.kind {
            Kind::Default => None,
            Kind::Google { .. } => Some(Rule::GoogleOperation),
            Kind::Compute => Some(Rule::ComputeOperation),
            Kind::Declared(_) => Some(Rule::Declared),
        }
    }

    /// The layer's vocabulary with the dialect's own words, when it declares some (built once
    /// per operation).
    #[inline]
    pub(crate) fn vocabulary(&self, layer: &Vocabulary) -> Option<Vocabulary> {
        match &self.kind {
            Kind::Declared(d) => {
                let mut words = layer.clone();
                d.extend(&mut words);
                Some(words)
            }
            _ => None,
        }
    }

    /// The dialect's name as metadata reports it: the built-in names are shared, not
    /// allocated per operation.
    #[inline]
    pub(crate) fn shared_name(&self) -> Arc<str> {
        use std::sync::OnceLock;
        static BUILT_IN: OnceLock<[Arc<str>; 3]> = OnceLock::new();
        let [default, google, compute] =
            BUILT_IN.get_or_init(|| ["default".into(), "google".into(), "compute".into()]);
        match &self.kind {
            Kind::Default => default.clone(),
            Kind::Google { .. } => google.clone(),
            Kind::Compute => compute.clone(),
            Kind::Declared(_) => self.name().into(),
        }
    }

    /// Whether a successful answer that an inner client reached by following a redirect from
    /// the monitor is one of the monitor's own (the monitor moved) rather than the result.
    /// The status code of the redirect is lost, so the answer must say it is this
    /// operation's: a status answer naming the operation already seen (`seen_id`). A result
    /// may well have a `status` of its own (`"Running"` for a VM): without the same id it is
    /// the result a `303`/`302` led to, which is how the pattern usually ends. Before any id
    /// was seen, an id-less document with a word the vocabulary knows is taken for the
    /// monitor. Answers that are not successes are judged by the poll's own rules.
    pub(crate) fn reads_as_status(
        &self,
        rule: Rule,
        seen_id: Option<&str>,
        status: StatusCode,
        body: &Bytes,
    ) -> bool {
        use google::{ComputeOperation, GoogleOperation, OperationBodyError};
        if !status.is_success() {
            return true;
        }
        let same_op = |id: Option<&str>, known_word: bool| match (id, seen_id) {
            (Some(id), Some(op)) => id == op,
            (None, None) => known_word,
            _ => false,
        };
        match &self.kind {
            Kind::Default => default::reads_as_status(rule, body, same_op),
            Kind::Google { .. } => match GoogleOperation::parse(body) {
                Err(OperationBodyError::DuplicateMember(_)) => true,
                op => op.is_ok_and(|op| same_op(Some(op.name.as_str()), true)),
            },
            Kind::Compute => match ComputeOperation::parse(body) {
                Err(OperationBodyError::DuplicateMember(_)) => true,
                op => op.is_ok_and(|op| same_op(Some(op.name.as_str()), true)),
            },
            Kind::Declared(_) => false,
        }
    }

    /// How an operation of this dialect is cancelled: the method and URL of the one request
    /// that does it (with a declared `cancel`'s headers and body), or why there is none (a typed reason, never a guessed request).
    pub(crate) fn cancel_target(
        &self,
        rule: Rule,
        monitor: &Link,
        operation_id: Option<&str>,
    ) -> Result<crate::proto::cancel::Target, NotCancellable> {
        use crate::proto::cancel::{default_target, google_target};
        match &self.kind {
            Kind::Default => default_target(rule, monitor),
            Kind::Google { .. } => google_target(monitor),
            Kind::Compute => Err(NotCancellable::Dialect { dialect: "compute" }),
            Kind::Declared(d) => match &d.cancel {
                Some(cancel) => {
                    let base = d.base().ok().flatten();
                    cancel.target(monitor, operation_id, base.as_ref())
                }
                None => Err(NotCancellable::NotDeclared {
                    dialect: self.name().to_owned(),
                }),
            },
        }
    }

    /// How the `2xx` answer to this dialect's cancel says whether the server did anything
    /// (a declared `cancel`'s `answer`); `None`: its status alone says.
    pub(crate) fn cancel_answer(&self) -> Option<&declared::CancelAnswer> {
        match &self.kind {
            Kind::Declared(d) => d.cancel.as_ref().and_then(|c| c.answer.as_ref()),
            _ => None,
        }
    }

    /// The dialect as a resume handle records it; `None` for the default one (so handles
    /// written before dialects existed read the same).
    pub(crate) fn to_handle(&self) -> Option<Value> {
        match &self.kind {
            Kind::Default => None,
            Kind::Google { base } => Some(serde_json::json!({
                "google": { "base": base.as_ref().map(|u| u.as_str()) }
            })),
            Kind::Compute => Some(Value::String("compute".to_owned())),
            // A standard by its name: resumed with this version's description.
            Kind::Declared(d) => match standards::name_of(d) {
                Some(name) => Some(Value::String(name.to_owned())),
                None => serde_json::to_value(&**d)
                    .ok()
                    .map(|d| serde_json::json!({ "declared": d })),
            },
        }
    }

    /// Reads what [`to_handle`](Self::to_handle) wrote.
    pub(crate) fn from_handle(value: &Value) -> Result<Self, InvalidDialect> {
        let bad = || InvalidDialect(format!("unknown dialect in the handle: {value}"));
        match value {
            Value::String(s) if s == "compute" => Ok(Self::compute()),
            Value::String(s) if s == "google" => Ok(Self::google()),
            Value::String(s) => standards::by_name(s)
                .map(|d| Self {
                    kind: Kind::Declared(d),
                })
                .ok_or_else(bad),
            Value::Object(obj) => {
                if let Some(g) = obj.get("google") {
                    return match g.get("base").and_then(Value::as_str) {
                        Some(base) => Self::google_with_base(base),
                        None => Ok(Self::google()),
                    };
                }
                let declared = obj.get("declared").ok_or_else(bad)?;
                Self::from_json(&declared.to_string())
            }
            _ => Err(bad()),
        }
    }
}

impl std::str::FromStr for Dialect {
    type Err = InvalidDialect;

    /// `default`, `google`, `compute`, `fhir`, `ogc-processes`, or a declared dialect's JSON.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "default" | "azure" => Ok(Self::default()),
            "google" => Ok(Self::google()),
            "compute" => Ok(Self::compute()),
            "fhir" => Ok(Self::fhir()),
            "ogc-processes" => Ok(Self::ogc_processes()),
            json if json.starts_with('{') => Self::from_json(json),
            other => Err(InvalidDialect(format!(
                "{:?} is not default, google, compute, fhir, ogc-processes or a JSON \
                 description",
                mask_url(other)
            ))),
        }
    }
}

impl fmt::Debug for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            // A base URL's user information and credential query values stay out of logs.
            Kind::Google { base: Some(base) } => {
                write!(f, "Dialect(google, base {})", mask_url(base.as_str()))
            }
            Kind::Declared(d) => write!(f, "Dialect(declared {:?})", d.name),
            _ => write!(f, "Dialect({})", self.name()),
        }
    }
}

impl PartialEq for Dialect {
    fn eq(&self, other: &Self) -> bool {
        match (&self.kind, &other.kind) {
            (Kind::Default, Kind::Default) | (Kind::Compute, Kind::Compute) => true,
            (Kind::Google { base: a }, Kind::Google { base: b }) => a == b,
            (Kind::Declared(a), Kind::Declared(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Dialect {}

/// Whether a head says (or leaves open) that the body is JSON: `…/json`, `…+json`, any case;
/// without allocating (this runs on pass-through answers).
fn looks_like_json(headers: &HeaderMap) -> bool {
    match headers.get(http::header::CONTENT_TYPE) {
        None => true,
        Some(v) => v
            .as_bytes()
            .windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"json")),
    }
}

/// Whether a head announces a body longer than `limit`.
fn longer_than(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}
