//! `header::retry_after` and `header::parse_url_value`.

use super::*;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn retry_after_never_panics(
        headers in proptest::collection::vec(
            (proptest::sample::select(vec!["retry-after", "retry-after-ms", "x-ms-retry-after-ms", "date"]), header_bytes()),
            0..5,
        ),
        wall_secs in any::<u32>(),
    ) {
        let mut map = HeaderMap::new();
        for (name, value) in &headers {
            if let Ok(v) = HeaderValue::from_bytes(value) {
                map.append(HeaderName::from_static(name), v);
            }
        }
        let wall = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(wall_secs));
        if let Some(got) = retry_after(&map, wall) {
            // A hint only comes from a header that is there and reads as digits or a date.
            harness::check_retry_hint(&map, got);
        }
    }

    #[test]
    fn retry_after_digits_are_read_exactly_and_monotone(a in any::<u64>(), b in any::<u64>(), pad in "[ \t]{0,2}") {
        let (lo, hi) = (a.min(b), a.max(b));
        let secs = |n: u64| wait_of(&hint("retry-after", &format!("{pad}{n}{pad}")));
        prop_assert_eq!(secs(lo), Some(Duration::from_secs(lo)));
        prop_assert!(secs(lo) <= secs(hi));
        let millis = |n: u64| wait_of(&hint("retry-after-ms", &n.to_string()));
        prop_assert_eq!(millis(lo), Some(Duration::from_millis(lo)));
        prop_assert!(millis(lo) <= millis(hi));
        prop_assert_eq!(
            wait_of(&hint("x-ms-retry-after-ms", &lo.to_string())),
            Some(Duration::from_millis(lo))
        );
        // The millisecond headers win over Retry-After, in spec §2's order.
        let mut both = hint("retry-after", &hi.to_string());
        both.insert("x-ms-retry-after-ms", HeaderValue::from_str(&lo.to_string()).unwrap());
        prop_assert_eq!(retry_after(&both, harness::wall0()).map(|(_, s)| s), Some(HintSource::XMsRetryAfterMs));
        both.insert("retry-after-ms", HeaderValue::from_str(&hi.to_string()).unwrap());
        prop_assert_eq!(retry_after(&both, harness::wall0()), Some((Duration::from_millis(hi), HintSource::RetryAfterMs)));
    }

    #[test]
    fn retry_after_huge_digits_saturate(digits in "[1-9][0-9]{20,40}") {
        prop_assert_eq!(
            wait_of(&hint("retry-after", &digits)),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn retry_after_signed_or_fractional_is_ignored(n in any::<u32>(), form in 0usize..5) {
        let text = match form {
            0 => format!("-{n}"),
            1 => format!("+{n}"),
            2 => format!("{n}.5"),
            3 => format!("{n}s"),
            _ => format!("0x{n:x}"),
        };
        prop_assert_eq!(wait_of(&hint("retry-after", &text)), None);
        prop_assert_eq!(wait_of(&hint("retry-after-ms", &text)), None);
        // A bad millisecond hint falls through to a good Retry-After.
        let mut h = hint("retry-after-ms", &text);
        h.insert("retry-after", HeaderValue::from_static("7"));
        prop_assert_eq!(wait_of(&h), Some(Duration::from_secs(7)));
    }

    #[test]
    fn retry_after_dates_measure_from_the_date_header_or_now(ahead in 0u32..10_000_000, date_back in 0u32..1_000) {
        let now = harness::wall0();
        let at = now + Duration::from_secs(u64::from(ahead));
        let mut h = hint("retry-after", &httpdate::fmt_http_date(at));
        prop_assert_eq!(retry_after(&h, now), Some((Duration::from_secs(u64::from(ahead)), HintSource::RetryAfterDate)));
        // The server's Date header is the reference when present.
        let server_now = now - Duration::from_secs(u64::from(date_back));
        h.insert("date", HeaderValue::from_str(&httpdate::fmt_http_date(server_now)).unwrap());
        prop_assert_eq!(wait_of(&h), Some(Duration::from_secs(u64::from(ahead) + u64::from(date_back))));
        // A date in the past is a negative delay: ignored, never a negative or huge wait.
        let past = hint("retry-after", &httpdate::fmt_http_date(now - Duration::from_secs(u64::from(ahead) + 1)));
        prop_assert_eq!(wait_of(&past), None);
    }
}

// ----------------------------------------------------------------------------------------------
// header::parse_url_value

fn assert_http_url(url: &url::Url) -> Result<(), TestCaseError> {
    // A panic fails the case as well as `prop_assert!` does.
    harness::check_url(url);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_url_value_never_panics_and_yields_http_with_host(raw in header_bytes(), tail in proptest::collection::vec(any::<u8>(), 0..20), base in 0..harness::SUBMISSIONS.len()) {
        let base = base_url(base);
        let mut raw = raw;
        raw.extend(tail);
        if let Ok(v) = HeaderValue::from_bytes(&raw) {
            if let Ok(url) = parse_url_value(&v, &base) {
                assert_http_url(&url)?;
            }
        }
        let text = String::from_utf8_lossy(&raw);
        let _ = unquote(&text);
        if let Ok(url) = parse_url_str(&text, &base) {
            assert_http_url(&url)?;
        }
    }

    #[test]
    fn parse_url_value_reads_absolute_urls_and_quotes(
        scheme in proptest::sample::select(vec!["http", "https", "HTTP", "Https"]),
        host in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}",
        port in proptest::option::of(1u16..),
        path in "(/[A-Za-z0-9._~-]{0,8}){0,4}",
        quoted in any::<bool>(),
        base in 0..harness::SUBMISSIONS.len(),
    ) {
        // A label starting `xn--` is an IDNA label: the URL parser refuses most (`xn--` alone
        // is no international name), so it is no plain absolute URL this property is about.
        proptest::prop_assume!(!host.split('.').any(|l| l.starts_with("xn--")));
        let port_s = port.map(|p| format!(":{p}")).unwrap_or_default();
        let text = format!("{scheme}://{host}{port_s}{path}");
        let shown = if quoted { format!("\"{text}\"") } else { text.clone() };
        let url = parse_url_value(&HeaderValue::from_str(&shown).unwrap(), &base_url(base)).unwrap();
        assert_http_url(&url)?;
        prop_assert_eq!(url.scheme(), scheme.to_ascii_lowercase());
        prop_assert_eq!(url.host_str(), Some(host.as_str()));
        let want = url::Url::parse(&text).unwrap();
        prop_assert_eq!(url, want);
    }

    #[test]
    fn parse_url_value_resolves_relative_paths_on_the_base_origin(
        path in "/[A-Za-z0-9._~/-]{0,20}(\\?[a-z]=[0-9]{1,3})?",
        base in 0..harness::SUBMISSIONS.len(),
    ) {
        // (`//x` is a network-path reference: another host.)
        prop_assume!(!path.starts_with("//"));
        let base = base_url(base);
        let url = parse_url_value(&HeaderValue::from_str(&path).unwrap(), &base).unwrap();
        prop_assert_eq!(url.origin(), base.origin());
    }

    #[test]
    fn parse_url_value_refuses_other_schemes(
        scheme in "[a-z][a-z0-9+.-]{0,8}",
        rest in "[a-z0-9/]{1,10}",
    ) {
        prop_assume!(scheme != "http" && scheme != "https");
        let text = format!("{scheme}://{rest}");
        prop_assert!(parse_url_str(&text, &base_url(0)).is_err(), "{} accepted", text);
        let opaque = format!("{scheme}:{rest}");
        prop_assert!(parse_url_str(&opaque, &base_url(0)).map(|u| u.scheme() != scheme).unwrap_or(true));
    }
}
