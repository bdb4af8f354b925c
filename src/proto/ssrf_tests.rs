//! Table tests of the §7 guard. Pure: no name is resolved, no connection is opened.

use super::*;
use HostClass::*;

/// (host as written in an authority, class)
const HOSTS: &[(&str, HostClass)] = &[
    // Public names and addresses.
    ("example.com", Public),
    ("Example.COM.", Public),
    ("api.digitalocean.com", Public),
    ("graph.microsoft.com", Public),
    ("8.8.8.8", Public),
    ("[2001:4860:4860::8888]", Public),
    ("localhost.example.com", Public),
    ("metadata.google.internal.example.com", Public),
    ("127.0.0.1.nip.io", Public), // resolves to loopback: out of reach of a pure guard
    ("172.32.0.1", Public),
    ("100.128.0.1", Public),
    ("169.255.0.1", Public),
    // Link-local.
    ("169.254.0.1", LinkLocal),
    ("169.254.1.2", LinkLocal),
    ("[fe80::1]", LinkLocal),
    ("[febf::1]", LinkLocal),
    ("fe80::1", LinkLocal), // bare IPv6, as some callers pass it
    // Unspecified.
    ("0.0.0.0", Unspecified),
    ("0.1.2.3", Unspecified),
    ("0", Unspecified),
    ("[::]", Unspecified),
    // Cloud metadata, by name and by address.
    ("metadata.google.internal", Metadata),
    ("METADATA.google.internal.", Metadata),
    ("metadata.goog", Metadata),
    ("metadata", Metadata),
    ("instance-data", Metadata),
    ("169.254.169.254", Metadata),
    ("169.254.170.2", Metadata),
    ("100.100.100.200", Metadata),
    ("168.63.129.16", Metadata),
    ("192.0.0.192", Metadata),
    ("3221225664", Metadata), // 192.0.0.192 as one number
    ("[::ffff:192.0.0.192]", Metadata),
    ("[fd00:ec2::254]", Metadata),
    ("[::ffff:169.254.169.254]", Metadata),
    ("[::ffff:a9fe:a9fe]", Metadata),
    ("[2002:a9fe:a9fe::1]", Metadata), // 6to4 of 169.254.169.254
    // Non-unicast.
    ("224.0.0.1", NonUnicast),
    ("239.255.255.250", NonUnicast),
    ("240.0.0.1", NonUnicast),
    ("255.255.255.255", NonUnicast),
    ("[ff02::1]", NonUnicast),
    // Unparsable.
    ("", Unparsable),
    (".", Unparsable),
    ("[::1", Unparsable),
    ("[not-v6]", Unparsable),
    ("exa mple.com", Unparsable),
    ("1.2.3.4.5", Unparsable),
    ("256.0.0.1", Unparsable),
    // Localhost names.
    ("localhost", Localhost),
    ("LOCALHOST.", Localhost),
    ("LocalHost", Localhost),
    ("app.localhost", Localhost),
    ("a.b.LOCALHOST", Localhost),
    ("localhost.localdomain", Localhost),
    ("ip6-localhost", Localhost),
    ("%6c%6fcalhost", Localhost),           // percent-encoded
    ("\u{ff4c}\u{ff4f}calhost", Localhost), // full-width letters, mapped by IDNA
    // Loopback, in every spelling the URL standard reads as 127.0.0.1.
    ("127.0.0.1", Loopback),
    ("127.0.0.1.", Loopback),
    ("127.255.255.254", Loopback),
    ("127.1", Loopback),
    ("0x7f.1", Loopback),
    ("0x7F000001", Loopback),
    ("2130706433", Loopback),
    ("0177.0.0.1", Loopback),
    ("017700000001", Loopback),
    ("[::1]", Loopback),
    ("[0:0:0:0:0:0:0:1]", Loopback),
    ("[::ffff:127.0.0.1]", Loopback),
    ("[::ffff:7f00:1]", Loopback),
    ("[::127.0.0.1]", Loopback),     // IPv4-compatible
    ("[64:ff9b::7f00:1]", Loopback), // NAT64
    ("[64:ff9b::127.0.0.1]", Loopback),
    // Private ranges.
    ("10.0.0.1", Private),
    ("10.255.255.255", Private),
    ("172.16.0.1", Private),
    ("172.31.255.255", Private),
    ("192.168.1.1", Private),
    ("0xc0.0xa8.1.1", Private),
    ("[fc00::1]", Private),
    ("[fd12:3456::1]", Private),
    ("[fec0::1]", Private),
    ("[::ffff:10.1.2.3]", Private),
    // Shared address space (RFC 6598).
    ("100.64.0.1", SharedAddress),
    ("100.127.255.255", SharedAddress),
];

