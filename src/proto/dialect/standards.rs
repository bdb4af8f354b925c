//! Named dialects for two open standards, written in the declared language (`declared.rs`)
//! and read by its readers: no reader of their own.
//!
//! - `fhir`: HL7 FHIR's Asynchronous Request Pattern (<https://hl7.org/fhir/R4/async.html>)
//!   as Bulk Data Access uses it for `$export`
//!   (<https://hl7.org/fhir/uv/bulkdata/export.html>): the kick-off answers `202` +
//!   `Content-Location`; the status URL answers `202` while running (`X-Progress` free text,
//!   `Retry-After`), `200` with the manifest when complete, and an error status with an
//!   `OperationOutcome` when the export failed.
//! - `ogc-processes`: OGC API – Processes – Part 1: Core (OGC 18-062r2,
//!   <https://docs.ogc.org/is/18-062r2/18-062r2.html>): execution answers `201` + `Location`
//!   of the job (a server that sends no `Location` — wraptile 0.3.0 — is polled where the
//!   standard puts the job, `../../jobs/{jobID}` from `…/processes/{id}/execution`), whose `statusInfo` says `accepted`, `running`, `successful`, `failed` or
//!   `dismissed`; results by the link of relation `…/ogc/1.0/results` (or `results`), the
//!   one of type `application/json` first (pygeoapi lists the HTML one before it), else at
//!   `{job}/results`.
//!
//! Their descriptions are `standards/fhir.json` and `standards/ogc-processes.json`, parsed
//! once. This file also holds what the declared language reads of a FHIR `OperationOutcome`
//! and of an RFC 9457 problem document (an OGC exception), and, for the default dialect, the
//! unambiguous `OperationOutcome` of a `Content-Location` monitor ([dialects](crate::_protocol#dialects)).

use std::sync::{Arc, OnceLock};

use http::header::CONTENT_TYPE;
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::declared::DeclaredDialect;
use crate::status::ODataError;

const FHIR: &str = include_str!("standards/fhir.json");
const OGC_PROCESSES: &str = include_str!("standards/ogc-processes.json");

/// Which kind of document a service's error answers (`4xx`, `5xx`) carry, when one of them
/// ends the operation (a declared dialect's `error_answers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ErrorAnswers {
    /// A FHIR `OperationOutcome`: the operation failed with its diagnostics, unless every
    /// issue is transient (Bulk Data: the poll failed, not the export), which is retried.
    OperationOutcome,
}

/// A built-in description, parsed once.
fn built_in(cell: &'static OnceLock<Arc<DeclaredDialect>>, text: &str) -> Arc<DeclaredDialect> {
    cell.get_or_init(|| {
        // A test reads both descriptions: they cannot fail here.
        Arc::new(DeclaredDialect::from_json(text).unwrap_or_else(|e| panic!("{e}")))
    })
    .clone()
}

static FHIR_CELL: OnceLock<Arc<DeclaredDialect>> = OnceLock::new();
static OGC_CELL: OnceLock<Arc<DeclaredDialect>> = OnceLock::new();

/// The `fhir` description.
pub(crate) fn fhir() -> Arc<DeclaredDialect> {
    built_in(&FHIR_CELL, FHIR)
}

/// The `ogc-processes` description.
pub(crate) fn ogc_processes() -> Arc<DeclaredDialect> {
    built_in(&OGC_CELL, OGC_PROCESSES)
}

/// The named dialect `d` is, when it is one of these (a handle then records its name).
pub(crate) fn name_of(d: &Arc<DeclaredDialect>) -> Option<&'static str> {
    let is = |cell: &OnceLock<Arc<DeclaredDialect>>| cell.get().is_some_and(|b| Arc::ptr_eq(b, d));
    if is(&FHIR_CELL) {
        Some("fhir")
    } else if is(&OGC_CELL) {
        Some("ogc-processes")
    } else {
        None
    }
}

