//! The credential filter (issue 14): the `credentials` target, its scenarios and checks.

use super::*;
use tower_lro::credentials::{self, ORIGIN_BOUND_HEADERS, PATTERNS};

const SUBMISSION: &str = "https://svc.example/jobs";
const ALLOWED: &str = "https://allowed.example";

/// Targets the server may name (relative ones resolve on the submission's origin).
const TARGETS: &[&str] = &[
    "https://svc.example/ops/1",
    "/ops/2",
    "https://other.example/ops/3",
    "https://allowed.example/ops/4",
    "http://svc.example/ops/5",
    "https://svc.example:8443/ops/6",
    "https://SVC.example/ops/7",
    "https://blob.other.example/result/8",
    "https://svc.example/result/9",
];

/// What secret values are made of: a caller's credential, an origin-bound header's value,
/// a token of the server's, a credential only the caller's `credential_header` names (which
/// `lro`'s masking, knowing the library's list alone, does not mask).
/// (None starts with a hex digit, so no percent-encoded name can spell one.)
const MARKERS: [&str; 4] = ["S3KR1T", "P1NNED", "SRV70K", "Z4DDED"];

/// Headers a poll never carries (spec §7), credentials or not.
fn submission_only(n: &str) -> bool {
    ["content-", "if-", "repeatability-"]
        .iter()
        .any(|p| n.starts_with(p))
        || [
            "connection",
            "proxy-connection",
            "keep-alive",
            "transfer-encoding",
            "te",
            "trailer",
            "upgrade",
            "expect",
            "host",
            "prefer",
            "range",
            "idempotency-key",
        ]
        .contains(&n)
}

/// Harmless names, carried everywhere.
const PLAIN: &[&str] = &[
    "api-version",
    "accept",
    "x-ms-client-request-id",
    "se",
    "page",
];

/// A name: listed, made from a pattern, origin-bound, harmless or arbitrary, in any case.
fn name(u: &mut Unstructured<'_>) -> AResult<String> {
    let base = match u.int_in_range(0..=5u8)? {
        0 => u.choose(credentials::HEADERS)?.to_string(),
        1 => u.choose(credentials::QUERY)?.to_string(),
        2 => format!("x-{}-{}", u.choose(PATTERNS)?, u.int_in_range(0..=9u8)?),
        3 => u.choose(ORIGIN_BOUND_HEADERS)?.to_string(),
        4 => u.choose(PLAIN)?.to_string(),
        _ => {
            let raw: String = u.arbitrary()?;
            let name: String = raw
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(24)
                .collect();
            // A name is never mistaken for a value.
            let lower = name.to_ascii_lowercase();
            match MARKERS
                .iter()
                .any(|m| lower.contains(&m.to_ascii_lowercase()))
            {
                true => "x".to_owned(),
                false => name,
            }
        }
    };
    let upper: bool = u.arbitrary()?;
    Ok(if upper {
        base.to_ascii_uppercase()
    } else {
        base
    })
}

/// A URL the server names, maybe with a token of its own under a credential name.
fn target(u: &mut Unstructured<'_>, n: usize) -> AResult<String> {
    let mut url = u.choose(TARGETS)?.to_string();
    if u.arbitrary()? {
        let token = name(u)?;
        // A token under a credential's name; any other name's value is the server's data.
        let value = match credentials::is_credential_query(&token) {
            true => "SRV70K",
            false => "data",
        };
        let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        if !token.is_empty() {
            url.push_str(&format!("?{token}={value}{n}&x=1"));
        }
    }
    Ok(url)
}

/// One answer of the server.
#[derive(Debug, Clone)]
pub enum Reply {
    Running,
    Succeeded(Option<String>),
    Redirect(u16, String),
    Error,
}

/// A credential scenario.
#[derive(Debug, Clone)]
pub struct CredScenario {
    headers: Vec<String>,
    query: Vec<String>,
    added: Option<String>,
    allow: bool,
    monitor: String,
    replies: Vec<Reply>,
}

impl CredScenario {
    /// Decodes a scenario from fuzz input.
    pub fn decode(u: &mut Unstructured<'_>) -> AResult<CredScenario> {
        let mut headers = Vec::new();
        for _ in 0..u.int_in_range(0..=10u8)? {
            headers.push(name(u)?);
        }
        let mut query = Vec::new();
        for _ in 0..u.int_in_range(0..=8u8)? {
            query.push(name(u)?);
        }
        let added = if u.ratio(1, 4)? { Some(name(u)?) } else { None };
        let allow = u.arbitrary()?;
        let monitor = target(u, 0)?;
        let mut replies = Vec::new();
        for n in 1..=u.int_in_range(0..=8usize)? {
            replies.push(match u.int_in_range(0..=3u8)? {
                0 => Reply::Running,
                1 => Reply::Succeeded(if u.arbitrary()? {
                    Some(target(u, n)?)
                } else {
                    None
                }),
                2 => Reply::Redirect(*u.choose(&[301, 302, 303, 307, 308])?, target(u, n)?),
                _ => Reply::Error,
            });
        }
        Ok(CredScenario {
            headers,
            query,
            added,
            allow,
            monitor,
            replies,
        })
    }
}

