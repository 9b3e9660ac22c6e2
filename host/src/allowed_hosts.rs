//! `allowed_outbound_hosts`: Spin's `scheme://host[:port]` patterns and the check applied to every
//! outbound HTTP request and Redis connection.
//!
//! Scheme: a name or `*`. Host: a name, `*`, or `*.suffix`; `self` and `*.spin.internal` allow
//! service chaining. Port: a number or `*`; when omitted, the scheme's default port (`http` 80,
//! `https` 443, `redis` 6379, `rediss` 6380).

use anyhow::{Result, anyhow, bail};

/// One parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    scheme: Option<String>,
    host: HostMatch,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    Any,
    Suffix(String),
    Exact(String),
}

/// The scheme's default port.
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "redis" => Some(6379),
        "rediss" => Some(6380),
        _ => None,
    }
}

impl HostPattern {
    /// Parses a pattern (templates must already be expanded).
    pub fn parse(pattern: &str) -> Result<Self> {
        let (scheme, rest) = pattern.split_once("://").ok_or_else(|| {
            anyhow!(
                "allowed_outbound_hosts entry '{pattern}' needs a scheme, e.g. 'https://{pattern}'"
            )
        })?;
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            bail!("allowed_outbound_hosts entry '{pattern}' must not contain a path");
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (h, Some(p)),
            _ => (rest, None),
        };
        let host = host.to_ascii_lowercase();
        let host = if host == "*" {
            HostMatch::Any
        } else if let Some(suffix) = host.strip_prefix("*.") {
            HostMatch::Suffix(format!(".{suffix}"))
        } else if host.is_empty() || host.contains('*') {
            bail!("allowed_outbound_hosts entry '{pattern}' has an invalid host");
        } else if host == "self" {
            HostMatch::Exact("self.spin.internal".into())
        } else {
            HostMatch::Exact(host)
        };
        let scheme = (scheme != "*").then(|| scheme.to_ascii_lowercase());
        let port = match port {
            Some("*") => None,
            Some(p) => Some(p.parse::<u16>().map_err(|_| {
                anyhow!("allowed_outbound_hosts entry '{pattern}' has an invalid port '{p}'")
            })?),
            None => match &scheme {
                Some(s) => Some(default_port(s).ok_or_else(|| {
                    anyhow!(
                        "allowed_outbound_hosts entry '{pattern}' needs a port for scheme '{s}'"
                    )
                })?),
                None => None,
            },
        };
        Ok(Self { scheme, host, port })
    }

    /// Whether the pattern allows this destination.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        self.scheme.as_deref().is_none_or(|s| s == scheme)
            && self.port.is_none_or(|p| p == port)
            && match &self.host {
                HostMatch::Any => true,
                HostMatch::Suffix(s) => host.ends_with(s.as_str()),
                HostMatch::Exact(h) => *h == host,
            }
    }
}

/// A component's allow-list.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    patterns: Vec<HostPattern>,
}

impl AllowedHosts {
    /// Parses every entry.
    pub fn parse(entries: &[String]) -> Result<Self> {
        Ok(Self {
            patterns: entries
                .iter()
                .map(|e| HostPattern::parse(e))
                .collect::<Result<_>>()?,
        })
    }

    /// Checks a URL (`scheme://host[:port]/…`).
    pub fn allows_url(&self, url: &str) -> bool {
        let Ok(uri) = url.parse::<http::Uri>() else {
            return false;
        };
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
            return false;
        };
        let Some(port) = uri.port_u16().or_else(|| default_port(scheme)) else {
            return false;
        };
        self.allows(scheme, host.trim_matches(['[', ']']), port)
    }

    /// Checks a destination.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.patterns.iter().any(|p| p.allows(scheme, host, port))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn allowed(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn default_ports_wildcards_and_schemes() {
        let a = allowed(&[
            "https://api.example.com",
            "redis://127.0.0.1:6390",
            "http://*.spin.internal",
        ]);
        assert!(a.allows_url("https://api.example.com/x"));
        assert!(!a.allows_url("https://api.example.com:8443/x"));
        assert!(!a.allows_url("http://api.example.com/x"));
        assert!(a.allows_url("redis://127.0.0.1:6390/0"));
        assert!(!a.allows_url("redis://127.0.0.1:6379"));
        assert!(a.allows_url("http://scores.spin.internal/x"));
        let any = allowed(&["*://*:*"]);
        assert!(any.allows_url("http://10.0.0.1:1/"));
        assert!(!allowed(&[]).allows_url("http://x"));
    }

    #[test]
    fn bad_patterns_rejected() {
        assert!(HostPattern::parse("example.com").is_err());
        assert!(HostPattern::parse("https://example.com/path").is_err());
        assert!(HostPattern::parse("https://ex*ample.com").is_err());
        assert!(HostPattern::parse("https://example.com:http").is_err());
        assert!(HostPattern::parse("mqtt://broker").is_err());
    }
}
