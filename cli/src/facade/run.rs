//! Operations the façade runs in the background: started for a client that prefers
//! `respond-async`, or taken over when their instance stopped polling.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::{HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::Either;
use hyper::body::Incoming;
use tokio::sync::oneshot;
use tower::{BoxError, ServiceExt};
use tower_lro::store::{OperationRecord, OperationState, RecordedStatus};
use tower_lro::{ErrorKind, LroBody, LroOptions};

use super::{
    carried, client_key, doc, fresh_id, held_body, json_error, read_body, upstream_body, Facade,
};
use crate::proxy::{Bounded, ProxyBody, UpstreamBody};
use crate::proxy_map::{error_response, forwardable_headers, upstream_uri};

type Outcome = Result<Response<LroBody<Incoming>>, BoxError>;

/// A request with `Prefer: respond-async`: `202` and the façade once the upstream started an
/// operation, or the upstream's answer when it started none.
pub(super) async fn submit(
    facade: &Arc<Facade>,
    req: Request<Incoming>,
    deadline: Option<tokio::time::Instant>,
) -> Response<ProxyBody> {
    let (parts, body) = req.into_parts();
    let target = match upstream_uri(&facade.upstream, &parts.uri) {
        Ok(uri) => uri,
        Err(message) => return json_error(StatusCode::BAD_REQUEST, "BadRequest", &message),
    };
    let (id, fresh) = match client_key(&facade.scope, &parts.headers, parts.uri.query()) {
        Ok(Some(key)) => (key, false),
        Ok(None) => match fresh_id() {
            Ok(id) => (id, true),
            Err(e) => {
                let message = format!("no operation id could be drawn: {e}");
                return json_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &message);
            }
        },
        Err(message) => return json_error(StatusCode::BAD_REQUEST, "BadRequest", &message),
    };
    let held = match read_body(facade, body, super::BODY_LIMIT).await {
        Ok(held) => held,
        Err(answer) => return answer,
    };
    let mac = facade.scope.body_mac(&held.bytes);
    if !fresh {
        // Known already, with a handle or an end: the same façade (its status request takes
        // over an operation whose instance stopped), when it is the same request. A record
        // without a handle goes through the store front, which sends the submission again if
        // its lease is free (and refuses another request under the key).
        if let Ok(Some(record)) = facade.store.load(&id).await {
            if !record.made_by_mac(&parts.method, &target, mac.as_ref()) {
                let reused: BoxError = Box::new(tower_lro::__private::key_reused(id.clone()));
                return error_response(&target, &reused).map(Either::Right);
            }
            if !matches!(record.state, OperationState::Submitted) {
                return accepted(facade, &id, Some(&record));
            }
        }
    }
    let options = LroOptions::new()
        .force()
        .idempotency_key(id.clone())
        .request_body_mac(mac.as_ref());
    let mut out = Request::new(held_body(held));
    *out.method_mut() = parts.method;
    *out.uri_mut() = target.clone();
    *out.headers_mut() = forwardable_headers(&parts.headers, true);
    launch(facade, id, fresh, out, options, target, deadline).await
}

/// Runs `req` through the store front on a task of its own; answers `202` once the operation
/// has started (and its handle is recorded), or the answer itself when it ended first.
pub(super) async fn launch(
    facade: &Arc<Facade>,
    id: String,
    fresh: bool,
    mut req: Request<UpstreamBody>,
    options: LroOptions,
    target: Uri,
    deadline: Option<tokio::time::Instant>,
) -> Response<ProxyBody> {
    let (started, on_start) = oneshot::channel::<()>();
    let started = Mutex::new(Some(started));
    req.extensions_mut().insert(options.on_progress(move |_| {
        if let Some(tx) = started.lock().ok().and_then(|mut s| s.take()) {
            let _ = tx.send(());
        }
    }));
    let Ok(slot) = facade.slots.clone().try_acquire_owned() else {
        let message = "the proxy runs --max-operations operations already; retry later";
        let status = StatusCode::SERVICE_UNAVAILABLE;
        let refused = crate::proxy_limits::over_limit(status, "max-operations", message);
        let mut response = refused.map(http_body_util::Either::Right);
        super::retry_headers(response.headers_mut(), Duration::from_secs(1));
        return response;
    };
    let (answer, on_answer) = oneshot::channel::<Outcome>();
    facade.runs(&id, true);
    let task = facade.clone();
    let (key, upstream) = (id.clone(), target.clone());
    tokio::spawn(async move {
        let _slot = slot;
        let out = task.service.clone().oneshot(req).await;
        if let Err(out) = answer.send(out) {
            task.settle(&key, &upstream, out).await;
        }
        task.done(&key);
    });
    tokio::select! {
        biased;
        Ok(()) = on_start => {
            let record = facade.until_recorded(&id).await;
            accepted(facade, &id, record.as_ref())
        }
        out = on_answer => match out {
            Ok(Ok(response)) => {
                let (mut parts, body) = response.into_parts();
                parts.headers = forwardable_headers(&parts.headers, false);
                crate::proxy_map::mark_partial(&mut parts);
                Response::from_parts(parts, Either::Left(Bounded::new(Either::Left(body), deadline)))
            }
            Ok(Err(err)) => {
                if fresh {
                    // Nobody can ask about it: its id was never handed out.
                    let _ = facade.store.remove(&id).await;
                }
                error_response(&target, &err).map(Either::Right)
            }
            Err(_) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "the operation's task ended"),
        }
    }
}