/// The layer's configuration, the submission's head and headers, and the credential header
/// names sent.
fn setup(s: &CredScenario) -> (Config, RequestHead, HeaderMap, Vec<HeaderName>) {
    let mut layer = LroLayer::new()
        .wait_bounds(Duration::ZERO, Duration::from_millis(10))
        .deadline(Duration::from_secs(60))
        .max_polls(20);
    let added = s
        .added
        .as_deref()
        .and_then(|n| HeaderName::from_bytes(n.as_bytes()).ok());
    if let Some(name) = &added {
        layer = layer.credential_header(name.clone());
    }
    if s.allow {
        layer = layer.allow_origin(Origin::parse(ALLOWED).expect("an origin"));
    }
    let cfg = config_of(&layer.carry_query_params(s.query.iter().cloned())).clone();
    let added_is = |n: &str| {
        added
            .as_ref()
            .is_some_and(|a| a.as_str().eq_ignore_ascii_case(n))
    };
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    for (i, n) in s.query.iter().enumerate() {
        let kind = kind(credentials::is_credential_query(n), added_is(n));
        pairs.append_pair(n, &format!("{kind}{i}"));
    }
    let uri: Uri = format!("{SUBMISSION}?{}", pairs.finish())
        .parse()
        .expect("a form-encoded query makes a URI");
    let mut map = HeaderMap::new();
    let mut secret_names = Vec::new();
    for (i, n) in s.headers.iter().enumerate() {
        let Ok(name) = HeaderName::from_bytes(n.as_bytes()) else {
            continue;
        };
        let value = if credentials::is_origin_bound_header(n) {
            format!("P1NNED{i}")
        } else {
            let kind = kind(credentials::is_credential_header(n), added_is(n));
            if kind != "plain" {
                secret_names.push(name.clone());
            }
            format!("{kind}{i}")
        };
        map.append(name, HeaderValue::from_str(&value).expect("ASCII"));
    }
    let head = RequestHead::new(Method::POST, uri, map.clone());
    (cfg, head, map, secret_names)
}

/// The marker of a value: a credential of the library's list, one the caller added, none.
fn kind(listed: bool, added: bool) -> &'static str {
    match (listed, added) {
        (true, _) => "S3KR1T",
        (false, true) => "Z4DDED",
        _ => "plain",
    }
}

