//! Driving the machine through a scenario as a driver would: the submission, then each
//! request sent, answered from the scenario, on a synthetic clock.

use super::*;

/// The synthetic wall clock at the submission's response.
pub fn wall0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

pub(super) fn header_map(headers: &[(String, Vec<u8>)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) else {
            continue;
        };
        map.append(name, value);
    }
    map
}

pub(super) fn status_code(n: u16) -> StatusCode {
    StatusCode::from_u16(n).unwrap_or(StatusCode::OK)
}

pub(super) fn running_answer() -> Answer {
    Answer {
        status: 200,
        headers: Vec::new(),
        body: Some(
            br#"{"status":"Running","properties":{"provisioningState":"Running"}}"#.to_vec(),
        ),
    }
}

/// The configuration a scenario's knobs describe, built through [`LroLayer`] (the one
/// configuration surface).
pub fn config(k: &Knobs) -> Config {
    // `poll_interval` pins `max_poll_interval` to itself: set the cap after it.
    let mut layer = LroLayer::new()
        .poll_interval(k.poll_interval)
        .max_poll_interval(k.max_poll_interval)
        .wait_bounds(k.min_wait, k.max_wait)
        .deadline(k.deadline)
        .max_polls(k.max_polls)
        .transient_retries(k.transient_retries)
        .final_state(k.final_state)
        .failure_as_response(k.failure_as_response)
        .detect_provisioning_state(k.detect_provisioning_state);
    if k.carry_key {
        layer = layer
            .carry_query_param("subscription-key")
            .carry_query_param("Subscription-Key");
    }
    if k.allow_other {
        let other = Origin::parse("https://other.example").expect("an origin");
        layer = layer.allow_origin(other);
    }
    config_of(&layer).clone()
}

/// The origin a request URI goes to; origin-form URIs stay on the submission's origin.
pub(super) fn origin_of(uri: &Uri, submission: &url::Origin) -> url::Origin {
    if uri.scheme().is_some() {
        url::Url::parse(&uri.to_string())
            .map(|u| u.origin())
            .unwrap_or_else(|e| panic!("poll URI {uri} is not a URL: {e}"))
    } else {
        submission.clone()
    }
}

pub(super) struct Clock {
    pub(super) t0: Instant,
    pub(super) now: Instant,
}

impl Clock {
    pub(super) fn wall(&self) -> SystemTime {
        wall0() + (self.now - self.t0)
    }
    /// Both readings, as the core takes them.
    pub(super) fn now(&self) -> Now {
        Now::new(self.now, self.wall())
    }
    /// Advances by `ms`.
    pub(super) fn advance_ms(&mut self, ms: u32) {
        self.now += Duration::from_millis(u64::from(ms));
    }
}

/// What a run holds fixed: the configuration and the submission.
pub(super) struct Ctx {
    pub(super) cfg: Arc<Config>,
    pub(super) head: RequestHead,
    /// The submission's headers, as sent.
    pub(super) sub_headers: HeaderMap,
    pub(super) params: Params,
    /// The deadline the params ask for.
    pub(super) deadline_len: Duration,
    pub(super) submission_url: &'static str,
    pub(super) sub_https: bool,
    pub(super) sub_origin: url::Origin,
    pub(super) credential_names: HashSet<String>,
    /// The longest wait the clamp allows.
    pub(super) max_wait: Duration,
    /// The dialect of the scenario.
    pub(super) dialect: DialectSpec,
    /// Whether the submission went to an internal host (localhost, loopback, private).
    pub(super) sub_internal: bool,
    /// A declared dialect's `status_request` and `result_request`, as the harness reads them.
    pub(super) declared_requests: [Option<DeclaredRequest>; 2],
}

/// How a declared dialect says a status or result request is sent, read from its JSON apart
/// from the library.
#[derive(Debug, Clone)]
pub(super) struct DeclaredRequest {
    pub(super) method: Method,
    pub(super) headers: Vec<String>,
    pub(super) body: bool,
}

pub(super) fn declared_requests(dialect: &DialectSpec) -> [Option<DeclaredRequest>; 2] {
    let DialectSpec::Declared(json) = dialect else {
        return [None, None];
    };
    let value: serde_json::Value = serde_json::from_str(json).expect("accepted JSON");
    ["status_request", "result_request"].map(|field| {
        let spec = value.get(field)?;
        Some(DeclaredRequest {
            method: spec
                .get("method")
                .and_then(|m| m.as_str())
                .map_or(Method::GET, |m| m.parse().expect("accepted method")),
            headers: spec
                .get("headers")
                .and_then(|h| h.as_object())
                .map(|h| h.keys().map(|k| k.to_ascii_lowercase()).collect())
                .unwrap_or_default(),
            body: spec.get("body").is_some(),
        })
    })
}

