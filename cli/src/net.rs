//! The HTTP(S) client the layer drives: hyper-util over rustls (ring), platform roots (bundled
//! Mozilla roots when the platform has none) plus `--cacert`.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::exit::Failure;

/// The connector under every client: `http://` and `https://`.
pub type Connector = HttpsConnector<HttpConnector>;

/// A client for request bodies of type `B`.
pub fn client<B>(cacert: Option<&Path>) -> Result<Client<Connector, B>, Failure>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tls = tls_config(cacert)?;
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

fn tls_config(cacert: Option<&Path>) -> Result<ClientConfig, Failure> {
    let mut roots = RootCertStore::empty();
    // Unreadable platform certificates are skipped: the bundled roots and --cacert remain.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if let Some(path) = cacert {
        add_pem_file(&mut roots, path)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::local(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

fn add_pem_file(roots: &mut RootCertStore, path: &Path) -> Result<(), Failure> {
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| Failure::usage(format!("--cacert {shown}: {e}")))?;
    let mut added = 0;
    for cert in certs {
        let cert = cert.map_err(|e| Failure::usage(format!("--cacert {shown}: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| Failure::usage(format!("--cacert {shown}: {e}")))?;
        added += 1;
    }
    if added == 0 {
        return Err(Failure::usage(format!(
            "--cacert {shown}: no PEM certificate in the file"
        )));
    }
    Ok(())
}
