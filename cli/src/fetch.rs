//! `lro [OPTIONS] URL`: send one request through the layer and write the final response.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::signal::unix::{signal, SignalKind};
use tower::util::Either;
use tower::{BoxError, Layer, Service, ServiceExt};
use tower_lro::{LroOptions, LroService, ResumeHandle};

use crate::args::FetchArgs;
use crate::exit::{self, Failure};
use crate::report::Reporter;
use crate::sign::{SignLayer, Signer};
use crate::{follow, handle, net, output, redact, setup};

/// Runs the command; the exit code.
pub async fn run(args: FetchArgs) -> Result<i32, Failure> {
    if let Some(source) = &args.cancel {
        return crate::cancel::run(&args, source).await;
    }
    // --max-time bounds the whole command, as curl's does: the submission, the polls and the
    // streaming of the final body. The layer's own deadline (from the submission's answer)
    // stays, so a timeout it reports keeps its own message.
    let deadline = Deadline::new(args.lro.max_time);
    let reporter = Arc::new(Reporter::new(args.silent, args.verbose));
    let (on_progress, on_request) = (reporter.clone(), reporter.clone());
    // Where the layer sends its own requests: -L reads a redirect where it came from.
    let trail = follow::Trail::default();
    let saw = trail.clone();
    let (layer, layer_dialect) = setup::layer(&args.lro)?;
    let layer = layer
        .poll_body(Full::<Bytes>::new)
        .on_progress(move |p| on_progress.progress(p))
        .on_poll_request(move |r| {
            saw.saw(r.uri());
            on_request.request(r);
        });
    let mut request = match &args.resume {
        Some(source) => resume_request(&args, source)?,
        None => submission(&args)?,
    };
    let client = client(&args, &mut request, &reporter)?;
    // -o is opened (created) before anything is sent: an unwritable path fails at once.
    let mut out = output::Out::open(&args)?;
    // -v: the head of every answer, as it arrives (polls and redirects included).
    let on_head = reporter.clone();
    let client = client.map_response(move |resp| {
        on_head.response_head(&resp);
        resp
    });
    let service: LroService<_> = layer.layer(client);
    // An operator wants the final answer (or, with --no-wait, the handle) even when sending
    // `Prefer: respond-async`: OData and FHIR servers answer 202 only to requests carrying it.
    let mut options = LroOptions::new().force();
    if args.no_wait {
        // The submission's answer comes back untouched, with a handle; nothing is polled.
        options = options.start_only();
    }
    request.extensions_mut().insert(options);
    // A resumed operation is read in the dialect its handle names.
    let dialect = match request.extensions().get::<ResumeHandle>() {
        Some(handle) => handle.dialect().to_owned(),
        None => layer_dialect.name().to_owned(),
    };
    show_request(&reporter, &request, &layer_dialect);
    reporter.verbose(&format!("lro: dialect {dialect}"));
    let mut interrupt = Interrupt::new()?;
    let send = |request| service.clone().oneshot(request);
    let outcome = tokio::select! {
        outcome = follow::send(send, request, args.location, &trail, &reporter) => outcome,
        code = interrupt.recv() => {
            if args.cancel_on_interrupt {
                crate::cancel::on_interrupt(&service, &args, &reporter).await?;
            }
            return stopped(&args, &reporter, Stop::Signal(code));
        }
        () = deadline.expired() => {
            return stopped(&args, &reporter, Stop::MaxTime(deadline.limit, false));
        }
    };
    reporter.finish();
    match outcome {
        Ok(response) => {
            let write = output::response(&args, &reporter, response, &mut out);
            tokio::select! {
                code = write => code,
                code = interrupt.recv() => Ok(code),
                () = deadline.expired() => {
                    stopped(&args, &reporter, Stop::MaxTime(deadline.limit, true))
                }
            }
        }
        Err(err) => output::error(&args, &err, &dialect),
    }
}

/// The client the layer drives for `request` (`lro URL`, `--resume`, `--cancel`): with
/// `--aws-sigv4`, under the layer, so that each request it sends is signed as it goes out (the
/// signer takes its credentials out of `request`; `-v` says what it signs).
pub fn client(
    args: &FetchArgs,
    request: &mut Request<Full<Bytes>>,
    reporter: &Reporter,
) -> Result<
    impl Service<Request<Full<Bytes>>, Response = Response<Incoming>, Error = BoxError> + Clone,
    Failure,