impl Ctx {
    pub(super) fn new(s: &Scenario) -> Ctx {
        let cfg = Arc::new(config(&s.knobs));
        let submission_url = SUBMISSIONS[s.url];
        let uri: Uri = submission_url.parse().expect("submission URLs parse");
        let sub_https = uri.scheme_str() == Some("https");
        let sub_origin = base_url(submission_url).origin();
        let mut req_headers = HeaderMap::new();
        for &i in &s.request_headers {
            let (n, v) = REQUEST_HEADERS[i];
            req_headers.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        let credential_names = cfg
            .credential_headers()
            .iter()
            .map(|h| h.as_str().to_owned())
            .collect();
        let mut params = Params::new(&cfg);
        if let Some(d) = s.knobs.option_deadline {
            params = params.deadline(d);
        }
        if let Some(f) = s.knobs.option_final_state {
            params = params.final_state(f);
        }
        params = params.dialect(s.dialect.build());
        let sub_internal =
            uri.scheme().is_some() && host_kind(&base_url(submission_url)) == HostKind::Internal;
        Ctx {
            head: RequestHead::new(s.method.clone(), uri, req_headers.clone()),
            sub_headers: req_headers,
            params,
            deadline_len: s.knobs.option_deadline.unwrap_or(cfg.deadline()),
            submission_url,
            sub_https,
            sub_origin,
            credential_names,
            max_wait: cfg.max_wait().max(cfg.min_wait()),
            cfg,
            dialect: s.dialect.clone(),
            sub_internal,
            declared_requests: declared_requests(&s.dialect),
        }
    }

    /// The name of the scenario's dialect.
    pub(super) fn params_dialect_name(&self) -> String {
        self.dialect.build().name().to_owned()
    }

    /// Whether the configuration lets `origin` receive credentials.
    pub(super) fn allowed(&self, origin: &url::Origin) -> bool {
        let shown = origin.ascii_serialization();
        self.cfg
            .allowed_origins()
            .iter()
            .any(|o| o.to_string() == shown)
    }
}

/// Where a run stands.
pub(super) struct Run<'c> {
    pub(super) ctx: &'c Ctx,
    pub(super) machine: Box<Machine>,
    pub(super) clock: Clock,
    pub(super) status_sends: u32,
    pub(super) resource_sends: u32,
    /// A request went to a foreign origin: no credential may follow (cumulative).
    pub(super) tainted: bool,
    /// The kind of the request in flight.
    pub(super) in_flight: PollKind,
    /// A status monitor's redirect just handed in: where it pointed (absolute values only).
    pub(super) redirect_to: Option<url::Url>,
}

/// The request an action plans, if any: when and of what kind.
pub(super) fn planned(action: &Action) -> Option<(Instant, PollKind)> {
    match action {
        Action::Send { at, request } => Some((*at, request.kind())),
        _ => None,
    }
}

/// The submission step: `Submission::new(…).start(…)`, and its checks.
pub(super) fn start(ctx: &Ctx, s: &Scenario, clock: &Clock) -> Result<(Box<Machine>, Plan), End> {
    let (cfg, head, params) = (ctx.cfg.clone(), ctx.head.clone(), ctx.params.clone());
    let submission = Submission::new(cfg, head, params, clock.now());
    let deadline = submission.read_deadline();
    assert!(deadline >= clock.t0, "read deadline before the answer");
    if let Some(expected) = clock.t0.checked_add(ctx.deadline_len) {
        assert!(
            deadline <= expected,
            "deadline {:?} past the configured {:?}",
            deadline - clock.t0,
            ctx.deadline_len
        );
    }
    let headers = header_map(&s.submission.headers);
    let body = s.submission.body.clone().map(Bytes::from);
    let over = dialect_failure(&ctx.dialect, &s.submission);
    match submission.start(status_code(s.submission.status), &headers, body.as_ref()) {
        Err(e) => {
            let _ = format!("{e} {e:?}");
            assert!(
                matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Insecure),
                "start failed with {:?}",
                e.reason()
            );
            Err(End::StartError(e.kind()))
        }
        Ok(Begin::NotLro) => Err(End::NotLro),
        // Finished in the submission's answer (a dialect's operation that is already done).
        Ok(Begin::Final(meta)) => {
            if over {
                check_not_success(&ctx.dialect, &Action::Deliver(meta));
            }
            Err(End::Delivered)
        }
        Ok(Begin::Lro(machine, plan)) => {
            assert_eq!(machine.deadline(), deadline, "one deadline");
            assert!(
                !(over && matches!(plan, Plan::Send { .. })),
                "a failed {:?} operation goes on with {plan:?}",
                ctx.dialect
            );
            Ok((machine, plan))
        }
    }
}

