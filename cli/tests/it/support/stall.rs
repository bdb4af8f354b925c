//! A raw HTTP/1.1 mock on loopback for answers hyper would not give: a request never answered,
//! a body that stalls after its first bytes.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the raw mock does with a request.
pub enum Reply {
    /// A whole response: status, headers, body (`connection: close` is added).
    Full(u16, Vec<(String, String)>, String),
    /// A `200` announcing a longer body than the `prefix` it sends, then nothing.
    Stall(String),
    /// Nothing at all; the connection stays open.
    Never,
}

/// Serves on `127.0.0.1:0`; the handler gets the method, the path (with query) and the base
/// URL. Returns the base URL.
pub async fn start(handler: impl Fn(&str, &str, &str) -> Reply + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handler = Arc::new(handler);
    let b = base.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (handler, base) = (handler.clone(), b.clone());
            tokio::spawn(async move { serve(stream, &*handler, &base).await });
        }
    });
    base
}

async fn serve(
    mut stream: TcpStream,
    handler: &(dyn Fn(&str, &str, &str) -> Reply + Send + Sync),
    base: &str,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let mut words = head.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
    let text = match handler(method, target, base) {
        Reply::Full(status, headers, body) => {
            let mut text = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
            for (name, value) in headers {
                text.push_str(&format!("{name}: {value}\r\n"));
            }
            text.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
            text
        }
        Reply::Stall(prefix) => format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{prefix}",
            prefix.len() + 1000
        ),
        Reply::Never => String::new(),
    };
    let _ = stream.write_all(text.as_bytes()).await;
    let _ = stream.flush().await;
    // Hold the connection open; the client gives up (or the test's runtime ends).
    let _ = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
}
