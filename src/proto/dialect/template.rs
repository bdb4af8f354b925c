//! Templates of a declared dialect, split once when the description is read: URLs and JSON
//! request bodies with placeholders, and how a URL a description found is resolved.
//!
//! A placeholder is one of:
//!
//! | placeholder | what it reads |
//! | --- | --- |
//! | `{/a/b}` | the JSON pointer (with selectors, `pointer.rs`) in the answer's body |
//! | `{number:/a/b}` | the same, when its value is a number (or a string that is one) |
//! | `{header:x-amz-job-id}` | a header of the answer, trimmed |
//! | `{status_url}` | the status URL (not in a `status_url` template: it is being found) |
//! | `{status_url_path}` | the status URL without its query (and fragment): scheme, host, path |
//! | `{status_url_query}` | the status URL's query, without the `?` (empty when it has none) |
//! | `{submission_url}` | the URL the submission went to |
//!
//! In a URL template a value from the body or a header is escaped as one path segment (a
//! value that is `.` or `..`, which no escape keeps from being a dot segment, finds nothing,
//! as does an empty one, which would name the collection rather than an item)
//! and a URL is written as it is; in a body template every value is a JSON string, but for a
//! string that is one `{number:…}` and nothing else, which is a JSON number (Databricks'
//! `{"run_id": 455644833}`). A number is one JSON writes back the same, with no exponent
//! (`12`, `-3`, `1.5`; not `012`, `1e3`, ` 12`, or `1e20`: a JSON integer past 64 bits is
//! held rounded, and would name another operation); any other value finds nothing.

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::json::text_of;
use super::pointer::Pointer;

/// What a template reads: the answer in hand, and the URLs of the operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sources<'a> {
    /// The answer's body (`null` when it is not JSON).
    pub(crate) body: &'a Value,
    /// The answer's headers.
    pub(crate) headers: &'a HeaderMap,
    /// The status URL, once it is known.
    pub(crate) status_url: Option<&'a Url>,
    /// The submission's URL.
    pub(crate) submission_url: Option<&'a Url>,
}

impl<'a> Sources<'a> {
    /// A body alone (no headers, no URLs).
    #[cfg(test)]
    pub(crate) fn body(body: &'a Value) -> Self {
        static EMPTY: std::sync::OnceLock<HeaderMap> = std::sync::OnceLock::new();
        Sources {
            body,
            headers: EMPTY.get_or_init(HeaderMap::new),
            status_url: None,
            submission_url: None,
        }
    }
}

/// A text with placeholders, split once when the description is read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct Template {
    text: String,
    pieces: Vec<Piece>,
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Pointer(Pointer),
    Number(Pointer),
    Header(HeaderName),
    StatusUrl,
    StatusUrlPath,
    StatusUrlQuery,
    SubmissionUrl,
}

impl TryFrom<String> for Template {
    type Error = String;
    /// Splits a template into literals and placeholders (a placeholder holds no `{` or `}`).
    fn try_from(text: String) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = text.as_str();
        while let Some(open) = rest.find(['{', '}']) {
            if rest.as_bytes().get(open) == Some(&b'}') {
                return Err(format!("template `{text}` has a `}}` without a `{{`"));
            }
            let after = rest.get(open + 1..).unwrap_or("");
            let close = after
                .find(['{', '}'])
                .filter(|&i| after.as_bytes().get(i) == Some(&b'}'))
                .ok_or_else(|| format!("template `{text}` has a `{{` without a `}}`"))?;
            pieces.push(Piece::Literal(rest[..open].to_owned()));
            pieces.push(placeholder(&text, &after[..close])?);
            rest = &after[close + 1..];
        }
        pieces.push(Piece::Literal(rest.to_owned()));
        Ok(Self { text, pieces })
    }
}

