//! Address lists an operator writes (`metrics_allow_from`, `webhook_allow_private`):
//! comma-separated IP addresses (`127.0.0.1`, `::1`, `[::1]`) or CIDR prefixes (`10.1.0.0/16`,
//! `fd00::/8`). One strict parser for both: an entry that is not an address, or a prefix length
//! past the address's bits, is an error naming the entry, never skipped or clamped. An IPv4
//! address written as IPv6 (`::ffff:10.0.0.1`) is the IPv4 address.
//!
//! Written here rather than taken from a crate: a prefix comparison on `std::net` addresses.

use std::net::IpAddr;

/// A parsed address list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressList {
    prefixes: Vec<Prefix>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is; any other as it is.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

impl AddressList {
    /// Parses a list; empty (or only commas and spaces) is a list that holds nothing. The error
    /// names the bad entry.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut prefixes = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (addr, len) = match entry.split_once('/') {
                Some((a, l)) => (a, Some(l)),
                None => (entry, None),
            };
            let addr: IpAddr = addr
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| format!("'{entry}' is not an IP address or CIDR prefix"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let len = match len {
                Some(l) => l
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or_else(|| format!("'{entry}' has an invalid prefix length"))?,
                None => max,
            };
            // An IPv4-mapped prefix (`::ffff:10.0.0.0/104`) is the IPv4 prefix it maps (the
            // addresses it holds are compared as IPv4); a shorter one stays IPv6.
            let prefix = match (addr, canonical(addr)) {
                (IpAddr::V6(_), IpAddr::V4(v4)) if len >= 96 => Prefix {
                    addr: IpAddr::V4(v4),
                    len: len - 96,
                },
                _ => Prefix { addr, len },
            };
            prefixes.push(prefix);
        }
        Ok(Self { prefixes })
    }

    /// Whether `ip` is in the list.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.prefixes.iter().any(|p| p.contains(ip))
    }

    /// Whether the list holds nothing.
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn holds(list: &str, ip: &str) -> bool {
        AddressList::parse(list)
            .unwrap()
            .contains(ip.parse().unwrap())
    }

    #[test]
    fn addresses_and_prefixes() {
        assert!(holds("127.0.0.1", "127.0.0.1"));
        assert!(holds("10.0.0.0/8, ::1", "10.2.3.4"));
        assert!(holds("10.0.0.0/8, [::1]", "::1"));
        assert!(holds("0.0.0.0/0", "192.0.2.1"));
        assert!(!holds("10.0.0.0/8", "11.0.0.1"));
        assert!(!holds("", "127.0.0.1"));
        assert!(holds("fd00::/8", "fd12::1"));
        assert!(!holds("fd00::/8", "fe80::1"));
        assert!(
            holds("10.0.0.0/8", "::ffff:10.9.9.9"),
            "a mapped IPv4 address"
        );
        assert!(holds("::ffff:0:0/96", "192.0.2.1"), "every mapped address");
        assert!(holds("::ffff:10.0.0.0/104", "10.1.1.1"));
        assert!(!holds("::ffff:10.0.0.0/104", "11.1.1.1"));
        assert!(holds("::ffff:10.0.0.1", "10.0.0.1"));
    }

    #[test]
    fn a_bad_entry_is_an_error_that_names_it_never_skipped_or_clamped() {
        for (list, why) in [
            ("10.0.0.0/33", "'10.0.0.0/33' has an invalid prefix length"),
            ("fd00::/129", "'fd00::/129' has an invalid prefix length"),
            ("10.0.0.0/x", "'10.0.0.0/x' has an invalid prefix length"),
            (
                "127.0.0.1, localhost",
                "'localhost' is not an IP address or CIDR prefix",
            ),
        ] {
            assert_eq!(AddressList::parse(list).unwrap_err(), why, "{list}");
        }
    }
}
