//! The address check, its resolver and connector, with resolvers and connectors of our own:
//! nothing here resolves a real name or opens a connection.

use std::net::{IpAddr, SocketAddr};

use super::*;
use HostClass::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// (address a public-looking name resolved to, class when refused; `None`: allowed)
const RESOLVED: &[(&str, Option<HostClass>)] = &[
    ("93.184.216.34", None),
    ("2606:2800:220:1::1", None),
    ("169.254.169.254", Some(Metadata)),
    ("169.254.170.2", Some(Metadata)),
    ("fd00:ec2::254", Some(Metadata)),
    ("169.254.1.1", Some(LinkLocal)),
    ("fe80::1", Some(LinkLocal)),
    ("0.0.0.0", Some(Unspecified)),
    ("::", Some(Unspecified)),
    ("224.0.0.1", Some(NonUnicast)),
    ("127.0.0.1", Some(Loopback)),
    ("::1", Some(Loopback)),
    ("10.0.0.1", Some(Private)),
    ("192.168.1.1", Some(Private)),
    ("fd00::1", Some(Private)),
    ("100.64.0.1", Some(SharedAddress)),
    ("::ffff:169.254.169.254", Some(Metadata)),
    ("::ffff:10.0.0.1", Some(Private)),
    ("64:ff9b::a9fe:a9fe", Some(Metadata)),
    ("2002:7f00:1::1", Some(Loopback)),
];

#[test]
fn a_public_name_is_refused_by_what_it_resolves_to() {
    let guard = AddressGuard::new().trust_host("api.example.com");
    for &(addr, refused) in RESOLVED {
        let got = guard.check("evil.example", [ip(addr)]);
        match refused {
            None => assert_eq!(got, Ok(()), "{addr}"),
            Some(class) => {
                let refusal = got.expect_err(addr);
                assert_eq!(refusal.class(), class, "{addr}");
                assert_eq!(refusal.address(), Some(ip(addr)), "{addr}");
                assert_eq!(refusal.host(), "evil.example");
            }
        }
    }
}

#[test]
fn one_refused_address_refuses_the_name() {
    let guard = AddressGuard::new();
    let got = guard.check("evil.example", [ip("93.184.216.34"), ip("169.254.169.254")]);
    assert_eq!(got.unwrap_err().class(), Metadata);
    assert_eq!(guard.check("ok.example", []), Ok(()));
}

#[test]
fn a_name_is_refused_by_its_own_class_too() {
    let guard = AddressGuard::new().trust_host("api.example.com");
    for (name, class) in [
        ("metadata.google.internal", Metadata),
        ("METADATA.google.internal.", Metadata),
        ("localhost", Localhost),
        ("app.localhost", Localhost),
    ] {
        let refusal = guard.check(name, [ip("93.184.216.34")]).unwrap_err();
        assert_eq!(
            (refusal.class(), refusal.address()),
            (class, None),
            "{name}"
        );
    }
}

#[test]
fn an_internal_trusted_host_allows_internal_addresses_never_the_always_refused() {
    for trusted in ["localhost", "127.0.0.1", "[::1]", "10.0.0.5", "LOCALHOST."] {
        let guard = AddressGuard::new().trust_host(trusted);
        assert!(guard.allows_internal(), "{trusted}");
        for &(addr, refused) in RESOLVED {
            let got = guard.check("other.example", [ip(addr)]);
            let expect_refused = refused.is_some_and(HostClass::always_refused);
            assert_eq!(got.is_err(), expect_refused, "{trusted} -> {addr}: {got:?}");
        }
    }
}

