//! Edge-cache decisions: envelope freshness, `ETag`, `If-None-Match`, `Cache-Control`.
//!
//! A cached read is stored as a [`CacheEnvelope`] in the regional KV store. It is fresh for
//! `ttl_secs`, may be served as stale for `stale_secs` more, and records the board's regional
//! version it was computed at: a write in the region bumps that version, so the next read there is
//! a miss (read-your-writes). The key does not contain the version, so a key is overwritten rather
//! than orphaned (Spin KV has no expiry). Time is an argument, as everywhere in the core.

use serde::{Deserialize, Serialize};

use crate::config::Board;
use crate::cursor::fnv1a64;

/// A cached response body and when it was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheEnvelope {
    /// The board's regional version the body was computed at.
    pub version: i64,
    /// When it was stored (Unix ms).
    pub stored_at_ms: i64,
    /// Seconds it stays fresh.
    pub ttl_secs: u32,
    /// Seconds after that it may be served stale.
    pub stale_secs: u32,
    /// The strong validator of the body.
    pub etag: String,
    /// The response body (JSON text).
    pub body: String,
}

/// How usable a cached envelope is at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Within its TTL: serve it (`X-Cache: HIT`).
    Fresh,
    /// Past its TTL but within the stale window: serve it only if the origin cannot answer
    /// (`X-Cache: STALE`), i.e. stale-if-error.
    Stale,
    /// Too old to serve.
    Expired,
}

impl CacheEnvelope {
    /// Freshness at `now_ms` for the board's current regional `version`. An envelope of an older
    /// version is at best stale (usable only if the origin fails). A stored-at in the future (clock
    /// skew) counts as fresh.
    pub fn freshness(&self, version: i64, now_ms: i64) -> Freshness {
        let age_ms = now_ms.saturating_sub(self.stored_at_ms).max(0);
        let ttl_ms = i64::from(self.ttl_secs) * 1000;
        let stale_ms = ttl_ms + i64::from(self.stale_secs) * 1000;
        if age_ms < ttl_ms && version == self.version {
            Freshness::Fresh
        } else if age_ms < stale_ms {
            Freshness::Stale
        } else {
            Freshness::Expired
        }
    }

    /// Age in whole seconds (for the `Age` header).
    pub fn age_secs(&self, now_ms: i64) -> u64 {
        u64::try_from(now_ms.saturating_sub(self.stored_at_ms).max(0) / 1000).unwrap_or(0)
    }

    /// How long the whole envelope is worth keeping in the KV store.
    pub fn keep_secs(&self) -> u32 {
        self.ttl_secs.saturating_add(self.stale_secs)
    }
}

/// A strong `ETag` for a response body: a fingerprint of the exact bytes, quoted.
pub fn etag_for(body: &str) -> String {
    format!("\"{:016x}\"", fnv1a64(body.as_bytes()))
}

/// Whether an `If-None-Match` header value matches `etag` (`*`, a list, weak or strong forms).
pub fn if_none_match(header: &str, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == bare)
}

/// `Cache-Control` for a board read: public boards may be cached by CDNs (`s-maxage` +
/// `stale-while-revalidate`); private boards only by the client, and must be revalidated.
pub fn cache_control(board: &Board) -> String {
    if board.public_read {
        format!(
            "public, max-age=0, s-maxage={}, stale-while-revalidate={}",
            board.cache.ttl_secs, board.cache.stale_secs
        )
    } else {
        "private, no-cache".to_string()
    }
}

/// The KV key of a cached read: tenant, board and a fingerprint of the normalised query (route,
/// period, parameters, API version).
pub fn cache_key(tenant: &str, board: &str, query: &str) -> String {
    format!("c:{tenant}/{board}:{:016x}", fnv1a64(query.as_bytes()))
}

/// The KV key of a board's regional version counter.
pub fn version_key(tenant: &str, board: &str) -> String {
    format!("v:{tenant}/{board}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(stored: i64) -> CacheEnvelope {
        CacheEnvelope {
            version: 3,
            stored_at_ms: stored,
            ttl_secs: 5,
            stale_secs: 30,
            etag: etag_for("{}"),
            body: "{}".into(),
        }
    }

    #[test]
    fn freshness_windows() {
        let e = env(1_000_000);
        assert_eq!(e.freshness(3, 1_000_000), Freshness::Fresh);
        assert_eq!(e.freshness(3, 1_004_999), Freshness::Fresh);
        assert_eq!(
            e.freshness(4, 1_000_001),
            Freshness::Stale,
            "a write in the region"
        );
        assert_eq!(e.freshness(3, 1_005_000), Freshness::Stale);
        assert_eq!(e.freshness(3, 1_034_999), Freshness::Stale);
        assert_eq!(e.freshness(3, 1_035_000), Freshness::Expired);
        assert_eq!(e.freshness(3, 900_000), Freshness::Fresh, "clock skew");
        assert_eq!(e.age_secs(1_012_500), 12);
        assert_eq!(e.keep_secs(), 35);
    }

    #[test]
    fn etags_and_conditional_requests() {
        let a = etag_for("{\"a\":1}");
        assert_ne!(a, etag_for("{\"a\":2}"));
        assert!(a.starts_with('"') && a.ends_with('"'));
        assert!(if_none_match(&a, &a));
        assert!(if_none_match(&format!("W/{a}"), &a));
        assert!(if_none_match(&format!("\"x\", {a}"), &a));
        assert!(if_none_match("*", &a));
        assert!(!if_none_match("\"other\"", &a));
    }

    #[test]
    fn cache_keys_change_with_query() {
        let k = cache_key("t", "b", "entries?limit=10");
        assert_eq!(k, cache_key("t", "b", "entries?limit=10"));
        assert_ne!(k, cache_key("t", "b", "entries?limit=11"));
        assert_ne!(k, cache_key("t", "c", "entries?limit=10"));
        assert!(k.starts_with("c:t/b:"));
        assert_eq!(version_key("t", "b"), "v:t/b");
    }
}
