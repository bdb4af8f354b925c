//! Status documents: the JSON a status monitor answers with (spec §3), and the
//! `provisioningState` of Azure Resource Manager resources (spec §5).

use std::fmt;

use serde_json::{Map, Value};

/// The state of an operation as its status monitor reports it.
///
/// Spellings are compared case-insensitively; `Canceled` and `Cancelled` are the same state.
/// Anything else (`InProgress`, `Accepted`, `Creating`, …) is [`OperationStatus::Other`], which
/// means "still running".
///
/// ```
/// use tower_lro::OperationStatus;
/// assert_eq!(OperationStatus::parse("succeeded"), OperationStatus::Succeeded);
/// assert_eq!(OperationStatus::parse("Cancelled"), OperationStatus::Canceled);
/// assert!(!OperationStatus::parse("InProgress").is_terminal());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OperationStatus {
    /// `NotStarted`.
    NotStarted,
    /// `Running`.
    Running,
    /// `Succeeded`: terminal, success.
    Succeeded,
    /// `Failed`: terminal, failure.
    Failed,
    /// `Canceled` or `Cancelled`: terminal, failure.
    Canceled,
    /// Any other value, kept as sent: still running.
    Other(Box<str>),
}

impl OperationStatus {
    /// Reads a status string.
    pub fn parse(s: &str) -> Self {
        let t = s.trim();
        let eq = |w: &str| t.eq_ignore_ascii_case(w);
        if eq("succeeded") {
            Self::Succeeded
        } else if eq("failed") {
            Self::Failed
        } else if eq("canceled") || eq("cancelled") {
            Self::Canceled
        } else if eq("running") {
            Self::Running
        } else if eq("notstarted") {
            Self::NotStarted
        } else {
            Self::Other(t.into())
        }
    }

    /// `Succeeded`, `Failed` or `Canceled`.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }

    /// `Failed` or `Canceled`.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed | Self::Canceled)
    }

    /// The spelling this crate uses (`Other` keeps the server's).
    pub fn as_str(&self) -> &str {
        match self {
            Self::NotStarted => "NotStarted",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Canceled => "Canceled",
            Self::Other(s) => s,
        }
    }

    /// Whether a non-terminal status names an in-progress state that a *resource* would never
    /// use as its own field. Used on `Location` polls, where a `200` is the finished resource
    /// unless its body is unmistakably a status document (see the crate docs, "Decisions").
    pub(crate) fn is_known_in_progress(&self) -> bool {
        match self {
            Self::NotStarted | Self::Running => true,
            Self::Other(s) => IN_PROGRESS_WORDS.iter().any(|w| s.eq_ignore_ascii_case(w)),
            _ => false,
        }
    }
}

/// In-progress spellings seen in Azure and other Asynchronous Request-Reply services.
const IN_PROGRESS_WORDS: &[&str] = &[
    "inprogress",
    "in_progress",
    "in-progress",
    "accepted",
    "creating",
    "updating",
    "deleting",
    "provisioning",
    "pending",
    "queued",
    "started",
    "processing",
    "waiting",
    "scheduled",
    "moving",
    "migrating",
];

impl fmt::Display for OperationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// An OData error object (`{"code", "message", "target", "details", "innererror"}`), as seeds V1
/// and V2 return for a failed operation.
///
/// `details` is accepted both as an array (the OData standard) and as a single object (as the
/// seed documents print it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ODataError {
    /// Machine-readable code, e.g. `InvalidFeature`.
    pub code: Option<String>,
    /// Human-readable message.
    pub message: Option<String>,
    /// What the error is about.
    pub target: Option<String>,
    /// Nested errors.
    pub details: Vec<ODataError>,
    /// Service-specific inner error, as sent.
    pub innererror: Option<Value>,
}

impl ODataError {
    /// Reads an OData error from a JSON value; `None` when it is not an object.
    pub fn from_json(value: &Value) -> Option<Self> {
        let obj = value.as_object()?;
        let text = |k: &str| obj.get(k).and_then(json_text);
        let details = match obj.get("details") {
            Some(Value::Array(items)) => items.iter().filter_map(Self::from_json).collect(),
            Some(v @ Value::Object(_)) => Self::from_json(v).into_iter().collect(),
            _ => Vec::new(),
        };
        Some(Self {
            code: text("code"),
            message: text("message"),
            target: text("target"),
            details,
            innererror: obj.get("innererror").cloned(),
        })
    }
}

impl fmt::Display for ODataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => write!(f, "{c}: {m}"),
            (Some(c), None) => f.write_str(c),
            (None, Some(m)) => f.write_str(m),
            (None, None) => f.write_str("(no code or message)"),
        }
    }
}

