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

/// `uri` without its user information (`user:password@`), and that information decoded: a
/// password in a URL is a credential, never kept in the URL (which handles and messages hold).
pub fn take_userinfo(uri: http::Uri) -> Result<(http::Uri, Option<String>), Failure> {
    let Some((userinfo, host)) = uri.authority().and_then(|a| a.as_str().rsplit_once('@')) else {
        return Ok((uri, None));
    };
    let userinfo = crate::percent::decode(userinfo)
        .ok_or_else(|| Failure::usage("the user information of the URL is not UTF-8"))?;
    let mut parts = uri.clone().into_parts();
    parts.authority = Some(
        host.parse()
            .map_err(|_| Failure::usage("the URL's host is not usable"))?,
    );
    let uri = http::Uri::from_parts(parts).map_err(|_| Failure::usage("the URL is not usable"))?;
    Ok((uri, Some(userinfo)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_taken_out_of_the_url() {
        let (uri, user) = take_userinfo("http://u%40x:p%3Aw@h:81/a?b=1".parse().unwrap()).unwrap();
        assert_eq!(uri, "http://h:81/a?b=1");
        assert_eq!(user.as_deref(), Some("u@x:p:w"));
        let (uri, user) = take_userinfo("https://h/a".parse().unwrap()).unwrap();
        assert_eq!((uri.to_string().as_str(), user), ("https://h/a", None));
    }
}
