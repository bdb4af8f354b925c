//! The façade's status document, the seed documents' V2 shape, from an operation record:
//!
//! ```json
//! {"id": "…", "status": "NotStarted|Running|Succeeded|Failed|Canceled", "percentComplete": 40,
//!  "error": {"code": "…", "message": "…"},
//!  "createdDateTime": "2026-12-07T02:40:00Z", "lastUpdatedDateTime": "2026-12-07T02:40:03.250Z"}
//! ```
//!
//! `status` is `NotStarted` until an answer of the upstream gives a word (after its `202` too:
//! the façade's placeholder, as the core's), then that word's meaning in these five.
//! `percentComplete` is the upstream's latest figure (`100` on success; absent while none was
//! reported), `error` is there only for `Failed` and `Canceled` (the upstream's code and
//! message as recorded, as JSON strings: server text is data; where it gave none, its status
//! word and "the operation ended WORD", as a direct answer says). `Retry-After` and
//! `retry-after-ms` come with an unfinished operation, `Resource-Location:
//! /_lro/operations/{id}/result` with a successful one, and with a `Failed` or `Canceled` one
//! that left a partial result (a declared `partial_result`: OpenAI's `expired` batch), whose
//! `error.code` is the upstream's word. `createdDateTime` is when the
//! submission was first sent (whole seconds), `lastUpdatedDateTime` the record's last write.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderValue, CACHE_CONTROL};
use http::{Request, Response, StatusCode};
use http_body_util::Either;
use serde_json::{json, Value};
use tower::ServiceExt;
use tower_lro::store::{OperationRecord, OperationState, RecordedStatus};
use tower_lro::LroOptions;

use super::{carried, events, json_error, not_found, retry_headers, upstream_body, Facade};
use crate::proxy::{Bounded, ProxyBody};
use crate::proxy_map::{error_response, forwardable_headers, json_response};

