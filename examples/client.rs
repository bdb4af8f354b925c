//! `cargo run --example client -- http://HOST/PATH [BODY]`
//!
//! The smallest real use: one long-running operation over a hyper-util client. The `POST` is
//! sent once; `LroLayer` polls the status URL the service answers with and hands back the final
//! response, with what happened in its `LroMetadata`. (`cargo run --example demo` does the same
//! against a mock Azure Maps Creator, with no service of your own.)

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_lro::{LroLayer, LroMetadata};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: client URL [BODY]")?;
    let body = Full::new(Bytes::from(args.next().unwrap_or_default()));

    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let service = ServiceBuilder::new().layer(LroLayer::new()).service(client);

    let request = http::Request::post(url).body(body)?;
    // One call: the submission, every poll, and the fetch of the result.
    let response = service.oneshot(request).await?;

    if let Some(meta) = response.extensions().get::<LroMetadata>() {
        println!("operation {} ({})", meta.operation_url(), meta.rule());
        let (word, polls) = (meta.status().as_str(), meta.polls());
        println!("{word} after {polls} polls in {:?}", meta.elapsed());
    }
    println!("{}", response.status());
    let bytes = response.into_body().collect().await?.to_bytes();
    println!("{}", String::from_utf8_lossy(&bytes));
    Ok(())
}
