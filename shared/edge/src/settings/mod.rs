//! The components' settings: every variable the app reads is a row of one table
//! ([`VARIABLES`]) with what it takes and its default, and every read goes through one rule.
//!
//! **The rule for a value:** empty or unset takes the row's default (which the manifests repeat:
//! a test holds them to it). A value the row does not take is never replaced by a default: what
//! needs it fails with `500 misconfigured`, whose detail names the variable and what it takes
//! (never its value: the caller may be anyone), and the component's log gets the value (a
//! secret's is not written) and why. A deploy with a bad value therefore shows at once — on the
//! component's `/health/ready` for every part of `http_policy`, which every request reads — and
//! never quietly runs on a default (an HSTS header, a proxy count or an address list an operator
//! meant to set).
//!
//! The typed settings each component reads: [`Http`] (every HTTP request: the `http_policy`
//! bundle), [`live`] (live updates), [`push`] (the worker's push tier), [`delivery`] (webhook
//! delivery), [`reclaim_after_ms`] (the drain), [`redis_target`] (the source of truth).
//!
//! One exception: the token checks' key variables ([`JWT_HS256_SECRET`], [`JWT_JWKS`],
//! [`JWT_ISSUER`], [`JWT_AUDIENCE`]) are rows that take any text, read by name by `auth` and the
//! `tokens` component (a request without a token reads none of them), and checked where tokens
//! are verified: a key they cannot use is `misconfigured` too, its detail naming the variable and
//! why (an HS256 secret's length, a JWKS key's index and `kid`; never a secret's value).
//!
//! `/health/live` is served whatever the values: liveness says the component runs, and a
//! probe that restarted it over a value would only restart it again (readiness says the rest).

use leaderboard::http::push;
use leaderboard::outbound::webhook;
use leaderboard::outbound::webhook_target::TargetPolicy;
use leaderboard::policy::addresses::AddressList;
use leaderboard::policy::ratelimit::{self, Policy};
use leaderboard::{LeaderboardError, Result};

use crate::platform::Platform;

mod components;
mod http;
mod redis;

pub use components::{Delivery, delivery, live, push, reclaim_after_ms};
pub use http::Http;
pub use redis::{RedisTarget, redis_target};

/// A variable: its name, what it takes, its default, and how a value becomes a `T`.
pub struct Var<T: 'static> {
    /// The app variable's name (`spin.toml` `[variables]`).
    pub name: &'static str,
    /// What a value must be, as the error says it (`a number of seconds; 0: none`).
    pub takes: &'static str,
    /// What empty or unset means, as the manifests write it.
    pub default: &'static str,
    /// Whether the value is a secret (never written to a log; its parse's reasons must not
    /// quote it either).
    pub secret: bool,
    parse: fn(&str) -> std::result::Result<T, String>,
}

impl<T> Var<T> {
    /// The value `raw` stands for: empty or unset takes the default; a value the variable does
    /// not take is `misconfigured` (the module's rule).
    pub fn value(&self, raw: Option<&str>) -> Result<T> {
        let raw = raw.filter(|r| !r.trim().is_empty()).unwrap_or(self.default);
        (self.parse)(raw).map_err(|why| self.refused(raw, &why))
    }

    /// Reads the variable from the platform and takes its [`value`](Self::value).
    pub async fn read(&self, platform: &dyn Platform) -> Result<T> {
        self.value(platform.variable(self.name).await.as_deref())
    }

    /// The error for a value this variable does not take; the value and why go to the log.
    fn refused(&self, raw: &str, why: &str) -> LeaderboardError {
        let shown = if self.secret {
            "(a secret, not shown)".to_owned()
        } else {
            format!("'{raw}'")
        };
        eprintln!("settings: the '{}' variable is {shown}: {why}", self.name);
        misconfigured(self.name, self.takes)
    }
}

/// `500 misconfigured` for the variable `name`, which takes `takes`.
pub fn misconfigured(name: &str, takes: &str) -> LeaderboardError {
    LeaderboardError::Misconfigured(format!(
        "the '{name}' variable has a value it does not take (it takes {takes}); the component's \
         log says which and why"
    ))
}