#[test]
fn a_trusted_name_that_resolves_internal_allows_internal_addresses() {
    let guard = AddressGuard::new().trust_host("api.corp.example");
    let clone = guard.clone();
    assert!(!guard.allows_internal());
    assert!(guard.check("other.example", [ip("10.0.0.7")]).is_err());
    // The trusted host itself is never refused, whatever it resolves to.
    assert_eq!(guard.check("API.corp.example.", [ip("10.0.0.5")]), Ok(()));
    assert!(clone.allows_internal(), "clones share what was learned");
    assert_eq!(guard.check("other.example", [ip("10.0.0.7")]), Ok(()));
    assert_eq!(guard.check("other.example", [ip("::1")]), Ok(()));
    let refusal = guard.check("other.example", [ip("169.254.169.254")]);
    assert_eq!(refusal.unwrap_err().class(), Metadata);
    // A trusted host resolving to a public address teaches nothing.
    let public = AddressGuard::new().trust_host("api.example.com");
    assert_eq!(
        public.check("api.example.com", [ip("93.184.216.34")]),
        Ok(())
    );
    assert!(!public.allows_internal());
    // The metadata address, asked for by the caller, is the caller's business; it does not
    // make internal addresses allowed.
    let meta = AddressGuard::new().trust_host("169.254.169.254");
    assert_eq!(
        meta.check("169.254.169.254", [ip("169.254.169.254")]),
        Ok(())
    );
    assert!(meta.check("other.example", [ip("10.0.0.1")]).is_err());
}

#[test]
fn refusals_are_found_in_source_chains_and_say_what_happened() {
    #[derive(Debug)]
    struct Wrapper(Refused);
    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("connect error")
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let refused = AddressGuard::new()
        .check("evil.example", [ip("169.254.169.254")])
        .unwrap_err();
    let wrapped = Wrapper(refused.clone());
    assert_eq!(Refused::find(&wrapped), Some(&refused));
    assert_eq!(Refused::find(&std::fmt::Error), None);
    assert_eq!(
        refused.to_string(),
        "host \"evil.example\" resolves to 169.254.169.254, a cloud metadata endpoint; not connected to"
    );
    let private = AddressGuard::new()
        .check("10.0.0.1", [ip("10.0.0.1")])
        .unwrap_err();
    assert_eq!(
        private.to_string(),
        "host \"10.0.0.1\" is a private-network address, and the submission's host is not; not connected to"
    );
}