#[test]
fn classify_host_reads_every_spelling() {
    for &(host, class) in HOSTS {
        assert_eq!(classify_host(host), class, "{host:?}");
    }
}

#[test]
fn the_guard_sees_what_the_url_parser_sees() {
    // `url::Url` normalizes http(s) hosts before the guard sees them; the class must agree.
    for &(host, class) in HOSTS {
        if host.is_empty()
            || host.contains(' ')
            || !host.contains(|c: char| c.is_ascii_alphanumeric())
        {
            continue;
        }
        let bracketed = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let Ok(url) = Url::parse(&format!("http://{bracketed}/operations/1")) else {
            assert_eq!(class, Unparsable, "the URL parser refuses {host:?}");
            continue;
        };
        assert_eq!(
            classify_url(&url),
            class,
            "{host:?} read as {:?}",
            url.host_str()
        );
    }
}

#[test]
fn the_url_parser_has_already_normalized_numeric_hosts() {
    let rows = [
        ("http://0x7f.1/", "127.0.0.1", Loopback),
        ("http://2130706433/", "127.0.0.1", Loopback),
        ("http://0177.0.0.1/", "127.0.0.1", Loopback),
        ("https://[::ffff:127.0.0.1]/", "[::ffff:7f00:1]", Loopback),
        ("http://LOCALHOST./", "localhost.", Localhost),
        (
            "http://0251.0376.0251.0376/latest/meta-data/",
            "169.254.169.254",
            Metadata,
        ),
    ];
    for (raw, host, class) in rows {
        let url = Url::parse(raw).unwrap();
        assert_eq!(url.host_str(), Some(host), "{raw}");
        assert_eq!(classify_url(&url), class, "{raw}");
    }
    // A scheme that is not special keeps an opaque host; the guard reads it again.
    let opaque = Url::parse("foo://0x7f.1/").unwrap();
    assert_eq!(opaque.host_str(), Some("0x7f.1"));
    assert_eq!(classify_url(&opaque), Loopback);
    assert_eq!(
        classify_url(&Url::parse("data:text/plain,hi").unwrap()),
        Unparsable
    );
}

#[test]
fn http_uri_keeps_the_raw_spelling_and_the_guard_reads_it() {
    let rows = [
        ("http://0x7f.1/jobs/1", "0x7f.1", Loopback),
        ("http://2130706433/", "2130706433", Loopback),
        ("http://[::1]:8080/", "[::1]", Loopback),
        (
            "http://[::ffff:169.254.169.254]/",
            "[::ffff:169.254.169.254]",
            Metadata,
        ),
        (
            "http://METADATA.GOOGLE.INTERNAL./computeMetadata/v1/",
            "METADATA.GOOGLE.INTERNAL.",
            Metadata,
        ),
        (
            "https://api.example.com/v1/operations/1",
            "api.example.com",
            Public,
        ),
    ];
    for (raw, host, class) in rows {
        let uri: http::Uri = raw.parse().unwrap();
        assert_eq!(uri.host(), Some(host), "{raw}");
        assert_eq!(classify_host(host), class, "{raw}");
    }
}

