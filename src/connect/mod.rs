//! The SSRF guard where the connection is made: the addresses a name resolves to are checked
//! with the guard's classes before anything connects to them.
//!
//! The layer's own guard ([`LroLayer::ssrf_guard`](crate::LroLayer::ssrf_guard)) reads URLs, not
//! DNS: a public-looking name that resolves to `169.254.169.254`, `127.0.0.1` or `10.0.0.1`
//! passes it. Code that owns its connector can close that gap with an [`AddressGuard`]:
//!
//! - **hyper-util** (feature `hyper-util`): [`AddressGuard::http_connector`] is an
//!   `HttpConnector` whose resolver is a [`GuardedResolver`] and whose IP-literal hosts (which
//!   `HttpConnector` does not resolve) are checked by a [`GuardedConnector`]; TLS connectors
//!   (hyper-rustls, hyper-tls) wrap it as they wrap `HttpConnector`.
//! - **reqwest** (feature `reqwest-middleware`): [`GuardedResolver`] over any
//!   `reqwest::dns::Resolve` (or [`SystemResolver`]) is a resolver for
//!   `ClientBuilder::dns_resolver`.
//!
//! ```
//! # #[cfg(feature = "hyper-util")]
//! # fn main() {
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use hyper_util::{client::legacy::Client, rt::TokioExecutor};
//! use tower_lro::connect::AddressGuard;
//!
//! // The host the caller chose is trusted; every other name is checked by what it resolves to.
//! let submission: http::Uri = "https://api.example.com/v1/jobs".parse().unwrap();
//! let guard = AddressGuard::new().trust_host(submission.host().unwrap());
//! let mut tcp = guard.http_connector();
//! tcp.get_mut().enforce_http(false); // a TLS connector (hyper-rustls) wraps it from here
//! let client = Client::builder(TokioExecutor::new()).build::<_, Full<Bytes>>(tcp);
//! let client = tower::ServiceBuilder::new()
//!     .layer(tower_lro::LroLayer::new())
//!     .service(client);
//! # let _ = client;
//! # }
//! # #[cfg(not(feature = "hyper-util"))]
//! # fn main() {}
//! ```
//!
//! The check itself, for a connector of your own:
//!
//! ```
//! use tower_lro::connect::{AddressGuard, HostClass};
//!
//! let guard = AddressGuard::new().trust_host("api.example.com");
//! let refused = guard
//!     .check("status.example.net", ["169.254.169.254".parse().unwrap()])
//!     .unwrap_err();
//! assert_eq!(refused.class(), HostClass::Metadata);
//! assert!(guard.check("status.example.net", ["93.184.216.34".parse().unwrap()]).is_ok());
//! ```
//!
//! # The rule
//!
//! The rule of [poll requests](crate::_protocol#poll-requests), applied to each resolved address (and to the name itself, so
//! `metadata.google.internal` is refused whatever it resolves to):
//!
//! - link-local, unspecified, cloud metadata, multicast/broadcast/reserved addresses are
//!   **always** refused;
//! - loopback, private-range and shared (CGNAT) addresses are refused **unless the
//!   submission itself went to such a host**.
//!
//! A connector does not see which request is the submission, so that exemption is expressed by
//! naming hosts: [`AddressGuard::trust_host`] names the host the caller chose (`lro`'s URL, a
//! proxy's upstream). A trusted host is never refused, whatever it resolves to: the caller asked
//! for it. When a trusted host is itself internal — by name or address (`localhost`,
//! `10.0.0.5`), or because it **resolved** to an internal address (`api.corp` → `10.0.0.5`) —
//! internal addresses are allowed for every host from then on, as the URL guard allows internal
//! targets after an internal submission. Resolving the trusted host happens on its first
//! connection, which is the submission's, so in practice the rule is the URL guard's; a guard
//! that has not seen its trusted host resolve yet refuses internal addresses.
//!
//! A name is refused when **any** of its addresses is refused (a name that resolves to a public
//! address and the metadata address is hostile, not unlucky).
//!
//! # What it protects, and what it does not
//!
//! - The addresses checked are the addresses connected to: the name is resolved once, the
//!   answer checked, and `HttpConnector` connects to exactly those addresses (it does not
//!   resolve again). DNS rebinding between the check and the connection is therefore closed for
//!   connections made through these types. A proxy configured on the connector (`HTTP_PROXY`)
//!   resolves names itself: the guard then checks the proxy's address, not the target's.
//! - Every IPv6 spelling that carries an IPv4 address (mapped, compatible, SIIT, NAT64 at every
//!   RFC 6052 prefix length, 6to4, Teredo, ISATAP) is classed by that IPv4 address.
//! - reqwest does not call its resolver for IP-literal hosts nor for names given to
//!   `ClientBuilder::resolve`: those are not checked by a resolver (the layer's URL guard still
//!   checks the URLs it follows; reqwest's own redirects are reqwest's policy).
//! - A refusal is an error of the connector, [`Refused`]; the layer turns it into an
//!   [`Error`](crate::Error) of kind [`ErrorKind::Insecure`](crate::ErrorKind::Insecure) at
//!   once (it is not retried as a transport failure). [`Refused::find`] finds it in any error's
//!   source chain.

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use crate::proto::ssrf::HostClass;
use crate::proto::ssrf::{classify_host, classify_ip};

