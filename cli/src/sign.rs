//! `--aws-sigv4`: AWS Signature Version 4, by the AWS SDK's own signer (`aws-sigv4`), as a tower
//! layer under `LroLayer`. Every request the layer sends to the origin of the submission (the
//! submission, each poll, the final fetch, a followed redirect) is signed as it is sent, with its
//! own date; a request to another origin goes unsigned, with no credential at all, and so does
//! every request after it (as the layer's credentials: a URL that came from another origin may
//! point anywhere, the submission's origin included). That holds across a resume: a handle
//! that says a request of its operation went to another origin is resumed (or cancelled)
//! unsigned.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http::header::HeaderName;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use tower::{BoxError, Layer, Service};
use tower_lro::ResumeHandle;

use crate::exit::Failure;
use crate::follow::origin;

/// The session token header: taken out of the `-H` headers, and sent only on signed requests.
const SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-amz-security-token");

/// What signs: credentials, scope, and the one origin that receives them.
pub struct Signer {
    credentials: Credentials,
    region: String,
    service: String,
    origin: tower_lro::Origin,
    /// A request went to another origin: nothing is signed any more. Kept here rather than
    /// read from the layer's per-request tag (`LroRequest::credentials_withheld`): the
    /// submission and `-L`'s follow-up carry no `LroRequest`, and the follow-up must still go
    /// unsigned after the operation went elsewhere, so the signer has to see the other origin
    /// itself (it does: every request the layer sends passes through it).
    tainted: AtomicBool,
}

impl Signer {
    /// `--aws-sigv4 PROVIDERS` with `-u KEY:SECRET`, for `request` (the submission, or the
    /// resumed operation's request): its `x-amz-security-token` header, if any, becomes the
    /// session token (and leaves the request, so the layer never carries it to another origin).
    /// A resumed operation whose handle says a request of it went to another origin
    /// ([`ResumeHandle::credentials_withheld`]) is signed no more, as the layer carries it no
    /// credentials: its URLs on the signed origin may have been named by the other one.
    pub fn new<B>(
        spec: &str,
        user: Option<&str>,
        request: &mut Request<B>,
    ) -> Result<Self, Failure> {
        let usage = |what: &str| Failure::usage(format!("--aws-sigv4: {what}"));
        let mut parts = spec.split(':');
        let provider = parts.next().unwrap_or_default().to_ascii_lowercase();
        let second = parts.next().map(str::to_ascii_lowercase);
        // The AWS signer speaks AWS4-HMAC-SHA256 with `x-amz-date`: curl's "aws:amz" (or "aws").
        if provider != "aws" || !matches!(second.as_deref(), None | Some("amz")) {
            return Err(usage("only the providers aws:amz are supported"));
        }
        let (region, service) = match (parts.next(), parts.next()) {
            (Some(r), Some(s)) if !r.is_empty() && !s.is_empty() => (r.to_owned(), s.to_owned()),
            (None, None) => from_host(request.uri()).ok_or_else(|| {
                usage("give aws:amz:REGION:SERVICE (the host does not name them)")
            })?,
            _ => return Err(usage("expected aws:amz:REGION:SERVICE")),
        };
        if parts.next().is_some() {
            return Err(usage("expected aws:amz:REGION:SERVICE"));
        }
        let Some((key, secret)) = user.and_then(|u| u.split_once(':')) else {
            return Err(usage("give the access key with -u KEY:SECRET"));
        };
        let token = match request.headers_mut().remove(SECURITY_TOKEN) {
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| usage("x-amz-security-token is not ASCII"))?
                    .to_owned(),
            ),
            None => None,
        };
        // Every header is signed: its value must be text.
        if let Some((name, _)) = request.headers().iter().find(|(_, v)| v.to_str().is_err()) {
            return Err(usage(&format!(
                "-H {name}: a signed header's value must be ASCII"
            )));
        }
        Ok(Self {
            credentials: Credentials::new(key, secret, token, None, "lro -u"),
            region,
            service,
            origin: origin(request.uri()).ok_or_else(|| usage("the URL has no host"))?,
            tainted: AtomicBool::new(withheld(request)),
        })
    }

    /// A line for `-v`.
    pub fn describe(&self) -> String {
        if self.tainted.load(Ordering::Relaxed) {
            return "lro: signing nothing with AWS SigV4: the resumed operation had sent a \
                    request to another origin, so none of it carries credentials"
                .to_owned();
        }
        format!(
            "lro: signing requests to {} with AWS SigV4 ({} {}); requests to other origins \
             and all after one are sent unsigned",
            self.origin, self.region, self.service
        )
    }

    /// `request`, signed when it goes to the signed origin (its body is read whole: a `Full`).
    async fn sign(&self, request: Request<Full<Bytes>>) -> Result<Request<Full<Bytes>>, BoxError> {
        if origin(request.uri()).as_ref() != Some(&self.origin) {
            self.tainted.store(true, Ordering::Relaxed);
        }
        if self.tainted.load(Ordering::Relaxed) {
            return Ok(request);
        }
        let (parts, body) = request.into_parts();
        let body = body.collect().await?.to_bytes();
        let uri = parts.uri.to_string();
        let mut headers = Vec::with_capacity(parts.headers.len());
        for (name, value) in &parts.headers {
            headers.push((name.as_str(), value.to_str()?));
        }
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(SystemTime::now())
            .settings(settings(&self.service))
            .build()?
            .into();
        let signable = SignableRequest::new(
            parts.method.as_str(),
            uri.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(&body),
        )?;
        let (instructions, _signature) = sign(signable, &params)?.into_parts();
        let mut request = Request::from_parts(parts, Full::new(body));
        instructions.apply_to_request_http1x(&mut request);
        Ok(request)
    }
}

