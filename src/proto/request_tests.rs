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

/// The head keeps only the headers polls carry, and nothing (no allocation) when they carry
/// none; what it keeps is what `carry_headers` leaves of the whole map.
#[test]
fn a_head_keeps_only_the_carried_headers() {
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
    assert!(head.carried.is_empty());
    assert!(carry_headers(body_only.headers().clone()).is_empty());
    let body_only = request(&[("content-type", "application/json"), ("if-match", "*")]);
    assert!(RequestHead::from_request(&body_only).carried.is_empty());

    let with_auth = request(&[
        ("content-type", "application/json"),
        ("authorization", "Bearer t"),
        ("connection", "x-hop"),
        ("x-hop", "1"),
    ]);
    let head = RequestHead::from_request(&with_auth);
    let names: Vec<_> = head.carried.names().map(HeaderName::as_str).collect();
    assert_eq!(names, ["authorization"]);

    // Every value, in order, of every name `carry_headers` keeps; a name's values together.
    for pairs in [
        &[
            ("accept", "a"),
            ("x-one", "1"),
            ("accept", "b"),
            ("content-type", "t"),
        ][..],
        &[
            ("authorization", "Bearer t"),
            ("prefer", "respond-async"),
            ("x-ms-v", "2"),
        ],
        &[
            ("connection", "keep-alive, x-drop"),
            ("x-drop", "1"),
            ("x-keep", "2"),
        ],
        &[
            ("idempotency-key", "k"),
            ("repeatability-request-id", "r"),
            ("te", "trailers"),
        ],
        &[
            ("x-a", "1"),
            ("x-a", "2"),
            ("x-a", "3"),
            ("range", "bytes=0-1"),
        ],
        &[],
    ] {
        let req = request(pairs);
        let head = RequestHead::from_request(&req);
        let expected = carry_headers(req.headers().clone());
        assert_eq!(head.carried_headers(), expected, "{pairs:?}");
        assert_eq!(head.carried.len(), expected.len(), "{pairs:?}");
        for name in expected.keys() {
            let kept: Vec<_> = head.carried.iter().filter(|(n, _)| n == name).collect();
            let values: Vec<_> = kept.iter().map(|(_, v)| v).collect();
            let wanted: Vec<_> = expected.get_all(name).iter().collect();
            assert_eq!(values, wanted, "{pairs:?}");
        }
    }

    // A `Connection` header goes, and the names it lists with it (the row above compares the
    // general path with itself).
    let req = request(&[
        ("connection", "keep-alive, x-drop"),
        ("x-drop", "1"),
        ("x-keep", "2"),
    ]);
    let head = RequestHead::from_request(&req);
    let names: Vec<_> = head.carried.names().map(HeaderName::as_str).collect();
    assert_eq!(names, ["x-keep"]);

    // A head longer than the short path takes (64 values) goes the general way: the same.
    let names: Vec<String> = (0..70).map(|i| format!("x-h{i}")).collect();
    let mut pairs: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    pairs.push(("content-type", "t"));
    let req = request(&pairs);
    let head = RequestHead::from_request(&req);
    assert_eq!(head.carried_headers(), carry_headers(req.headers().clone()));
    assert_eq!(head.carried.len(), 70);
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
        "api-version=1&x=2&a=3",
        "a=1&k=2&x&b+c=4",
        "a=1&api-version=2&x",
        "x&a",
        "x=1&a&k=",
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
