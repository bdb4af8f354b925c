//! hyper-util: a resolver for `HttpConnector` and a connector that checks IP-literal hosts.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::client::legacy::connect::HttpConnector;
use tower_service::Service;

use super::{AddressGuard, GuardedResolver};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

/// `HttpConnector` over the system resolver, with every resolved address and every
/// IP-literal host checked: what [`AddressGuard::http_connector`] makes.
pub type GuardedHttpConnector<R = GaiResolver> =
    GuardedConnector<HttpConnector<GuardedResolver<R>>>;

impl AddressGuard {
    /// An `HttpConnector` (system resolver) guarded by this guard: names through a
    /// [`GuardedResolver`], IP literals by the [`GuardedConnector`] around it. Configure the
    /// `HttpConnector` with [`GuardedConnector::get_mut`] (`enforce_http(false)` under a TLS
    /// connector).
    pub fn http_connector(&self) -> GuardedHttpConnector {
        self.http_connector_with(GaiResolver::new())
    }

    /// [`AddressGuard::http_connector`] over another resolver (any `tower::Service<Name>` that
    /// `HttpConnector::new_with_resolver` takes).
    pub fn http_connector_with<R>(&self, resolver: R) -> GuardedHttpConnector<R> {
        let http = HttpConnector::new_with_resolver(self.resolver(resolver));
        self.connector(http)
    }

    /// `inner` with IP-literal hosts checked before it is called. Names are left to `inner`'s
    /// resolver, which should be a [`GuardedResolver`] (as in
    /// [`AddressGuard::http_connector`]).
    pub fn connector<C>(&self, inner: C) -> GuardedConnector<C> {
        GuardedConnector {
            inner,
            guard: self.clone(),
        }
    }
}

impl<R> Service<Name> for GuardedResolver<R>
where
    R: Service<Name>,
    R::Response: Iterator<Item = SocketAddr>,
    R::Error: Into<BoxError>,
    R::Future: Send + 'static,
{
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = BoxFuture<Self::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        let resolving = self.inner.call(name);
        Box::pin(async move {
            // Resolved once; the connector connects to exactly these addresses.
            let addrs: Vec<SocketAddr> = resolving.await.map_err(Into::into)?.collect();
            guard.check(&host, addrs.iter().map(SocketAddr::ip))?;
            Ok(addrs.into_iter())
        })
    }
}

/// A connector that refuses IP-literal hosts the [`AddressGuard`] refuses, then calls the
/// connector inside. `HttpConnector` connects to an IP literal without resolving it, so a
/// [`GuardedResolver`] never sees those; names go on to the inner connector's resolver.
#[derive(Debug, Clone)]
pub struct GuardedConnector<C> {
    inner: C,
    guard: AddressGuard,
}

impl<C> GuardedConnector<C> {
    /// The guard.
    pub fn guard(&self) -> &AddressGuard {
        &self.guard
    }

    /// The connector inside.
    pub fn get_ref(&self) -> &C {
        &self.inner
    }

    /// The connector inside, to configure it.
    pub fn get_mut(&mut self) -> &mut C {
        &mut self.inner
    }
}

impl<C> Service<Uri> for GuardedConnector<C>
where
    C: Service<Uri>,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Connecting<C::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let host = dst.host().unwrap_or("");
        let literal = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .parse::<IpAddr>();
        if let Ok(ip) = literal {
            if let Err(refused) = self.guard.check(host, [ip]) {
                return Connecting::refused(refused);
            }
        }
        Connecting::inner(self.inner.call(dst))
    }
}

pin_project_lite::pin_project! {
    /// The future of [`GuardedConnector`]: the inner connector's, or a refusal.
    #[derive(Debug)]
    pub struct Connecting<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    #[derive(Debug)]
    enum State<F> {
        Refused { refused: Option<super::Refused> },
        Inner { #[pin] future: F },
    }
}

impl<F> Connecting<F> {
    fn refused(refused: super::Refused) -> Self {
        let refused = Some(refused);
        Self {
            state: State::Refused { refused },
        }
    }

    fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }
}

impl<F, T, E> Future for Connecting<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Refused { refused } => match refused.take() {
                Some(refused) => Poll::Ready(Err(refused.into())),
                None => panic!("`Connecting` polled after it completed"),
            },
            StateProj::Inner { future } => future.poll(cx).map_err(Into::into),
        }
    }
}
