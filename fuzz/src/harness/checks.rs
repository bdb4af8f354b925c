//! The invariants checked on every request, progress report, resume handle and end, and
//! the harness's own reading of hosts (SSRF) and of a dialect's failed operations.

use super::*;

impl Run<'_> {
    /// A timeout's resume handle serializes, and a machine resumed from it (with the same
    /// head) polls the status monitor at once, or refuses the handle.
    pub(super) fn check_resume(&self, e: &tower_lro::Error) {
        let ctx = self.ctx;
        let h = e.resume_handle().expect("timeouts carry a resume handle");
        let json = serde_json::to_string(h).expect("handle serializes");
        let back: ResumeHandle = serde_json::from_str(&json).expect("handle deserializes");
        assert_eq!(&back, h);
        let now = self.clock.now;
        match Machine::resume(ctx.cfg.clone(), h, &ctx.head, &ctx.params, now) {
            Ok((resumed, Plan::Send { at, request })) => {
                assert_eq!(at, now, "a resumed operation polls at once");
                // The handle carries the dialect, and the resumed operation keeps it.
                assert_eq!(h.dialect(), ctx.params_dialect_name(), "{h:?}");
                assert_eq!(resumed.resume_handle().dialect(), h.dialect());
                let req: http::Request<()> = request.into_request();
                let info = *req.extensions().get::<LroRequest>().expect("LroRequest");
                assert_eq!(info.kind(), PollKind::Status);
                // The poll budget starts afresh when the handle had spent it.
                let spent = if h.polls() >= ctx.cfg.max_polls() {
                    0
                } else {
                    h.polls()
                };
                assert_eq!(info.attempt(), spent + 1, "resumed attempt numbering");
            }
            Ok((_, Plan::Fail(e) | Plan::Cancel { error: e, .. })) | Err(e) => {
                let _ = format!("{e} {e:?}");
                assert!(
                    matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Insecure),
                    "resume failed with {:?}",
                    e.reason()
                );
            }
        }
    }

    /// What a request looks like: a `GET` (or what a declared dialect says: a `HEAD`, a
    /// `POST` with its body) to http(s), numbered, without the submission's body headers (but
    /// those the description sets), and without credentials once the operation went to a
    /// foreign origin.
    pub(super) fn check_request(&mut self, request: PollRequest) {
        let ctx = self.ctx;
        let kind = request.kind();
        let declared = match kind {
            PollKind::Status => ctx.declared_requests[0].as_ref(),
            _ => ctx.declared_requests[1].as_ref(),
        };
        let body = request.body().cloned();
        let req: http::Request<()> = request.into_request();
        let set_by_description =
            |name: &str| declared.is_some_and(|d| d.headers.iter().any(|h| h == name));
        match declared {
            // A status request is always as declared.
            Some(d) if kind == PollKind::Status => assert_eq!(req.method(), d.method),
            // A result is fetched as declared, or with `GET` (a `303`, a `HEAD`'s resource).
            Some(d) => assert!(req.method() == d.method || req.method() == Method::GET),
            None => assert_eq!(req.method(), Method::GET),
        }
        if let Some(body) = &body {
            assert_eq!(req.method(), Method::POST, "a body on a {}", req.method());
            assert!(declared.is_some_and(|d| d.body), "a body nobody declared");
            let _: serde_json::Value = serde_json::from_slice(body).expect("a JSON body");
        } else {
            let posted = req.method() == Method::POST;
            assert!(
                !(posted && declared.is_some_and(|d| d.body)),
                "declared body not sent"
            );
        }
        let info = *req.extensions().get::<LroRequest>().expect("LroRequest");
        assert_eq!(info.kind(), kind);
        let expected_attempt = match kind {
            PollKind::Status => self.status_sends,
            _ => self.resource_sends,
        };
        assert_eq!(info.attempt(), expected_attempt, "attempt numbering");
        let uri = req.uri();
        if let Some(scheme) = uri.scheme_str() {
            assert!(scheme == "http" || scheme == "https", "scheme {scheme}");
            assert!(!(ctx.sub_https && scheme == "http"), "https → http: {uri}");
            assert!(uri.host().is_some_and(|h| !h.is_empty()), "no host: {uri}");
        } else {
            assert!(
                uri.path().starts_with('/'),
                "neither absolute nor origin-form: {uri}"
            );
        }
        for name in NEVER_COPIED {
            assert!(
                set_by_description(name) || !req.headers().contains_key(*name),
                "{name} copied onto a poll"
            );
        }
        let sub_headers = &ctx.sub_headers;
        if sub_headers.contains_key("connection") {
            // Named by the submission's Connection header: hop-by-hop.
            assert!(
                !req.headers().contains_key("x-conn-only"),
                "x-conn-only copied"
            );
        }
        if sub_headers.contains_key("accept") {
            assert!(req.headers().contains_key("accept"), "accept dropped");
        }
        self.check_credentials(&req);
        let url = self.check_host(uri);
        self.check_redirect_query(&url);
    }

    /// No credential after a foreign hop (cumulative); same-origin polls before it keep them.
    pub(super) fn check_credentials(&mut self, req: &http::Request<()>) {
        let ctx = self.ctx;
        let uri = req.uri();
        let target = origin_of(uri, &ctx.sub_origin);
        self.tainted |= target != ctx.sub_origin && !ctx.allowed(&target);
        let names = &ctx.credential_names;
        // The configured names and the library's list (`tower_lro::credentials`).
        let header_is =
            |n: &str| names.contains(n) || tower_lro::credentials::is_credential_header(n);
        let query_is = |k: &str| {
            names.contains(&*k.to_ascii_lowercase())
                || tower_lro::credentials::is_credential_query(k)
        };
        let query_secret = uri.query().is_some_and(|q| {
            url::form_urlencoded::parse(q.as_bytes()).any(|(k, v)| query_is(&k) && v == "secret")
        });
        let header_secret = req.headers().keys().any(|n| header_is(n.as_str()));
        // The submission's own URL (a `PUT`'s final GET, `FinalState::OriginalUri`) keeps the
        // query the caller wrote, credentials included: it goes back where they came from.
        let own_url = uri == ctx.submission_url;
        if self.tainted {
            assert!(
                !header_secret,
                "credential header sent after a foreign hop: {uri}"
            );
            assert!(
                !query_secret || own_url,
                "credential query sent after a foreign hop: {uri}"
            );
        } else {
            for (n, v) in ctx.sub_headers.iter() {
                if header_is(n.as_str()) && !NEVER_COPIED.contains(&n.as_str()) {
                    assert_eq!(
                        req.headers().get(n),
                        Some(v),
                        "{n} dropped on a same-origin poll"
                    );
                }
            }
        }
    }

    /// Spec §4a: a redirect's own query (a SAS or `tempauth` token) is the server's to give
    /// and is kept on the request that follows it there.
    pub(super) fn check_redirect_query(&mut self, sent: &url::Url) {
        let Some(target) = self.redirect_to.take() else {
            return;
        };
        let same = target.host() == sent.host()
            && target.port_or_known_default() == sent.port_or_known_default()
            && target.path() == sent.path();
        if !same {
            return;
        }
        for (k, v) in target.query_pairs() {
            assert!(
                sent.query_pairs().any(|(k2, v2)| k2 == k && v2 == v),
                "the redirect's own query {k}={v} dropped: {target} → {sent}"
            );
        }
    }

    /// Spec §7: nothing to a link-local, unspecified or metadata host, and nothing to an
    /// internal host unless the submission went to one. Returns the request's URL.
    pub(super) fn check_host(&self, uri: &Uri) -> url::Url {
        let Some(_) = uri.scheme() else {
            return base_url("/")
                .join(&uri.to_string())
                .expect("origin-form URL");
        };
        let url = url::Url::parse(&uri.to_string()).expect("poll URIs are URLs");
        match host_kind(&url) {
            HostKind::Public => {}
            HostKind::Forbidden => panic!("sent to a link-local/metadata host: {uri}"),
            HostKind::Internal => assert!(
                self.ctx.sub_internal,
                "sent to an internal host though the submission went to {}: {uri}",
                self.ctx.submission_url
            ),
        }
        url
    }

    /// `poll_progress` reports exactly when expected, once, and agrees with the plan.
    pub(super) fn check_progress(&mut self, expected: bool, next: Option<(Instant, PollKind)>) {
        let now = self.clock.now;
        let report = self.machine.poll_progress(now);
        assert_eq!(report.is_some(), expected, "progress report {report:?}");
        if let Some(p) = report {
            assert_eq!(p.polls(), self.status_sends, "{p:?}");
            let next_poll_in = next
                .filter(|(_, kind)| *kind == PollKind::Status)
                .map(|(at, _)| at - now);
            assert_eq!(p.next_poll_in(), next_poll_in, "{p:?}");
            assert_eq!(p.resume_handle().is_some(), next_poll_in.is_some());
            assert!(p.elapsed() <= now - self.clock.t0);
        }
        assert!(self.machine.poll_progress(now).is_none(), "reported twice");
    }

    /// After `Deliver`/`Fail` the machine asks for nothing more, whatever is handed in.
    pub(super) fn after_end(&mut self) {
        let now = self.clock.now();
        let refused = |e: &tower_lro::Error| matches!(e.reason(), Reason::AnswerAfterEnd);
        {
            let body = Bytes::from_static(br#"{"status":"Running"}"#);
            let headers = HeaderMap::new();
            let answer = CoreAnswer {
                status: StatusCode::OK,
                headers: &headers,
                body: Some(&body),
            };
            let a = self.machine.handle_answer(now, answer);
            assert!(
                matches!(&a, Action::Fail(e) if refused(e)),
                "handle_answer after the end asked for {a:?}"
            );
        }
        {
            let headers = HeaderMap::new();
            let failures = [
                Failure::Transport("late".into()),
                Failure::BodyFailed {
                    error: "late".into(),
                },
                Failure::BodyTooLarge {
                    status: StatusCode::OK,
                    headers: &headers,
                },
                Failure::DeadlinePassed,
            ];
            for failure in failures {
                let p = self.machine.handle_failure(now, failure);
                assert!(
                    matches!(&p, Plan::Fail(e) if refused(e)),
                    "handle_failure after the end asked for {p:?}"
                );
            }
        }
        assert!(self.machine.poll_progress(now.mono()).is_none());
    }
}

