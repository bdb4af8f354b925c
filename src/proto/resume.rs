//! Resume handles and the machine's state, both ways ([control](crate::_protocol#control)): what a handle records of an
//! operation, and what a machine resumed from one starts with.

use http::{Method, Uri};

use super::link::Link;
use super::machine::{Init, Machine, Operation};
use super::operation::request_base;
use super::request::{RequestHead, Requests};
use super::schedule::Schedule;
use super::{dialect::Dialect, Params};
use crate::config::Config;
use crate::error::{Error, HandleProblem, Reason};
use crate::resume::ResumeHandle;
use crate::status::OperationStatus;

/// What a handle knows of the operation beyond what starts a machine.
pub(crate) struct Known {
    polls: u32,
    operation_id: Option<String>,
    status_body: Option<String>,
    withheld: bool,
}

impl Known {
    /// Puts it into a machine's state, just made from the handle's [`Init`].
    pub(crate) fn restore(self, machine: &mut Machine) {
        let Machine {
            cfg,
            op,
            sched,
            reqs,
            ..
        } = machine;
        sched.resume_from(self.polls, cfg.max_polls);
        op.operation_id = self.operation_id;
        let check = op.dialect.resumed_check(self.status_body.as_deref());
        op.set_check(check);
        op.status = OperationStatus::running();
        if self.withheld {
            reqs.withhold();
        }
    }
}

/// What a machine resumed from `handle` starts with; `head` (the resuming request) supplies
/// the headers and, when it has a query, the carried query parameters.
pub(crate) fn init(
    handle: &ResumeHandle,
    head: &RequestHead,
    params: &Params,
) -> Result<(Init, Known), Error> {
    let bad = |why: HandleProblem| {
        Error::new(
            Some(handle.operation_url.clone()),
            Reason::BadHandle { why },
        )
    };
    if handle.version != ResumeHandle::VERSION {
        return Err(bad(HandleProblem::Version(handle.version)));
    }
    let request_uri: Uri = handle
        .request_url
        .parse()
        .map_err(|_| bad(HandleProblem::RequestUrl))?;
    let request_url = request_base(&request_uri)?;
    // Absolute URLs stand as they are; origin-form ones resolve against the request's.
    let join = |s: &str| -> Result<Link, Error> {
        request_url
            .join(s)
            .map_err(|e| bad(HandleProblem::Url(e.to_string())))
    };
    let monitor = join(&handle.operation_url)?;
    let submission_location = handle
        .submission_location
        .as_deref()
        .map(join)
        .transpose()?;
    let method =
        Method::from_bytes(handle.method.as_bytes()).map_err(|_| bad(HandleProblem::Method))?;
    // The carried query (`api-version`, a `subscription-key` the handle left out) from the
    // resuming request's URL when it has a query, else from the handle's.
    let carry_from = head
        .uri
        .query()
        .and_then(|_| Link::from_request(&head.uri).ok());
    let init = Init {
        carry_from,
        rule: handle.rule,
        method,
        version: head.version,
        request_url,
        headers: head.carried.clone(),
        monitor,
        submission_location,
        // The handle's choice, unless this request makes one of its own.
        final_state: if params.final_state_chosen {
            params.final_state
        } else {
            handle.final_state
        },
        dialect: match &handle.dialect {
            Some(v) => {
                Dialect::from_handle(v).map_err(|e| bad(HandleProblem::Dialect(e.to_string())))?
            }
            None => params.dialect.clone(),
        },
    };
    let known = Known {
        polls: handle.polls,
        operation_id: handle.operation_id.clone(),
        status_body: handle.status_body.clone(),
        withheld: handle.credentials_withheld,
    };
    Ok((init, known))
}

/// A machine resumed from `handle` (see [`init`]), its state restored; not yet checked nor
/// asked for a request.
pub(crate) fn machine(
    cfg: std::sync::Arc<Config>,
    handle: &ResumeHandle,
    head: &RequestHead,
    params: &Params,
    now: std::time::Instant,
) -> Result<Machine, Error> {
    let (init, known) = init(handle, head, params)?;
    let mut machine = Machine::new(cfg, init, params, now);
    known.restore(&mut machine);
    Ok(machine)
}

/// A handle to continue the operation later.
pub(crate) fn handle(
    cfg: &Config,
    op: &Operation,
    reqs: &Requests,
    sched: &Schedule,
) -> ResumeHandle {
    // Never a credential's value: query parameters named like credentials are left out (the
    // resuming request supplies them again, as it does headers).
    let shown = |l: &Link| without_credentials(l.display(), cfg);
    ResumeHandle {
        version: ResumeHandle::VERSION,
        rule: op.rule,
        method: op.method.as_str().to_owned(),
        request_url: shown(&op.request_url),
        operation_url: shown(&op.monitor),
        final_state: op.final_state,
        submission_location: op.submission_location.as_deref().map(shown),
        operation_id: op.operation_id.clone(),
        origin: if op.request_url.is_placeholder() {
            String::new()
        } else {
            op.request_url.origin_text()
        },
        header_names: reqs.header_names(),
        polls: sched.polls(),
        dialect: op.dialect.to_handle(),
        status_body: op
            .declared
            .as_deref()
            .and_then(|d| d.check.as_ref())
            .and_then(|c| c.body.as_ref())
            .map(|b| String::from_utf8_lossy(b).into_owned()),
        credentials_withheld: reqs.withheld(),
        query_names: carried_credentials(&op.request_url, cfg),
    }
}

/// The names of the credential query parameters in `url`'s query that the layer carries onto
/// polls, each once (read from the link's own query: no text of the whole URL is made).
fn carried_credentials(url: &Link, cfg: &Config) -> Vec<String> {
    let Some(query) = url.query() else {
        return Vec::new();
    };
    let mut names: Vec<String> = super::request::query_pairs(query)
        .into_iter()
        .map(|(k, _)| k.into_owned())
        .filter(|k| cfg.carry_query.contains(k) && cfg.is_credential_query(k))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// `url` without user information (`user:password@`) and without query parameters named like
/// credentials (`subscription-key`, …): what a resume handle may hold.
fn without_credentials(url: String, cfg: &Config) -> String {
    let url = without_userinfo(url);
    let Some((base, query)) = url.split_once('?') else {
        return url;
    };
    let is_credential = |pair: &str| {
        let key = pair.split('=').next().unwrap_or("");
        let key = url::form_urlencoded::parse(key.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default();
        cfg.is_credential_query(&key)
    };
    if !query.split('&').any(is_credential) {
        return url;
    }
    let kept: Vec<&str> = query.split('&').filter(|p| !is_credential(p)).collect();
    if kept.iter().all(|p| p.is_empty()) {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// `https://user:pass@host/x` → `https://host/x`: the resuming request authenticates itself.
fn without_userinfo(url: String) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url;
    };
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}{}", &url[..start], &url[start + at + 1..]),
        None => url,
    }
}