#[cfg(feature = "hyper-util")]
mod hyper_util_connector {
    use std::convert::Infallible;
    use std::future::Ready;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Context, Poll};

    use hyper_util::client::legacy::connect::dns::Name;
    use tower::ServiceExt;

    use super::*;

    /// A resolver that answers every name with one address.
    #[derive(Clone)]
    struct Answers(IpAddr);

    impl tower_service::Service<Name> for Answers {
        type Response = std::vec::IntoIter<SocketAddr>;
        type Error = Infallible;
        type Future = Ready<Result<Self::Response, Infallible>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: Name) -> Self::Future {
            std::future::ready(Ok(vec![SocketAddr::new(self.0, 0)].into_iter()))
        }
    }

    /// A connector that connects nothing: it counts calls.
    #[derive(Clone, Default)]
    struct Counting(Arc<AtomicUsize>);

    impl tower_service::Service<http::Uri> for Counting {
        type Response = ();
        type Error = Infallible;
        type Future = Ready<Result<(), Infallible>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: http::Uri) -> Self::Future {
            self.0.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_what_the_guard_refuses() {
        let guard = AddressGuard::new().trust_host("api.example.com");
        for &(addr, refused) in RESOLVED {
            let resolver = guard.resolver(Answers(ip(addr)));
            let got = resolver.oneshot("evil.example".parse().unwrap()).await;
            match (refused, got) {
                (None, Ok(addrs)) => {
                    assert_eq!(addrs.map(|a| a.ip()).collect::<Vec<_>>(), [ip(addr)]);
                }
                (Some(class), Err(e)) => {
                    let refusal = Refused::find(&*e).expect("a typed refusal");
                    assert_eq!(refusal.class(), class, "{addr}");
                }
                (want, got) => panic!("{addr}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[tokio::test]
    async fn the_connector_refuses_literals_before_calling_its_inner_connector() {
        let guard = AddressGuard::new().trust_host("api.example.com");
        let inner = Counting::default();
        let calls = inner.0.clone();
        let connector = guard.connector(inner);
        for uri in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::ffff:a9fe:a9fe]:8080/",
            "http://10.0.0.1/",
            "https://[fd00::1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2001:0:4136:e378:8000:63bf:5601:5601]/", // Teredo: client 169.254.169.254, inverted
        ] {
            let got = connector.clone().oneshot(uri.parse().unwrap()).await;
            let err = got.expect_err(uri);
            assert!(Refused::find(&*err).is_some(), "{uri}: {err}");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing was connected");
        for uri in [
            "http://93.184.216.34/",
            "http://evil.example/",
            "http://api.example.com/",
        ] {
            connector
                .clone()
                .oneshot(uri.parse().unwrap())
                .await
                .unwrap();
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "names go on to the resolver"
        );
    }
}

#[cfg(feature = "reqwest-middleware")]
mod reqwest_resolver {
    use ::reqwest::dns::{Addrs, Name, Resolve, Resolving};

    use super::*;

    struct Answers(IpAddr);

    impl Resolve for Answers {
        fn resolve(&self, _: Name) -> Resolving {
            let addrs: Addrs = Box::new(vec![SocketAddr::new(self.0, 0)].into_iter());
            Box::pin(std::future::ready(Ok(addrs)))
        }
    }

    #[tokio::test]
    async fn the_reqwest_resolver_refuses_what_the_guard_refuses() {
        let guard = AddressGuard::new().trust_host("api.example.com");
        for &(addr, refused) in RESOLVED {
            let resolver = guard.resolver(Answers(ip(addr)));
            let got = resolver.resolve("evil.example".parse().unwrap()).await;
            match (refused, got) {
                (None, Ok(addrs)) => {
                    assert_eq!(addrs.map(|a| a.ip()).collect::<Vec<_>>(), [ip(addr)]);
                }
                (Some(class), Err(e)) => {
                    assert_eq!(
                        Refused::find(&*e).map(Refused::class),
                        Some(class),
                        "{addr}"
                    );
                }
                (want, got) => panic!("{addr}: wanted {want:?}, got {:?}", got.is_ok()),
            }
        }
    }

    /// Between the guard and reqwest: anything but loopback is recorded and refused, so a
    /// guard that let an address through fails the test without a connection.
    struct Tripwire(GuardedResolver<Answers>, Arc<AtomicBool>);

    impl Resolve for Tripwire {
        fn resolve(&self, name: Name) -> Resolving {
            let resolving = self.0.resolve(name);
            let leaked = self.1.clone();
            Box::pin(async move {
                let addrs: Vec<SocketAddr> = resolving.await?.collect();
                if addrs.iter().any(|a| !a.ip().is_loopback()) {
                    leaked.store(true, Ordering::SeqCst);
                    return Err("tripwire: a non-loopback address got through".into());
                }
                let addrs: Addrs = Box::new(addrs.into_iter());
                Ok(addrs)
            })
        }
    }

    #[tokio::test]
    async fn a_reqwest_client_error_carries_the_typed_refusal() {
        let guard = AddressGuard::new().trust_host("api.example.com");
        let leaked = Arc::new(AtomicBool::new(false));
        let resolver = Tripwire(
            guard.resolver(Answers(ip("169.254.169.254"))),
            leaked.clone(),
        );
        let client = ::reqwest::Client::builder()
            .dns_resolver(Arc::new(resolver))
            .build()
            .unwrap();
        let err = client
            .get("http://evil.example:9/")
            .send()
            .await
            .unwrap_err();
        let refused = Refused::find(&err).expect("the refusal in reqwest's error chain");
        assert_eq!(refused.class(), Metadata);
        assert!(!leaked.load(Ordering::SeqCst));
    }
}
