//! `tower_lro::connect` under the layer and a real hyper-util client (feature `hyper-util`).
//!
//! Names are resolved by a resolver of the test's own; what the guard lets through is then
//! mapped by a tripwire resolver that only ever hands `HttpConnector` the loopback server's
//! address: a TEST-NET-1 address (192.0.2.0/24, classed public) stands for a public host and is
//! served by the loopback server, `127.0.0.1` is itself, and any other address the guard let
//! through is recorded and never connected to. Nothing here connects outside 127.0.0.1.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Full;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{BoxError, Layer, Service, ServiceExt};
use tower_lro::__private::{Reason, UrlProblem};
use tower_lro::connect::{AddressGuard, GuardedConnector, GuardedResolver, HostClass};
use tower_lro::{ErrorKind, LroLayer};

use crate::support::{fast_layer, MockServer, Reply, SUCCEEDED, TEST_TIMEOUT};

/// The test's DNS: name → address (port 0: the URL's port is used).
#[derive(Clone)]
struct Zone(Arc<HashMap<&'static str, IpAddr>>);

impl Service<Name> for Zone {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = std::future::Ready<Result<Self::Response, BoxError>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, name: Name) -> Self::Future {
        let found = self.0.get(name.as_str()).copied();
        std::future::ready(match found {
            Some(ip) => Ok(vec![SocketAddr::new(ip, 0)].into_iter()),
            None => Err(format!("no such name {name}").into()),
        })
    }
}

/// Between the guard and `HttpConnector`: TEST-NET-1 and 127.0.0.1 become 127.0.0.1; any other
/// address is recorded and refused, so a guard that let it through fails the test without a
/// connection.
#[derive(Clone)]
struct Tripwire {
    inner: GuardedResolver<Zone>,
    leaked: Arc<Mutex<Vec<IpAddr>>>,
}

type Resolving =
    Pin<Box<dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, BoxError>> + Send>>;

impl Service<Name> for Tripwire {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = Resolving;
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }
    fn call(&mut self, name: Name) -> Self::Future {
        let resolving = self.inner.call(name);
        let leaked = self.leaked.clone();
        Box::pin(async move {
            let mut out = Vec::new();
            for addr in resolving.await? {
                match addr.ip() {
                    IpAddr::V4(v4) if v4.octets()[..3] == [192, 0, 2] || v4.is_loopback() => {
                        out.push(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()));
                    }
                    other => {
                        leaked.lock().unwrap().push(other);
                        return Err("tripwire: the guard let a non-loopback address through".into());
                    }
                }
            }
            Ok(out.into_iter())
        })
    }
}

type Guarded = GuardedConnector<HttpConnector<Tripwire>>;

struct Fixture {
    server: MockServer,
    leaked: Arc<Mutex<Vec<IpAddr>>>,
    client: Client<Guarded, Full<Bytes>>,
}

