//! Status documents: the JSON a status monitor answers with ([status bodies](crate::_protocol#status-bodies)), and the
//! `provisioningState` of Azure Resource Manager resources ([provisioning state](crate::_protocol#provisioning-state)).

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde_json::{Map, Value};

use crate::vocab::{Meaning, StatusMeaning, Vocabulary};

/// The state of an operation as its status monitor reports it: the word the server sent,
/// kept exactly, and what it means.
///
/// Words are compared ignoring ASCII case, spaces, `-` and `_` (`In progress`, `inProgress`,
/// `IN_PROGRESS` are one word). The default vocabulary ([status bodies](crate::_protocol#status-bodies)) knows Azure's five words and
/// the others real services send — `Completed`, `Done`, `ValidationFailed`, `Errored`,
/// `deleteFailed`, … — and a layer can add its own
/// ([`LroLayer::status_word`](crate::LroLayer::status_word)). A word no vocabulary knows means
/// "still running" (the deadline bounds it) and is reported as unrecognised.
///
/// ```
/// use tower_lro::{OperationStatus, StatusMeaning};
/// let s = OperationStatus::parse("completed");
/// assert_eq!(s.meaning(), StatusMeaning::Succeeded);
/// assert_eq!(s.as_str(), "completed"); // the exact word
/// assert_eq!(OperationStatus::parse("Cancelled").meaning(), StatusMeaning::Canceled);
/// assert!(OperationStatus::parse("DeleteFailed").is_failure());
/// let odd = OperationStatus::parse("Frobnicating");
/// assert!(!odd.is_terminal() && !odd.is_recognised());
/// ```
#[derive(Clone)]
pub struct OperationStatus {
    word: Word,
    meaning: Meaning,
    recognised: bool,
}

/// A status word: the common spellings are static (no allocation for a poll's `Running`, nor
/// for the copies kept in metadata and progress reports), any other word is owned.
#[derive(Clone)]
enum Word {
    Static(&'static str),
    Owned(Box<str>),
    /// The layer's word before any answer gave one: no server sent it.
    Assumed(&'static str),
}

impl Word {
    fn as_str(&self) -> &str {
        match self {
            Word::Static(s) | Word::Assumed(s) => s,
            Word::Owned(s) => s,
        }
    }
}

/// The spellings real services send most, as static strings with their meaning in the default
/// vocabulary (every one of them recognised; a test checks the table against it).
const STATIC_WORDS: &[(&str, Meaning)] = {
    use Meaning::*;
    &[
        ("Running", Running),
        ("Succeeded", Succeeded),
        ("NotStarted", Running),
        ("Failed", Failed),
        ("Canceled", Canceled),
        ("Cancelled", Canceled),
        ("InProgress", Running),
        ("Completed", Succeeded),
        ("Accepted", Running),
        ("Creating", Running),
        ("Updating", Running),
        ("Deleting", Running),
        ("Pending", Running),
        ("Queued", Running),
        ("notStarted", Running),
        ("running", Running),
        ("succeeded", Succeeded),
        ("failed", Failed),
        ("canceled", Canceled),
        ("cancelled", Canceled),
        ("inProgress", Running),
        ("completed", Succeeded),
        ("accepted", Running),
        ("pending", Running),
        ("queued", Running),
        ("DONE", Succeeded),
        ("RUNNING", Running),
        ("PENDING", Running),
        ("Done", Succeeded),
    ]
};

fn static_word(word: &str) -> Option<(&'static str, Meaning)> {
    STATIC_WORDS.iter().copied().find(|(w, _)| *w == word)
}

/// `s.trim()`, without the Unicode tables when `s` starts and ends with an ASCII character that
/// is not white space (every word real services send).
fn trim(s: &str) -> &str {
    let plain = |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii() && !char::from(b).is_whitespace());
    if plain(s.as_bytes().first()) && plain(s.as_bytes().last()) {
        return s;
    }
    s.trim()
}

fn new_word(word: &str) -> Word {
    match static_word(word) {
        Some((s, _)) => Word::Static(s),
        None => Word::Owned(word.into()),
    }
}

impl PartialEq for OperationStatus {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
            && self.meaning == other.meaning
            && self.recognised == other.recognised
    }
}

impl Eq for OperationStatus {}

impl std::hash::Hash for OperationStatus {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
        self.meaning.hash(state);
        self.recognised.hash(state);
    }
}