fn placeholder(template: &str, inner: &str) -> Result<Piece, String> {
    match inner {
        "status_url" => Ok(Piece::StatusUrl),
        "status_url_path" => Ok(Piece::StatusUrlPath),
        "status_url_query" => Ok(Piece::StatusUrlQuery),
        "submission_url" => Ok(Piece::SubmissionUrl),
        _ if inner.is_empty() || inner.starts_with('/') => Pointer::parse(inner)
            .map(Piece::Pointer)
            .map_err(|e| e.to_string()),
        _ if inner.starts_with("number:") => {
            let pointer = inner["number:".len()..].trim();
            if !(pointer.is_empty() || pointer.starts_with('/')) {
                return Err(format!(
                    "template `{template}`: `{{{inner}}}` reads no JSON pointer (write \
                     `{{number:/id}}`)"
                ));
            }
            Pointer::parse(pointer)
                .map(Piece::Number)
                .map_err(|e| e.to_string())
        }
        _ => match inner.strip_prefix("header:") {
            Some(name) => HeaderName::from_bytes(name.trim().as_bytes())
                .map(Piece::Header)
                .map_err(|_| format!("template `{template}`: `{name}` is not a header name")),
            None => Err(format!(
                "template `{template}`: `{{{inner}}}` is not a placeholder (write a JSON \
                 pointer `{{/id}}`, `{{number:/id}}`, `{{header:NAME}}`, `{{status_url}}`, \
                 `{{status_url_path}}`, `{{status_url_query}}` or `{{submission_url}}`)"
            )),
        },
    }
}

impl From<Template> for String {
    fn from(t: Template) -> String {
        t.text
    }
}

impl Template {
    /// The template as written.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn pointers(&self) -> impl Iterator<Item = &Pointer> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Pointer(p) | Piece::Number(p) => Some(p),
            _ => None,
        })
    }

    /// Whether the template reads the status URL.
    pub(crate) fn reads_status_url(&self) -> bool {
        self.pieces.iter().any(|p| {
            matches!(
                p,
                Piece::StatusUrl | Piece::StatusUrlPath | Piece::StatusUrlQuery
            )
        })
    }

    /// Whether the template reads an answer's header or the submission's URL (what a
    /// request sent with no answer in hand, a cancel, cannot fill).
    pub(crate) fn reads_headers_or_submission_url(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Header(_) | Piece::SubmissionUrl))
    }

    /// Fills the placeholders as a URL; `None` when one finds nothing.
    pub(crate) fn expand(&self, src: &Sources<'_>) -> Option<(String, String)> {
        let out = self.fill(src, true)?;
        Some((format!("template `{}`", self.text), out))
    }

    /// Fills the placeholders, each value escaped as a path segment (`url`) or as it is.
    fn fill(&self, src: &Sources<'_>, url: bool) -> Option<String> {
        let mut out = String::new();
        for piece in &self.pieces {
            let value: Cow<'_, str> = match piece {
                Piece::Literal(text) => {
                    out.push_str(text);
                    continue;
                }
                Piece::Pointer(p) => p.find(src.body).and_then(text_of)?,
                Piece::Number(p) => {
                    let text = p.find(src.body).and_then(text_of)?;
                    number(&text)?;
                    text
                }
                Piece::Header(h) => {
                    let v = src.headers.get(h)?.to_str().ok()?.trim();
                    (!v.is_empty()).then_some(Cow::Borrowed(v))?
                }
                Piece::StatusUrl => {
                    out.push_str(src.status_url?.as_str());
                    continue;
                }
                Piece::StatusUrlPath => {
                    let u = src.status_url?;
                    out.push_str(&u[..url::Position::AfterPath]);
                    continue;
                }
                Piece::StatusUrlQuery => {
                    out.push_str(src.status_url?.query().unwrap_or(""));
                    continue;
                }
                Piece::SubmissionUrl => {
                    out.push_str(src.submission_url?.as_str());
                    continue;
                }
            };
            match url {
                // A dot segment is no segment: a URL parser removes it (and the one before it
                // for `..`), spelled `%2E` too, so no escape keeps it; it finds nothing. Nor
                // does an empty value: the URL would name the collection (`jobs/`), not an item.
                true if matches!(&*value, "" | "." | "..") => return None,
                true => escape_segment(&value, &mut out),
                false => out.push_str(&value),
            }
        }
        Some(out)
    }
}

/// `text` as a JSON number, when JSON writes that number back as `text` without an exponent
/// (JSON writes one for a float of 1e16 or more: an integer past 64 bits, held rounded, which
/// would name another operation than the one the service meant).
fn number(text: &str) -> Option<serde_json::Number> {
    if text.contains(['e', 'E']) {
        return None;
    }
    text.parse::<serde_json::Number>()
        .ok()
        .filter(|n| n.to_string() == text)
}

/// A JSON request body whose strings are templates: `{"TranscriptionJobName":
/// "{/TranscriptionJob/TranscriptionJobName}"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "Value", into = "Value")]
pub(crate) struct BodyTemplate {
    written: Value,
    node: Node,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Text(Template),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
    Plain(Value),
}