/// Where a host stands for the SSRF guard (spec §7), read independently of the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// Anything else.
    Public,
    /// `localhost`, loopback, private ranges: only when the submission went to one.
    Internal,
    /// Link-local, unspecified, cloud metadata: never.
    Forbidden,
}

/// The [`HostKind`] of a URL's host (as the URL standard reads it: `0x7f.1` is `127.0.0.1`).
pub fn host_kind(url: &url::Url) -> HostKind {
    use std::net::{Ipv4Addr, Ipv6Addr};
    pub(super) fn v4(ip: Ipv4Addr) -> HostKind {
        if ip.is_link_local() || ip.octets()[0] == 0 {
            HostKind::Forbidden
        } else if ip.is_loopback() || ip.is_private() {
            HostKind::Internal
        } else {
            HostKind::Public
        }
    }
    pub(super) fn v6(ip: Ipv6Addr) -> HostKind {
        let first = ip.segments()[0];
        if let Some(ip) = ip.to_ipv4_mapped() {
            v4(ip)
        } else if ip.is_unspecified() || first & 0xffc0 == 0xfe80 {
            HostKind::Forbidden
        } else if ip.is_loopback() || first & 0xfe00 == 0xfc00 {
            HostKind::Internal
        } else {
            HostKind::Public
        }
    }
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d == "metadata.google.internal" {
                HostKind::Forbidden
            } else if d == "localhost" || d.ends_with(".localhost") {
                HostKind::Internal
            } else {
                HostKind::Public
            }
        }
        Some(url::Host::Ipv4(ip)) => v4(ip),
        Some(url::Host::Ipv6(ip)) => v6(ip),
        None => HostKind::Public,
    }
}