impl fmt::Debug for OperationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperationStatus")
            .field("word", &self.as_str())
            .field("meaning", &self.meaning)
            .field("recognised", &self.recognised)
            .finish()
    }
}

impl OperationStatus {
    /// Reads a status word with the default vocabulary.
    pub fn parse(s: &str) -> Self {
        let word = trim(s);
        if let Some((word, meaning)) = static_word(word) {
            return Self {
                word: Word::Static(word),
                meaning,
                recognised: true,
            };
        }
        let c = crate::vocab::classify_default(word);
        Self {
            word: Word::Owned(word.into()),
            meaning: c.meaning,
            recognised: c.recognised,
        }
    }

    /// Reads a status word with `vocabulary`.
    pub(crate) fn classify(s: &str, vocabulary: &Vocabulary) -> Self {
        let word = trim(s);
        let c = vocabulary.classify(word);
        Self {
            word: new_word(word),
            meaning: c.meaning,
            recognised: c.recognised,
        }
    }

    /// Reads the word again with `vocabulary`, keeping it (no copy).
    pub(crate) fn reclassify(&mut self, vocabulary: &Vocabulary) {
        let c = vocabulary.classify(self.as_str());
        self.meaning = c.meaning;
        self.recognised = c.recognised;
    }

    /// `word` as sent, with a meaning a dialect decided (Compute Engine's `DONE` beside
    /// `error.errors[]` is a failure).
    pub(crate) fn with_meaning(word: &str, meaning: Meaning) -> Self {
        let mut status = Self::parse(word);
        status.meaning = meaning;
        status
    }

    /// What the layer assumes before any status arrived ([`is_assumed`](Self::is_assumed)).
    pub(crate) fn not_started() -> Self {
        let mut status = Self::parse("NotStarted");
        status.word = Word::Assumed("NotStarted");
        status
    }
    /// What a resumed operation is assumed to be.
    pub(crate) fn running() -> Self {
        Self::parse("Running")
    }
    /// What the layer records when success is known without a word (an empty `200`).
    pub(crate) fn succeeded() -> Self {
        Self::parse("Succeeded")
    }
    /// What the layer records for a failure reported without a failure word.
    pub(crate) fn failed() -> Self {
        Self::parse("Failed")
    }

    /// What the word means.
    pub fn meaning(&self) -> StatusMeaning {
        self.meaning
    }

    /// Whether no answer gave this word: the `NotStarted` the layer assumes until a status
    /// arrives (neither the submission's answer nor any poll so far said one, or every poll
    /// failed). It compares equal to a `NotStarted` a server sent; a report shows it as "no
    /// status yet" rather than as the server's word.
    ///
    /// ```
    /// use tower_lro::OperationStatus;
    /// assert!(!OperationStatus::parse("NotStarted").is_assumed());
    /// ```
    pub fn is_assumed(&self) -> bool {
        matches!(self.word, Word::Assumed(_))
    }

    /// Whether a vocabulary knew the word (an unrecognised word counts as running).
    pub fn is_recognised(&self) -> bool {
        self.recognised
    }

    /// Succeeded, failed or canceled.
    pub fn is_terminal(&self) -> bool {
        self.meaning.is_terminal()
    }

    /// Failed or canceled.
    pub fn is_failure(&self) -> bool {
        self.meaning.is_failure()
    }

    /// Succeeded.
    pub fn is_success(&self) -> bool {
        self.meaning == Meaning::Succeeded
    }

    /// The word as the server sent it (trimmed).
    pub fn as_str(&self) -> &str {
        self.word.as_str()
    }

    /// A running word that a *resource* would never use as its own field. Used on `Location`
    /// polls, where a `200` is the finished resource unless its body is unmistakably a status
    /// document (see the crate docs, "Decisions").
    pub(crate) fn is_known_in_progress(&self) -> bool {
        self.meaning == Meaning::Running && self.recognised
    }
}

impl fmt::Display for OperationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// An OData error object (`{"code", "message", "target", "details", "innererror"}`), as Azure
/// Maps Creator's V1 and V2 status monitors return for a failed operation.
///
/// `details` is accepted both as an array (the OData standard) and as a single object (as
/// Azure Maps Creator's documentation prints it).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ODataError {
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) target: Option<String>,
    pub(crate) details: Vec<ODataError>,
    pub(crate) innererror: Option<Box<str>>,
}