/// Why a body could not be read as a status document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusBodyError {
    /// The body is empty.
    Empty,
    /// The body is not JSON.
    NotJson(String),
    /// The body is JSON but not an object.
    NotObject,
    /// The object has no `status`.
    MissingStatus,
    /// `status` is not a string.
    StatusNotString,
}

impl fmt::Display for StatusBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("an empty body where a status document was expected"),
            Self::NotJson(e) => write!(f, "a body that is not JSON ({e})"),
            Self::NotObject => f.write_str("JSON that is not an object"),
            Self::MissingStatus => f.write_str("a JSON object without a `status` field"),
            Self::StatusNotString => f.write_str("a `status` field that is not a string"),
        }
    }
}

/// A parsed status document (spec §3), or an ARM resource read for its `provisioningState`.
#[derive(Debug, Clone, Default)]
pub struct StatusDocument {
    /// `status`, when present as a string.
    pub status: Option<OperationStatus>,
    /// `provisioningState` at the top level or under `properties`.
    pub provisioning_state: Option<OperationStatus>,
    /// `operationId`, else `id`.
    pub operation_id: Option<String>,
    /// `created`, else `createdDateTime`, as sent.
    pub created: Option<String>,
    /// `percentComplete`.
    pub percent_complete: Option<f64>,
    /// `error`.
    pub error: Option<ODataError>,
    /// `resourceLocation`, as sent (a URL reference).
    pub resource_location: Option<String>,
    /// `status` was present but not a string.
    pub status_wrong_type: bool,
}

impl StatusDocument {
    /// Reads any JSON object body; fields that are absent stay `None`.
    pub fn parse(body: &[u8]) -> Result<Self, StatusBodyError> {
        let body = strip_bom(body);
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(StatusBodyError::Empty);
        }
        let value: Value =
            serde_json::from_slice(body).map_err(|e| StatusBodyError::NotJson(e.to_string()))?;
        let obj = value.as_object().ok_or(StatusBodyError::NotObject)?;
        Ok(Self::from_object(obj))
    }

    /// Reads a body that must be a status document: an object with a string `status`.
    ///
    /// ```
    /// use tower_lro::status::StatusDocument;
    /// let doc = StatusDocument::parse_status(br#"{"operationId":"c58","created":"x","status":"Running"}"#).unwrap();
    /// assert_eq!(doc.operation_id.as_deref(), Some("c58"));
    /// assert!(StatusDocument::parse_status(b"<html>").is_err());
    /// ```
    pub fn parse_status(body: &[u8]) -> Result<Self, StatusBodyError> {
        let doc = Self::parse(body)?;
        if doc.status_wrong_type {
            return Err(StatusBodyError::StatusNotString);
        }
        if doc.status.is_none() {
            return Err(StatusBodyError::MissingStatus);
        }
        Ok(doc)
    }

    fn from_object(obj: &Map<String, Value>) -> Self {
        let status_value = obj.get("status");
        let status = status_value
            .and_then(Value::as_str)
            .map(OperationStatus::parse);
        let status_wrong_type = matches!(status_value, Some(v) if !v.is_string() && !v.is_null());
        let provisioning_state = obj
            .get("properties")
            .and_then(|p| p.get("provisioningState"))
            .or_else(|| obj.get("provisioningState"))
            .and_then(Value::as_str)
            .map(OperationStatus::parse);
        let text = |k: &str| obj.get(k).and_then(json_text);
        Self {
            status,
            provisioning_state,
            operation_id: text("operationId").or_else(|| text("id")),
            created: text("created").or_else(|| text("createdDateTime")),
            percent_complete: obj.get("percentComplete").and_then(Value::as_f64),
            error: obj
                .get("error")
                .and_then(ODataError::from_json)
                .or_else(|| {
                    obj.get("properties")
                        .and_then(|p| p.get("error"))
                        .and_then(ODataError::from_json)
                }),
            resource_location: obj
                .get("resourceLocation")
                .and_then(Value::as_str)
                .map(str::to_owned),
            status_wrong_type,
        }
    }
}