/// `202 Accepted` with the façade's headers, and the status document when the record is known.
fn accepted(facade: &Facade, id: &str, record: Option<&OperationRecord>) -> Response<ProxyBody> {
    let mut response = match record {
        Some(record) => doc::document_response(facade, id, record),
        None => {
            let body = serde_json::json!({"id": id, "status": "NotStarted"});
            crate::proxy_map::json_response(StatusCode::OK, &body).map(Either::Right)
        }
    };
    *response.status_mut() = StatusCode::ACCEPTED;
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&super::status_path(id)) {
        headers.insert("operation-location", location);
    }
    headers.insert(
        "preference-applied",
        HeaderValue::from_static("respond-async"),
    );
    headers.remove("resource-location");
    super::retry_headers(headers, facade.hint);
    response
}

/// `Err` with the credential headers (`Authorization`, an API key: what
/// [`tower_lro::credentials::is_credential_header`] names) the polls of `handle`'s operation
/// carried and `headers` lacks: a takeover's polls would go without them, and the upstream's
/// `401` would end the operation `Failed` for its owner too. The store keeps no value of them.
fn missing_headers(
    handle: &tower_lro::ResumeHandle,
    headers: &HeaderMap,
) -> Result<(), Vec<String>> {
    let missing: Vec<String> = handle
        .header_names()
        .iter()
        .filter(|n| {
            tower_lro::credentials::is_credential_header(n) && !headers.contains_key(n.as_str())
        })
        .cloned()
        .collect();
    match missing.is_empty() {
        true => Ok(()),
        false => Err(missing),
    }
}

/// How a takeover's first poll went: `None` answered (or the run ended otherwise), or the
/// answer to its asker when the upstream refused the credential.
pub(super) type FirstPoll = oneshot::Receiver<Option<Response<ProxyBody>>>;

