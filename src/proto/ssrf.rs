//! The guard of spec §7: URLs the layer follows come from someone else's answers, so a gateway
//! that embeds the layer must not become a way into its own network.
//!
//! Pure functions of host names and addresses: nothing here resolves a name or opens a
//! connection. A host is put in a [`HostClass`]; some classes are refused always (link-local,
//! unspecified, cloud metadata, non-unicast, unparsable), some only when the submission itself
//! did not go to an internal host (localhost, loopback, private ranges, shared address space).
//!
//! Hosts are read the way the URL standard reads them, so the guard sees through the spellings
//! that reach the same address: `0x7f.1`, `2130706433`, `0177.0.0.1` and `127.1` are
//! `127.0.0.1`; `[::ffff:127.0.0.1]` is too; `LOCALHOST.` is `localhost`. `url::Url` has done this
//! already for `http`/`https`; `http::Uri` has not, so [`classify_host`] does it itself.
//!
//! What a pure guard cannot see: a public name that resolves to an internal address (DNS
//! rebinding, `127.0.0.1.nip.io`). That needs a check where the connection is made.

use std::fmt;
#[cfg(test)]
use std::net::IpAddr;
use std::net::{Ipv4Addr, Ipv6Addr};

use url::Host;
#[cfg(test)]
use url::Url;

/// What kind of host a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum HostClass {
    /// Anything not listed below: allowed.
    Public,
    /// Link-local: `169.254.0.0/16`, `fe80::/10`. Refused always.
    LinkLocal,
    /// Unspecified: `0.0.0.0/8`, `::`. Refused always.
    Unspecified,
    /// A cloud metadata endpoint, by name (`metadata.google.internal`, ...) or address
    /// (`169.254.169.254`, `fd00:ec2::254`, `100.100.100.200`, ...). Refused always.
    Metadata,
    /// Multicast, broadcast or reserved (`224.0.0.0/4`, `240.0.0.0/4`, `ff00::/8`): never an
    /// HTTP server. Refused always.
    NonUnicast,
    /// Not a host the URL standard can read. Refused always.
    Unparsable,
    /// `localhost`, `*.localhost` and the usual `/etc/hosts` aliases. Refused unless the
    /// submission went to an internal host.
    Localhost,
    /// Loopback: `127.0.0.0/8`, `::1`. Refused unless the submission went to an internal host.
    Loopback,
    /// Private ranges: `10/8`, `172.16/12`, `192.168/16`, `fc00::/7` (and the deprecated
    /// site-local `fec0::/10`). Refused unless the submission went to an internal host.
    Private,
    /// Shared address space `100.64.0.0/10` (RFC 6598, carrier-grade NAT; also the addresses of
    /// overlay networks such as Tailscale). Refused unless the submission went to an internal
    /// host.
    SharedAddress,
}

impl HostClass {
    /// Whether the class is refused whatever the submission's host.
    pub(crate) fn always_refused(self) -> bool {
        matches!(
            self,
            Self::LinkLocal
                | Self::Unspecified
                | Self::Metadata
                | Self::NonUnicast
                | Self::Unparsable
        )
    }

    /// Whether the class is an internal host: refused unless the submission went to one too.
    pub(crate) fn is_internal(self) -> bool {
        matches!(
            self,
            Self::Localhost | Self::Loopback | Self::Private | Self::SharedAddress
        )
    }

    /// Words for error messages: "a link-local address", ...
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Public => "a public host",
            Self::LinkLocal => "a link-local address",
            Self::Unspecified => "an unspecified address",
            Self::Metadata => "a cloud metadata endpoint",
            Self::NonUnicast => "a multicast, broadcast or reserved address",
            Self::Unparsable => "not a valid host",
            Self::Localhost => "localhost",
            Self::Loopback => "a loopback address",
            Self::Private => "a private-network address",
            Self::SharedAddress => "a shared (carrier-grade NAT) address",
        }
    }
}

impl fmt::Display for HostClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.describe())
    }
}

/// Why a URL is not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The class of the refused host.
    pub(crate) class: HostClass,
    /// The host as it was given.
    pub(crate) host: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the host `{}` is {}", self.host, self.class)?;
        if self.class.is_internal() {
            f.write_str(", and the submission did not go to a local or private host")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusal {}

/// The guard's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Follow the URL.
    Allowed,
    /// Do not connect; report the refusal.
    Refused(Refusal),
}