/// Drives the machine through the scenario, checking every invariant (panics on a break).
///
/// When a check fails, the scenario is printed (`{:?}`) before the panic goes on, so that a
/// finding is recorded in `tests/props.rs` as a value, not as bytes of one decoder.
pub fn run(s: &Scenario) -> Summary {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_checked(s))) {
        Ok(summary) => summary,
        Err(panic) => {
            eprintln!("the scenario that broke a check: {s:?}");
            std::panic::resume_unwind(panic)
        }
    }
}

pub(super) fn run_checked(s: &Scenario) -> Summary {
    let ctx = Ctx::new(s);
    let t0 = Instant::now();
    let clock = Clock { t0, now: t0 };
    let (machine, plan) = match start(&ctx, s, &clock) {
        Ok(started) => started,
        Err(end) => {
            return Summary {
                end,
                status_sends: 0,
                resource_sends: 0,
                elapsed: Duration::ZERO,
            }
        }
    };
    let mut run = Run {
        ctx: &ctx,
        machine,
        clock,
        status_sends: 0,
        resource_sends: 0,
        tainted: false,
        in_flight: PollKind::Status,
        redirect_to: None,
    };
    let mut action = Action::from(plan);
    // The submission's answer was read: it is reported.
    run.check_progress(true, planned(&action));

    let mut events = s.events.iter();
    // Each iteration sends one request: the bound is generous on purpose.
    let bound = ctx.cfg.max_polls() as usize + ctx.cfg.transient_retries() as usize + 3;
    let mut steps = 0usize;
    let end = loop {
        steps += 1;
        assert!(steps <= bound, "more than {bound} actions");
        let request = match action {
            Action::Deliver(d) => break run.delivered(&d.metadata),
            // The harness never asks for a cancel on giving up: that is a failure as well.
            Action::Fail(e) | Action::Cancel { error: e, .. } => break run.failed(&e),
            Action::Send { at, request } => run.send(at, request),
        };
        run.check_request(request);
        // When the events run out, every further request is answered "Running".
        let event = events.next().cloned().unwrap_or(Event::Response {
            answer: running_answer(),
            latency_ms: 1,
        });
        match run.hand_in(event) {
            Ok(next) => action = next,
            Err(end) => break end,
        }
    };
    run.after_end();
    Summary {
        end,
        status_sends: run.status_sends,
        resource_sends: run.resource_sends,
        elapsed: run.clock.now - t0,
    }
}

