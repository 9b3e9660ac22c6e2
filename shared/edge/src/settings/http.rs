//! What every HTTP request reads: the component's `http_policy` bundle.

use leaderboard::Result;

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

impl Http {
    /// The parts of the joined value (a missing part is unset). Every part is checked, also
    /// those read later by other modules (the proxies, the Redis target, the rate limits), so a
    /// bad one fails every request of the component as it starts — `/health/ready` among them.
    pub fn parse(joined: &str) -> Result<Self> {
        let mut parts = joined.splitn(9, '|');
        let mut part = || parts.next();
        let cors_allowed_origins = CORS_ALLOWED_ORIGINS.value(part())?;
        let request_log = REQUEST_LOG.value(part())?;
        let hsts = HSTS_MAX_AGE_SECS.value(part())?;
        let metrics_every = METRICS.value(part())?;
        BEHIND_TRUSTED_PROXY.value(part())?;
        let urls = REDIS_URL.value(part())?;
        let cluster = REDIS_MODE.value(part())?;
        RedisTarget::parse(&urls, cluster).map_err(|why| REDIS_URL.refused(&urls, &why))?;
        REDIS_MIN_REPLICA_ACKS.value(part())?;
        // Empty is the shipped policies, which need no check on every request.
        if let Some(limits) = part().filter(|p| !p.trim().is_empty()) {
            RATE_LIMITS.value(Some(limits))?;
        }
        Ok(Self {
            cors_allowed_origins,
            request_log,
            hsts,
            metrics_every,
        })
    }

    /// The settings a request falls back on while it answers that they are misconfigured: no
    /// CORS, the access log on, no HSTS, every request counted.
    pub fn fallback() -> Self {
        Self {
            cors_allowed_origins: String::new(),
            request_log: true,
            hsts: None,
            metrics_every: 1,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_in_order_and_missing_parts_their_defaults() {
        let p = Http::parse("https://a.example, https://b.example|json|31536000").unwrap();
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
        let p = Http::parse("|off||off").unwrap();
        assert!(!p.request_log);
        assert_eq!(p.hsts, None);
        assert_eq!(p.metrics_every, 0);
        let p = Http::parse("").unwrap();
        assert!(p.request_log && p.cors_allowed_origins.is_empty());
        assert_eq!(Http::parse("||0").unwrap().hsts, None);
        // The ninth part is the rate limits, checked here too.
        let limits = r#"[{"name":"a","key":"ip","limit":5,"window_secs":1}]"#;
        assert!(Http::parse(&format!("||||||||{limits}")).is_ok());
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
            let e = Http::parse(joined).unwrap_err();
            assert_eq!(e.slug(), "misconfigured", "{joined}");
            assert_eq!(e.status(), 500);
            let text = e.to_string();
            assert!(text.contains(&format!("'{variable}'")), "{joined}: {text}");
            assert!(
                !text.contains(joined.trim_matches('|')),
                "{joined}: the value is for the log, not the caller: {text}"
            );
        }
    }
}
