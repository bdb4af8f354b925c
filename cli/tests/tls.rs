//! HTTPS against a self-signed certificate: trusted with --cacert, refused without.

mod support;

use std::sync::Arc;

use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use support::{lro, now, resp, temp_dir, Mock};

/// A self-signed certificate for 127.0.0.1, its PEM, and an acceptor serving it.
fn self_signed() -> (String, tokio_rustls::TlsAcceptor) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
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
            "/jobs" => resp(
                202,
                &[("operation-location", format!("{base}/ops/1")), now()],
                "",
            ),
            "/ops/1" => resp(
                200,
                &[("resource-location", format!("{base}/things/1"))],
                r#"{"status":"Succeeded"}"#,
            ),
            "/things/1" => resp(200, &[], r#"{"secure":true}"#),
            _ => resp(404, &[], ""),
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