impl Run<'_> {
    /// `Action::Deliver`: the metadata counts what was sent.
    pub(super) fn delivered(&self, meta: &tower_lro::LroMetadata) -> End {
        assert_eq!(meta.polls(), self.status_sends, "{meta:?}");
        assert!(meta.elapsed() <= self.clock.now - self.clock.t0);
        End::Delivered
    }

    /// `Action::Fail` / `Plan::Fail`: the error renders, and timeouts carry a handle that
    /// resumes.
    pub(super) fn failed(&self, e: &tower_lro::Error) -> End {
        let _ = format!("{e} {e:?} {:?}", e.reason());
        let _ = e.to_response();
        if matches!(e.kind(), ErrorKind::Timeout | ErrorKind::PollLimit) {
            assert!(matches!(
                e.reason(),
                Reason::Deadline { .. } | Reason::PollLimit { .. }
            ));
            self.check_resume(e);
        }
        assert!(self.clock.now <= self.machine.deadline() || e.is_timeout());
        End::Failed(e.kind())
    }

    /// `Action::Send` / `Plan::Send`: when and how often.
    pub(super) fn send(&mut self, at: Instant, request: PollRequest) -> PollRequest {
        let (cfg, t0) = (&self.ctx.cfg, self.clock.t0);
        let deadline = self.machine.deadline();
        assert!(at >= self.clock.now, "send scheduled in the past");
        assert!(
            at <= deadline,
            "send at {:?} past the deadline {:?}",
            at - t0,
            deadline - t0
        );
        let wait = at - self.clock.now;
        let max_wait = self.ctx.max_wait;
        assert!(
            wait <= max_wait,
            "wait {wait:?} beyond max_wait {max_wait:?}"
        );
        match request.kind() {
            PollKind::Status => {
                self.status_sends += 1;
                let min = cfg.min_wait();
                assert!(wait >= min, "wait {wait:?} below min_wait {min:?}");
                let (n, limit) = (self.status_sends, cfg.max_polls());
                assert!(n <= limit, "{n} polls, limit {limit}");
            }
            PollKind::Resource => {
                self.resource_sends += 1;
                let n = self.resource_sends;
                assert!(n <= cfg.transient_retries() + 1, "{n} resource fetches");
            }
            _ => unreachable!(),
        }
        self.in_flight = request.kind();
        self.clock.now = at;
        request
    }

    /// What happens to the request in flight, handed in through `handle_answer` or
    /// `handle_failure`: the next action, or the end when the deadline passed in flight.
    pub(super) fn hand_in(&mut self, event: Event) -> Result<Action, End> {
        let latency = match &event {
            Event::Response { latency_ms, .. }
            | Event::Transport { latency_ms }
            | Event::TooLarge { latency_ms, .. }
            | Event::BodyRead { latency_ms, .. } => *latency_ms,
        };
        self.clock.advance_ms(latency);
        let now = self.clock.now();
        if self.clock.now > self.machine.deadline() {
            // The driver's deadline timer fires while the request is in flight.
            let plan = self.machine.handle_failure(now, Failure::DeadlinePassed);
            let Plan::Fail(e) = plan else {
                panic!("DeadlinePassed answered with {plan:?}")
            };
            assert_eq!(e.kind(), ErrorKind::Timeout);
            assert!(matches!(e.reason(), Reason::Deadline { .. }), "{e:?}");
            self.check_resume(&e);
            // A deadline is not an answer: nothing to report.
            self.check_progress(false, None);
            return Err(End::Deadline);
        }
        let (status, headers) = match &event {
            Event::Transport { .. } => (StatusCode::OK, HeaderMap::new()),
            Event::Response { answer, .. }
            | Event::TooLarge { answer, .. }
            | Event::BodyRead { answer, .. } => {
                (status_code(answer.status), header_map(&answer.headers))
            }
        };
        let headers = &headers;
        let action = match event {
            Event::Response { answer, .. } => self.answer(now, answer, headers),
            failure => {
                let too_large = matches!(failure, Event::TooLarge { .. });
                let failure = match failure {
                    Event::TooLarge { .. } => Failure::BodyTooLarge { status, headers },
                    Event::BodyRead { .. } => Failure::BodyFailed {
                        error: "cut".into(),
                    },
                    _ => Failure::Transport("reset".into()),
                };
                let plan = self.machine.handle_failure(now, failure);
                if too_large {
                    // Over the limit: the operation fails, unless the answer is a location
                    // monitor's result (a success that is no status document at that size),
                    // which is fetched again as the result (`proto/oversized.rs`).
                    assert!(
                        matches!(&plan, Plan::Fail(e) if matches!(e.reason(), Reason::BodyTooLarge { .. }))
                            || matches!(&plan, Plan::Send { request, .. } if request.kind() == PollKind::Resource && status.is_success()),
                        "a body over the limit ended in {plan:?}"
                    );
                }
                Action::from(plan)
            }
        };
        // Every answer to a status request is reported (its failures too), except one that
        // ends the operation with an error no answer's status said (a rejected poll, a refused
        // URL, spent retries): the error says it alone.
        let unread = match &action {
            Action::Fail(e) | Action::Cancel { error: e, .. } => !matches!(
                e.reason(),
                Reason::OperationFailed { .. }
                    | Reason::AsyncResult { .. }
                    | Reason::PollLimit { .. }
                    | Reason::Deadline { .. }
            ),
            _ => false,
        };
        let reported = self.in_flight == PollKind::Status && !unread;
        self.check_progress(reported, planned(&action));
        Ok(action)
    }

    /// An answer handed in through `handle_answer`; a dialect's failed operation is never a
    /// success, and a redirect's target is remembered for [`Run::check_redirect_query`].
    pub(super) fn answer(&mut self, now: Now, answer: Answer, headers: &HeaderMap) -> Action {
        let status = status_code(answer.status);
        let polled = self.in_flight == PollKind::Status;
        let over = polled && dialect_failure(&self.ctx.dialect, &answer);
        self.redirect_to = self.redirect_target(polled, &answer);
        let body = answer.body.map(Bytes::from);
        let body = if self.machine.wants_body(status) {
            Some(body.unwrap_or_default())
        } else {
            None
        };
        let answer = CoreAnswer {
            status,
            headers,
            body: body.as_ref(),
        };
        let action = self.machine.handle_answer(now, answer);
        if over {
            check_not_success(&self.ctx.dialect, &action);
        }
        action
    }

    /// Where a status monitor's redirect points, when its `Location` is a plain absolute URL.
    pub(super) fn redirect_target(&self, polled: bool, answer: &Answer) -> Option<url::Url> {
        if !polled || !REDIRECTS.contains(&answer.status) {
            return None;
        }
        let map = header_map(&answer.headers);
        let text = map.get("location")?.to_str().ok()?;
        let plain = text.trim() == text && !text.contains('"');
        let absolute = text.starts_with("http://") || text.starts_with("https://");
        url::Url::parse(text).ok().filter(|_| plain && absolute)
    }
}
