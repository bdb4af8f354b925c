//! Command-line arguments (clap derive).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit;

/// `lro`: a curl that waits for HTTP long-running operations.
///
/// Sends the request; when the server answers `202 Accepted` with a status monitor
/// (`Operation-Location`, `Azure-AsyncOperation`, `Location`, ...), polls it until the operation
/// ends and writes the final response's body (the created resource) to stdout, streamed.
#[derive(Debug, Parser)]
#[command(
    name = "lro",
    version,
    after_help = exit::TABLE,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub fetch: FetchArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a synchronous HTTP front for an asynchronous upstream.
    ///
    /// Each request is forwarded to the upstream; an LRO is resolved and the client gets the
    /// final response. A failed operation is answered 422 (or the upstream's own 4xx/5xx) with
    /// the error body, a deadline 504 with the resume handle, a protocol violation 502.
    ///
    /// Asynchronous façade, for clients that poll: a request with `Prefer: respond-async` is
    /// run in the background and answered 202 with `Operation-Location:
    /// /_lro/operations/{id}` (the id is the client's Idempotency-Key or
    /// Repeatability-Request-ID, else a random one). GET on it answers one status document,
    /// `{"id","status":"NotStarted|Running|Succeeded|Failed|Canceled","percentComplete",
    /// "error","createdDateTime","lastUpdatedDateTime"}`, whatever the upstream's dialect,
    /// with `Retry-After` while running and `Resource-Location: /_lro/operations/{id}/result`
    /// on success; `Accept: text/event-stream` streams it as server-sent events (resumable
    /// with Last-Event-ID). POST /_lro/resume with a 504's body continues its operation.
    #[command(
        after_help = "Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 1 when the \
                            address cannot be bound, 2 for a usage error."
    )]
    Proxy(ProxyArgs),
}

/// Options of `lro URL`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The URL to send the request to (http or https).
    #[arg(required_unless_present_any = ["resume", "cancel"])]
    pub url: Option<String>,
    /// Request method [default: GET, or POST when data is given].
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub method: Option<String>,
    /// A request header, "Name: value" (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Request body: the text itself, @FILE, or @- for stdin (sent as it is).
    #[arg(
        short = 'd',
        long = "data",
        value_name = "DATA",
        conflicts_with = "json"
    )]
    pub data: Option<String>,
    /// JSON request body (like --data), with Content-Type and Accept application/json.
    #[arg(long, value_name = "DATA")]
    pub json: Option<String>,
    /// Write the final body to FILE instead of stdout (opened before the request is sent).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print the final status line and headers before the body.
    #[arg(short = 'i', long)]
    pub include: bool,
    /// No progress output (errors are still printed); not with -v (a usage error, exit 2).
    #[arg(short = 's', long, conflicts_with = "verbose")]
    pub silent: bool,
    /// One line per request sent, with the wait and why (credentials redacted).
    #[arg(short = 'v', long)]
    pub verbose: bool,
    #[command(flatten)]
    pub lro: LroArgs,
    /// Send the submission, print the resume handle as JSON on stdout (or -o FILE), exit 0; exit
    /// 7 when the server answers at once, not with an operation (its answer is written instead).
    #[arg(long, conflicts_with = "resume")]
    pub no_wait: bool,
    /// Continue an operation from a resume handle (FILE, or - for stdin); nothing is re-sent.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "data", "json", "method"])]
    pub resume: Option<String>,
    /// Cancel the operation of a resume handle (FILE, or - for stdin) and exit: the one request
    /// its dialect cancels with (DELETE on the status monitor by default, Google's POST
    /// NAME:cancel, a declared dialect's "cancel"), with the -H headers. Exit 0 when the server
    /// accepts it (2xx, and a declared "answer" does not say otherwise); 9 when it answers
    /// 404/405/501 (not supported), another status or a 2xx whose "answer" refuses it (Ray's
    /// {"stopped": false}), or when the operation cannot be cancelled (Compute Engine, a
    /// dialect without "cancel").
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "data", "json", "method", "resume", "no_wait"])]
    pub cancel: Option<String>,
    /// On SIGINT or SIGTERM while waiting for an operation, cancel it (as --cancel does) and
    /// report the answer, then save the handle and exit 130/143 as usual.
    #[arg(long, conflicts_with_all = ["cancel", "no_wait"])]
    pub cancel_on_interrupt: bool,
    /// Where the resume handle is written when the operation times out or is interrupted
    /// [default: lro-resume-TIME.json in the current directory].
    #[arg(long, value_name = "FILE")]
    pub save_handle: Option<PathBuf>,
    /// Write what happened (operation URL, rule, status, polls, elapsed time) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub metadata: Option<PathBuf>,
    /// Follow a redirect (3xx + Location) that is the final answer, as curl -L does (at most 30);
    /// credentials are not sent on to another origin.
    #[arg(short = 'L', long)]
    pub location: bool,
    /// Basic authentication, USER:PASSWORD (sent as the Authorization header, a credential: never
    /// to another origin; a -H Authorization replaces it).
    #[arg(short = 'u', long, value_name = "USER:PASSWORD")]
    pub user: Option<String>,
    /// AWS Signature Version 4, as curl's option: "aws:amz:REGION:SERVICE" (REGION and SERVICE
    /// may be left to the host, SERVICE.REGION.amazonaws.com). -u KEY:SECRET is then the access
    /// key, and -H "x-amz-security-token: TOKEN" the session token. The submission, every poll
    /// and the final fetch to the URL's origin are signed, each as it is sent; requests to
    /// another origin go unsigned, with no credential.
    #[arg(long, value_name = "aws:amz:REGION:SERVICE")]
    pub aws_sigv4: Option<String>,
}