/// The signer's settings for `service`: S3 takes the payload's hash in `x-amz-content-sha256`
/// (as curl sends it) and its paths as they are (encoded once, not normalized).
fn settings(service: &str) -> SigningSettings {
    let mut settings = SigningSettings::default();
    if service == "s3" {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    settings
}

/// `SERVICE.REGION.amazonaws.com` (or `.amazonaws.com.cn`): the region and service curl reads
/// from the host when `--aws-sigv4` names none.
fn from_host(uri: &Uri) -> Option<(String, String)> {
    let host = uri.host()?.to_ascii_lowercase();
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let (service, region) = rest.split_once('.')?;
    (!region.contains('.')).then(|| (region.to_owned(), service.to_owned()))
}

/// The layer: put it under `LroLayer`, over the client.
#[derive(Clone)]
pub struct SignLayer(pub Arc<Signer>);

impl<S> Layer<S> for SignLayer {
    type Service = Signed<S>;

    fn layer(&self, inner: S) -> Signed<S> {
        Signed {
            inner,
            signer: self.0.clone(),
        }
    }
}

/// Whether `request` resumes an operation that withheld its credentials.
fn withheld<B>(request: &Request<B>) -> bool {
    request
        .extensions()
        .get::<ResumeHandle>()
        .is_some_and(ResumeHandle::credentials_withheld)
}

/// A client whose requests to the signed origin are signed.
#[derive(Clone)]
pub struct Signed<S> {
    inner: S,
    signer: Arc<Signer>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

impl<S> Service<Request<Full<Bytes>>> for Signed<S>
where
    S: Service<Request<Full<Bytes>>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<Full<Bytes>>) -> Self::Future {
        // The ready service goes into the future; a clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let signer = self.signer.clone();
        Box::pin(async move {
            let request = signer.sign(request).await?;
            inner.call(request).await.map_err(Into::into)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_and_service_come_from_an_aws_host() {
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        assert_eq!(
            from_host(&uri("https://sqs.eu-west-1.amazonaws.com/x")),
            Some(("eu-west-1".to_owned(), "sqs".to_owned()))
        );
        assert_eq!(from_host(&uri("https://example.com/x")), None);
        assert_eq!(
            from_host(&uri("https://b.s3.eu-west-1.amazonaws.com/")),
            None
        );
    }

    #[test]
    fn providers_other_than_aws_amz_are_refused() {
        let mut req = Request::new(());
        *req.uri_mut() = "http://127.0.0.1:9/x".parse().unwrap();
        for spec in [
            "goog:x:r:s",
            "aws:osc:r:s",
            "aws:amz:r",
            "aws:amz:r:s:t",
            "aws:amz::s",
        ] {
            assert!(Signer::new(spec, Some("k:s"), &mut req).is_err(), "{spec}");
        }
        assert!(Signer::new("aws:amz:r:s", None, &mut req).is_err());
        assert!(Signer::new("aws:amz:r:s", Some("k:s"), &mut req).is_ok());
        assert!(Signer::new("AWS:AMZ:r:s", Some("k:s"), &mut req).is_ok());
    }
}
