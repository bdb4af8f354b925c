//! reqwest: `GuardedResolver` as a `reqwest::dns::Resolve`, and the system resolver to wrap.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::GuardedResolver;

impl<R> Resolve for GuardedResolver<R>
where
    R: Resolve,
{
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        let resolving = self.inner.resolve(name);
        Box::pin(async move {
            // Resolved once; reqwest connects to exactly these addresses.
            let addrs: Vec<SocketAddr> = resolving.await?.collect();
            guard.check(&host, addrs.iter().map(SocketAddr::ip))?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The system resolver (`getaddrinfo`, through `tokio::net::lookup_host`), for
/// `AddressGuard::new().resolver(SystemResolver)` in `reqwest::ClientBuilder::dns_resolver`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}