impl Verdict {
    /// Whether the URL may be followed.
    #[cfg(test)] // the table tests read hosts and bodies through it
    pub(crate) fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed)
    }
}

/// The rule of §7, given the classes: `submission` is the class of the submission's host,
/// `None` when it is not known (an origin-form request), which counts as not internal.
pub(crate) fn judge(
    target: HostClass,
    target_host: &str,
    submission: Option<HostClass>,
) -> Verdict {
    let internal_submission = submission.is_some_and(HostClass::is_internal);
    if target.always_refused() || (target.is_internal() && !internal_submission) {
        Verdict::Refused(Refusal {
            class: target,
            host: target_host.to_owned(),
        })
    } else {
        Verdict::Allowed
    }
}

/// [`judge`] on host strings as they appear in an authority (see [`classify_host`]).
pub(crate) fn check(target_host: &str, submission_host: Option<&str>) -> Verdict {
    judge(
        classify_host(target_host),
        target_host,
        submission_host.map(classify_host),
    )
}

/// [`judge`] on parsed URLs.
#[cfg(test)] // the table tests read hosts and bodies through it
pub(crate) fn check_url(target: &Url, submission: Option<&Url>) -> Verdict {
    let shown = target.host_str().unwrap_or("");
    judge(classify_url(target), shown, submission.map(classify_url))
}

/// [`judge`] on request URIs; a URI without a host (origin-form) is `None`.
#[cfg(test)] // the table tests read hosts and bodies through it
pub(crate) fn check_uri(target: &http::Uri, submission: Option<&http::Uri>) -> Verdict {
    let shown = target.host().unwrap_or("");
    judge(
        classify_host(shown),
        shown,
        submission.and_then(http::Uri::host).map(classify_host),
    )
}

/// The class of a parsed URL's host. Hosts of `http`/`https` URLs are already normalized by
/// the URL parser; those of other schemes are opaque and read again as an `http` host would be.
#[cfg(test)] // the table tests read hosts and bodies through it
pub(crate) fn classify_url(url: &Url) -> HostClass {
    match url.host() {
        None => HostClass::Unparsable,
        Some(Host::Domain(d)) if !is_special(url.scheme()) => classify_host(d),
        Some(host) => classify_parsed(&host),
    }
}

#[cfg(test)] // the table tests read hosts and bodies through it
fn is_special(scheme: &str) -> bool {
    matches!(scheme, "http" | "https" | "ws" | "wss" | "ftp")
}

/// The class of a host already read by the URL parser.
#[cfg(test)] // the table tests read hosts and bodies through it
pub(crate) fn classify_parsed(host: &Host<&str>) -> HostClass {
    match host {
        Host::Domain(d) => classify_domain(d),
        Host::Ipv4(ip) => classify_ipv4(*ip),
        Host::Ipv6(ip) => classify_ipv6(*ip),
    }
}

/// The class of a host as written in a URI's authority: a name (any case, trailing dot allowed,
/// percent-encoded or international), an IPv4 address in any of the URL standard's numeric
/// spellings, or an IPv6 address with or without brackets.
pub(crate) fn classify_host(host: &str) -> HostClass {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return match inner.parse::<Ipv6Addr>() {
            Ok(ip) => classify_ipv6(ip),
            Err(_) => HostClass::Unparsable,
        };
    }
    if let Ok(ip) = host.parse::<Ipv6Addr>() {
        return classify_ipv6(ip);
    }
    if is_plain_name(host) {
        return classify_domain(host);
    }
    match Host::parse(host) {
        Ok(Host::Domain(d)) => classify_domain(&d),
        Ok(Host::Ipv4(ip)) => classify_ipv4(ip),
        Ok(Host::Ipv6(ip)) => classify_ipv6(ip),
        Err(_) => HostClass::Unparsable,
    }
}

/// A name the URL parser would return unchanged (lower-case ASCII letters, digits, `-`, `.`;
/// no punycode label; a last label that is not numeric, so not an IPv4 spelling): read it
/// without the parser.
fn is_plain_name(host: &str) -> bool {
    let plain_bytes = host
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !plain_bytes || host.is_empty() {
        return false;
    }
    let trimmed = host.strip_suffix('.').unwrap_or(host);
    let last = trimmed.rsplit('.').next().unwrap_or("");
    let numeric_last =
        last.is_empty() || last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x");
    !numeric_last && !trimmed.split('.').any(|label| label.starts_with("xn--"))
}

