//! `cargo run --example signing`
//!
//! Request signing with `LroLayer`: the signer is a tower layer *below* the LRO layer, wrapping
//! the HTTP client. The LRO layer sends the submission, then each poll and the final fetch
//! through it, so every request is signed as it goes out, with its own date, over its own
//! method, path and body. (A signer above `LroLayer` would sign the submission only; a
//! signature copied onto polls would be a replay with a stale date over the wrong path.)
//!
//! The scheme here is a small HMAC-SHA256 one of the kind many APIs use (`x-date` plus
//! `x-signature: hex(HMAC(key, method \n path?query \n date \n hex(SHA-256(body))))`). For AWS
//! Signature Version 4, the same layer would call the `aws-sigv4` crate instead, as `lro
//! --aws-sigv4` does. The "API" is a mock embedded at the bottom of this file, on 127.0.0.1
//! (random port): it answers `401` to any request whose signature does not verify.
//!
//! A signer under the LRO layer sees every request, also those to another origin (a monitor on
//! a status service): sign only for the origins that may have the key, and not a request the
//! layer sends without the caller's credentials (`LroRequest::credentials_withheld`: a URL
//! another origin named), as `lro` does.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use ring::{digest, hmac};
use tower::{BoxError, Layer, Service, ServiceBuilder, ServiceExt};
use tower_lro::{LroLayer, LroRequest};

const KEY: &[u8] = b"demo-signing-key";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let api = api::start().await?;
    println!("\nMock API that checks every signature, on {api}\n");

    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let service = ServiceBuilder::new()
        .layer(
            // Tagged, so the signer below can say which requests are polls and fetches.
            LroLayer::new()
                .deadline(Duration::from_secs(30))
                .tag_requests(true),
        )
        // Under the LRO layer: each request the layer sends is signed here.
        .layer(SignLayer::new(KEY, &api))
        .service(client);

    let mut submission = Request::new(Full::new(Bytes::from_static(br#"{"report":"q3"}"#)));
    *submission.method_mut() = Method::POST;
    *submission.uri_mut() = format!("{api}/reports").parse()?;
    let response = service.oneshot(submission).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    println!(
        "\nOne call, one final response: {status} {}",
        String::from_utf8_lossy(&body)
    );
    Ok(())
}

/// Signs every request to `origin` with an HMAC over its method, target, date and body hash.
#[derive(Clone)]
struct SignLayer {
    key: Arc<hmac::Key>,
    origin: Arc<str>,
}

impl SignLayer {
    fn new(key: &[u8], origin: &str) -> Self {
        Self {
            key: Arc::new(hmac::Key::new(hmac::HMAC_SHA256, key)),
            origin: origin.into(),
        }
    }
}

impl<S> Layer<S> for SignLayer {
    type Service = Signed<S>;

    fn layer(&self, inner: S) -> Signed<S> {
        Signed {
            inner,
            signer: self.clone(),
        }
    }
}

#[derive(Clone)]
struct Signed<S> {
    inner: S,
    signer: SignLayer,
}

impl<S> Service<Request<Full<Bytes>>> for Signed<S>
where
    S: Service<Request<Full<Bytes>>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<Full<Bytes>>) -> Self::Future {
        // The service that was made ready goes into the future; a clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let signer = self.signer.clone();
        Box::pin(async move {
            let request = signer.sign(request).await?;
            inner.call(request).await.map_err(Into::into)
        })
    }
}

