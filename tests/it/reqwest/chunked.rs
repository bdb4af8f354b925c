//! Chunked `PUT` answers (not servable by the mock server, which always sends `Content-Length`).

use super::*;

/// Serves one connection: reads a request head and answers `200` with a chunked JSON body sent
/// in the given chunks.
async fn serve_chunked_once(chunks: Vec<String>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/resource", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
            let n = stream.read(&mut buf).await.expect("read");
            if n == 0 {
                return;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let mut out = String::from(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        );
        for chunk in &chunks {
            out.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
        }
        out.push_str("0\r\n\r\n");
        stream.write_all(out.as_bytes()).await.expect("write");
        stream.shutdown().await.ok();
    });
    (url, task)
}

#[tokio::test]
async fn put_answered_with_a_terminal_state_is_rebuilt_whole() {
    let doc = r#"{"id":"r1","properties":{"provisioningState":"Succeeded"}}"#;
    let (url, task) = serve_chunked_once(vec![doc[..20].to_owned(), doc[20..].to_owned()]).await;
    let client = client(fast_layer());

    let response = send(client.put(&url).body("{}")).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.url().as_str(), url);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.extensions().get::<LroMetadata>().is_none());
    assert_eq!(body(response).await, doc);
    task.await.unwrap();
}

#[tokio::test]
async fn put_answer_over_the_limit_streams_back_whole() {
    let first = format!(
        r#"{{"provisioningState":"Succeeded","pad":"{}"#,
        "a".repeat(64)
    );
    let rest = format!(r#"{}"}}"#, "b".repeat(64));
    let (url, task) = serve_chunked_once(vec![first.clone(), rest.clone()]).await;
    let client = client(fast_layer().status_body_limit(16));

    let response = send(client.put(&url).body("{}")).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.url().as_str(), url);
    assert_eq!(body(response).await, format!("{first}{rest}"));
    task.await.unwrap();
}
