//! Where a webhook may be delivered: the URL check that keeps deliveries off the service's own
//! network (SSRF).
//!
//! A target is `https://host[:port][/path][?query]`. Its host is refused when it names the local
//! machine or a private network, by name or by address: `localhost` (and `*.localhost`),
//! Spin's service-chaining names (`*.spin.internal`, `self`), cloud metadata names, and the
//! address ranges below. IPv4 written in any form but the canonical dotted quad (`2130706433`,
//! `0x7f.1`, `0177.0.0.1`) is refused too, since resolvers read those as addresses.
//!
//! | range | reason |
//! | --- | --- |
//! | `127.0.0.0/8`, `::1` | loopback |
//! | `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`, `100.64.0.0/10`, `fc00::/7` | private |
//! | `169.254.0.0/16`, `fe80::/10` | link-local (`169.254.169.254`: metadata) |
//! | `0.0.0.0/8`, `::` | unspecified |
//! | `224.0.0.0/4`, `240.0.0.0/4`, `ff00::/8` | multicast or reserved |
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are judged as their IPv4 address. An operator
//! opens exactly the addresses or prefixes it names ([`TargetPolicy::parse`], the variable
//! `webhook_allow_private`, e.g. `127.0.0.1` for a receiver on the same machine); a target so
//! opened may also use plain `http`. Names are not resolved here (a guest has no DNS): a public
//! name that resolves to a private address must be stopped by egress rules, as docs/webhooks.md
//! ("Targets") says.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{LeaderboardError, Result};
use crate::policy::addresses::{AddressList, canonical};

/// The longest target URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// A parsed, accepted target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `https`, or `http` for an opened private address.
    pub scheme: String,
    /// The host as written (lowercase; IPv6 without brackets).
    pub host: String,
    /// The port (the scheme's default when absent).
    pub port: u16,
}

/// Which private addresses an operator opened for webhook targets (`webhook_allow_private`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    open: AddressList,
}

impl TargetPolicy {
    /// Parses `webhook_allow_private`: comma-separated addresses (`127.0.0.1`, `::1`) or CIDR
    /// prefixes (`10.1.0.0/16`); empty opens nothing. The error names the bad entry.
    pub fn parse(spec: &str) -> std::result::Result<Self, String> {
        Ok(Self {
            open: AddressList::parse(spec)?,
        })
    }

    fn opens(&self, ip: IpAddr) -> bool {
        self.open.contains(ip)
    }

    /// Checks a target URL: the parsed target, or `422 invalid-webhook` naming why it is refused.
    pub fn check(&self, url: &str) -> Result<Target> {
        let refuse = |why: String| LeaderboardError::InvalidWebhook(format!("url: {why}"));
        if url.len() > MAX_URL_LEN {
            return Err(refuse(format!("longer than {MAX_URL_LEN} characters")));
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(refuse("contains whitespace or control characters".into()));
        }
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| refuse(format!("'{url}' is not an absolute https URL")))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "https" && scheme != "http" {
            return Err(refuse(format!("scheme '{scheme}' is not https")));
        }
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if rest[authority_end..].contains('#') {
            return Err(refuse("must not carry a fragment".into()));
        }
        let authority = &rest[..authority_end];
        if authority.contains('@') {
            return Err(refuse("must not carry user information".into()));
        }
        let (host, port) = split_host_port(authority).map_err(refuse)?;
        let default_port = if scheme == "https" { 443 } else { 80 };
        let port = match port {
            None => default_port,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| refuse(format!("invalid port '{p}'")))?,
        };
        let host = host.to_ascii_lowercase();
        let opened = match classify(&host).map_err(refuse)? {
            Class::Public => false,
            Class::Refused(ip, reason) => {
                if ip.is_some_and(|ip| self.opens(ip)) {
                    true
                } else {
                    return Err(refuse(format!(
                        "host '{host}' is {reason}; webhooks are delivered to public addresses \
                         only (an operator may open an address in webhook_allow_private)"
                    )));
                }
            }
        };
        if scheme == "http" && !opened {
            return Err(refuse(
                "scheme 'http' is not https (plain http only reaches addresses opened in \
                 webhook_allow_private)"
                    .into(),
            ));
        }
        Ok(Target { scheme, host, port })
    }
}