impl Fixture {
    async fn new(guard: AddressGuard, zone: &[(&'static str, &str)]) -> Self {
        let zone = Zone(Arc::new(
            zone.iter().map(|&(n, a)| (n, a.parse().unwrap())).collect(),
        ));
        let leaked = Arc::new(Mutex::new(Vec::new()));
        let tripwire = Tripwire {
            inner: guard.resolver(zone),
            leaked: leaked.clone(),
        };
        let connector = guard.connector(HttpConnector::new_with_resolver(tripwire));
        Self {
            server: MockServer::start().await,
            leaked,
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.server.addr().port())
    }

    /// POSTs to `sub_host`'s `/jobs` (with the headers a metadata service wants), answered
    /// `202` naming `monitor_host`'s `/op` as the monitor.
    async fn run(
        &self,
        layer: LroLayer,
        sub_host: &str,
        monitor_host: &str,
    ) -> Result<(), BoxError> {
        let monitor = self.url(monitor_host, "/op");
        self.server.always(
            Method::POST,
            "/jobs",
            Reply::new(202).header("operation-location", &monitor),
        );
        self.server
            .always(Method::GET, "/op", Reply::new(200).json(SUCCEEDED));
        let request = Request::post(self.url(sub_host, "/jobs"))
            .header("metadata-flavor", "Google")
            .header("metadata", "true")
            .body(Full::default())?;
        let service = layer.layer(self.client.clone());
        let answer = tokio::time::timeout(TEST_TIMEOUT, service.oneshot(request)).await?;
        answer.map(drop)
    }

    fn leaked(&self) -> Vec<IpAddr> {
        self.leaked.lock().unwrap().clone()
    }
}

/// The refusal inside an error of the layer, with the checks every refusal passes.
fn refusal(err: BoxError) -> tower_lro::connect::Refused {
    let err = err
        .downcast::<tower_lro::Error>()
        .expect("an error of the layer");
    assert_eq!(err.kind(), ErrorKind::Insecure, "{err}");
    let Reason::Refused(UrlProblem::Resolved(refused)) = err.reason() else {
        panic!("not a connector refusal: {err:?}");
    };
    assert_eq!(err.attempts(), None, "refused at once, not retried: {err}");
    refused.clone()
}

#[tokio::test]
async fn a_public_name_resolving_internal_is_refused_before_connecting() {
    let rows = [
        ("169.254.169.254", HostClass::Metadata),
        ("169.254.10.1", HostClass::LinkLocal),
        ("::ffff:169.254.169.254", HostClass::Metadata),
        ("64:ff9b::a9fe:a9fe", HostClass::Metadata),
        ("10.0.0.1", HostClass::Private),
        ("fd00::1", HostClass::Private),
        ("127.0.0.1", HostClass::Loopback),
        ("100.100.100.200", HostClass::Metadata),
        ("0.0.0.0", HostClass::Unspecified),
    ];
    for (address, class) in rows {
        let zone = [("api.test", "192.0.2.10"), ("evil.test", address)];
        let fx = Fixture::new(AddressGuard::new().trust_host("api.test"), &zone).await;
        let err = fx
            .run(fast_layer(), "api.test", "evil.test")
            .await
            .unwrap_err();
        let refused = refusal(err);
        assert_eq!(refused.class(), class, "{address}");
        assert_eq!(refused.host(), "evil.test");
        assert_eq!(refused.address(), Some(address.parse().unwrap()));
        // Only the submission arrived: the monitor (with its Metadata headers) was never sent.
        assert_eq!(fx.server.requests().len(), 1, "{address}");
        assert_eq!(fx.server.hits(&Method::GET, "/op"), 0, "{address}");
        assert!(fx.leaked().is_empty(), "{address}: {:?}", fx.leaked());
    }
}

#[tokio::test]
async fn internal_addresses_are_allowed_when_the_submission_went_to_one() {
    // The submission's name resolves to loopback: loopback is allowed for other names too.
    let zone = [("api.test", "127.0.0.1"), ("other.test", "127.0.0.1")];
    let fx = Fixture::new(AddressGuard::new().trust_host("api.test"), &zone).await;
    fx.run(fast_layer(), "api.test", "other.test")
        .await
        .unwrap();
    assert_eq!(fx.server.hits(&Method::GET, "/op"), 1);
    // The metadata address never is.
    let zone = [("api.test", "127.0.0.1"), ("evil.test", "169.254.169.254")];
    let fx = Fixture::new(AddressGuard::new().trust_host("api.test"), &zone).await;
    let err = fx
        .run(fast_layer(), "api.test", "evil.test")
        .await
        .unwrap_err();
    assert_eq!(refusal(err).class(), HostClass::Metadata);
    assert_eq!(fx.server.hits(&Method::GET, "/op"), 0);
    assert!(fx.leaked().is_empty());
}

#[tokio::test]
async fn an_ip_literal_is_checked_by_the_connector_too() {
    // With the layer's URL guard off, the connector still refuses `127.0.0.1` after a public
    // submission: HttpConnector does not resolve literals, the GuardedConnector checks them.
    let zone = [("api.test", "192.0.2.10")];
    let fx = Fixture::new(AddressGuard::new().trust_host("api.test"), &zone).await;
    let layer = fast_layer().ssrf_guard(false);
    let err = fx.run(layer, "api.test", "127.0.0.1").await.unwrap_err();
    let refused = refusal(err);
    assert_eq!(
        (refused.class(), refused.host()),
        (HostClass::Loopback, "127.0.0.1")
    );
    assert_eq!(fx.server.hits(&Method::GET, "/op"), 0);
    // A loopback submission by literal allows it.
    let fx = Fixture::new(AddressGuard::new().trust_host("127.0.0.1"), &[]).await;
    fx.run(fast_layer(), "127.0.0.1", "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(fx.server.hits(&Method::GET, "/op"), 1);
}

#[tokio::test]
async fn a_refusal_is_typed_in_the_client_error_too() {
    // Without the layer: the hyper-util client's error carries the refusal in its chain.
    let zone = [("evil.test", "169.254.169.254")];
    let fx = Fixture::new(AddressGuard::new(), &zone).await;
    let request = Request::get(fx.url("evil.test", "/"))
        .body(Full::<Bytes>::default())
        .unwrap();
    let err = fx.client.request(request).await.unwrap_err();
    let refused = tower_lro::connect::Refused::find(&err).expect("typed refusal in the chain");
    assert_eq!(refused.class(), HostClass::Metadata);
    assert!(fx.server.requests().is_empty());
    assert!(fx.leaked().is_empty());
}
