use super::*;

/// What `carry_query` wrote before its fast path: every carried pair through the form
/// serializer.
fn serialized(cfg: &Config, query: &str) -> Option<Box<str>> {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if cfg.carry_query.iter().any(|c| *c == k) {
            out.append_pair(&k, &v);
            any = true;
        }
    }
    any.then(|| out.finish().into_boxed_str())
}

/// The head keeps the headers when polls carry some, and nothing when they carry none; what
/// polls carry is the same either way.
#[test]
fn a_head_copies_headers_only_when_some_are_carried() {
    let request = |pairs: &[(&str, &str)]| {
        let mut builder = Request::post("https://h.example/p");
        for (name, value) in pairs {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    };
    let body_only = request(&[
        ("content-type", "application/json"),
        ("content-length", "2"),
        ("connection", "x-hop"),
    ]);
    let head = RequestHead::from_request(&body_only);
    assert_eq!(head.headers.capacity(), 0, "empty, no allocation");
    assert!(carry_headers(body_only.headers().clone()).is_empty());

    let with_auth = request(&[
        ("content-type", "application/json"),
        ("authorization", "Bearer t"),
        ("connection", "x-hop"),
        ("x-hop", "1"),
    ]);
    let head = RequestHead::from_request(&with_auth);
    assert_eq!(&head.headers, with_auth.headers());
    let carried = carry_headers(head.headers);
    assert_eq!(carried.keys().collect::<Vec<_>>(), ["authorization"]);
}

#[test]
fn carried_query_is_what_the_serializer_writes() {
    let cfg = Config {
        carry_query: vec!["api-version".into(), "a".into(), "b c".into(), "k".into()],
        ..Config::default()
    };
    for query in [
        "api-version=2.0",
        "api-version=2.0&x=1",
        "x=1&api-version=2022-01-01",
        "a&api-version=1",
        "a=&a=2&&api-version=3&",
        "a=b=c",
        "a=x~y&api-version=1",
        "a=x%20y",
        "b+c=1&a=2",
        "k=v*._-&other=1",
        "api-version=1/2",
        "x=1",
        "x=1&y=2",
        "api-version=1&&",
        "=1&api-version=2",
        "api-version",
        "a=1&k=2",
        "",
    ] {
        let uri: Uri = format!("https://h.example/p?{query}").parse().unwrap();
        let link = Link::from_request(&uri).unwrap();
        assert_eq!(
            carry_query(&cfg, &link),
            serialized(&cfg, query),
            "{query:?}"
        );
    }
}
