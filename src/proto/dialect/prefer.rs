//! A declared dialect's `prefer_async`: which submissions are sent with
//! `Prefer: respond-async` (RFC 7240) when they carry no `Prefer` of their own — for services
//! that answer synchronously unless asked (FHIR operations, OGC API – Processes executions).
//!
//! Every condition given must hold; `{}` asks for every submission:
//!
//! - `method`: the submission's method (`"POST"`); left out: any method.
//! - `last_segment`: the last segment of the URL's path, exactly (`"execution"`), or
//! - `last_segment_prefix`: what it starts with (`"$"`: a FHIR operation such as `$export`).
//!
//! Segments are compared as sent (percent-encoded), case-sensitively.

use http::Method;
use serde::{Deserialize, Serialize};

use super::declared::DialectError;

/// `prefer_async`: when a submission asks for asynchronous processing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreferAsync {
    /// The method a submission must have; none: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) method: Option<String>,
    /// The last path segment a submission must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_segment: Option<String>,
    /// What the last path segment must start with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_segment_prefix: Option<String>,
}

impl PreferAsync {
    /// Checks what serde cannot: a method token, segments without `/`, one segment rule.
    pub(crate) fn validate(&self) -> Result<(), DialectError> {
        let invalid = |problem: String| DialectError::Invalid {
            field: "prefer_async",
            problem,
        };
        if let Some(m) = &self.method {
            if Method::from_bytes(m.as_bytes()).is_err() {
                return Err(invalid(format!("`{m}` is not a method")));
            }
        }
        if self.last_segment.is_some() && self.last_segment_prefix.is_some() {
            return Err(invalid(
                "give `last_segment` or `last_segment_prefix`, not both".to_owned(),
            ));
        }
        let segments = [&self.last_segment, &self.last_segment_prefix];
        for s in segments.into_iter().flatten() {
            if s.is_empty() || s.contains('/') {
                return Err(invalid(format!("`{s}` is not a path segment")));
            }
        }
        Ok(())
    }

    /// Whether a submission with `method` to `path` (a URL's path, as sent) asks for
    /// asynchronous processing.
    pub(crate) fn matches(&self, method: &Method, path: &str) -> bool {
        let last = path.rsplit('/').next().unwrap_or("");
        self.method.as_deref().is_none_or(|m| m == method.as_str())
            && self.last_segment.as_deref().is_none_or(|s| s == last)
            && (self.last_segment_prefix.as_deref()).is_none_or(|p| last.starts_with(p))
    }
}

#[cfg(test)]
#[path = "prefer_tests.rs"]
mod tests;