#[cfg(feature = "hyper-util")]
mod hyper;
#[cfg(feature = "reqwest-middleware")]
mod reqwest;

#[cfg(feature = "hyper-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper-util")))]
pub use self::hyper::{Connecting, GuardedConnector, GuardedHttpConnector};
#[cfg(feature = "reqwest-middleware")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest-middleware")))]
pub use self::reqwest::SystemResolver;

/// The address check of [poll requests](crate::_protocol#poll-requests) (see the [module docs](self)). Cheap to clone; clones share
/// what they learned (whether a trusted host was internal).
#[derive(Debug, Clone, Default)]
pub struct AddressGuard {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Trusted hosts, normalized (see [`normalize`]).
    trusted: Vec<String>,
    /// A trusted host is internal (by name or resolved address): internal addresses are
    /// allowed.
    internal: AtomicBool,
}

impl AddressGuard {
    /// A guard that trusts no host: internal addresses are refused until a trusted host is
    /// seen to be internal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trust `host` (a URL's host: a name, an IPv4 address, `[v6]` or bare IPv6): it is never
    /// refused, and when it is internal, internal addresses are allowed (see the module docs).
    /// Returns a new guard; guards cloned from this one before the call are not changed.
    #[must_use]
    pub fn trust_host(self, host: &str) -> Self {
        let mut trusted = self.shared.trusted.clone();
        let host = normalize(host);
        let internal = self.allows_internal() || classify_host(&host).is_internal();
        trusted.push(host);
        Self {
            shared: Arc::new(Shared {
                trusted,
                internal: AtomicBool::new(internal),
            }),
        }
    }

    /// Whether internal (loopback, private, shared) addresses are allowed now.
    pub fn allows_internal(&self) -> bool {
        self.shared.internal.load(Ordering::Relaxed)
    }

    /// Whether `host` is one of the trusted hosts.
    pub fn is_trusted(&self, host: &str) -> bool {
        let host = normalize(host);
        self.shared.trusted.contains(&host)
    }

    /// Checks `host` and the addresses it resolved to; `Err` when a connection must not be
    /// made. A trusted host is never refused; its internal addresses allow internal addresses
    /// from then on.
    pub fn check<I>(&self, host: &str, addresses: I) -> Result<(), Refused>
    where
        I: IntoIterator<Item = IpAddr>,
    {
        if self.is_trusted(host) {
            if addresses
                .into_iter()
                .any(|ip| classify_ip(ip).is_internal())
            {
                self.shared.internal.store(true, Ordering::Relaxed);
            }
            return Ok(());
        }
        let refused = |class: HostClass| {
            class.always_refused() || (class.is_internal() && !self.allows_internal())
        };
        // A name is refused by its own class too (`metadata.google.internal`, `localhost`);
        // an address literal is judged as the address it is.
        if normalize(host).parse::<IpAddr>().is_err() {
            let by_name = classify_host(host);
            if refused(by_name) {
                return Err(Refused::new(host, None, by_name));
            }
        }
        for ip in addresses {
            let class = classify_ip(ip);
            if refused(class) {
                return Err(Refused::new(host, Some(ip), class));
            }
        }
        Ok(())
    }

    /// A resolver that checks what `inner` resolves (for hyper-util's `HttpConnector` with
    /// feature `hyper-util`, for reqwest's `dns_resolver` with feature `reqwest-middleware`).
    pub fn resolver<R>(&self, inner: R) -> GuardedResolver<R> {
        GuardedResolver {
            inner,
            guard: self.clone(),
        }
    }
}

/// A host name as the guard compares it: lower case, without brackets or a trailing dot.
fn normalize(host: &str) -> String {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// A resolver that checks every answer of `R` with an [`AddressGuard`] before anything
/// connects: an answer with a refused address becomes a [`Refused`] error. Made by
/// [`AddressGuard::resolver`].
#[derive(Debug, Clone)]
pub struct GuardedResolver<R> {
    inner: R,
    guard: AddressGuard,
}

impl<R> GuardedResolver<R> {
    /// The guard.
    pub fn guard(&self) -> &AddressGuard {
        &self.guard
    }

    /// The resolver inside.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

/// A connection the [`AddressGuard`] refused: nothing was connected to. The error of the
/// resolver or connector, found in any error's source chain by [`Refused::find`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    host: Box<str>,
    address: Option<IpAddr>,
    class: HostClass,
}

impl Refused {
    fn new(host: &str, address: Option<IpAddr>, class: HostClass) -> Self {
        Self {
            host: host.into(),
            address,
            class,
        }
    }

    /// The host as the connector was given it.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The refused address it resolved to; `None` when the host was refused by its name or as
    /// an address literal.
    pub fn address(&self) -> Option<IpAddr> {
        self.address
    }

    /// The class that was refused.
    pub fn class(&self) -> HostClass {
        self.class
    }

    /// The first `Refused` in `error`'s source chain (`error` included), as it comes out of a
    /// hyper-util or reqwest client error.
    pub fn find<'a>(mut error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
        // Bounded: a source chain that loops ends here.
        for _ in 0..32 {
            if let Some(refused) = error.downcast_ref::<Refused>() {
                return Some(refused);
            }
            error = error.source()?;
        }
        None
    }
}

impl std::error::Error for Refused {}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::error::show_refused(self, f)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