/// A row of [`VARIABLES`], whatever its type.
pub trait Row: Sync {
    /// The variable's name.
    fn name(&self) -> &'static str;
    /// Its default, as the manifests write it.
    fn default(&self) -> &'static str;
    /// Whether its default is a value it takes (a test holds every row to it).
    fn default_is_taken(&self) -> bool;
}

impl<T> Row for Var<T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn default(&self) -> &'static str {
        self.default
    }
    fn default_is_taken(&self) -> bool {
        (self.parse)(self.default).is_ok()
    }
}

fn any(raw: &str) -> std::result::Result<String, String> {
    Ok(raw.to_owned())
}

fn whole<N: std::str::FromStr>(raw: &str) -> std::result::Result<N, String> {
    raw.trim()
        .parse()
        .map_err(|_| "not a whole number in range".to_owned())
}

fn within(raw: &str, lo: u32, hi: u32) -> std::result::Result<u32, String> {
    let n: u32 = whole(raw)?;
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is outside {lo}..={hi}"))
    }
}

fn duration_within(raw: &str, lo: u64, hi: u64) -> std::result::Result<u64, String> {
    let ms = webhook::parse_duration_ms(raw)?;
    if (lo..=hi).contains(&ms) {
        Ok(ms)
    } else {
        Err(format!("{ms} ms is outside {lo}..={hi} ms"))
    }
}

/// `redis_url`: a server's URL, or a cluster's seed nodes (checked with `redis_mode`). A secret:
/// its URLs may carry the password.
pub const REDIS_URL: Var<String> = Var {
    name: "redis_url",
    takes: "a redis:// URL, or with redis_mode cluster a comma-separated list of seed nodes",
    default: "redis://127.0.0.1:6379",
    secret: true,
    parse: any,
};

/// `redis_mode`: `single` or `cluster`.
pub const REDIS_MODE: Var<bool> = Var {
    name: "redis_mode",
    takes: "single or cluster",
    default: "single",
    secret: false,
    parse: |raw| match raw.trim() {
        "single" => Ok(false),
        "cluster" => Ok(true),
        _ => Err("neither single nor cluster".into()),
    },
};

/// `redis_min_replica_acks`: replicas that must hold a write before it is answered.
pub const REDIS_MIN_REPLICA_ACKS: Var<u32> = Var {
    name: "redis_min_replica_acks",
    takes: "a number of replicas (0: none)",
    default: "0",
    secret: false,
    parse: whole,
};

/// `rate_limits`: the policies (JSON); empty: the shipped defaults, `[]`: none.
pub const RATE_LIMITS: Var<Vec<Policy>> = Var {
    name: "rate_limits",
    takes: "a JSON array of rate-limit policies (empty: the shipped defaults; []: none)",
    default: "",
    secret: false,
    parse: |raw| {
        if raw.trim().is_empty() {
            Ok(ratelimit::default_policies())
        } else {
            ratelimit::parse_policies(raw).map_err(|e| e.to_string())
        }
    },
};

/// `behind_trusted_proxy`: how many proxies append to `X-Forwarded-For`.
pub const BEHIND_TRUSTED_PROXY: Var<usize> = Var {
    name: "behind_trusted_proxy",
    takes: "true, false or a number of proxies",
    default: "false",
    secret: false,
    parse: |raw| {
        ratelimit::trusted_proxies(Some(raw)).ok_or_else(|| "not true, false or a number".into())
    },
};

/// `cors_allowed_origins`: browser origins, comma-separated, or `*` (any list is taken).
pub const CORS_ALLOWED_ORIGINS: Var<String> = Var {
    name: "cors_allowed_origins",
    takes: "origins, comma-separated, or *",
    default: "",
    secret: false,
    parse: any,
};

/// `request_log`: `json` (a line per request) or `off`.
pub const REQUEST_LOG: Var<bool> = Var {
    name: "request_log",
    takes: "json or off",
    default: "json",
    secret: false,
    parse: |raw| match raw.trim() {
        "json" => Ok(true),
        "off" => Ok(false),
        _ => Err("neither json nor off".into()),
    },
};