/// Strings as they are; numbers and booleans as their JSON text (some services send numeric ids).
fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_spellings() {
        use OperationStatus::*;
        #[rustfmt::skip]
        let rows: &[(&str, OperationStatus, bool, bool)] = &[
            ("NotStarted", NotStarted, false, false),
            ("notstarted", NotStarted, false, false),
            ("Running", Running, false, false),
            ("RUNNING", Running, false, false),
            ("Succeeded", Succeeded, true, false),
            ("succeeded", Succeeded, true, false),
            ("Failed", Failed, true, true),
            ("FAILED", Failed, true, true),
            ("Canceled", Canceled, true, true),
            ("Cancelled", Canceled, true, true),
            ("cancelled", Canceled, true, true),
            ("InProgress", Other("InProgress".into()), false, false),
            ("Accepted", Other("Accepted".into()), false, false),
            ("Creating", Other("Creating".into()), false, false),
            ("", Other("".into()), false, false),
        ];
        for (raw, want, terminal, failure) in rows {
            let got = OperationStatus::parse(raw);
            assert_eq!(&got, want, "{raw}");
            assert_eq!(got.is_terminal(), *terminal, "{raw}");
            assert_eq!(got.is_failure(), *failure, "{raw}");
        }
    }

    #[test]
    fn seed_documents_parse() {
        let v2 = br#"{
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "created": "3/11/2020 8:45:13 PM +00:00",
    "status": "Running"
}"#;
        let d = StatusDocument::parse_status(v2).unwrap();
        assert_eq!(d.status, Some(OperationStatus::Running));
        assert_eq!(
            d.operation_id.as_deref(),
            Some("c587574e-add9-4ef7-9788-1635bed9a87e")
        );
        assert_eq!(d.created.as_deref(), Some("3/11/2020 8:45:13 PM +00:00"));

        let v1_ok = br#" {
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "createdDateTime": "3/11/2020 8:45:13 PM +00:00",
    "status": "Succeeded",
    "resourceLocation": "https://atlas.microsoft.com/tileset/{tileset-id}"
}"#;
        let d = StatusDocument::parse_status(v1_ok).unwrap();
        assert_eq!(d.status, Some(OperationStatus::Succeeded));
        assert_eq!(d.created.as_deref(), Some("3/11/2020 8:45:13 PM +00:00"));
        assert_eq!(
            d.resource_location.as_deref(),
            Some("https://atlas.microsoft.com/tileset/{tileset-id}")
        );

        let failed = br#"{
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "created": "3/11/2020 8:45:13 PM +00:00",
    "status": "Failed",
    "error": {
        "code": "InvalidFeature",
        "message": "The provided feature is invalid.",
        "details": {
            "code": "NoGeometry",
            "message": "No geometry was provided with the feature."
        }
    }
}"#;
        let d = StatusDocument::parse_status(failed).unwrap();
        let e = d.error.unwrap();
        assert_eq!(e.code.as_deref(), Some("InvalidFeature"));
        assert_eq!(
            e.message.as_deref(),
            Some("The provided feature is invalid.")
        );
        assert_eq!(e.details.len(), 1);
        assert_eq!(e.details[0].code.as_deref(), Some("NoGeometry"));
    }

    #[test]
    fn bad_bodies() {
        #[rustfmt::skip]
        let rows: &[(&[u8], StatusBodyError)] = &[
            (b"", StatusBodyError::Empty),
            (b"  \n", StatusBodyError::Empty),
            (b"[1,2]", StatusBodyError::NotObject),
            (b"\"Running\"", StatusBodyError::NotObject),
            (b"{}", StatusBodyError::MissingStatus),
            (b"{\"state\":\"Running\"}", StatusBodyError::MissingStatus),
            (b"{\"status\":null}", StatusBodyError::MissingStatus),
            (b"{\"status\":3}", StatusBodyError::StatusNotString),
            (b"{\"status\":{\"a\":1}}", StatusBodyError::StatusNotString),
        ];
        for (body, want) in rows {
            assert_eq!(
                StatusDocument::parse_status(body).unwrap_err(),
                *want,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        for body in [
            &b"<html>"[..],
            b"{\"status\":\"Runn",
            b"\xff\xfe",
            b"{\"status\":\"x\"} trailing",
        ] {
            assert!(matches!(
                StatusDocument::parse_status(body),
                Err(StatusBodyError::NotJson(_))
            ));
        }
    }

    #[test]
    fn provisioning_state_and_bom() {
        let d = StatusDocument::parse(
            b"\xEF\xBB\xBF{\"properties\":{\"provisioningState\":\"Updating\"}}",
        )
        .unwrap();
        assert_eq!(
            d.provisioning_state,
            Some(OperationStatus::Other("Updating".into()))
        );
        let d = StatusDocument::parse(b"{\"provisioningState\":\"succeeded\",\"id\":7}").unwrap();
        assert_eq!(d.provisioning_state, Some(OperationStatus::Succeeded));
        assert_eq!(d.operation_id.as_deref(), Some("7"));
        let e = ODataError::from_json(
            &serde_json::json!({"code":"A","details":[{"code":"B"},{"message":"m"}]}),
        )
        .unwrap();
        assert_eq!(e.details.len(), 2);
        assert_eq!(e.to_string(), "A");
    }
}
