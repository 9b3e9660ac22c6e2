//! What every HTTP request reads: the component's `http_policy` bundle.

use leaderboard::{LeaderboardError, Result};

use super::{
    BEHIND_TRUSTED_PROXY, CORS_ALLOWED_ORIGINS, HSTS_MAX_AGE_SECS, METRICS, RATE_LIMITS,
    REDIS_MIN_REPLICA_ACKS, REDIS_MODE, REDIS_URL, REQUEST_LOG, RedisTarget,
};

/// The HTTP settings of the component's `http_policy` variable (one of the
/// [`crate::platform::BUNDLES`]: `<cors_allowed_origins>|<request_log>|<hsts_max_age_secs>|
/// <metrics>|<behind_trusted_proxy>|<redis_url>|<redis_mode>|<redis_min_replica_acks>|
/// <rate_limits>`, app variables joined by the manifest's template, so a request reads one
/// variable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Http {
    /// The CORS allowlist.
    pub cors_allowed_origins: String,
    /// Whether to write the access log (`request_log` is `json`).
    pub request_log: bool,
    /// The `Strict-Transport-Security` value, if any.
    pub hsts: Option<String>,
    /// Record one request in this many in the metrics (`metrics`; 0: off).
    pub metrics_every: u32,
}

/// The bundle's name ([`crate::platform::BUNDLES`] lists its parts in order).
const BUNDLE: &str = "http_policy";

impl Http {
    /// The settings of the joined value, each part by its name in [`crate::platform::BUNDLES`]
    /// (a missing part is unset), and the first part that is misconfigured. Every part is
    /// checked, also those read later by other modules (the proxies, the Redis target, the rate
    /// limits), so a bad one fails every request of the component as it starts — `/health/ready`
    /// among them. A bad part's setting falls back on its default meanwhile ([`Http::fallback`]);
    /// the parts that parsed keep their values.
    pub fn parse(joined: &str) -> (Self, Option<LeaderboardError>) {
        let names = crate::platform::BUNDLES
            .iter()
            .find(|(b, _)| *b == BUNDLE)
            .map_or(&[][..], |(_, parts)| *parts);
        let values: Vec<&str> = joined.splitn(names.len().max(1), '|').collect();
        let part = |name: &str| {
            let at = names.iter().position(|n| *n == name)?;
            values.get(at).copied()
        };
        let fallback = Self::fallback();
        let mut first = None;
        let http = Self {
            cors_allowed_origins: kept(
                CORS_ALLOWED_ORIGINS.value(part(CORS_ALLOWED_ORIGINS.name)),
                fallback.cors_allowed_origins,
                &mut first,
            ),
            request_log: kept(
                REQUEST_LOG.value(part(REQUEST_LOG.name)),
                fallback.request_log,
                &mut first,
            ),
            hsts: kept(
                HSTS_MAX_AGE_SECS.value(part(HSTS_MAX_AGE_SECS.name)),
                fallback.hsts,
                &mut first,
            ),
            metrics_every: kept(
                METRICS.value(part(METRICS.name)),
                fallback.metrics_every,
                &mut first,
            ),
        };
        kept(
            BEHIND_TRUSTED_PROXY
                .value(part(BEHIND_TRUSTED_PROXY.name))
                .map(drop),
            (),
            &mut first,
        );
        let target = REDIS_URL.value(part(REDIS_URL.name)).and_then(|urls| {
            let cluster = REDIS_MODE.value(part(REDIS_MODE.name))?;
            RedisTarget::parse(&urls, cluster).map_err(|why| REDIS_URL.refused(&urls, &why))
        });
        kept(target.map(drop), (), &mut first);
        let acks = REDIS_MIN_REPLICA_ACKS.value(part(REDIS_MIN_REPLICA_ACKS.name));
        kept(acks.map(drop), (), &mut first);
        // Empty is the shipped policies, which need no check on every request.
        if let Some(limits) = part(RATE_LIMITS.name).filter(|p| !p.trim().is_empty()) {
            kept(RATE_LIMITS.value(Some(limits)).map(drop), (), &mut first);
        }
        (http, first)
    }

    /// What a bad part falls back on: its default (the table's, which a test holds to parse).
    pub fn fallback() -> Self {
        Self {
            cors_allowed_origins: CORS_ALLOWED_ORIGINS.value(None).unwrap_or_default(),
            request_log: REQUEST_LOG.value(None).unwrap_or(true),
            hsts: HSTS_MAX_AGE_SECS.value(None).unwrap_or_default(),
            metrics_every: METRICS.value(None).unwrap_or(1),
        }
    }
}

/// The value parsed, or `fallback` with the error kept in `first` unless one was already.
fn kept<T>(parsed: Result<T>, fallback: T, first: &mut Option<LeaderboardError>) -> T {
    parsed.unwrap_or_else(|e| {
        first.get_or_insert(e);
        fallback
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_in_order_and_missing_parts_their_defaults() {
        let ok = |joined: &str| {
            let (http, bad) = Http::parse(joined);
            assert!(bad.is_none(), "{joined}: {bad:?}");
            http
        };
        let p = ok("https://a.example, https://b.example|json|31536000");
        assert_eq!(
            p.cors_allowed_origins,
            "https://a.example, https://b.example"
        );
        assert!(p.request_log);
        assert_eq!(
            p.hsts.as_deref(),
            Some("max-age=31536000; includeSubDomains")
        );
        assert_eq!(p.metrics_every, 100, "the default, 1/100");
        let p = ok("|off||off");
        assert!(!p.request_log);
        assert_eq!(p.hsts, None);
        assert_eq!(p.metrics_every, 0);
        let p = ok("");
        assert!(p.request_log && p.cors_allowed_origins.is_empty());
        assert_eq!(ok("||0").hsts, None);
        // The ninth part is the rate limits, checked here too.
        let limits = r#"[{"name":"a","key":"ip","limit":5,"window_secs":1}]"#;
        ok(&format!("||||||||{limits}"));
    }

    #[test]
    fn a_bad_part_is_misconfigured_naming_its_variable_never_a_default() {
        for (joined, variable) in [
            ("|JSON", "request_log"),
            ("||a year", "hsts_max_age_secs"),
            ("|||sometimes", "metrics"),
            ("|||1/0", "metrics"),
            ("||||yes", "behind_trusted_proxy"),
            ("|||||redis://a:1,redis://b:2|single", "redis_url"),
            ("||||||redis://a:1|sentinel", "redis_mode"),
            ("|||||||-1", "redis_min_replica_acks"),
            ("||||||||{not json", "rate_limits"),
        ] {
            let e = Http::parse(joined).1.unwrap();
            assert_eq!(e.slug(), "misconfigured", "{joined}");
            assert_eq!(e.status(), 500);
            let text = e.to_string();
            assert!(text.contains(&format!("'{variable}'")), "{joined}: {text}");
            for value in joined.split('|').filter(|v| !v.is_empty()) {
                assert!(
                    !text.contains(value),
                    "{joined}: the value is for the log, not the caller: {text}"
                );
            }
        }
    }

    #[test]
    fn the_parts_that_parse_keep_their_values_beside_a_bad_one() {
        let (p, bad) = Http::parse("https://a.example|off|3600|sometimes");
        assert!(bad.is_some_and(|e| e.to_string().contains("'metrics'")));
        assert_eq!(p.cors_allowed_origins, "https://a.example");
        assert!(!p.request_log);
        assert!(p.hsts.is_some());
        assert_eq!(
            p.metrics_every, 100,
            "a bad metrics part counts as its default, 1/100"
        );
    }
}
