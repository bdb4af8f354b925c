//! Where names lead: `--resolve HOST:PORT:ADDR` first, then the system resolver; every answer
//! checked by the SSRF guard (`tower_lro::connect`) before anything connects to it.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use tower::{BoxError, Service};
use tower_lro::connect::AddressGuard;

use crate::exit::Failure;

/// `--resolve` entries, then the system resolver.
#[derive(Clone)]
pub struct Resolver {
    fixed: Arc<HashMap<String, Vec<IpAddr>>>,
    system: GaiResolver,
}

impl Resolver {
    /// From the `--resolve HOST:PORT:ADDR[,ADDR...]` options.
    pub fn new(entries: &[String]) -> Result<Self, Failure> {
        let mut fixed: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for entry in entries {
            let (host, addrs) = parse_entry(entry)?;
            fixed.entry(host).or_default().extend(addrs);
        }
        Ok(Self {
            fixed: Arc::new(fixed),
            system: GaiResolver::new(),
        })
    }
}

/// `HOST:PORT:ADDR[,ADDR...]`, as curl's `--resolve` (an IPv6 address may be in brackets).
fn parse_entry(entry: &str) -> Result<(String, Vec<IpAddr>), Failure> {
    let bad = |why: &str| Failure::usage(format!("--resolve `{entry}`: {why}"));
    let mut parts = entry.splitn(3, ':');
    let (Some(host), Some(port), Some(addrs)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected HOST:PORT:ADDRESS"));
    };
    if host.is_empty() || host.starts_with('[') {
        return Err(bad("expected a host name"));
    }
    port.parse::<u16>()
        .map_err(|_| bad("the port is not a number"))?;
    let addrs = addrs
        .split(',')
        .map(|a| {
            let a = a.trim();
            let a = a
                .strip_prefix('[')
                .and_then(|a| a.strip_suffix(']'))
                .unwrap_or(a);
            a.parse::<IpAddr>()
                .map_err(|_| bad("the address is not an IP address"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((host.trim_end_matches('.').to_ascii_lowercase(), addrs))
}

type Resolving =
    Pin<Box<dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, BoxError>> + Send>>;

impl Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = Resolving;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.system.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let key = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        if let Some(addrs) = self.fixed.get(&key) {
            // Port 0: the URL's port is used.
            let addrs: Vec<SocketAddr> = addrs.iter().map(|ip| SocketAddr::new(*ip, 0)).collect();
            return Box::pin(std::future::ready(Ok(addrs.into_iter())));
        }
        let resolving = self.system.call(name);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = resolving.await?.collect();
            Ok(addrs.into_iter())
        })
    }
}

/// The guard for a command (or proxy) whose requests start at `origin`: that host is the
/// caller's choice, never refused; internal addresses are allowed when it is internal (by
/// name, address, or what it resolves to).
pub fn guard(origin: &http::Uri) -> AddressGuard {
    let guard = AddressGuard::new();
    match origin.host() {
        Some(host) => guard.trust_host(host),
        None => guard,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_entries_read_as_curl_writes_them() {
        let (host, addrs) = parse_entry("Evil.Test.:80:169.254.169.254").unwrap();
        assert_eq!(host, "evil.test");
        assert_eq!(addrs, ["169.254.169.254".parse::<IpAddr>().unwrap()]);
        let (_, addrs) = parse_entry("h:443:[::1],10.0.0.1").unwrap();
        assert_eq!(addrs.len(), 2);
        for bad in [
            "h",
            "h:80",
            "h:x:1.2.3.4",
            "h:80:nope",
            ":80:1.2.3.4",
            "[::1]:80:1.2.3.4",
        ] {
            let failure = parse_entry(bad).unwrap_err();
            assert_eq!(failure.code, crate::exit::USAGE, "{bad}");
        }
    }
}