/// The description of a standard by its name.
pub(crate) fn by_name(name: &str) -> Option<Arc<DeclaredDialect>> {
    match name {
        "fhir" => Some(fhir()),
        "ogc-processes" => Some(ogc_processes()),
        _ => None,
    }
}

/// A FHIR `OperationOutcome` read as an error.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The first issue (`code`; `diagnostics`, else `details.text`), the others as details.
    pub(crate) error: ODataError,
    /// Every issue is of a transient type (`transient` and the codes under it).
    pub(crate) transient: bool,
}

/// The issue types FHIR files under `transient`
/// (<https://hl7.org/fhir/R4/valueset-issue-type.html>).
const TRANSIENT: [&str; 7] = [
    "transient",
    "lock-error",
    "no-store",
    "exception",
    "timeout",
    "incomplete",
    "throttled",
];

/// Reads `value` as an `OperationOutcome`, when it is one.
pub(crate) fn operation_outcome(value: &Value) -> Option<Outcome> {
    if value.get("resourceType").and_then(Value::as_str) != Some("OperationOutcome") {
        return None;
    }
    let issues = value.get("issue").and_then(Value::as_array);
    let issues = issues.map(Vec::as_slice).unwrap_or_default();
    let transient = !issues.is_empty()
        && issues.iter().all(|i| {
            let code = i.get("code").and_then(Value::as_str).unwrap_or("");
            TRANSIENT.contains(&code)
        });
    let mut errors = issues.iter().map(issue);
    let mut error = errors.next().unwrap_or_default();
    error.details = errors.collect();
    Some(Outcome { error, transient })
}

fn issue(issue: &Value) -> ODataError {
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    ODataError {
        code: text(issue.get("code")),
        message: text(issue.get("diagnostics"))
            .or_else(|| text(issue.pointer("/details/text")))
            .or_else(|| text(issue.pointer("/details/coding/0/display"))),
        ..ODataError::default()
    }
}

/// An error value a declared dialect points at, as an error: a FHIR `OperationOutcome`; an
/// object with `code`/`message` (OData, Google, most services); an RFC 9457 problem (an OGC
/// exception: `type`, `title`, `detail`); any other value as its text.
pub(crate) fn error_of(value: &Value) -> ODataError {
    if let Some(outcome) = operation_outcome(value) {
        return outcome.error;
    }
    let has = |k: &str| value.get(k).is_some();
    if !has("code") && !has("message") && (has("title") || has("detail")) {
        let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_owned);
        return ODataError {
            code: text("type"),
            message: text("detail").or_else(|| text("title")),
            ..ODataError::default()
        };
    }
    ODataError::from_json(value).unwrap_or_else(|| ODataError {
        message: Some(match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        ..ODataError::default()
    })
}

/// The `OperationOutcome` an error answer of a declared dialect with `error_answers` carries
/// (read on error answers only).
pub(crate) fn declared_outcome(d: &DeclaredDialect, body: &[u8]) -> Option<Outcome> {
    match d.error_answers? {
        ErrorAnswers::OperationOutcome => outcome_in(body),
    }
}

/// The `OperationOutcome` of an error answer the default dialect reads without being told:
/// it says it is FHIR (`application/fhir+json`) and is one. Any other answer is left to the
/// usual rules (read on error answers of a `Content-Location` monitor only).
pub(crate) fn fhir_outcome(headers: &HeaderMap, body: &[u8]) -> Option<Outcome> {
    let fhir_json = headers.get(CONTENT_TYPE).is_some_and(|v| {
        let essence = v.as_bytes().split(|&b| b == b';').next().unwrap_or(b"");
        essence
            .trim_ascii()
            .eq_ignore_ascii_case(b"application/fhir+json")
    });
    if fhir_json {
        outcome_in(body)
    } else {
        None
    }
}

fn outcome_in(body: &[u8]) -> Option<Outcome> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .as_ref()
        .and_then(operation_outcome)
}

#[cfg(test)]
#[path = "standards_tests.rs"]
mod tests;
