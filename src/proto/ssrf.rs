//! The guard of [poll requests](crate::_protocol#poll-requests): URLs the layer follows come from someone else's answers, so a gateway
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
//! rebinding, `127.0.0.1.nip.io`). That needs a check where the connection is made:
//! [`crate::connect`] applies these classes to resolved addresses.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::Host;
#[cfg(test)]
use url::Url;

/// What kind of host a URL names, or an address is: the classes of the SSRF guard ([poll requests](crate::_protocol#poll-requests)),
/// shared by the layer's URL check and the [`connect`](crate::connect) address check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HostClass {
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
    pub fn always_refused(self) -> bool {
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
    pub fn is_internal(self) -> bool {
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

/// The rule of [poll requests](crate::_protocol#poll-requests), given the classes: `submission` is the class of the submission's host,
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
/// host platform answers), Oracle Cloud Classic (`192.0.0.192`, in the IETF protocol
/// assignments block).
const METADATA_V4: &[Ipv4Addr] = &[
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(100, 100, 100, 200),
    Ipv4Addr::new(168, 63, 129, 16),
    Ipv4Addr::new(192, 0, 0, 192),
];

/// Metadata endpoints by IPv6 address: AWS IMDS over IPv6 (`fd00:ec2::254`, a unique local
/// address).
const METADATA_V6: &[Ipv6Addr] = &[Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)];

/// The class of an IP address.
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

/// The class of an IPv6 address. An address that carries an IPv4 address a translator,
/// tunnel or dual-stack host delivers to is classed by that IPv4 address (see
/// [`embedded_ipv4`]); when the same address can be read more than one way, the most refused
/// reading wins.
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
    let own = match seg[0] {
        s if s & 0xffc0 == 0xfe80 => HostClass::LinkLocal,
        s if s & 0xffc0 == 0xfec0 => HostClass::Private,
        s if s & 0xfe00 == 0xfc00 => HostClass::Private,
        s if s & 0xff00 == 0xff00 => HostClass::NonUnicast,
        _ => HostClass::Public,
    };
    embedded_ipv4(ip)
        .into_iter()
        .flatten()
        .map(classify_ipv4)
        .fold(own, worse)
}

/// The more refused of two classes: always refused, then internal, then public.
fn worse(a: HostClass, b: HostClass) -> HostClass {
    let rank = |c: HostClass| match c {
        c if c.always_refused() => 2,
        c if c.is_internal() => 1,
        _ => 0,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// The IPv4 addresses an IPv6 address carries, every reading that applies (at most seven):
///
/// - IPv4-mapped `::ffff:a.b.c.d` and IPv4-compatible `::a.b.c.d` (RFC 4291 §2.5.5);
/// - IPv4-translated `::ffff:0:a.b.c.d` (SIIT, RFC 6145 §2.1 / RFC 7915 §2.1);
/// - NAT64: the well-known prefix `64:ff9b::/96` (RFC 6052 §2.1), and the rest of
///   `64:ff9b::/32`, which holds the local-use prefix `64:ff9b:1::/48` (RFC 8215), read at every
///   prefix length of RFC 6052 §2.2 (`/32`, `/40`, `/48`, `/56`, `/64`, `/96`) when the reserved
///   octet `u` (bits 64–71) is zero, since the operator's choice of length is not in the
///   address; a reading in `0.0.0.0/8` is a length not in use and is skipped (so a public
///   destination at one length is not refused for the zeros another length reads);
/// - 6to4 `2002:a.b.c.d::/48` (RFC 3056 §2);
/// - Teredo `2001:0::/32` (RFC 4380 §4): the server's address in bits 32–63 and the client's,
///   obfuscated (inverted), in bits 96–127;
/// - ISATAP interface identifiers `::0:5efe:a.b.c.d` and `::200:5efe:a.b.c.d` under any prefix
///   (RFC 5214 §6.1; the `u` and `g` bits may be set).
fn embedded_ipv4(ip: Ipv6Addr) -> [Option<Ipv4Addr>; 7] {
    let seg = ip.segments();
    let b = ip.octets();
    let at = |i: usize| Ipv4Addr::new(b[i], b[i + 1], b[i + 2], b[i + 3]);
    let mut found = [None; 7];
    match seg {
        [0, 0, 0, 0, 0, 0xffff, ..] | [0, 0, 0, 0, 0, 0, ..] | [0, 0, 0, 0, 0xffff, 0, ..] => {
            found[0] = Some(at(12));
        }
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => found[0] = Some(at(12)),
        [0x64, 0xff9b, ..] => {
            // RFC 6052 §2.2: the IPv4 octets fill bits PL..PL+32, skipping bits 64–71 (`u`).
            let skip_u = |from: usize| {
                let mut v4 = [0u8; 4];
                let octets = (from..).filter(|&i| i != 8).take(4);
                for (slot, i) in v4.iter_mut().zip(octets) {
                    *slot = b[i];
                }
                Ipv4Addr::from(v4)
            };
            // A reading in 0.0.0.0/8 is a length not in use, not an address: skipped.
            let usable = |v4: Ipv4Addr| Some(v4).filter(|v4| v4.octets()[0] != 0);
            for (n, prefix_octets) in [4usize, 5, 6, 7, 8].into_iter().enumerate() {
                if b[8] == 0 {
                    found[n] = usable(skip_u(prefix_octets));
                }
            }
            found[5] = usable(at(12));
        }
        [0x2002, ..] => found[0] = Some(at(2)),
        [0x2001, 0, ..] => {
            found[0] = Some(at(4));
            found[1] = Some(Ipv4Addr::from(!u32::from(at(12))));
        }
        _ => {}
    }
    if seg[4] & 0xfcff == 0 && seg[5] == 0x5efe {
        found[6] = Some(at(12));
    }
    found
}

#[cfg(test)]
#[path = "ssrf_tests.rs"]
mod tests;