impl ODataError {
    /// Machine-readable code, e.g. `InvalidFeature`.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
    /// Human-readable message.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
    /// What the error is about.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }
    /// Nested errors.
    pub fn details(&self) -> &[ODataError] {
        &self.details
    }
    /// The service-specific `innererror`, as JSON text.
    pub fn innererror(&self) -> Option<&str> {
        self.innererror.as_deref()
    }

    /// Reads an OData error from a JSON value; `None` when it is not an object.
    pub(crate) fn from_json(value: &Value) -> Option<Self> {
        let obj = value.as_object()?;
        let text = |k: &str| obj.get(k).and_then(json_text);
        // `details` (OData), else `errors` (Compute Engine's `error.errors[]`).
        let details = match obj.get("details").or_else(|| obj.get("errors")) {
            Some(Value::Array(items)) => items.iter().filter_map(Self::from_json).collect(),
            Some(v @ Value::Object(_)) => Self::from_json(v).into_iter().collect(),
            _ => Vec::new(),
        };
        Some(Self {
            code: text("code"),
            message: text("message"),
            target: text("target"),
            details,
            innererror: obj
                .get("innererror")
                .map(|v| v.to_string().into_boxed_str()),
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
    /// A member the layer reads comes twice (`{"status":"Failed","status":"Succeeded"}`): the
    /// document is malformed, whichever value is friendlier. The member's path, as `error` or
    /// `error.message`.
    DuplicateMember(Cow<'static, str>),
}

impl fmt::Display for StatusBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("an empty body where a status document was expected"),
            Self::NotJson(e) => write!(f, "a body that is not JSON ({e})"),
            Self::NotObject => f.write_str("JSON that is not an object"),
            Self::MissingStatus => f.write_str("a JSON object without a `status` field"),
            Self::StatusNotString => f.write_str("a `status` field that is not a string"),
            Self::DuplicateMember(name) => write!(f, "a `{name}` member that comes twice"),
        }
    }
}

/// The text of a status document's field (`operationId`): kept inline when short (an operation
/// id is usually a 36-character UUID), so reading it on every poll allocates nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct FieldText(TextRepr);

#[derive(Clone, PartialEq, Eq)]
enum TextRepr {
    Inline { len: u8, buf: [u8; INLINE_TEXT] },
    Heap(Box<str>),
}

const INLINE_TEXT: usize = 46;

impl FieldText {
    pub(crate) fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        if bytes.len() <= INLINE_TEXT {
            let mut buf = [0u8; INLINE_TEXT];
            buf[..bytes.len()].copy_from_slice(bytes);
            FieldText(TextRepr::Inline {
                len: bytes.len() as u8, // <= INLINE_TEXT < 256
                buf,
            })
        } else {
            FieldText(TextRepr::Heap(text.into()))
        }
    }
}

impl FieldText {
    /// The text's bytes, without the UTF-8 check a `&str` costs (to compare it).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            TextRepr::Inline { len, buf } => &buf[..usize::from(*len)],
            TextRepr::Heap(s) => s.as_bytes(),
        }
    }
}

impl Deref for FieldText {
    type Target = str;
    fn deref(&self) -> &str {
        match &self.0 {
            // Always whole UTF-8: it was copied from a `&str`.
            TextRepr::Inline { len, buf } => {
                std::str::from_utf8(&buf[..usize::from(*len)]).unwrap_or_default()
            }
            TextRepr::Heap(s) => s,
        }
    }
}

impl fmt::Debug for FieldText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for FieldText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self)
    }
}

/// A parsed status document ([status bodies](crate::_protocol#status-bodies)), or an ARM resource read for its `provisioningState`.
///
/// Reading a poll's document allocates nothing for the fields the operation already knows: the
/// status word is static when common, the `operationId` inline when short.
#[derive(Debug, Clone, Default)]
pub struct StatusDocument {
    /// `status`, when present as a string.
    pub status: Option<OperationStatus>,
    /// `provisioningState` at the top level or under `properties`.
    pub provisioning_state: Option<OperationStatus>,
    /// `operationId`, else `id`.
    pub operation_id: Option<FieldText>,
    /// `percentComplete` (or `percentageComplete`, as Microsoft Graph writes it).
    pub percent_complete: Option<f64>,
    /// `error`.
    pub error: Option<ODataError>,
    /// `error` reports a failure (the [error-object rule](crate::_protocol#status-bodies)): a non-empty `message`, or a
    /// non-empty `errors` or `details` list.
    pub error_reported: bool,
    /// `resourceLocation`, as sent (a URL reference).
    pub resource_location: Option<String>,
    /// `status` was present but not a string.
    pub status_wrong_type: bool,
}

