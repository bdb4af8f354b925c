//! Dialects of the pattern (spec §10): the default one (§1–§5, Azure and RFC 9110), Google's
//! `Operation` (AIP-151), Compute Engine's `Operation`, and dialects declared as data.
//!
//! A dialect is data plus a few pure readers; the machine asks it where the status URL of a
//! submission is and how to read a status answer (`poll.rs`), and everything else — waits,
//! deadline, budgets, credentials, limits, metadata, progress, resume handles — is shared.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use url::Url;

pub(crate) mod declared;
pub(crate) mod google;
pub(crate) mod json;
pub mod pointer;
pub(crate) mod poll;

use declared::DeclaredDialect;

/// Which dialect of the asynchronous request-reply pattern a service speaks (spec §10).
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
/// assert!(Dialect::from_json(r#"{"status_word": "/status"}"#).is_err()); // no status_url
/// ```
#[derive(Clone, Default)]
pub struct Dialect {
    kind: Kind,
}

#[derive(Clone, Default)]
pub(crate) enum Kind {
    /// Spec §1–§5.
    #[default]
    Default,
    /// Google `Operation` (AIP-151); `base` overrides the service root.
    Google { base: Option<Arc<Url>> },
    /// Compute Engine `Operation`.
    Compute,
    /// A declared dialect.
    Declared(Arc<DeclaredDialect>),
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
            .ok_or_else(|| InvalidDialect(format!("{base:?} is not an http(s) URL")))?;
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

    /// A dialect declared as JSON data: where the status URL, the status word, the result and
    /// the error are. See the crate docs ("Dialects") for the fields and examples.
    pub fn from_json(text: &str) -> Result<Self, InvalidDialect> {
        let declared =
            DeclaredDialect::from_json(text).map_err(|e| InvalidDialect(e.to_string()))?;
        Ok(Self {
            kind: Kind::Declared(Arc::new(declared)),
        })
    }

    /// `default`, `google`, `compute`, or a declared dialect's `name` (`declared` without one).
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

    /// Whether a poll answer with this (non-`2xx`) status still carries a status body.
    pub(crate) fn status_body_on(&self, status: http::StatusCode) -> bool {
        match &self.kind {
            Kind::Declared(d) => !status.is_success() && d.is_status_body(status),
            _ => false,
        }
    }

    pub(crate) fn kind(&self) -> &Kind {
        &self.kind
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
            Kind::Declared(d) => serde_json::to_value(&**d)
                .ok()
                .map(|d| serde_json::json!({ "declared": d })),
        }
    }

    /// Reads what [`to_handle`](Self::to_handle) wrote.
    pub(crate) fn from_handle(value: &Value) -> Result<Self, InvalidDialect> {
        let bad = || InvalidDialect(format!("unknown dialect in the handle: {value}"));
        match value {
            Value::String(s) if s == "compute" => Ok(Self::compute()),
            Value::String(s) if s == "google" => Ok(Self::google()),
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

    /// `default`, `google`, `compute`, or a declared dialect's JSON.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "default" | "azure" => Ok(Self::default()),
            "google" => Ok(Self::google()),
            "compute" => Ok(Self::compute()),
            json if json.starts_with('{') => Self::from_json(json),
            other => Err(InvalidDialect(format!(
                "{other:?} is not default, google, compute or a JSON description"
            ))),
        }
    }
}

impl fmt::Debug for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Google { base: Some(base) } => write!(f, "Dialect(google, base {base})"),
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