impl SignLayer {
    async fn sign(&self, request: Request<Full<Bytes>>) -> Result<Request<Full<Bytes>>, BoxError> {
        let uri = request.uri().to_string();
        if !uri.starts_with(&format!("{}/", self.origin)) {
            return Ok(request); // another origin: no signature
        }
        // A URL on this origin that another origin named (the layer withholds credentials
        // from every request after one went elsewhere): no signature either.
        let info = request.extensions().get::<tower_lro::LroRequest>();
        if info.is_some_and(|i| i.credentials_withheld()) {
            return Ok(request);
        }
        let (mut parts, body) = request.into_parts();
        let body = body.collect().await?.to_bytes();
        let date = SystemTime::now()
            .duration_since(UNIX_EPOCH)?
            .as_millis()
            .to_string();
        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let signature = signature(&self.key, parts.method.as_str(), target, &date, &body);
        // What the LRO layer sent: the submission has no `LroRequest`; polls and fetches do
        // (the layer is built with `tag_requests(true)`).
        let what = match parts.extensions.get::<LroRequest>() {
            Some(r) => format!("{:?}", r.kind()),
            None => "Submission".to_owned(),
        };
        println!(
            "  signed {what:<12} {} {target:<12} x-date {date}  x-signature {}…",
            parts.method,
            &signature[..16]
        );
        parts
            .headers
            .insert("x-date", HeaderValue::from_str(&date)?);
        parts
            .headers
            .insert("x-signature", HeaderValue::from_str(&signature)?);
        Ok(Request::from_parts(parts, Full::new(body)))
    }
}

/// `hex(HMAC-SHA256(key, method \n target \n date \n hex(SHA-256(body))))`.
fn signature(key: &hmac::Key, method: &str, target: &str, date: &str, body: &[u8]) -> String {
    let body_hash = hex(digest::digest(&digest::SHA256, body).as_ref());
    let text = format!("{method}\n{target}\n{date}\n{body_hash}");
    hex(hmac::sign(key, text.as_bytes()).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The mock API: `POST /reports` starts an operation (`202` + `Operation-Location`), the
/// monitor runs for two polls then names the report; every request must be signed.
mod api {
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use bytes::Bytes;
    use http::{Request, Response, StatusCode};
    use http_body_util::{BodyExt, Full};
    use hyper::body::Incoming;
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpListener;
    use tower::BoxError;

    pub async fn start() -> Result<String, BoxError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let polls = Arc::new(AtomicU32::new(0));
        let key = Arc::new(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, super::KEY));
        let b = base.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (polls, key, base) = (polls.clone(), key.clone(), b.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (polls, key, base) = (polls.clone(), key.clone(), base.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.map(|b| b.to_bytes());
                            let body = body.unwrap_or_default();
                            Ok::<_, Infallible>(answer(&parts, &body, &key, &polls, &base))
                        }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                });
            }
        });
        Ok(base)
    }

    fn answer(
        req: &http::request::Parts,
        body: &[u8],
        key: &ring::hmac::Key,
        polls: &AtomicU32,
        base: &str,
    ) -> Response<Full<Bytes>> {
        let target = req.uri.path_and_query().map_or("/", |p| p.as_str());
        let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
        let verified = match (header("x-date"), header("x-signature")) {
            (Some(date), Some(sig)) => {
                sig == super::signature(key, req.method.as_str(), target, date, body)
            }
            _ => false,
        };
        println!(
            "    api: {} {target:<12} signature {}",
            req.method,
            if verified { "verified" } else { "REJECTED" }
        );
        if !verified {
            return reply(StatusCode::UNAUTHORIZED, &[], "");
        }
        match target {
            "/reports" => reply(
                StatusCode::ACCEPTED,
                &[
                    ("operation-location", format!("{base}/operations/7")),
                    ("retry-after-ms", "200".into()),
                ],
                "",
            ),
            "/operations/7" if polls.fetch_add(1, Ordering::SeqCst) < 2 => reply(
                StatusCode::OK,
                &[("retry-after-ms", "200".into())],
                r#"{"status":"Running"}"#,
            ),
            "/operations/7" => reply(
                StatusCode::OK,
                &[("resource-location", format!("{base}/reports/7"))],
                r#"{"status":"Succeeded"}"#,
            ),
            "/reports/7" => reply(StatusCode::OK, &[], r#"{"report":"q3","rows":1204}"#),
            _ => reply(StatusCode::NOT_FOUND, &[], ""),
        }
    }

    fn reply(status: StatusCode, headers: &[(&str, String)], body: &str) -> Response<Full<Bytes>> {
        let mut r = Response::new(Full::new(Bytes::from(body.to_owned())));
        *r.status_mut() = status;
        for (name, value) in headers {
            r.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        r
    }
}