impl StatusDocument {
    /// Reads any JSON object body; fields that are absent stay `None`. A member the layer
    /// reads that comes twice is an error ([`StatusBodyError::DuplicateMember`]).
    #[inline]
    pub fn parse(body: &[u8]) -> Result<Self, StatusBodyError> {
        let body = strip_bom(body);
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(StatusBodyError::Empty);
        }
        // A flat document (every poll of a typical monitor) is scanned directly; the scan
        // leaves any document with an `error` to the readers below.
        if let Some(raw) = scan::scan(body) {
            return match raw.duplicate {
                Some(name) => Err(StatusBodyError::DuplicateMember(Cow::Borrowed(name))),
                None => Ok(raw.into_document()),
            };
        }
        Self::parse_serde(body)
    }

    /// The serde readers alone (what [`parse`](Self::parse) does with a body the scan leaves):
    /// the body has no BOM and is not blank.
    #[inline]
    fn parse_serde(body: &[u8]) -> Result<Self, StatusBodyError> {
        // Fast path: read only the fields we use, borrowing strings, and find the duplicates
        // among them. Bodies it cannot read, and failure documents (whose OData error we want
        // whole), take the general path.
        if let Ok(raw) = serde_json::from_slice::<fast::Raw<'_>>(body) {
            if let Some(name) = raw.duplicate {
                return Err(StatusBodyError::DuplicateMember(Cow::Borrowed(name)));
            }
            if !raw.has_error {
                return Ok(raw.into_document());
            }
        }
        Self::parse_general(body)
    }

    /// Reads the body through `serde_json::Value`: every field, and the precise error.
    fn parse_general(body: &[u8]) -> Result<Self, StatusBodyError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| StatusBodyError::NotJson(e.to_string()))?;
        let obj = value.as_object().ok_or(StatusBodyError::NotObject)?;
        Ok(Self::from_object(obj))
    }

    /// Reads the status words again with a configured vocabulary.
    pub(crate) fn reclassify(&mut self, vocabulary: &Vocabulary) {
        if vocabulary.is_default() {
            return;
        }
        for st in [&mut self.status, &mut self.provisioning_state]
            .into_iter()
            .flatten()
        {
            st.reclassify(vocabulary);
        }
    }

    /// The document reports a failure: a failure word, or a success word beside an `error`
    /// that reports one ([status bodies](crate::_protocol#status-bodies); Compute Engine's `DONE` + `error.errors[]`).
    pub(crate) fn reports_failure(&self) -> bool {
        let failed =
            |s: &Option<OperationStatus>| s.as_ref().is_some_and(OperationStatus::is_failure);
        let done =
            |s: &Option<OperationStatus>| s.as_ref().is_some_and(OperationStatus::is_success);
        failed(&self.status)
            || failed(&self.provisioning_state)
            || (self.error_reported && (done(&self.status) || done(&self.provisioning_state)))
    }

    /// Reads a body that must be a status document: an object with a string `status`.
    ///
    /// ```
    /// use tower_lro::__private::StatusDocument;
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
        let text = |k: &str| obj.get(k).and_then(json_text).map(|t| FieldText::new(&t));
        Self {
            status,
            provisioning_state,
            operation_id: text("operationId").or_else(|| text("id")),
            percent_complete: obj
                .get("percentComplete")
                .or_else(|| obj.get("percentageComplete"))
                .and_then(Value::as_f64),
            error_reported: obj
                .get("error")
                .or_else(|| obj.get("properties").and_then(|p| p.get("error")))
                .is_some_and(crate::vocab::error_reports_failure),
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

mod fast;
mod scan;

/// The `status` and the operation id (`operationId`, else `id`) of a flat status document
/// (see [`scan`]: strings, `true`, `false`, `null`, no escapes) that holds nothing else the
/// readers consult (no `provisioningState`, `properties`, `error`, progress or
/// `resourceLocation`, nothing read twice); `None` for any other body. The short pass of
/// [`Dialect`](crate::proto::Dialect) reads the common answer with it.
pub(crate) fn flat_status(body: &[u8]) -> Option<(&str, Option<&str>)> {
    scan::flat_status(body)
}

fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

#[cfg(test)]
pub(crate) mod scan_tests;
#[cfg(test)]
mod tests;