/// The answer for a takeover's asker when `out` is the upstream's refusal of a poll's
/// credential (`401`, `403`): that status, `error.code` `CredentialRejected`, with what the
/// gateway says of it (the upstream's body quoted in JSON, bounded; its URL masked).
fn rejected(target: &Uri, out: &Outcome) -> Option<Response<ProxyBody>> {
    let err = out.as_ref().err()?;
    let e = err.downcast_ref::<tower_lro::Error>()?;
    let status = e.status().filter(|s| {
        e.kind() == ErrorKind::UnexpectedStatus
            && matches!(*s, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
    })?;
    let answer = tower_lro::gateway::error_response(target, err.as_ref());
    let mut body: serde_json::Value = serde_json::from_slice(answer.body()).ok()?;
    body["error"]["code"] = "CredentialRejected".into();
    Some(crate::proxy_map::json_response(status, &body).map(Either::Right))
}

impl Facade {
    /// The record under `id` once it holds more than the submission (bounded: 1 s).
    async fn until_recorded(&self, id: &str) -> Option<OperationRecord> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        let written = self.signals.subscribe(id);
        loop {
            // Enabled before the read: a write between the read and the wait is not missed.
            let notified = written.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let last = self.store.load(id).await.ok().flatten();
            let recorded = last
                .as_ref()
                .is_some_and(|r| !matches!(r.state, OperationState::Submitted));
            if recorded || tokio::time::Instant::now() >= deadline {
                return last;
            }
            // Written by this process's run of it; the timeout bounds a lost signal.
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }

    /// Takes over the unfinished operation under `key` (its `record` as just read) when no
    /// process holds its lease: continues it from its recorded handle on a task of this
    /// process, with `headers` and the credential query parameters of `query` its handle names
    /// (the store keeps none of their values). `Err` with those names when it would take it
    /// over but `query` lacks one, or `headers` lack a credential header its polls carried
    /// (`missing_headers`): its polls would go without it.
    ///
    /// `Ok(Some(first))` when it took it over: `first` tells how its first poll went, `None`
    /// once one succeeded (or the run ended otherwise), or the answer for the asker when the
    /// upstream refused the credential (`rejected`). Such a refusal ends nothing: the record
    /// stays as it was, its lease free, for a request with the right credential.
    pub(super) async fn take_over(
        self: &Arc<Self>,
        key: &str,
        headers: &HeaderMap,
        query: Option<&str>,
        record: &OperationRecord,
    ) -> Result<Option<FirstPoll>, Vec<String>> {
        if self.runs(key, false) {
            return Ok(None);
        }
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            return Ok(None);
        };
        match self.store.acquire(key, &self.probe, self.lease).await {
            Ok(true) => {
                let _ = self.store.release(key, &self.probe).await;
            }
            _ => return Ok(None),
        }
        let uri = match &record.state {
            OperationState::Polling { handle } => {
                missing_headers(handle, headers)?;
                self.resumed_uri(handle, query)?
            }
            _ => self.upstream.clone(),
        };
        if self.runs(key, true) {
            return Ok(None);
        }
        let mut req = Request::new(upstream_body(bytes::Bytes::new()));
        *req.uri_mut() = uri;
        *req.headers_mut() = carried(headers);
        // Told once: by the first progress report (a poll answered) or by the run's end.
        let (tell, first) = oneshot::channel::<Option<Response<ProxyBody>>>();
        let tell = Arc::new(Mutex::new(Some(tell)));
        let told = tell.clone();
        let options = LroOptions::new()
            .idempotency_key(key)
            .continue_recorded()
            .on_progress(move |_| {
                if let Some(tx) = told.lock().ok().and_then(|mut t| t.take()) {
                    let _ = tx.send(None);
                }
            });
        req.extensions_mut().insert(options);
        let (task, key) = (self.clone(), key.to_owned());
        tokio::spawn(async move {
            let _slot = slot;
            let out = task.service.clone().oneshot(req).await;
            let upstream = task.upstream.clone();
            let tell = tell.lock().ok().and_then(|mut t| t.take());
            // No poll of this takeover was answered (`tell` not taken): a credential refused
            // is the asker's, not the operation's end (anyone who knows the id may ask).
            match (tell, rejected(&upstream, &out)) {
                (Some(tx), Some(refusal)) => {
                    let _ = tx.send(Some(refusal));
                }
                (tell, _) => {
                    task.settle(&key, &upstream, out).await;
                    if let Some(tx) = tell {
                        let _ = tx.send(None);
                    }
                }
            }
            task.done(&key);
        });
        Ok(Some(first))
    }

    /// The URL a takeover of `handle`'s operation is sent with: the upstream's, or, when the
    /// handle names credential query parameters (`query_names`), its submission URL with
    /// their values from `query`; `Err` with the names `query` lacks.
    fn resumed_uri(
        &self,
        handle: &tower_lro::ResumeHandle,
        query: Option<&str>,
    ) -> Result<Uri, Vec<String>> {
        let needed = handle.query_names();
        if needed.is_empty() {
            return Ok(self.upstream.clone());
        }
        let given: Vec<&str> = query
            .unwrap_or("")
            .split('&')
            .filter(|pair| {
                let name = pair.split('=').next().unwrap_or("");
                let name = crate::percent::decode(name).unwrap_or_default();
                needed.contains(&name)
            })
            .collect();
        let named = |n: &String| {
            given.iter().any(|pair| {
                let name = pair.split('=').next().unwrap_or("");
                crate::percent::decode(name).as_deref() == Some(n.as_str())
            })
        };
        let missing: Vec<String> = needed.iter().filter(|n| !named(n)).cloned().collect();
        if !missing.is_empty() {
            return Err(missing);
        }
        let base = handle.request_url();
        let joiner = if base.contains('?') { '&' } else { '?' };
        format!("{base}{joiner}{}", given.join("&"))
            .parse()
            .map_err(|_| needed.to_vec())
    }

    /// Records how a background run ended when the store front did not: an error that neither
    /// the operation reported nor leaves a handle to continue from (the upstream broke the
    /// protocol, or went away for good) ends the operation `Failed`, with the proxy's error.
    async fn settle(&self, key: &str, target: &Uri, out: Outcome) {
        let Err(err) = out else {
            // Recorded by the store front (a response's body is not read here).
            return;
        };
        if let Some(e) = err.downcast_ref::<tower_lro::Error>() {
            let kept = e.is_operation_failed()
                || e.resume_handle().is_some()
                || matches!(e.kind(), ErrorKind::Timeout | ErrorKind::PollLimit);
            if kept {
                return;
            }
        }
        let Ok(Some(mut record)) = self.store.load(key).await else {
            return;
        };
        if record.is_finished() {
            return;
        }
        let answer = tower_lro::gateway::error_response(target, &*err);
        let body: serde_json::Value = serde_json::from_slice(answer.body()).unwrap_or_default();
        let text = |field: &str| body["error"][field].as_str().map(str::to_owned);
        record.state = OperationState::Failed {
            word: "Failed".to_owned(),
            code: text("code"),
            message: text("message"),
        };
        record.status = Some(RecordedStatus::Failed);
        record.revision += 1;
        record.updated_ms = doc::unix_ms();
        let _ = self.store.save(key, &record).await;
    }
}
