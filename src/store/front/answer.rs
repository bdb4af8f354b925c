//! The answers a keyed call gives from the store: what a delivered result leaves there, and
//! the answer of an operation that has ended, from its record.

use bytes::Bytes;
use http::Response;
use tower::ServiceExt;

use super::super::future::Output;
use super::super::requests::refetch;
use super::super::{OperationRecord, OperationState, RecordedStatus, StoredResult};
use super::{Keyed, Outcome, Upstream, UpstreamBody};
use crate::error::{Error, Reason};
use crate::{LroBody, LroMetadata};

impl<S, ReqB, ResB> Keyed<S, ReqB, ResB>
where
    S: Upstream<ReqB, ResB>,
    ReqB: Default + Send + 'static,
    ResB: UpstreamBody,
{
    /// Where a delivered result can be found again, if anywhere.
    pub(super) fn result(
        &self,
        meta: &LroMetadata,
        response: &Response<LroBody<ResB>>,
    ) -> Option<StoredResult> {
        if let Some(url) = meta.resource_url() {
            return Some(StoredResult::Url {
                url: super::super::requests::recordable(url, &self.settings.config),
            });
        }
        let bytes = response.body().whole()?;
        if bytes.len() > self.front.embed_limit {
            return None;
        }
        let body = std::str::from_utf8(bytes).ok()?.to_owned();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Some(StoredResult::Embedded {
            status: response.status().as_u16(),
            content_type,
            body,
        })
    }

    /// The answer of an operation that has ended, from its record.
    pub(super) async fn answer(
        &self,
        parts: &http::request::Parts,
        record: &OperationRecord,
    ) -> Output<ResB> {
        let result = match &record.state {
            OperationState::Succeeded { result } => result,
            OperationState::Failed {
                word,
                code,
                message,
            } => {
                let reason = Reason::StoredFailure {
                    state: word.clone(),
                    code: code.clone(),
                    message: message.clone(),
                };
                let mut error = Error::new(None, reason);
                // The upstream's own status, when the record kept it: a gateway answers with it.
                let status = record.failure_status.map(http::StatusCode::from_u16);
                if let Some(Ok(status)) = status {
                    error = error.with_response(status, &http::HeaderMap::new(), None);
                }
                return Err(error.into());
            }
            _ => unreachable!("only a finished record is answered"),
        };
        let mut response = match result {
            StoredResult::Url { url } => {
                let (withheld, tag) = (record.credentials_withheld, self.settings.tags_requests());
                let mut req = refetch(parts, url, &self.settings.config, withheld, tag)?;
                if let Some(hook) = &self.settings.hook {
                    hook(&mut req);
                }
                let req = req.map(|()| ReqB::default());
                let response = self.inner.clone().oneshot(req).await.map_err(Into::into)?;
                response.map(LroBody::stream)
            }
            StoredResult::Embedded {
                status,
                content_type,
                body,
            } => {
                let mut response = Response::new(LroBody::buffered(Bytes::from(body.clone())));
                *response.status_mut() = http::StatusCode::from_u16(*status)?;
                if let Some(ct) = content_type.as_deref().and_then(|c| c.parse().ok()) {
                    response
                        .headers_mut()
                        .insert(http::header::CONTENT_TYPE, ct);
                }
                response
            }
        };
        if let Some(meta) = answered_metadata(record, result) {
            response.extensions_mut().insert(meta);
        }
        response.extensions_mut().insert(Outcome::Answered);
        crate::metrics::attached();
        Ok(response)
    }
}

/// The [`LroMetadata`] of an answer from `record`, when it kept what the first answer's said:
/// the same but for the URLs (the monitor's credential values masked, the result's URL as
/// recorded) and the resume handle (none: the operation has ended).
fn answered_metadata(record: &OperationRecord, result: &StoredResult) -> Option<LroMetadata> {
    use crate::vocab::Meaning;
    let kept = record.metadata.as_ref()?;
    let meaning = match record.partial() {
        Some((_, RecordedStatus::Canceled)) => Meaning::Canceled,
        Some(_) => Meaning::Failed,
        None => Meaning::Succeeded,
    };
    let resource_url = match result {
        StoredResult::Url { url } => Some(url.clone()),
        StoredResult::Embedded { .. } => None,
    };
    Some(LroMetadata {
        operation_url: kept.operation_url.clone(),
        operation_id: kept.operation_id.clone(),
        rule: kept.rule,
        status: crate::OperationStatus::with_meaning(&kept.word, meaning),
        polls: kept.polls,
        elapsed: std::time::Duration::from_millis(kept.elapsed_ms),
        resource_url,
        dialect: kept.dialect.as_str().into(),
        resume: None,
        credentials_withheld: record.credentials_withheld,
    })
}