/// Options of `lro proxy`.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Address to listen on: HOST:PORT (an IP address, `[::1]`, or `localhost` for 127.0.0.1), or a
    /// PORT alone for loopback.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Base URL of the upstream; each request's path and query are appended to its path.
    #[arg(long, value_name = "URL")]
    pub upstream: String,
    #[command(flatten)]
    pub lro: LroArgs,
    /// Upstream requests in flight at once (submissions, polls, final fetches, each until its
    /// answer's head arrives); further ones wait for a slot. An operation waiting between polls
    /// holds none. Also the idle connections kept open to the upstream.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent: u32,
    /// Requests being answered at once, operations waiting between polls included; beyond it
    /// a request is answered 503 with Retry-After at once.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_operations: u32,
    /// Open client connections; beyond it new connections wait in the kernel's listen backlog
    /// until one closes. Lowered to what the open-files limit leaves room for.
    #[arg(long, value_name = "N", default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Bytes of request bodies held in memory at once: those read whole before they are sent
    /// (a request with an idempotency key, up to 1 MiB; one with Prefer: respond-async, up to
    /// 8 MiB), each held until it is sent upstream, its wait for a --max-concurrent slot
    /// included; beyond it a request is answered 503 with Retry-After at once. Bytes, or with
    /// a K, M or G suffix (binary).
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = parse_size)]
    pub max_held_bodies: u64,
    /// Requests being answered at once for one client, a client being the peer address of its
    /// connections; beyond it a request is answered 429 with Retry-After at once. 0: no bound
    /// (the default: behind a load balancer or another proxy, every client has that one
    /// address).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_client_operations: u32,
    /// Seconds a client has to send a complete request head, from its connection's opening or
    /// (on a kept-alive connection) from the next request's first byte; then the connection is
    /// closed.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub header_timeout: Duration,
    /// Seconds a kept-alive connection (a client's, or one to the upstream) may stay idle between
    /// requests before it is closed; also how long a client may send nothing of a request body
    /// being read (then `408`).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_secs)]
    pub idle_timeout: Duration,
    /// The least rate, in bytes a second, at which a request body being read must come: once
    /// the time waited for it passes --idle-timeout plus a second for every BYTES received, it
    /// is cut and answered 408 (Apache's RequestReadTimeout body=…,MinRate=…). Only the time the
    /// proxy waits for the client counts. 0: no bound (then a body that trickles in without
    /// pausing for --idle-timeout holds its upstream request until --max-time).
    #[arg(long, value_name = "BYTES", default_value_t = 500)]
    pub body_min_rate: u64,
    /// On SIGINT/SIGTERM, how long in-flight requests and background operations may still
    /// finish (seconds). Then the operations still running are handed over (their latest
    /// handle recorded, their lease released, for another proxy on the store to continue at
    /// once), the rest of the requests are answered 503 with their resume handles, and the
    /// proxy exits 0. A second signal exits at once. (`--grace` is an older name.)
    #[arg(long, alias = "grace", value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub drain: Duration,
    /// Where the operations of requests with an Idempotency-Key or Repeatability-Request-ID
    /// are kept, so that a retry attaches to its operation instead of submitting it again: a
    /// FILE (an embedded database, for one proxy; it survives a restart) or
    /// redis://HOST:PORT/DB, the DB optional (shared by a fleet of proxies; a password as
    /// redis://:PASSWORD@HOST:PORT) [default: in this process's memory].
    #[arg(long, value_name = "FILE|redis://HOST:PORT[/DB]")]
    pub store: Option<String>,
    /// How long a proxy's claim on an operation it polls lasts unless renewed (seconds; renewed
    /// every third of it): when a proxy dies, another one takes its operations over after at
    /// most this long.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub store_lease: Duration,
    /// How long a finished operation's record is kept, in any store (seconds; 0:
    /// until removed by hand): a request under its key within that time gets its answer, and
    /// after it is a new operation. A running operation's record is kept as long after
    /// nothing showed it alive (no write, no lease renewal; at least three leases).
    #[arg(long, value_name = "SECS", default_value = "86400", value_parser = parse_secs)]
    pub store_ttl: Duration,
    /// A file whose bytes (at least 32; `openssl rand -hex 32 > FILE`) are the secret under
    /// which idempotency keys are scoped by the caller's credentials (an HMAC: the scope in
    /// store keys and façade ids cannot be undone into a credential). Give every proxy that
    /// shares a store the same one [default: the store's own — FILE.scope-secret beside a file
    /// store (mode 0600), a value set once in a Redis store, random for a store in memory].
    #[arg(long, value_name = "PATH")]
    pub scope_secret_file: Option<std::path::PathBuf>,
}