fn answer_of(reply: &Reply) -> (StatusCode, HeaderMap, Bytes) {
    let mut headers = HeaderMap::new();
    let value = |s: &str| HeaderValue::from_str(s).expect("ASCII");
    let (status, body) = match reply {
        Reply::Running => (200, r#"{"status":"Running"}"#.to_owned()),
        Reply::Succeeded(None) => (200, r#"{"status":"Succeeded"}"#.to_owned()),
        Reply::Succeeded(Some(url)) => (
            200,
            format!(r#"{{"status":"Succeeded","resourceLocation":"{url}"}}"#),
        ),
        Reply::Redirect(code, url) => {
            headers.insert("location", value(url));
            (*code, String::new())
        }
        Reply::Error => (500, String::new()),
    };
    headers.insert("retry-after", value("0"));
    (
        StatusCode::from_u16(status).expect("a status"),
        headers,
        Bytes::from(body),
    )
}

/// No credential value in a handle (`markers`: all of them), nor in masked URLs (those of
/// the library's list).
fn check_record(what: &str, text: &str, markers: &[&str]) {
    for marker in markers {
        assert!(!text.contains(marker), "{marker} in {what}: {text}");
    }
}

fn check_handle(handle: &ResumeHandle) {
    let json = serde_json::to_string(handle).expect("a handle serializes");
    check_record("a resume handle", &json, &MARKERS);
}

fn check_masked(what: &str, url: Option<&str>) {
    if let Some(url) = url {
        check_record(what, &credentials::mask_url(url), &MARKERS[..3]);
    }
}

fn check_error(e: &tower_lro::Error) {
    check_masked("an error's URL", e.url());
    if let Some(h) = e.resume_handle() {
        check_handle(h);
    }
}

/// Drives one scenario, checking every request, handle and masked URL.
pub fn run(s: &CredScenario) {
    let (cfg, head, sent, secret_names) = setup(s);
    let cfg = Arc::new(cfg);
    let sub_origin = url::Url::parse(SUBMISSION).expect("a URL").origin();
    let allowed = url::Url::parse(ALLOWED).expect("a URL").origin();
    let t0 = Instant::now();
    let now = |at: Instant| Now::new(at, wall0());
    let params = Params::new(&cfg);
    let submission = Submission::new(cfg.clone(), head.clone(), params, now(t0));
    let mut headers = HeaderMap::new();
    headers.insert(
        "operation-location",
        HeaderValue::from_str(&s.monitor).expect("ASCII"),
    );
    headers.insert("retry-after", HeaderValue::from_static("0"));
    let (mut machine, plan) = match submission.start(StatusCode::ACCEPTED, &headers, None) {
        Ok(Begin::Lro(machine, plan)) => (machine, plan),
        Ok(_) => return,
        Err(e) => return check_error(&e),
    };
    let mut action = Action::from(plan);
    let mut replies = s.replies.iter();
    let mut tainted = false;
    let mut clock = t0;
    for _ in 0..64 {
        check_handle(&machine.resume_handle());
        if let Some(p) = machine.poll_progress(clock) {
            check_masked("progress", Some(p.operation_url()));
            if let Some(h) = p.resume_handle() {
                check_handle(h);
            }
        }
        let request = match action {
            Action::Send { at, request } => {
                clock = clock.max(at);
                request
            }
            Action::Deliver(d) => {
                let meta = &d.metadata;
                check_masked("metadata", Some(meta.operation_url()));
                check_masked("metadata", meta.resource_url());
                if let Some(h) = meta.resume_handle() {
                    check_handle(h);
                }
                return;
            }
            Action::Fail(e) | Action::Cancel { error: e, .. } => return check_error(&e),
        };
        let req: http::Request<()> = request.into_request();
        let target = origin_of(req.uri(), &sub_origin);
        let other = target != sub_origin;
        tainted |= other && !(s.allow && target == allowed);
        let text = |v: &HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
        for (n, v) in req.headers() {
            let v = text(v);
            assert!(
                !(other && v.contains("P1NNED")),
                "{n}: {v} sent to {target:?}"
            );
            let secret = v.contains("S3KR1T") || v.contains("Z4DDED");
            assert!(!(tainted && secret), "{n}: {v} sent after a foreign hop");
        }
        let uri = req.uri().to_string();
        let secret = uri.contains("S3KR1T") || uri.contains("Z4DDED");
        assert!(!(tainted && secret), "{uri} after a foreign hop");
        // (A `Connection` header may name any header hop-by-hop.)
        if !tainted && !other && !sent.contains_key("connection") {
            for n in secret_names.iter().filter(|n| !submission_only(n.as_str())) {
                assert_eq!(
                    req.headers().get_all(n).iter().count(),
                    sent.get_all(n).iter().count(),
                    "{n} dropped on a same-origin request to {uri}"
                );
            }
        }
        let reply = replies.next().cloned().unwrap_or(Reply::Succeeded(None));
        let (status, headers, body) = answer_of(&reply);
        let body = machine.wants_body(status).then_some(&body);
        clock += Duration::from_millis(1);
        action = machine.handle_answer(
            now(clock),
            CoreAnswer {
                status,
                headers: &headers,
                body,
            },
        );
    }
}

/// The `credentials` fuzz entry point: a submission carrying credentials of every kind (the
/// library's listed names, names its patterns match, arbitrary names — any name the list
/// classes a credential gets a secret value `S3KR1T…`, origin-bound headers `P1NNED…`, every
/// other name a plain value), driven through status monitors, redirects and resources on the
/// submission's origin, an allowed one and foreign ones, whose URLs may carry the server's own
/// tokens (`SRV70K…`). Checked at every step:
///
/// - no request to an origin other than the submission's (or an allowed one) carries a `S3KR1T`
///   (or `Z4DDED`, a name the caller added) value in a header or its target, nor does any request after one went there (cumulative);
///   no request to any origin other than the submission's carries a `P1NNED` value;
/// - requests to the submission's origin before any foreign hop carry every credential header;
/// - the resume handle (the machine's, a progress report's, an error's) holds no `S3KR1T`,
///   `P1NNED` or `SRV70K`, and neither does any URL of the metadata or of an error once masked
///   as `lro --metadata` masks it (`credentials::mask_url`).
pub fn fuzz_credentials(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok(s) = creds::CredScenario::decode(&mut u) {
        creds::run(&s);
    }
}