/// `hsts_max_age_secs`: the `Strict-Transport-Security` header's max-age (empty or 0: none).
pub const HSTS_MAX_AGE_SECS: Var<Option<String>> = Var {
    name: "hsts_max_age_secs",
    takes: "a number of seconds (empty or 0: no HSTS header)",
    default: "",
    secret: false,
    parse: |raw| match raw.trim() {
        "" | "0" => Ok(None),
        secs => whole::<u64>(secs).map(|s| Some(format!("max-age={s}; includeSubDomains"))),
    },
};

/// `metrics`: one request in how many is counted (`on`: 1, `off`: 0, `1/N`).
pub const METRICS: Var<u32> = Var {
    name: "metrics",
    takes: "on, off or 1/N (one request in N, N ≥ 1)",
    default: "1/100",
    secret: false,
    parse: |raw| match raw.trim() {
        "on" | "1" => Ok(1),
        "off" | "0" => Ok(0),
        other => other
            .strip_prefix("1/")
            .and_then(|n| n.trim().parse::<u32>().ok())
            .filter(|n| *n >= 1)
            .ok_or_else(|| "not on, off or 1/N".into()),
    },
};

/// `metrics_token`: the scraper's bearer token (empty: none).
pub const METRICS_TOKEN: Var<String> = Var {
    name: "metrics_token",
    takes: "a bearer token",
    default: "",
    secret: true,
    parse: any,
};

/// `metrics_allow_from`: addresses that may scrape without the token.
pub const METRICS_ALLOW_FROM: Var<AddressList> = Var {
    name: "metrics_allow_from",
    takes: "IP addresses and CIDR prefixes, comma-separated",
    default: "",
    secret: false,
    parse: AddressList::parse,
};

/// `jwt_hs256_secret`: the HS256 key (checked for length where tokens are verified).
pub const JWT_HS256_SECRET: Var<String> = Var {
    name: "jwt_hs256_secret",
    takes: "a secret of at least 32 bytes",
    default: "",
    secret: true,
    parse: any,
};

/// `jwt_jwks`: the keys tokens are verified with (checked where they are).
pub const JWT_JWKS: Var<String> = Var {
    name: "jwt_jwks",
    takes: "a JWKS document or one JWK",
    default: "",
    secret: false,
    parse: any,
};

/// `jwt_issuer`: the `iss` tokens must carry (empty: any).
pub const JWT_ISSUER: Var<String> = Var {
    name: "jwt_issuer",
    takes: "an issuer",
    default: "",
    secret: false,
    parse: any,
};

/// `jwt_audience`: an `aud` tokens must carry (empty: any).
pub const JWT_AUDIENCE: Var<String> = Var {
    name: "jwt_audience",
    takes: "an audience",
    default: "",
    secret: false,
    parse: any,
};

/// `inbox_reclaim_after_ms`: how long a drain may hold an inbox entry before another takes it.
pub const INBOX_RECLAIM_AFTER_MS: Var<u64> = Var {
    name: "inbox_reclaim_after_ms",
    takes: "a number of milliseconds",
    default: "30000",
    secret: false,
    parse: whole,
};

/// `live_max_secs`: the longest a live stream or long-poll lasts.
pub const LIVE_MAX_SECS: Var<u32> = Var {
    name: "live_max_secs",
    takes: "a number of seconds, 1 to 3600",
    default: "55",
    secret: false,
    parse: |raw| within(raw, 1, leaderboard::http::live::MAX_STREAM_SECS),
};

/// `live_heartbeat_secs`: a heartbeat on a stream idle this long.
pub const LIVE_HEARTBEAT_SECS: Var<u32> = Var {
    name: "live_heartbeat_secs",
    takes: "a number of seconds, 1 to 3600",
    default: "15",
    secret: false,
    parse: |raw| within(raw, 1, leaderboard::http::live::MAX_STREAM_SECS),
};

/// `live_max_streams`: streams and long-polls one instance holds at once.
pub const LIVE_MAX_STREAMS: Var<u32> = Var {
    name: "live_max_streams",
    takes: "a number of streams, at least 1",
    default: "500",
    secret: false,
    parse: |raw| within(raw, 1, u32::MAX),
};

