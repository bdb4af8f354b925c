//! HTTPS against a self-signed certificate: trusted with --cacert, refused without.

use std::sync::Arc;

use crate::support::{first_poll_succeeds, lro, resp, temp_dir, Mock};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// A self-signed certificate for 127.0.0.1, its PEM, and an acceptor serving it.
fn self_signed() -> (String, tokio_rustls::TlsAcceptor) {
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    serving(params)
}

/// A self-signed certificate as `openssl req -x509` makes it (`basicConstraints CA:TRUE`), for
/// `localhost` and `127.0.0.1`.
fn self_signed_ca() -> (String, tokio_rustls::TlsAcceptor) {
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    serving(params)
}

/// The certificate of `params`, self-signed: its PEM, and an acceptor serving it.
fn serving(params: rcgen::CertificateParams) -> (String, tokio_rustls::TlsAcceptor) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let pem = cert.pem();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    (pem, tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[tokio::test(flavor = "multi_thread")]
async fn https_with_a_self_signed_certificate_and_cacert() {
    let (pem, acceptor) = self_signed();
    let mock = Mock::start_tls(
        |req, base| match req.target.split('?').next().unwrap() {
            "/things/1" => resp(200, &[], r#"{"secure":true}"#),
            path => first_poll_succeeds(path, base).unwrap_or_else(|| resp(404, &[], "")),
        },
        acceptor,
    )
    .await;
    assert!(mock.base.starts_with("https://127.0.0.1:"));
    let dir = temp_dir("tls");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let url = format!("{}/jobs", mock.base);

    let run = lro(&["-X", "POST", "--cacert", ca.to_str().unwrap(), &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["secure"], true);

    // Without --cacert the certificate is not trusted: a transport error, nothing sent.
    let before = mock.requests().len();
    let run = lro(&["-X", "POST", &url]).await;
    assert_eq!(run.code, 6, "{run:?}");
    assert_eq!(mock.requests().len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cacert_without_certificates_is_a_usage_error() {
    let dir = temp_dir("tls-bad");
    let ca = dir.join("empty.pem");
    std::fs::write(&ca, "not a certificate\n").unwrap();
    let run = lro(&["--cacert", ca.to_str().unwrap(), "https://127.0.0.1:1/"]).await;
    assert_eq!(run.code, 2, "{run:?}");
}

async fn plain_get_mock(acceptor: tokio_rustls::TlsAcceptor) -> Mock {
    Mock::start_tls(
        |req, _| match req.target.as_str() {
            "/thing" => resp(200, &[], r#"{"pinned":true}"#),
            _ => resp(404, &[], ""),
        },
        acceptor,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_self_signed_ca_certificate_is_accepted_when_it_is_the_cacert() {
    let (pem, acceptor) = self_signed_ca();
    let mock = plain_get_mock(acceptor).await;
    let dir = temp_dir("tls-ca");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let url = format!("{}/thing", mock.base);

    // webpki alone refuses it (CaUsedAsEndEntity); curl accepts it, and so does lro.
    let run = lro(&["--cacert", ca.to_str().unwrap(), &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["pinned"], true);
    let port = mock.base.rsplit(':').next().unwrap();
    let by_name = format!("https://localhost:{port}/thing");
    let run = lro(&["--cacert", ca.to_str().unwrap(), &by_name]).await;
    assert_eq!(run.code, 0, "{run:?}");

    // Another certificate in --cacert does not make it trusted.
    let (other, _) = self_signed_ca();
    let other_file = dir.join("other.pem");
    std::fs::write(&other_file, other).unwrap();
    let before = mock.requests().len();
    let run = lro(&["--cacert", other_file.to_str().unwrap(), &url]).await;
    assert_eq!(run.code, 6, "{run:?}");
    assert_eq!(mock.requests().len(), before);

    // Nor without --cacert.
    let run = lro(&[&url]).await;
    assert_eq!(run.code, 6, "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pinned_certificate_must_still_name_the_server() {
    // The same CA:TRUE certificate, for another name only: pinning does not waive the name.
    let mut params = rcgen::CertificateParams::new(vec!["elsewhere.example".to_owned()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let (pem, acceptor) = serving(params);
    let mock = plain_get_mock(acceptor).await;
    let dir = temp_dir("tls-ca-name");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let run = lro(&[
        "--cacert",
        ca.to_str().unwrap(),
        &format!("{}/thing", mock.base),
    ])
    .await;
    assert_eq!(run.code, 6, "{run:?}");
    assert!(mock.requests().is_empty());
}