> {
    let signer = match &args.aws_sigv4 {
        Some(spec) => Some(Arc::new(Signer::new(spec, args.user.as_deref(), request)?)),
        None => None,
    };
    let client = net::client::<Full<Bytes>>(&args.lro, request.uri())?;
    Ok(match signer {
        Some(signer) => {
            reporter.verbose(&signer.describe());
            Either::Left(SignLayer(signer).layer(client))
        }
        None => Either::Right(client.map_err(BoxError::from)),
    })
}

/// `--max-time`, counted from the command's start.
struct Deadline {
    at: Option<tokio::time::Instant>,
    limit: std::time::Duration,
}

impl Deadline {
    /// `--max-time 0` is no limit, as curl's.
    fn new(limit: Option<std::time::Duration>) -> Self {
        let limit = limit.filter(|d| !d.is_zero());
        Self {
            at: limit.map(|d| tokio::time::Instant::now() + d),
            limit: limit.unwrap_or_default(),
        }
    }

    /// Completes when the deadline passes; never without `--max-time`.
    async fn expired(&self) {
        match self.at {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }
}

/// The request built from the URL, `-X`, `-H`, `-d`/`--json`.
fn submission(args: &FetchArgs) -> Result<Request<Full<Bytes>>, Failure> {
    let url = args.url.as_deref().unwrap_or_default();
    // A URL without a scheme is http://, as curl reads it.
    let url = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    // `user:password@` in the URL is Basic authentication, as curl's (-u wins); it is taken
    // out of the URL, which handles, messages and redirects would otherwise carry.
    let (uri, url_user) = setup::take_userinfo(setup::absolute_url(&url, "URL")?)?;
    let (body, json) = match (&args.data, &args.json) {
        (Some(data), _) => (Some(read_data(data, "--data")?), false),
        (None, Some(data)) => (Some(read_data(data, "--json")?), true),
        (None, None) => (None, false),
    };
    let method = match &args.method {
        Some(m) => Method::from_bytes(m.as_bytes())
            .map_err(|_| Failure::usage(format!("-X `{m}` is not an HTTP method")))?,
        None if body.is_some() => Method::POST,
        None => Method::GET,
    };
    let mut request = Request::new(Full::new(body.unwrap_or_default()));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    if json {
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    }
    // -u (or a URL's user:password@, as curl's) is Basic auth, unless it signs (--aws-sigv4).
    let user = match (&args.user, url_user) {
        (None, Some(user)) => Some(with_colon(user)),
        (user, _) => user.clone(),
    };
    add_user(
        &mut request,
        user.as_deref().filter(|_| args.aws_sigv4.is_none()),
    )?;
    add_headers(&mut request, &args.headers)?;
    Ok(request)
}

/// A URL's `user` alone is `user:` (an empty password), as curl sends it.
fn with_colon(user: String) -> String {
    if user.contains(':') {
        user
    } else {
        user + ":"
    }
}

/// `-u USER:PASSWORD`: Basic authentication (RFC 7617), before `-H` (which may replace it).
/// With `--aws-sigv4` the pair is the access key the signer uses instead.
fn add_user<B>(request: &mut Request<B>, user: Option<&str>) -> Result<(), Failure> {
    let Some(user) = user else {
        return Ok(());
    };
    if !user.contains(':') {
        return Err(Failure::usage(
            "-u: give USER:PASSWORD (lro does not prompt for a password)",
        ));
    }
    let mut value = HeaderValue::try_from(format!("Basic {}", base64(user.as_bytes())))
        .map_err(|_| Failure::usage("-u: not usable in a header"))?;
    value.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(())
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The request that continues the operation of a handle, with the `-H` headers (credentials).
fn resume_request(args: &FetchArgs, source: &str) -> Result<Request<Full<Bytes>>, Failure> {
    handle_request(args, handle::load(source)?)
}

/// The request that carries `handle`, with `-u` and the `-H` headers (credentials).
pub fn handle_request(
    args: &FetchArgs,
    handle: ResumeHandle,
) -> Result<Request<Full<Bytes>>, Failure> {
    let mut request: Request<Full<Bytes>> = handle.into_request();
    add_user(
        &mut request,
        args.user.as_deref().filter(|_| args.aws_sigv4.is_none()),
    )?;
    add_headers(&mut request, &args.headers)?;
    Ok(request)
}

/// `-H "Name: value"` headers; they replace the defaults `--json` set.
fn add_headers<B>(request: &mut Request<B>, headers: &[String]) -> Result<(), Failure> {
    let mut replaced: Vec<HeaderName> = Vec::new();
    for line in headers {
        let Some((name, value)) = line.split_once(':') else {
            return Err(Failure::usage(format!(
                "-H `{line}`: expected \"Name: value\""
            )));
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| Failure::usage(format!("-H: `{}` is not a header name", name.trim())))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| Failure::usage(format!("-H {name}: the value is not a header value")))?;
        if !replaced.contains(&name) {
            request.headers_mut().remove(&name);
            replaced.push(name.clone());
        }
        request.headers_mut().append(name, value);
    }
    Ok(())
}

/// `DATA`, `@FILE` or `@-`.
fn read_data(data: &str, option: &str) -> Result<Bytes, Failure> {
    match data.strip_prefix('@') {
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| Failure::usage(format!("{option} @-: {e}")))?;
            Ok(buf.into())
        }
        Some(path) => std::fs::read(path)
            .map(Bytes::from)
            .map_err(|e| Failure::usage(format!("{option} @{path}: {e}"))),
        None => Ok(Bytes::copy_from_slice(data.as_bytes())),
    }
}