fn split_host_port(authority: &str) -> std::result::Result<(&str, Option<&str>), String> {
    if authority.is_empty() {
        return Err("has no host".into());
    }
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| "has an unterminated IPv6 address".to_string())?;
        return match after {
            "" => Ok((host, None)),
            p => p
                .strip_prefix(':')
                .map(|p| (host, Some(p)))
                .ok_or_else(|| "has junk after its IPv6 address".to_string()),
        };
    }
    Ok(match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    })
}

enum Class {
    Public,
    /// Refused: the address (when the host is one) and why.
    Refused(Option<IpAddr>, &'static str),
}

fn classify(host: &str) -> std::result::Result<Class, String> {
    if host.is_empty() {
        return Err("has no host".into());
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        let ip = canonical(ip);
        return Ok(match refused_address(ip) {
            Some(reason) => Class::Refused(Some(ip), reason),
            None => Class::Public,
        });
    }
    if host.contains(':') {
        return Err(format!(
            "'{host}' is not a valid host (IPv6 needs brackets)"
        ));
    }
    let name = host.trim_end_matches('.');
    if looks_numeric(name) {
        return Err(format!(
            "'{host}' is an IPv4 address in a non-canonical form; write it as a dotted quad"
        ));
    }
    if !name.split('.').all(|l| {
        !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }) || name.len() > 253
    {
        return Err(format!("'{host}' is not a valid host name"));
    }
    Ok(if name == "localhost" || name.ends_with(".localhost") {
        Class::Refused(None, "loopback (localhost)")
    } else if name == "self" || name.ends_with(".spin.internal") {
        Class::Refused(None, "an internal service name")
    } else if matches!(
        name,
        "metadata" | "metadata.google.internal" | "instance-data" | "instance-data.ec2.internal"
    ) {
        Class::Refused(None, "a cloud metadata service")
    } else {
        Class::Public
    })
}

/// WHATWG URL parsing reads a host whose last label is a number (decimal, `0x` hex, or octal)
/// as an IPv4 address; such hosts are refused unless they are a canonical dotted quad.
fn looks_numeric(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or("");
    let numeric = |l: &str| {
        !l.is_empty()
            && (l.bytes().all(|b| b.is_ascii_digit())
                || (l.len() > 1
                    && (l.starts_with("0x") || l.starts_with("0X"))
                    && l[2..].bytes().all(|b| b.is_ascii_hexdigit())))
    };
    numeric(last)
}

fn refused_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match (a, b) {
        (127, _) => "a loopback address",
        (10, _) | (192, 168) => "a private address",
        (172, b) if (16..32).contains(&b) => "a private address",
        (100, b) if (64..128).contains(&b) => "a shared (carrier-grade NAT) address",
        (169, 254) if ip == Ipv4Addr::new(169, 254, 169, 254) => "a cloud metadata address",
        (169, 254) => "a link-local address",
        (0, _) => "an unspecified address",
        (a, _) if a >= 224 => "a multicast or reserved address",
        _ => return None,
    })
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_unspecified() {
        "an unspecified address"
    } else if first & 0xfe00 == 0xfc00 {
        "a private (unique local) address"
    } else if first & 0xffc0 == 0xfe80 {
        "a link-local address"
    } else if first & 0xff00 == 0xff00 {
        "a multicast address"
    } else {
        return None;
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn reason(policy: &TargetPolicy, url: &str) -> String {
        match policy.check(url) {
            Ok(t) => panic!("{url} accepted as {t:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn public_https_targets_pass() {
        let p = TargetPolicy::default();
        let t = p.check("https://hooks.example.com/lb?x=1").unwrap();
        assert_eq!(
            (t.scheme.as_str(), t.host.as_str(), t.port),
            ("https", "hooks.example.com", 443)
        );
        assert_eq!(p.check("https://93.184.216.34:8443/").unwrap().port, 8443);
        assert_eq!(
            p.check("https://[2606:4700::1111]/h").unwrap().host,
            "2606:4700::1111"
        );
    }

    #[test]
    fn private_loopback_link_local_and_metadata_are_refused_with_the_reason() {
        let p = TargetPolicy::default();
        for (url, why) in [
            ("https://127.0.0.1/", "loopback"),
            ("https://127.8.9.10:9000/", "loopback"),
            ("https://localhost/", "localhost"),
            ("https://api.localhost/", "localhost"),
            ("https://10.1.2.3/", "private"),
            ("https://172.16.0.1/", "private"),
            ("https://172.31.255.255/", "private"),
            ("https://192.168.1.1/", "private"),
            ("https://169.254.169.254/latest", "metadata"),
            ("https://169.254.1.1/", "link-local"),
            ("https://[::1]/", "loopback"),
            ("https://[fd00::1]/", "unique local"),
            ("https://[fc00::1]/", "unique local"),
            ("https://[fe80::1]/", "link-local"),
            ("https://[::ffff:127.0.0.1]/", "loopback"),
            ("https://[::ffff:10.0.0.1]/", "private"),
            ("https://0.0.0.0/", "unspecified"),
            ("https://metadata.google.internal/", "metadata"),
            ("http://tokens.spin.internal/", "internal"),
            ("https://2130706433/", "non-canonical"),
            ("https://0x7f.1/", "non-canonical"),
            ("https://example.0x10/", "non-canonical"),
        ] {
            let r = reason(&p, url);
            assert!(r.contains(why), "{url}: {r}");
        }
        // 172.32/12's neighbour is public.
        assert!(p.check("https://172.32.0.1/").is_ok());
    }

    #[test]
    fn http_user_info_fragments_and_junk_are_refused() {
        let p = TargetPolicy::default();
        for (url, why) in [
            ("http://hooks.example.com/", "not https"),
            ("ftp://hooks.example.com/", "not https"),
            ("hooks.example.com/x", "absolute"),
            ("https://user:pw@hooks.example.com/", "user information"),
            ("https://hooks.example.com/#f", "fragment"),
            ("https://hooks.example.com:0/", "port"),
            ("https://hooks.example.com:99999/", "port"),
            ("https:///x", "no host"),
            ("https://bad_host/", "valid host"),
            ("https://hooks.example.com/a b", "whitespace"),
        ] {
            let r = reason(&p, url);
            assert!(r.contains(why), "{url}: {r}");
        }
    }

    #[test]
    fn an_operator_opens_exactly_what_it_names() {
        let p = TargetPolicy::parse("127.0.0.1, 10.20.0.0/16,::1").unwrap();
        let t = p.check("http://127.0.0.1:8080/hook").unwrap();
        assert_eq!((t.scheme.as_str(), t.port), ("http", 8080));
        assert!(p.check("https://10.20.3.4/").is_ok());
        assert!(p.check("http://[::1]:9/").is_ok());
        assert!(p.check("http://[::ffff:127.0.0.1]:9/").is_ok());
        assert!(reason(&p, "http://127.0.0.2/").contains("loopback"));
        assert!(reason(&p, "https://10.21.0.1/").contains("private"));
        assert!(reason(&p, "https://169.254.169.254/").contains("metadata"));
        assert!(reason(&p, "http://localhost:8080/").contains("localhost"));
        assert!(TargetPolicy::parse("10.0.0.0/33").is_err());
        assert!(TargetPolicy::parse("example.com").is_err());
        assert_eq!(TargetPolicy::parse(" , ").unwrap(), TargetPolicy::default());
    }
}