/// Names that are local by definition (RFC 6761 §6.3) or by the usual `/etc/hosts`.
const LOCAL_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "ip6-localhost",
    "ip6-loopback",
];

/// Names of cloud metadata services. `metadata` alone resolves to the metadata server inside
/// Google Cloud VMs (their resolver searches `google.internal`); `instance-data` does inside
/// EC2.
const METADATA_NAMES: &[&str] = &[
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
];

/// The class of a (lower-case) domain name; trailing dots are ignored.
pub(crate) fn classify_domain(name: &str) -> HostClass {
    let name = name.trim_end_matches('.');
    if name.is_empty() {
        return HostClass::Unparsable;
    }
    let is = |list: &[&str]| list.iter().any(|n| name.eq_ignore_ascii_case(n));
    let ends_localhost = name.len() > ".localhost".len()
        && name
            .get(name.len() - ".localhost".len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(".localhost"));
    if is(LOCAL_NAMES) || ends_localhost {
        HostClass::Localhost
    } else if is(METADATA_NAMES) {
        HostClass::Metadata
    } else {
        HostClass::Public
    }
}

/// Metadata endpoints by IPv4 address: AWS, Azure, GCP, OCI and DigitalOcean IMDS
/// (`169.254.169.254`), AWS ECS task metadata (`169.254.170.2`), Alibaba Cloud
/// (`100.100.100.200`), Azure's WireServer (`168.63.129.16`, a public address that only the
/// host platform answers).
const METADATA_V4: &[Ipv4Addr] = &[
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(100, 100, 100, 200),
    Ipv4Addr::new(168, 63, 129, 16),
];

/// Metadata endpoints by IPv6 address: AWS IMDS over IPv6 (`fd00:ec2::254`, a unique local
/// address).
const METADATA_V6: &[Ipv6Addr] = &[Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)];

/// The class of an IP address.
#[cfg(test)] // the table tests read hosts and bodies through it
pub(crate) fn classify_ip(ip: IpAddr) -> HostClass {
    match ip {
        IpAddr::V4(v4) => classify_ipv4(v4),
        IpAddr::V6(v6) => classify_ipv6(v6),
    }
}

/// The class of an IPv4 address.
pub(crate) fn classify_ipv4(ip: Ipv4Addr) -> HostClass {
    let [a, b, ..] = ip.octets();
    if METADATA_V4.contains(&ip) {
        HostClass::Metadata
    } else if a == 0 {
        HostClass::Unspecified
    } else if a == 169 && b == 254 {
        HostClass::LinkLocal
    } else if a == 127 {
        HostClass::Loopback
    } else if a == 10 || (a == 172 && (16..32).contains(&b)) || (a == 192 && b == 168) {
        HostClass::Private
    } else if a == 100 && (64..128).contains(&b) {
        HostClass::SharedAddress
    } else if a >= 224 {
        HostClass::NonUnicast
    } else {
        HostClass::Public
    }
}

/// The class of an IPv6 address. Addresses that carry an IPv4 address — IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) and 6to4
/// (`2002::/16`) — are classed by that IPv4 address, since a dual-stack host or a translator
/// delivers them there.
pub(crate) fn classify_ipv6(ip: Ipv6Addr) -> HostClass {
    let seg = ip.segments();
    if ip.is_unspecified() {
        return HostClass::Unspecified;
    }
    if ip.is_loopback() {
        return HostClass::Loopback;
    }
    if METADATA_V6.contains(&ip) {
        return HostClass::Metadata;
    }
    if let Some(v4) = embedded_ipv4(seg) {
        return classify_ipv4(v4);
    }
    match seg[0] {
        s if s & 0xffc0 == 0xfe80 => HostClass::LinkLocal,
        s if s & 0xffc0 == 0xfec0 => HostClass::Private,
        s if s & 0xfe00 == 0xfc00 => HostClass::Private,
        s if s & 0xff00 == 0xff00 => HostClass::NonUnicast,
        _ => HostClass::Public,
    }
}

fn embedded_ipv4(seg: [u16; 8]) -> Option<Ipv4Addr> {
    let v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match seg {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0, 0, hi, lo] => Some(v4(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(v4(hi, lo)),
        [0x2002, hi, lo, ..] => Some(v4(hi, lo)),
        _ => None,
    }
}

#[cfg(test)]
#[path = "ssrf_tests.rs"]
mod tests;