/// Whether a `2xx` answer reports a finished, failed operation of the dialect: a Google
/// `Operation` with `done: true` and an `error`, or a Compute Engine `DONE` with
/// `error.errors[]` (spec §10).
pub fn dialect_failure(dialect: &DialectSpec, answer: &Answer) -> bool {
    use serde_json::Value;
    if !(200..300).contains(&answer.status) {
        return false;
    }
    let Some(v) = answer
        .body
        .as_deref()
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
    else {
        return false;
    };
    match dialect {
        DialectSpec::Google(_) => {
            v.get("done") == Some(&Value::Bool(true))
                && v.get("error").is_some_and(Value::is_object)
        }
        DialectSpec::Compute => {
            let done = v
                .get("status")
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case("done"));
            let errors = v.pointer("/error/errors").and_then(Value::as_array);
            done && errors.is_some_and(|e| !e.is_empty())
        }
        _ => false,
    }
}

/// After a dialect's failed operation: a failure, or (`failure_as_response`) the terminal
/// answer delivered as a failure; never a success, never another request.
pub(super) fn check_not_success(dialect: &DialectSpec, action: &Action) {
    match action {
        Action::Fail(_) | Action::Cancel { .. } => {}
        Action::Deliver(d) => assert!(
            !d.metadata.status().is_success(),
            "a failed {dialect:?} operation delivered as a success: {:?}",
            d.metadata
        ),
        Action::Send { request, .. } => panic!(
            "a failed {dialect:?} operation goes on with a {:?} request",
            request.kind()
        ),
    }
}
