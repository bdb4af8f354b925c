//! Two loopback origins for the credential tests of `lro` and `lro proxy`: the submission's
//! (`a`) and another one (`b`) that the first names as a status monitor, as a redirect's target
//! (each of `301`, `302`, `303`, `307`, `308`) and as the resource; and the whole credential
//! list of the library (headers and query names, listed and made from each pattern) with a
//! unique secret value for each.

use tower_lro::credentials::{self, ORIGIN_BOUND_HEADERS, PATTERNS};

use crate::support::{now, resp, Mock, Seen};

/// Every credential header sent: the list, and a name made from each pattern.
pub fn header_names() -> Vec<String> {
    let mut names: Vec<String> = credentials::HEADERS.iter().map(|s| s.to_string()).collect();
    names.extend(PATTERNS.iter().map(|p| format!("x-my-{p}-1")));
    names
}

/// Every credential query name carried: the list, and a name made from each pattern.
pub fn query_names() -> Vec<String> {
    let mut names: Vec<String> = credentials::QUERY.iter().map(|s| s.to_string()).collect();
    names.extend(PATTERNS.iter().map(|p| format!("my_{p}_1")));
    names
}

/// The secret value of the `i`-th name of a kind (`H`eader, `Q`uery, `M`etadata header).
pub fn secret(kind: char, i: usize) -> String {
    format!("CRED-{kind}{i}")
}

/// `Name: value` for every credential and origin-bound header, and a harmless `x-plain`.
pub fn header_lines() -> Vec<String> {
    let mut lines: Vec<String> = header_names()
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{n}: {}", secret('H', i)))
        .collect();
    lines.extend(
        ORIGIN_BOUND_HEADERS
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{n}: {}", secret('M', i))),
    );
    lines.push("x-plain: plain".to_owned());
    lines
}

/// The submission's query: `api-version=1` and every credential query name with its secret.
pub fn query() -> String {
    let mut pairs = vec!["api-version=1".to_owned()];
    pairs.extend(
        query_names()
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{n}={}", secret('Q', i))),
    );
    pairs.join("&")
}

/// `--carry-query NAME` for every credential query name, and `api-version`.
pub fn carry_args() -> Vec<String> {
    let mut args = Vec::new();
    for name in query_names().into_iter().chain(["api-version".to_owned()]) {
        args.push("--carry-query".to_owned());
        args.push(name);
    }
    args
}

/// One operation: the submission's path on `a`, the path of `a` that must receive every
/// credential, the path of `b` that must receive none.
pub struct Flow {
    pub submit: String,
    pub own: Option<String>,
    pub other: Option<String>,
}

/// The monitor on `a`; the monitor on `b`; each redirect to `b`; the resource on `b`.
pub fn flows() -> Vec<Flow> {
    let flow = |submit: &str, own: Option<&str>, other: Option<&str>| Flow {
        submit: submit.to_owned(),
        own: own.map(str::to_owned),
        other: other.map(str::to_owned),
    };
    let mut flows = vec![
        flow("/jobs-own", Some("/ops/own"), None),
        flow("/jobs-other", None, Some("/ops/other")),
        flow("/jobs-res", Some("/ops/res"), Some("/things/1")),
    ];
    for code in [301, 302, 303, 307, 308] {
        flows.push(Flow {
            submit: format!("/jobs/{code}"),
            own: Some(format!("/ops/{code}")),
            other: Some(format!("/moved/{code}")),
        });
    }
    flows
}

const SUCCEEDED: &str = r#"{"status":"Succeeded"}"#;