/// Options that configure the layer, shared by the command and the proxy.
#[derive(Debug, Args)]
pub struct LroArgs {
    /// The overall deadline, in seconds, from the start: bounds the whole command (submission,
    /// polls, final body), or for the proxy each request; 0 means no limit, as curl's does
    /// [default: the wait for an operation is bounded at 600 s].
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub max_time: Option<Duration>,
    /// The wait between polls when the server gives no Retry-After, in seconds
    /// [default: 1 s for five polls, then doubling up to 30 s].
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub poll_interval: Option<Duration>,
    /// The service's dialect: google, compute, default, fhir (FHIR async / Bulk Data
    /// $export), ogc-processes (OGC API - Processes jobs), or a declared dialect's JSON (@FILE,
    /// or the JSON itself). A resumed operation keeps the dialect its handle names.
    #[arg(long, value_name = "NAME|@FILE")]
    pub dialect: Option<String>,
    /// A query parameter of the URL to carry onto status and resource URLs (repeatable;
    /// api-version always is).
    #[arg(long = "carry-query", value_name = "NAME")]
    pub carry_query: Vec<String>,
    /// Which response is the final one.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = FinalStateArg::Auto)]
    pub final_state: FinalStateArg,
    /// Extra root certificates (PEM) trusted for HTTPS; a server certificate that is itself one
    /// of them (byte for byte, naming the host) is accepted even when it says CA:TRUE.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Resolve HOST to ADDR (as curl's option; repeatable; ADDR may be a comma-separated list,
    /// the entry applies to HOST on any port). Resolved addresses are checked like any other:
    /// link-local, metadata and unspecified are refused, loopback and private ones unless the
    /// URL's (or upstream's) own host is such a host.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
}

/// `--final-state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FinalStateArg {
    /// The rules of the protocol (Resource-Location, 201 + Location, resourceLocation, ...).
    Auto,
    /// The submission's Location.
    Location,
    /// The request's own URL.
    OriginalUri,
    /// The terminal status response itself.
    StatusMonitor,
}

impl From<FinalStateArg> for tower_lro::FinalState {
    fn from(value: FinalStateArg) -> Self {
        match value {
            FinalStateArg::Auto => Self::Auto,
            FinalStateArg::Location => Self::Location,
            FinalStateArg::OriginalUri => Self::OriginalUri,
            FinalStateArg::StatusMonitor => Self::StatusMonitor,
        }
    }
}

/// A number of bytes, with an optional binary `K`, `M` or `G` suffix (`65536`, `64K`, `64M`);
/// at least 1.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_uppercase()),
        _ => (text, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return Err(format!("`{text}`: the suffix is K, M or G")),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a number of bytes"))?;
    match n.checked_mul(1 << shift) {
        Some(0) => Err("at least 1 byte".to_owned()),
        Some(bytes) => Ok(bytes),
        None => Err(format!("`{text}` is too large")),
    }
}

/// Seconds, fractional allowed (`2`, `0.5`).
fn parse_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{text}` is not a usable duration"))
}