#[test]
fn verdicts() {
    // (target host, submission host, allowed)
    let rows: &[(&str, Option<&str>, bool)] = &[
        ("api.example.com", Some("api.example.com"), true),
        ("status.example.net", Some("api.example.com"), true),
        ("8.8.8.8", None, true),
        // Always refused, whatever the submission.
        ("169.254.169.254", Some("api.example.com"), false),
        ("169.254.169.254", Some("localhost"), false),
        ("169.254.169.254", Some("169.254.169.254"), false),
        ("metadata.google.internal", Some("10.0.0.5"), false),
        ("[fe80::1]", Some("[fe80::2]"), false),
        ("0.0.0.0", Some("127.0.0.1"), false),
        ("[::]", Some("[::1]"), false),
        ("100.100.100.200", Some("100.64.0.1"), false),
        ("[fd00:ec2::254]", Some("[fd00::1]"), false),
        ("224.0.0.1", Some("localhost"), false),
        ("bad host", Some("localhost"), false),
        // Internal targets: refused from a public submission...
        ("localhost", Some("api.example.com"), false),
        ("127.0.0.1", Some("api.example.com"), false),
        ("0x7f.1", Some("api.example.com"), false),
        ("10.0.0.1", Some("api.example.com"), false),
        ("[fd12::1]", Some("api.example.com"), false),
        ("100.64.0.1", Some("api.example.com"), false),
        ("127.0.0.1", None, false), // an origin-form submission counts as not internal
        // ...allowed from an internal one (any internal class: one network, one trust).
        ("localhost", Some("localhost"), true),
        ("127.0.0.1", Some("localhost"), true),
        ("[::1]", Some("127.0.0.1"), true),
        ("10.0.0.7", Some("10.0.0.5"), true),
        ("192.168.0.7", Some("app.localhost"), true),
        ("100.64.1.1", Some("100.64.0.1"), true),
        ("api.example.com", Some("localhost"), true),
    ];
    for &(target, submission, allowed) in rows {
        let verdict = check(target, submission);
        assert_eq!(
            verdict.is_allowed(),
            allowed,
            "{target} from {submission:?}: {verdict:?}"
        );
        if let Verdict::Refused(refusal) = verdict {
            assert_eq!(refusal.host, target);
            assert_eq!(refusal.class, classify_host(target));
        }
    }
}

#[test]
fn verdicts_on_urls_and_uris() {
    let url = |s: &str| Url::parse(s).unwrap();
    let uri = |s: &str| s.parse::<http::Uri>().unwrap();
    let public = url("https://api.example.com/v1/things");
    assert!(check_url(
        &url("https://api.example.com/v1/operations/1"),
        Some(&public)
    )
    .is_allowed());
    assert_eq!(
        check_url(&url("http://0x7f.1/admin"), Some(&public)),
        Verdict::Refused(Refusal {
            class: Loopback,
            host: "127.0.0.1".into()
        })
    );
    assert!(check_url(
        &url("http://127.0.0.1:9000/ops/1"),
        Some(&url("http://localhost:9000/jobs"))
    )
    .is_allowed());
    assert!(!check_url(
        &url("http://169.254.169.254/"),
        Some(&url("http://169.254.169.254/"))
    )
    .is_allowed());

    let sub = uri("https://api.example.com/v1/things");
    assert!(check_uri(&uri("https://api.example.com/v1/operations/1"), Some(&sub)).is_allowed());
    assert!(!check_uri(&uri("http://2130706433/"), Some(&sub)).is_allowed());
    assert!(!check_uri(&uri("http://[::1]/"), Some(&uri("/jobs"))).is_allowed()); // origin-form
    assert!(check_uri(&uri("http://[::1]/"), Some(&uri("http://localhost/jobs"))).is_allowed());
}

#[test]
fn refusals_say_what_and_why() {
    let Verdict::Refused(r) = check("169.254.169.254", Some("api.example.com")) else {
        panic!()
    };
    assert_eq!(
        r.to_string(),
        "the host `169.254.169.254` is a cloud metadata endpoint"
    );
    let Verdict::Refused(r) = check("10.1.2.3", Some("api.example.com")) else {
        panic!()
    };
    assert_eq!(
        r.to_string(),
        "the host `10.1.2.3` is a private-network address, and the submission did not go to a local or private host"
    );
    for class in [
        Public,
        LinkLocal,
        Unspecified,
        Metadata,
        NonUnicast,
        Unparsable,
        Localhost,
        Loopback,
        Private,
        SharedAddress,
    ] {
        assert!(!class.to_string().is_empty());
        assert!(
            !(class.always_refused() && class.is_internal()),
            "{class:?}"
        );
    }
}