/// The two origins: `(a, b)`.
pub async fn origins() -> (Mock, Mock) {
    let b = Mock::start(|req, _| match req.target.split('?').next().unwrap() {
        "/things/1" => resp(200, &[], r#"{"thing":1}"#),
        _ => resp(200, &[], SUCCEEDED),
    })
    .await;
    let other = b.base.clone();
    let a = Mock::start(move |req, base| {
        let path = req.target.split('?').next().unwrap();
        let monitor = |url: String| resp(202, &[("operation-location", url), now()], "");
        match path {
            "/jobs-own" => monitor(format!("{base}/ops/own")),
            "/jobs-other" => monitor(format!("{other}/ops/other")),
            "/jobs-res" => monitor(format!("{base}/ops/res")),
            "/ops/res" => resp(
                200,
                &[],
                &format!(r#"{{"status":"Succeeded","resourceLocation":"{other}/things/1"}}"#),
            ),
            p if p.starts_with("/jobs/") => monitor(format!("{base}/ops/{}", &p[6..])),
            p if p.starts_with("/ops/") && p != "/ops/own" => {
                let code: u16 = p[5..].parse().unwrap();
                resp(code, &[("location", format!("{other}/moved/{code}"))], "")
            }
            _ => resp(200, &[], SUCCEEDED),
        }
    })
    .await;
    (a, b)
}

fn query_value(seen: &Seen, name: &str) -> Option<String> {
    let query = seen.target.split_once('?').map_or("", |(_, q)| q);
    // The names and values of these tests need no decoding.
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The request to `path` (exactly one).
pub fn one<'a>(seen: &'a [Seen], path: &str) -> &'a Seen {
    let hits: Vec<&Seen> = seen
        .iter()
        .filter(|r| r.target.split('?').next() == Some(path))
        .collect();
    assert!(!hits.is_empty(), "nothing reached {path}");
    hits[0]
}

/// A request to the submission's origin carries every credential, origin-bound header and
/// carried credential query parameter, except the hop-by-hop headers a proxy consumes.
pub fn assert_all_credentials(r: &Seen, hop_by_hop: &[&str]) {
    let header = |n: &str| {
        r.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    for (i, name) in header_names().iter().enumerate() {
        let expected = (!hop_by_hop.contains(&name.as_str())).then(|| secret('H', i));
        assert_eq!(header(name), expected, "{name} on {}", r.target);
    }
    for (i, name) in ORIGIN_BOUND_HEADERS.iter().enumerate() {
        assert_eq!(header(name), Some(secret('M', i)), "{name} on {}", r.target);
    }
    for (i, name) in query_names().iter().enumerate() {
        assert_eq!(
            query_value(r, name),
            Some(secret('Q', i)),
            "{name} on {}",
            r.target
        );
    }
}

/// A request to the other origin carries no credential value (header or target) and no
/// origin-bound header; the harmless header and `api-version` still came.
pub fn assert_no_credentials(r: &Seen) {
    for (name, value) in &r.headers {
        let value = value.to_str().unwrap_or("");
        assert!(
            !value.contains("CRED-"),
            "{name}: {value} reached {}",
            r.target
        );
    }
    assert!(!r.target.contains("CRED-"), "{}", r.target);
    assert_eq!(
        r.headers.get("x-plain").map(|v| v.as_bytes()),
        Some(&b"plain"[..]),
        "{}",
        r.target
    );
    assert_eq!(
        query_value(r, "api-version").as_deref(),
        Some("1"),
        "{}",
        r.target
    );
}

/// Checks every flow's requests on both origins (`hop_by_hop`: headers the client's first hop
/// consumes, such as a proxy's `Proxy-Authorization`).
pub fn assert_flows(a: &Mock, b: &Mock, hop_by_hop: &[&str]) {
    let (seen_a, seen_b) = (a.requests(), b.requests());
    for flow in flows() {
        if let Some(own) = &flow.own {
            assert_all_credentials(one(&seen_a, own), hop_by_hop);
        }
        if let Some(other) = &flow.other {
            let hits: Vec<&Seen> = seen_b
                .iter()
                .filter(|r| r.target.split('?').next() == Some(other.as_str()))
                .collect();
            assert!(!hits.is_empty(), "nothing reached {other}");
            for r in hits {
                assert_no_credentials(r);
            }
        }
    }
}