/// With `-v`: the submission and its headers as the layer sends it (with the `Prefer:
/// respond-async` its dialect adds), credentials masked. A resumed operation sends no
/// submission: one line names the status monitor its first poll goes to (each poll is shown as
/// it is sent), then the headers every poll carries.
fn show_request<B>(reporter: &Reporter, request: &Request<B>, dialect: &tower_lro::Dialect) {
    let mut headers = request.headers().clone();
    match request.extensions().get::<ResumeHandle>() {
        Some(handle) => reporter.verbose(&format!(
            "lro: resuming the operation at {} (the submission is not sent again)",
            redact::url(handle.operation_url())
        )),
        None => {
            reporter.verbose(&format!(
                "> {} {}",
                request.method(),
                redact::url(&request.uri().to_string())
            ));
            let (method, uri) = (request.method(), request.uri());
            tower_lro::__private::submission_headers(dialect, method, uri, &mut headers);
        }
    }
    for (name, value) in &headers {
        reporter.verbose(&format!("> {name}: {}", redact::header_value(name, value)));
    }
}

/// SIGINT and SIGTERM, installed before the request is sent.
struct Interrupt {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Interrupt {
    fn new() -> Result<Self, Failure> {
        let install = |kind| signal(kind).map_err(|e| Failure::local(format!("signals: {e}")));
        Ok(Self {
            int: install(SignalKind::interrupt())?,
            term: install(SignalKind::terminate())?,
        })
    }

    /// Waits for either signal; the exit code it means.
    async fn recv(&mut self) -> i32 {
        tokio::select! {
            _ = self.int.recv() => exit::SIGINT,
            _ = self.term.recv() => exit::SIGTERM,
        }
    }
}

/// Why the command stopped before its end.
#[derive(Clone, Copy)]
enum Stop {
    /// SIGINT or SIGTERM; the exit code.
    Signal(i32),
    /// `--max-time` passed; whether the final answer had come (its body was streaming).
    MaxTime(std::time::Duration, bool),
}

/// Interrupted, or out of time, while waiting: the latest handle is saved, so `--resume` can
/// finish the operation.
fn stopped(args: &FetchArgs, reporter: &Reporter, stop: Stop) -> Result<i32, Failure> {
    reporter.finish();
    let (code, what) = match stop {
        Stop::Signal(code) => (code, "interrupted".to_owned()),
        Stop::MaxTime(limit, _) => (
            exit::TIMEOUT,
            format!("--max-time {} passed", crate::report::secs(limit)),
        ),
    };
    let Some(handle) = reporter.latest_handle() else {
        match stop {
            Stop::Signal(_) => {
                eprintln!("lro: interrupted before an operation started; nothing to resume")
            }
            Stop::MaxTime(limit, answered) if answered => eprintln!(
                "lro: --max-time {} passed while the body was streaming; the output is \
                 incomplete (no operation started, nothing to resume)",
                crate::report::secs(limit)
            ),
            Stop::MaxTime(limit, _) => eprintln!(
                "lro: no answer within --max-time {}; no operation started, nothing to resume",
                crate::report::secs(limit)
            ),
        }
        return Ok(code);
    };
    let path = handle::save(&handle, args.save_handle.as_deref())?;
    eprintln!(
        "lro: {what}; resume with: lro --resume {} (add the same -H headers)",
        path.display()
    );
    Ok(code)
}
