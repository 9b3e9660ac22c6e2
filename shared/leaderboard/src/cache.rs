//! Edge-cache decisions: envelope freshness, `ETag`, `If-None-Match`, `Cache-Control`.
//!
//! A cached read is stored as a [`CacheEnvelope`] in the regional KV store. It is fresh for
//! `ttl_secs`, may be served as stale for `stale_secs` more, and records the board version the
//! region had when it was computed: a write in the region stores the board's new version there
//! (the version Redis assigned to the write), so the next read there is a miss (read-your-writes).
//! The key does not contain the version, so a key is overwritten rather than orphaned (Spin KV has
//! no expiry). Time is an argument, as everywhere in the core.
//!
//! ## The version's stored form
//! The regional version is ASCII decimal written with a plain `set` and read with `get`
//! ([`format_version`], [`parse_version`]): a format the app writes itself reads the same on every
//! Spin key-value backend. It is never `wasi:keyvalue/atomics.increment`ed: Spin's SQLite store
//! keeps incremented values as 8 little-endian bytes (and panics incrementing a value of any other
//! length) while its Redis store keeps decimal text, so an incremented counter cannot be read back
//! portably. Versions come from Redis (one counter per board, bumped in the same script as the
//! write), so they are unique per write and never repeat for a board, even across re-creation
//! ([`initial_version`]).

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
    /// Whether the board was readable without a token when the body was computed (a change of the
    /// board's config changes its version, so this is current while the envelope is fresh).
    pub public_read: bool,
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

    /// `Cache-Control` for this body (see [`cache_control`]).
    pub fn cache_control(&self) -> String {
        cache_control_for(self.public_read, self.ttl_secs, self.stale_secs)
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
    cache_control_for(
        board.public_read,
        board.cache.ttl_secs,
        board.cache.stale_secs,
    )
}

fn cache_control_for(public_read: bool, ttl_secs: u32, stale_secs: u32) -> String {
    if public_read {
        format!("public, max-age=0, s-maxage={ttl_secs}, stale-while-revalidate={stale_secs}")
    } else {
        "private, no-cache".to_string()
    }
}

/// The KV key of a cached read: tenant, board and a fingerprint of the normalised query (route,
/// period, parameters, API version).
pub fn cache_key(tenant: &str, board: &str, query: &str) -> String {
    format!("c:{tenant}/{board}:{:016x}", fnv1a64(query.as_bytes()))
}

/// The KV key of a board's regional version (see [the stored form](self#the-versions-stored-form)).
/// The `rv:` prefix is new with this form: keys of the earlier, incremented counter (`v:`) are
/// never read again.
pub fn version_key(tenant: &str, board: &str) -> String {
    format!("rv:{tenant}/{board}")
}

/// The stored form of a version: ASCII decimal.
pub fn format_version(version: i64) -> Vec<u8> {
    version.to_string().into_bytes()
}

/// Reads a stored version; anything that is not ASCII decimal (e.g. a counter some other writer
/// incremented) reads as `None`, which callers treat as "unknown" (a miss).
pub fn parse_version(stored: &[u8]) -> Option<i64> {
    std::str::from_utf8(stored).ok()?.trim().parse().ok()
}

/// The first version of a newly created board: the creation time in ms times 1024. A board that
/// is deleted and created again starts above every version it had before, as long as it averaged
/// fewer than 1,024 writes per millisecond of its life. Versions stay below 2^53 (until the year
/// 2248), because Redis Lua scripts handle integers as doubles.
pub fn initial_version(now_ms: i64) -> i64 {
    now_ms.clamp(0, (1 << 43) - 1) * 1024
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
            public_read: true,
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
        assert_eq!(version_key("t", "b"), "rv:t/b");
    }

    #[test]
    fn versions_round_trip_in_their_own_format_only() {
        for v in [0, 1, 42, initial_version(1_795_310_455_396), i64::MAX] {
            assert_eq!(parse_version(&format_version(v)), Some(v));
        }
        // Spin's SQLite store keeps an incremented 5 as 8 little-endian bytes: not our format.
        assert_eq!(parse_version(&5i64.to_le_bytes()), None);
        assert_eq!(parse_version(b""), None);
        assert_eq!(parse_version(b"12a"), None);
    }

    #[test]
    fn a_recreated_board_starts_above_its_earlier_versions() {
        let created = 1_795_310_455_396;
        let first = initial_version(created);
        // A million writes in its first second, then it is deleted and created again.
        let last_of_first_life = first + 1_000_000;
        assert!(initial_version(created + 1_000) > last_of_first_life);
        // Exact in a Lua double (Redis scripts), at any time.
        assert!(initial_version(i64::MAX) < 1 << 53);
        assert_eq!(initial_version(-5), 0);
    }

    #[test]
    fn cache_control_follows_the_envelope() {
        let mut e = env(0);
        assert_eq!(
            e.cache_control(),
            "public, max-age=0, s-maxage=5, stale-while-revalidate=30"
        );
        e.public_read = false;
        assert_eq!(e.cache_control(), "private, no-cache");
    }
}
