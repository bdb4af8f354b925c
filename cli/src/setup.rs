//! The layer, configured from the options shared by the command and the proxy.

use tower_lro::{Dialect, LroLayer};

use crate::args::LroArgs;
use crate::dialect;
use crate::exit::Failure;

/// `LroLayer` with `--max-time`, `--poll-interval`, `--carry-query`, `--final-state` and
/// `--dialect` applied (the hooks are added by the caller), and the dialect it speaks.
pub fn layer(args: &LroArgs) -> Result<(LroLayer, Dialect), Failure> {
    let mut layer = LroLayer::new().final_state(args.final_state.into());
    match args.max_time {
        // `--max-time 0`: no limit, as curl's.
        Some(deadline) if deadline.is_zero() => layer = layer.deadline(std::time::Duration::MAX),
        Some(deadline) => layer = layer.deadline(deadline),
        None => {}
    }
    if let Some(interval) = args.poll_interval {
        layer = layer.poll_interval(interval);
    }
    for name in &args.carry_query {
        if name.is_empty() || name.contains(['&', '=', '#']) {
            return Err(Failure::usage(format!(
                "--carry-query `{name}` is not a query parameter name"
            )));
        }
        layer = layer.carry_query_param(name.clone());
    }
    let dialect = match &args.dialect {
        Some(spec) => dialect::parse(spec)?,
        None => Dialect::default(),
    };
    Ok((layer.dialect(dialect.clone()), dialect))
}

/// Checks that `text` is an absolute `http`/`https` URL.
pub fn absolute_url(text: &str, what: &str) -> Result<http::Uri, Failure> {
    let uri: http::Uri = text
        .parse()
        .map_err(|e| Failure::usage(format!("{what} `{text}` is not a URL: {e}")))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) => Ok(uri),
        _ => Err(Failure::usage(format!(
            "{what} `{text}` must be an absolute http:// or https:// URL"
        ))),
    }
}