/// `webhook_allow_private`: private addresses a webhook's target may name.
pub const WEBHOOK_ALLOW_PRIVATE: Var<TargetPolicy> = Var {
    name: "webhook_allow_private",
    takes: "IP addresses and CIDR prefixes, comma-separated",
    default: "",
    secret: false,
    parse: TargetPolicy::parse,
};

/// `webhook_retry_schedule`: the delays before each retry of a failed delivery.
pub const WEBHOOK_RETRY_SCHEDULE: Var<Vec<u64>> = Var {
    name: "webhook_retry_schedule",
    takes: "durations (ms, s, m, h, d), comma-separated, at most 20",
    default: webhook::DEFAULT_SCHEDULE,
    secret: false,
    parse: webhook::parse_schedule,
};

/// `webhook_timeout`: how long one delivery attempt may take.
pub const WEBHOOK_TIMEOUT: Var<u64> = Var {
    name: "webhook_timeout",
    takes: "a duration from 100ms to 60s",
    default: "15s",
    secret: false,
    parse: |raw| duration_within(raw, 100, 60_000),
};

/// `webhook_disable_after`: a subscription failing this long is disabled.
pub const WEBHOOK_DISABLE_AFTER: Var<u64> = Var {
    name: "webhook_disable_after",
    takes: "a duration (ms, s, m, h, d), up to 365d",
    default: "5d",
    secret: false,
    parse: |raw| duration_within(raw, 0, 365 * 86_400_000),
};

/// `webhook_debounce`: the least time between two `rank.top_changed` of a subscription and board.
pub const WEBHOOK_DEBOUNCE: Var<u64> = Var {
    name: "webhook_debounce",
    takes: "a duration (ms, s, m, h, d), up to 1h",
    default: "1s",
    secret: false,
    parse: |raw| duration_within(raw, 0, 3_600_000),
};

/// `push_publish_url`: the push tier's publisher (empty: nothing is published).
pub const PUSH_PUBLISH_URL: Var<Option<String>> = Var {
    name: "push_publish_url",
    takes: "an http or https URL",
    default: "",
    secret: false,
    parse: push::parse_url,
};

/// `live_publish_interval_ms`: at most one publish per board per this many milliseconds.
pub const LIVE_PUBLISH_INTERVAL_MS: Var<i64> = Var {
    name: "live_publish_interval_ms",
    takes: "a number of milliseconds, 0 to 2000",
    default: "250",
    secret: false,
    parse: push::parse_interval,
};

/// Every variable the components read.
pub const VARIABLES: &[&dyn Row] = &[
    &REDIS_URL,
    &REDIS_MODE,
    &REDIS_MIN_REPLICA_ACKS,
    &RATE_LIMITS,
    &BEHIND_TRUSTED_PROXY,
    &CORS_ALLOWED_ORIGINS,
    &REQUEST_LOG,
    &HSTS_MAX_AGE_SECS,
    &METRICS,
    &METRICS_TOKEN,
    &METRICS_ALLOW_FROM,
    &JWT_HS256_SECRET,
    &JWT_JWKS,
    &JWT_ISSUER,
    &JWT_AUDIENCE,
    &INBOX_RECLAIM_AFTER_MS,
    &LIVE_MAX_SECS,
    &LIVE_HEARTBEAT_SECS,
    &LIVE_MAX_STREAMS,
    &WEBHOOK_ALLOW_PRIVATE,
    &WEBHOOK_RETRY_SCHEDULE,
    &WEBHOOK_TIMEOUT,
    &WEBHOOK_DISABLE_AFTER,
    &WEBHOOK_DEBOUNCE,
    &PUSH_PUBLISH_URL,
    &LIVE_PUBLISH_INTERVAL_MS,
];

/// App variables only the manifests read (templates of `allowed_outbound_hosts` and the Redis
/// trigger's address): no component reads them, so they are no row of [`VARIABLES`].
pub const MANIFEST_ONLY: &[&str] = &[
    "redis_hosts",
    "redis_trigger_url",
    "webhook_allowed_hosts",
    "push_publish_hosts",
];

#[cfg(test)]
mod tests;
