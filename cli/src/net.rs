//! The HTTP(S) client the layer drives: hyper-util over rustls (ring), platform roots (bundled
//! Mozilla roots when the platform has none) plus `--cacert`; names resolved by `--resolve` or
//! the system, and every address checked by the SSRF guard before it is connected to.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tower_lro::connect::{GuardedConnector, GuardedResolver};

use crate::args::{LroArgs, ProxyArgs};
use crate::exit::Failure;
use crate::resolve::{self, Resolver};

/// The connector under every client: `http://` and `https://`, over guarded TCP connections.
pub type Connector = HttpsConnector<GuardedConnector<HttpConnector<GuardedResolver<Resolver>>>>;

/// A client for request bodies of type `B`, for requests that start at `origin` (the URL, the
/// resumed operation's request, the proxy's upstream): with `--cacert` and `--resolve`, and
/// the SSRF guard trusting `origin`'s host (see `resolve::guard`).
pub fn client<B>(args: &LroArgs, origin: &http::Uri) -> Result<Client<Connector, B>, Failure>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    Ok(Client::builder(TokioExecutor::new()).build(connector(args, origin)?))
}

/// The proxy's client for its upstream: [`client`]'s, with a bounded pool. At most
/// `--max-concurrent` kept-alive connections to a host are kept idle (a connection freed
/// beyond them is closed), and an idle one is closed after `--idle-timeout` (a timer runs for
/// it: without one, hyper-util checks its idle timeout only when it takes a connection from the
/// pool, so connections no request needed again stayed open for ever). A connection whose
/// answer body is still being read is not idle: those are bounded by the requests being
/// answered (one per client connection) and the façade's background operations, not by the
/// pool.
pub fn upstream_client<B>(
    args: &ProxyArgs,
    origin: &http::Uri,
) -> Result<Client<Connector, B>, Failure>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    Ok(Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_max_idle_per_host(args.max_concurrent as usize)
        .pool_idle_timeout(args.idle_timeout)
        .build(connector(&args.lro, origin)?))
}

/// The connector of [`client`] and [`upstream_client`].
fn connector(args: &LroArgs, origin: &http::Uri) -> Result<Connector, Failure> {
    let tls = tls_config(args.cacert.as_deref())?;
    let resolver = Resolver::new(&args.resolve)?;
    let mut tcp = resolve::guard(origin).http_connector_with(resolver);
    tcp.get_mut().enforce_http(false);
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Ok(connector)
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
    let pinned = match cacert {
        Some(path) => add_pem_file(&mut roots, path)?,
        None => Vec::new(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| Failure::local(format!("TLS setup failed: {e}")))?;
    let verifier = Arc::new(PinnedOrWebPki {
        webpki,
        pinned,
        provider: provider.clone(),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::local(format!("TLS setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

/// Adds the certificates of a PEM file to `roots`; the certificates, for pinning.
fn add_pem_file(
    roots: &mut RootCertStore,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, Failure> {
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| Failure::usage(format!("--cacert {shown}: {e}")))?;
    let mut added = Vec::new();
    for cert in certs {
        let cert = cert.map_err(|e| Failure::usage(format!("--cacert {shown}: {e}")))?;
        roots
            .add(cert.clone())
            .map_err(|e| Failure::usage(format!("--cacert {shown}: {e}")))?;
        added.push(cert);
    }
    if added.is_empty() {
        return Err(Failure::usage(format!(
            "--cacert {shown}: no PEM certificate in the file"
        )));
    }
    Ok(added)
}

/// The usual webpki verification, plus what curl and OpenSSL accept and webpki does not: a
/// server certificate that is itself one of the `--cacert` certificates, byte for byte, even
/// when it says `CA:TRUE` (as `openssl req -x509` makes them). Only when webpki refuses it as
/// `CaUsedAsEndEntity` or `UnknownIssuer` (both checked after the validity period), and only
/// when the name matches; the handshake signatures are always verified.
#[derive(Debug)]
struct PinnedOrWebPki {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let refused = match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => return Ok(verified),
            Err(e) => e,
        };
        let pinned = self
            .pinned
            .iter()
            .any(|cert| cert.as_ref() == end_entity.as_ref());
        if !(pinned && pinnable(&refused)) {
            return Err(refused);
        }
        let parsed = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The refusals a pinned certificate overrides: a CA certificate serving as the end entity
/// (rustls reports webpki's `CaUsedAsEndEntity` as an "other" certificate error), and an issuer
/// webpki could not find.
fn pinnable(error: &rustls::Error) -> bool {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => true,
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
            other.to_string() == "CaUsedAsEndEntity"
        }
        _ => false,
    }
}