/// How long a status request that took an operation over waits for its first poll: an
/// upstream that refuses the asker's credential answers that refusal (and the record stays as
/// it was); past this the document is answered as it stands.
const FIRST_POLL_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /_lro/operations/{id}`: the document, or its events; an unfinished operation that no
/// process polls any more is taken over.
pub async fn status(
    facade: &Arc<Facade>,
    id: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    deadline: Option<tokio::time::Instant>,
) -> Response<ProxyBody> {
    let record = match facade.store.load(id).await {
        Ok(Some(record)) => record,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(&e),
    };
    if !record.is_finished() {
        match facade.take_over(id, headers, query, &record).await {
            Err(missing) => return credential_required(&missing),
            // Taken over: its first poll is awaited (bounded), for a refused credential.
            Ok(Some(first)) => {
                let waited = tokio::time::timeout(FIRST_POLL_WAIT, first).await;
                if let Ok(Ok(Some(refusal))) = waited {
                    return refusal;
                }
            }
            Ok(None) => {}
        }
    }
    if events::wanted(headers) {
        if events::caught_up(headers, &record) {
            return events::no_more();
        }
        return events::stream(facade, id, headers, deadline);
    }
    document_response(facade, id, &record)
}

/// `GET /_lro/operations/{id}/result`: the result of a finished operation, as the proxy answers
/// a synchronous request (fetched again through the layer, or as recorded); `409` before the
/// end.
pub async fn result(
    facade: &Arc<Facade>,
    id: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    deadline: Option<tokio::time::Instant>,
) -> Response<ProxyBody> {
    let record = match facade.store.load(id).await {
        Ok(Some(record)) => record,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(&e),
    };
    if !record.is_finished() {
        let mut response = json_error(
            StatusCode::CONFLICT,
            "OperationNotFinished",
            "the operation has not ended: poll its status",
        );
        retry_headers(response.headers_mut(), facade.hint);
        return response;
    }
    let mut req = Request::new(upstream_body(bytes::Bytes::new()));
    // The asker's query: the layer takes from it the credential parameters it carries (a
    // `code` the operation was started with; the record keeps none), and nothing else.
    let joiner = if facade.upstream.query().is_some() {
        '&'
    } else {
        '?'
    };
    let asked = query.and_then(|q| format!("{}{joiner}{q}", facade.upstream).parse().ok());
    *req.uri_mut() = asked.unwrap_or_else(|| facade.upstream.clone());
    *req.headers_mut() = carried(headers);
    let options = LroOptions::new().idempotency_key(id).continue_recorded();
    req.extensions_mut().insert(options);
    match facade.service.clone().oneshot(req).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            parts.headers = forwardable_headers(&parts.headers, false);
            // A partial result says so, as a waiting client's answer does (records before
            // the metadata was kept say it too).
            let partial = record.partial().map(|(word, status)| {
                let meaning = match status {
                    RecordedStatus::Canceled => "canceled",
                    _ => "failed",
                };
                (meaning, word)
            });
            crate::proxy_map::say_partial(&mut parts.headers, partial);
            let body = Bounded::new(Either::Left(body), deadline);
            Response::from_parts(parts, Either::Left(body))
        }
        Err(err) => error_response(&facade.upstream, &err).map(Either::Right),
    }
}

/// `400 CredentialRequired`: nobody polls the operation any more, and this request cannot
/// continue it: it was started with the credentials `missing` (query parameters or headers),
/// whose values the store does not keep (it keeps no credential in clear), and this request
/// does not carry them.
fn credential_required(missing: &[String]) -> Response<ProxyBody> {
    let names = missing.join(", ");
    let message = format!(
        "the operation is no longer polled and was started with the credential {names}, \
         which the store does not keep: ask again with it (in this URL's query, or as a \
         header of that name) to continue it"
    );
    json_error(StatusCode::BAD_REQUEST, "CredentialRequired", &message)
}

/// `503`: the store did not answer.
fn unavailable(e: &tower_lro::store::StoreError) -> Response<ProxyBody> {
    // The store's text is the proxy's own (no server text): said as it is.
    let message = format!("the operation store did not answer: {e}");
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "ServiceUnavailable",
        &message,
    )
}

/// The status of `record` in the document's five words.
pub fn status_of(record: &OperationRecord) -> RecordedStatus {
    if let Some((_, status)) = record.partial() {
        return status;
    }
    match (&record.state, record.status) {
        (OperationState::Succeeded { .. }, _) => RecordedStatus::Succeeded,
        (OperationState::Failed { .. }, Some(RecordedStatus::Canceled)) => RecordedStatus::Canceled,
        (OperationState::Failed { word, .. }, _) => {
            match tower_lro::OperationStatus::parse(word).meaning() {
                tower_lro::StatusMeaning::Canceled => RecordedStatus::Canceled,
                _ => RecordedStatus::Failed,
            }
        }
        (OperationState::Submitted, None) => RecordedStatus::NotStarted,
        (_, Some(status)) if !status.is_terminal() => status,
        _ => RecordedStatus::Running,
    }
}

/// The status document of `record` under `id`.
pub fn document(id: &str, record: &OperationRecord) -> Value {
    let status = status_of(record);
    let mut doc = json!({
        "id": id,
        "status": status.as_str(),
        "createdDateTime": rfc3339(record.first_sent.saturating_mul(1000)),
        "lastUpdatedDateTime": rfc3339(record.updated_ms.max(record.first_sent.saturating_mul(1000))),
    });
    let percent = match status {
        RecordedStatus::Succeeded => Some(100.0),
        _ => record.percent_complete,
    };
    if let Some(p) = percent.filter(|p| p.is_finite()) {
        // A whole figure as an integer (`40`, as the seed documents write it), else as it came.
        doc["percentComplete"] = match p.fract() == 0.0 && p.abs() < 1e15 {
            true => json!(p as i64),
            false => json!(p),
        };
    }
    if let OperationState::Failed {
        word,
        code,
        message,
    } = &record.state
    {
        // The gateway's rule, as a direct answer says it: the upstream's code and message,
        // else the word and "the operation ended WORD".
        let (code, message) = (code.as_deref(), message.as_deref());
        doc["error"] = tower_lro::__private::failure_error(word, code, message);
    }
    if let Some((word, _)) = record.partial() {
        doc["error"] = json!({
            "code": word,
            "message": "the operation ended without success but left a partial result, \
                        at its Resource-Location",
        });
    }
    doc
}

/// The document as a `200` answer, with `Retry-After` or `Resource-Location`.
pub fn document_response(
    facade: &Facade,
    id: &str,
    record: &OperationRecord,
) -> Response<ProxyBody> {
    let mut response = json_response(StatusCode::OK, &document(id, record)).map(Either::Right);
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    match status_of(record) {
        // A result to fetch: the operation's, or the partial one it left.
        _ if matches!(record.state, OperationState::Succeeded { .. }) => {
            let result = format!("{}/result", super::status_path(id));
            if let Ok(value) = HeaderValue::from_str(&result) {
                headers.insert("resource-location", value);
            }
        }
        s if !s.is_terminal() => retry_headers(headers, facade.hint),
        _ => {}
    }
    response
}

/// Now, in milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `ms` since the Unix epoch as an RFC 3339 UTC time (`…T02:40:03Z`, or `.250Z` with
/// milliseconds).
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days to a civil date (H. Hinnant's algorithm), for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    let frac = match ms % 1000 {
        0 => String::new(),
        f => format!(".{f:03}"),
    };
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}{frac}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(784_111_777_000), "1994-11-06T08:49:37Z");
        assert_eq!(rfc3339(1_709_251_200_250), "2024-03-01T00:00:00.250Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn documents_say_the_five_words() {
        let json = |state: &str, status: &str| {
            let text = format!(
                r#"{{"fingerprint":"0","first_sent":1,"state":{state}{status},"updated_ms":1500}}"#
            );
            OperationRecord::from_json(text.as_bytes()).unwrap()
        };
        let submitted = json(r#"{"state":"submitted"}"#, "");
        assert_eq!(document("x", &submitted)["status"], "NotStarted");
        let failed = json(
            r#"{"state":"failed","word":"Cancelled","code":null,"message":"stop \"now\""}"#,
            "",
        );
        let doc = document("x", &failed);
        assert_eq!(doc["status"], "Canceled");
        assert_eq!(doc["error"]["message"], "stop \"now\"");
        assert_eq!(doc["error"]["code"], "Cancelled");
        // Nothing recorded but the word: what a direct answer says (the gateway's rule).
        let bare = json(
            r#"{"state":"failed","word":"Cancelled","code":null,"message":null}"#,
            "",
        );
        let said = serde_json::json!({
            "code": "Cancelled",
            "message": "the operation ended Cancelled",
        });
        assert_eq!(document("x", &bare)["error"], said);
        assert_eq!(doc["lastUpdatedDateTime"], "1970-01-01T00:00:01.500Z");
        let succeeded = json(
            r#"{"state":"succeeded","result":{"kind":"url","url":"http://u/r"}}"#,
            r#","status":"Running","percent_complete":40.0"#,
        );
        let doc = document("x", &succeeded);
        assert_eq!(
            (doc["status"].as_str(), doc["percentComplete"].as_f64()),
            (Some("Succeeded"), Some(100.0))
        );
        assert!(doc.get("error").is_none());
        // A partial result's record (a declared `partial_result`): the result kept, the
        // document saying how it ended; a record without `status` reads as failed.
        for (status, want) in [(r#","status":"Canceled""#, "Canceled"), ("", "Failed")] {
            let partial = json(
                r#"{"state":"succeeded","result":{"kind":"url","url":"http://u/r"}}"#,
                &format!(r#"{status},"percent_complete":60.0,"partial_word":"cancelled""#),
            );
            let doc = document("x", &partial);
            assert_eq!(
                (doc["status"].as_str(), doc["percentComplete"].as_f64()),
                (Some(want), Some(60.0))
            );
            assert_eq!(doc["error"]["code"], "cancelled");
        }
    }
}