#[test]
fn classify_ip_agrees_with_the_host_table() {
    for &(host, class) in HOSTS {
        let inner = match host.strip_prefix('[') {
            Some(rest) => match rest.strip_suffix(']') {
                Some(inner) => inner,
                None => continue,
            },
            None => host,
        };
        if let Ok(ip) = inner.parse::<IpAddr>() {
            assert_eq!(classify_ip(ip), class, "{host}");
        }
    }
}

#[test]
fn never_panics_on_odd_input() {
    for host in [
        "[",
        "]",
        "[]",
        "%",
        "%zz",
        "xn--",
        "xn--a.com",
        "a..b",
        "..",
        "\u{0}",
        "[::1]:80",
        "1.2.3.0x",
        "0x",
    ] {
        let _ = classify_host(host);
        let _ = check(host, Some(host));
    }
}

/// IPv6 addresses that carry an IPv4 address, classed by it: (address, class, where the form
/// is defined).
const EMBEDDED: &[(&str, HostClass, &str)] = &[
    // IPv4-mapped, RFC 4291 §2.5.5.2.
    ("::ffff:169.254.169.254", Metadata, "RFC 4291 §2.5.5.2"),
    ("::ffff:a9fe:a9fe", Metadata, "RFC 4291 §2.5.5.2"),
    ("::ffff:10.0.0.1", Private, "RFC 4291 §2.5.5.2"),
    ("::ffff:8.8.8.8", Public, "RFC 4291 §2.5.5.2"),
    // IPv4-compatible (deprecated), RFC 4291 §2.5.5.1.
    ("::169.254.169.254", Metadata, "RFC 4291 §2.5.5.1"),
    ("::a9fe:101", LinkLocal, "RFC 4291 §2.5.5.1"),
    ("::10.1.2.3", Private, "RFC 4291 §2.5.5.1"),
    ("::8.8.8.8", Public, "RFC 4291 §2.5.5.1"),
    // IPv4-translated (SIIT), RFC 6145 §2.1 / RFC 7915 §2.1 (RFC 2765 §2.1's ::ffff:0:0:0/96).
    ("::ffff:0:169.254.169.254", Metadata, "RFC 7915 §2.1"),
    ("::ffff:0:7f00:1", Loopback, "RFC 7915 §2.1"),
    ("::ffff:0:c0a8:101", Private, "RFC 7915 §2.1"),
    ("::ffff:0:808:808", Public, "RFC 7915 §2.1"),
    // NAT64 well-known prefix 64:ff9b::/96, RFC 6052 §2.1.
    ("64:ff9b::169.254.169.254", Metadata, "RFC 6052 §2.1"),
    ("64:ff9b::a9fe:a9fe", Metadata, "RFC 6052 §2.1"),
    ("64:ff9b::10.0.0.1", Private, "RFC 6052 §2.1"),
    ("64:ff9b::808:808", Public, "RFC 6052 §2.1"),
    // NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215), at each RFC 6052 §2.2 length that
    // fits in it; the octet at bits 64-71 (`u`) is zero.
    (
        "64:ff9b:1:a9fe:a9:fe00::",
        Metadata,
        "RFC 8215; RFC 6052 §2.2 /48",
    ),
    (
        "64:ff9b:1:a9:fe:a9fe::",
        Metadata,
        "RFC 8215; RFC 6052 §2.2 /56",
    ),
    (
        "64:ff9b:1:0:a9:fea9:fe00:0",
        Metadata,
        "RFC 8215; RFC 6052 §2.2 /64",
    ),
    (
        "64:ff9b:1::a9fe:a9fe",
        Metadata,
        "RFC 8215; RFC 6052 §2.2 /96",
    ),
    (
        "64:ff9b:1:a00:0:100::",
        Private,
        "RFC 8215; RFC 6052 §2.2 /48",
    ),
    ("64:ff9b:1:a:0:1::", Private, "RFC 8215; RFC 6052 §2.2 /56"),
    (
        "64:ff9b:1:0:a:0:100:0",
        Private,
        "RFC 8215; RFC 6052 §2.2 /64",
    ),
    ("64:ff9b:1::a00:1", Private, "RFC 8215; RFC 6052 §2.2 /96"),
    ("64:ff9b:1::7f00:1", Loopback, "RFC 8215; RFC 6052 §2.2 /96"),
    (
        "64:ff9b:1:808:8:800::",
        Public,
        "RFC 8215; RFC 6052 §2.2 /48",
    ),
    ("64:ff9b:1:8:8:808::", Public, "RFC 8215; RFC 6052 §2.2 /56"),
    (
        "64:ff9b:1:0:8:808:800:0",
        Public,
        "RFC 8215; RFC 6052 §2.2 /64",
    ),
    ("64:ff9b:1::808:808", Public, "RFC 8215; RFC 6052 §2.2 /96"),
    // The /32 and /40 layouts of RFC 6052 §2.2, read in the rest of 64:ff9b::/32.
    ("64:ff9b:a9fe:a9fe::", Metadata, "RFC 6052 §2.2 /32"),
    ("64:ff9b:a00:1::", Private, "RFC 6052 §2.2 /32"),
    ("64:ff9b:a9:fea9:fe::", Metadata, "RFC 6052 §2.2 /40"),
    ("64:ff9b:a:0:1::", Private, "RFC 6052 §2.2 /40"),
    // 6to4, RFC 3056 §2.
    ("2002:a9fe:a9fe::1", Metadata, "RFC 3056 §2"),
    ("2002:a00:1::1", Private, "RFC 3056 §2"),
    ("2002:7f00:1::", Loopback, "RFC 3056 §2"),
    ("2002:808:808::1", Public, "RFC 3056 §2"),
    // Teredo, RFC 4380 §4: server in bits 32-63, client inverted in bits 96-127.
    (
        "2001:0:4136:e378:8000:63bf:5601:5601",
        Metadata,
        "RFC 4380 §4 (client)",
    ),
    (
        "2001:0:a9fe:a9fe:8000:63bf:3fff:fdd2",
        Metadata,
        "RFC 4380 §4 (server)",
    ),
    (
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",
        Private,
        "RFC 4380 §4 (client 10.0.0.1)",
    ),
    (
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        Public,
        "RFC 4380 §4 (its own example)",
    ),
    // ISATAP interface identifiers, RFC 5214 §6.1, under any prefix.
    ("2001:db8::5efe:a9fe:a9fe", Metadata, "RFC 5214 §6.1"),
    ("2001:db8::200:5efe:a00:1", Private, "RFC 5214 §6.1 (u bit)"),
    ("2001:db8:1:2:0:5efe:7f00:1", Loopback, "RFC 5214 §6.1"),
    (
        "fe80::5efe:808:808",
        LinkLocal,
        "RFC 5214 §6.1 (link-local prefix)",
    ),
    ("2001:db8::200:5efe:808:808", Public, "RFC 5214 §6.1"),
    // Not an embedding: no IPv4 address is read out of these.
    ("2001:4860:4860::8888", Public, "RFC 4291 (global unicast)"),
    (
        "2001:db8:0:0:1:5efe:a00:1",
        Public,
        "RFC 5214 §6.1: not an ISATAP identifier",
    ),
];

#[test]
fn ipv6_embeddings_are_classed_by_their_ipv4_address() {
    for &(addr, class, rfc) in EMBEDDED {
        let ip: Ipv6Addr = addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}"));
        assert_eq!(classify_ipv6(ip), class, "{addr} ({rfc})");
        assert_eq!(
            classify_host(&format!("[{addr}]")),
            class,
            "[{addr}] ({rfc})"
        );
        let url = Url::parse(&format!("http://[{addr}]/op")).unwrap();
        assert_eq!(classify_url(&url), class, "URL [{addr}] ({rfc})");
    }
}
