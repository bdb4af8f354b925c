//! Replaying the seed text: the bytes on the wire are the seed exchange.

use super::*;

#[tokio::test]
async fn replay_keeps_the_seed_bytes() {
    let server = MockServer::start().await;
    let base = server.base();

    let r = replay(v2::ACCEPTED, &server);
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(r.headers().len(), 1);
    assert_eq!(r.headers()[0].0, "operation-location");
    assert_eq!(
        r.headers()[0].1,
        format!("{base}{MONITOR_PATH} ").as_str(),
        "the seed's trailing space is kept"
    );
    assert!(r.body_bytes().is_empty());

    let r = replay(v2::SUCCEEDED, &server);
    assert_eq!(
        r.headers()[0].1,
        format!("\"{base}{TILESET_PATH}\"").as_str(),
        "the seed's double quotes are kept"
    );
    assert!(r.body_bytes().starts_with(b" {\n    \"operationId\""));
    assert!(r.body_bytes().ends_with(b"\"status\": \"Succeeded\"\n}"));

    let r = replay(v1::RUNNING, &server);
    assert_eq!(r.headers()[0].0, "retry-after");
    assert_eq!(r.headers()[0].1, "30");
    assert!(r.body_bytes().starts_with(b"{\n    \"operationId\""));

    let r = replay(v1::FAILED, &server);
    assert!(r.headers().is_empty());
    assert!(
        r.body_bytes().starts_with(b"{\n"),
        "the blank line is not body"
    );

    let r = replay(v1::CREATED, &server);
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()[0].0, "location");
    assert!(std::str::from_utf8(r.body_bytes())
        .unwrap()
        .contains(&format!("\"resourceLocation\": \"{base}{TILESET_PATH}\"")));
}

/// Sends a raw HTTP/1.1 `GET` and returns every byte of the answer (the server closes).
async fn raw_get(server: &MockServer, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.addr()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.unwrap();
        String::from_utf8(out).unwrap()
    };
    tokio::time::timeout(support::TEST_TIMEOUT, exchange)
        .await
        .expect("the raw exchange finished")
}

#[tokio::test]
async fn wire_bytes_are_the_seed_exchange() {
    let server = serve(v2::ACCEPTED, &[v2::RUNNING, v2::SUCCEEDED]).await;
    let base = server.base();

    let running = raw_get(&server, MONITOR_PATH).await;
    assert!(running.starts_with("HTTP/1.1 200 OK\r\n"), "{running}");
    assert!(running.contains("\r\nRetry-After: 30\r\n"), "{running}");
    let body = rewrite(v2::RUNNING, &server);
    let body = body.split_once("30\n").unwrap().1;
    assert!(running.ends_with(&format!("\r\n\r\n{body}")), "{running}");

    let succeeded = raw_get(&server, MONITOR_PATH).await;
    assert!(succeeded.starts_with("HTTP/1.1 200 OK\r\n"), "{succeeded}");
    assert!(
        succeeded.contains(&format!(
            "\r\nResource-Location: \"{base}{TILESET_PATH}\"\r\n"
        )),
        "{succeeded}"
    );
    assert!(
        succeeded.ends_with(&format!(
            "\r\n\r\n {{\n    \"operationId\": \"{OPERATION_ID}\",\n    \
             \"created\": \"2021-05-06T07:55:19.5256829+00:00\",\n    \
             \"status\": \"Succeeded\"\n}}"
        )),
        "{succeeded}"
    );
}