impl TryFrom<Value> for BodyTemplate {
    type Error = String;
    fn try_from(written: Value) -> Result<Self, String> {
        fn node(v: &Value) -> Result<Node, String> {
            Ok(match v {
                Value::String(s) => Node::Text(Template::try_from(s.clone())?),
                Value::Array(items) => {
                    Node::Array(items.iter().map(node).collect::<Result<_, _>>()?)
                }
                Value::Object(map) => Node::Object(
                    map.iter()
                        .map(|(k, v)| Ok((k.clone(), node(v)?)))
                        .collect::<Result<_, String>>()?,
                ),
                other => Node::Plain(other.clone()),
            })
        }
        let node = node(&written)?;
        Ok(Self { written, node })
    }
}

impl From<BodyTemplate> for Value {
    fn from(t: BodyTemplate) -> Value {
        t.written
    }
}

impl BodyTemplate {
    /// The body, filled from `src`: `Err` names the first template that found nothing.
    pub(crate) fn expand(&self, src: &Sources<'_>) -> Result<Bytes, String> {
        fn fill(node: &Node, src: &Sources<'_>) -> Result<Value, String> {
            Ok(match node {
                Node::Text(t) => {
                    let text = t
                        .fill(src, false)
                        .ok_or_else(|| format!("`{}` finds nothing", t.text))?;
                    match t.pieces.as_slice() {
                        // Checked a number when it was filled.
                        [Piece::Literal(a), Piece::Number(_), Piece::Literal(b)]
                            if a.is_empty() && b.is_empty() =>
                        {
                            number(&text).map_or(Value::String(text), Value::Number)
                        }
                        _ => Value::String(text),
                    }
                }
                Node::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|n| fill(n, src))
                        .collect::<Result<_, _>>()?,
                ),
                Node::Object(members) => Value::Object(
                    members
                        .iter()
                        .map(|(k, n)| Ok((k.clone(), fill(n, src)?)))
                        .collect::<Result<_, String>>()?,
                ),
                Node::Plain(v) => v.clone(),
            })
        }
        let value = fill(&self.node, src)?;
        Ok(Bytes::from(value.to_string()))
    }

    /// Every template in the body.
    pub(crate) fn templates(&self) -> Vec<&Template> {
        fn walk<'a>(node: &'a Node, out: &mut Vec<&'a Template>) {
            match node {
                Node::Text(t) => out.push(t),
                Node::Array(items) => items.iter().for_each(|n| walk(n, out)),
                Node::Object(members) => members.iter().for_each(|(_, n)| walk(n, out)),
                Node::Plain(_) => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.node, &mut out);
        out
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn escape_segment(text: &str, out: &mut String) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Resolves a URL a description found: absolute as it is. With a base URL configured, every
/// relative form stays under it: a root-relative (`/x`) or network-path (`//host/x`, which a
/// broken server may send) reference is appended to the base URL's path, on the base's origin;
/// other relative references resolve against the base (with a trailing `/`). Without a base,
/// relative references resolve against `response_url` (RFC 3986), and the layer's origin
/// rules judge where they lead. The result must be http(s).
pub(crate) fn resolve(raw: &str, response_url: &Url, base: Option<&Url>) -> Result<Url, String> {
    // What the URL parser skips or reads as `/` (`\\host` is `//host` in http(s) URLs).
    let lead = raw.trim_start_matches(|c: char| c <= ' ');
    let joined = match base {
        Some(base) if lead.starts_with(['/', '\\']) => {
            // `//evil.example/x` names no host here: it is the path `/evil.example/x`.
            let rooted = format!("/{}", lead.trim_start_matches(['/', '\\']));
            let mut url = base.clone();
            let (before_fragment, _) = rooted.split_once('#').unwrap_or((&rooted, ""));
            let (path, query) = match before_fragment.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (before_fragment, None),
            };
            let joined_path = format!("{}{path}", base.path().trim_end_matches('/'));
            url.set_path(&joined_path);
            url.set_query(query);
            url.set_fragment(None);
            Ok(url)
        }
        Some(base) => {
            let mut dir = base.clone();
            if !dir.path().ends_with('/') {
                let path = format!("{}/", dir.path());
                dir.set_path(&path);
            }
            dir.join(raw)
        }
        None => response_url.join(raw),
    };
    match joined {
        Ok(mut url) if matches!(url.scheme(), "http" | "https") => {
            url.set_fragment(None);
            Ok(url)
        }
        Ok(url) => Err(format!("which is not an http(s) URL (`{url}`)")),
        Err(e) => Err(format!("which is not a URL ({e})")),
    }
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
