//! Edge-cache decisions: where cached reads live in the regional KV store, how a write invalidates
//! them, envelope freshness, `ETag`, `If-None-Match`, `Cache-Control`.
//!
//! ## Layout and invalidation
//! A board's cached reads live in a fixed set of [`SLOTS`] KV keys ([`slot_key`]); a read's query
//! picks its slot by hash ([`slot_of`]) and the envelope records the query's fingerprint, so a slot
//! shared by two queries is a miss for one of them, never a wrong answer. The board config has a
//! key of its own ([`config_key`]). A cache hit therefore costs one KV read.
//!
//! A write in a region deletes, in one batch, every slot of the board ([`invalidation`]; its config
//! too when the config changed): the next read there is a miss (read-your-writes). A reader that
//! missed reads the board's version in Redis before it computes and again after it stored its
//! envelope, and deletes its slot when the version moved: an envelope computed before a concurrent
//! write can then never outlive that write's invalidation (see `edge::cache`). Versions are Redis's
//! (one counter per board, bumped in the write's own script), so they never repeat for a board,
//! even across re-creation ([`initial_version`]). Nothing in the KV store is a counter: Spin's
//! SQLite store keeps incremented values as 8 little-endian bytes (and panics incrementing a value
//! of any other length) while its Redis store keeps decimal text, and the app does not depend on
//! either.
//!
//! ## Stored form
//! An envelope is one line of metadata and the raw body ([`CacheEnvelope::encode`]), written with
//! a plain `set` and read with `get`, so the bytes mean the same on every Spin key-value backend.
//! Spin's KV has no expiry: a slot is overwritten or deleted, never orphaned. Time is an argument,
//! as everywhere in the core.

use crate::board::config::Board;
use crate::board::cursor::fnv1a64;

/// Cached-read slots per board: the most distinct reads of one board a region keeps at once (more
/// share slots, by hash), and the number of keys a write empties.
pub const SLOTS: u64 = 32;

/// A cached response body and when it was stored.
///
/// Stored as one line of metadata and the raw body ([`CacheEnvelope::encode`]): a cache hit
/// splits bytes instead of parsing (and unescaping) the body out of a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEnvelope {
    /// The fingerprint of the query it answers ([`query_fingerprint`]).
    pub query: u64,
    /// When it was stored (Unix ms).
    pub stored_at_ms: i64,
    /// Seconds it stays fresh.
    pub ttl_secs: u32,
    /// Seconds after that it may be served stale.
    pub stale_secs: u32,
    /// Whether the board was readable without a token when the body was computed (a change of the
    /// board's config empties the slots, so this is current while the envelope exists).
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
    /// Freshness at `now_ms`. A stored-at in the future (clock skew) counts as fresh.
    pub fn freshness(&self, now_ms: i64) -> Freshness {
        let age_ms = now_ms.saturating_sub(self.stored_at_ms).max(0);
        let ttl_ms = i64::from(self.ttl_secs) * 1000;
        let stale_ms = ttl_ms + i64::from(self.stale_secs) * 1000;
        if age_ms < ttl_ms {
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

    /// The stored form: `e2 <query> <stored_at_ms> <ttl> <stale> <0|1> <etag>\n<body>`.
    pub fn encode(&self) -> Vec<u8> {
        let head = format!(
            "{ENVELOPE_FORMAT} {:x} {} {} {} {} {}\n",
            self.query,
            self.stored_at_ms,
            self.ttl_secs,
            self.stale_secs,
            u8::from(self.public_read),
            self.etag
        );
        let mut out = Vec::with_capacity(head.len() + self.body.len());
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(self.body.as_bytes());
        out
    }

    /// Reads the stored form; anything else (an emptied slot, another format, a truncated value) is
    /// `None`, which callers treat as a miss.
    pub fn decode(stored: &[u8]) -> Option<Self> {
        let newline = stored.iter().position(|&b| b == b'\n')?;
        let head = std::str::from_utf8(&stored[..newline]).ok()?;
        let body = std::str::from_utf8(&stored[newline + 1..])
            .ok()?
            .to_string();
        let mut fields = head.split(' ');
        if fields.next()? != ENVELOPE_FORMAT {
            return None;
        }
        let envelope = Self {
            query: u64::from_str_radix(fields.next()?, 16).ok()?,
            stored_at_ms: fields.next()?.parse().ok()?,
            ttl_secs: fields.next()?.parse().ok()?,
            stale_secs: fields.next()?.parse().ok()?,
            public_read: match fields.next()? {
                "0" => false,
                "1" => true,
                _ => return None,
            },
            etag: fields.next()?.to_string(),
            body,
        };
        fields.next().is_none().then_some(envelope)
    }
}

/// The first word of a stored envelope (bumped when the layout changes: older values then read
/// as misses).
const ENVELOPE_FORMAT: &str = "e2";

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

/// The `Cache-Control` of an answer: shared caches keep a public one for `ttl_secs` (and serve it
/// `stale_secs` longer while revalidating); a private one is revalidated every time.
pub fn cache_control_for(public_read: bool, ttl_secs: u32, stale_secs: u32) -> String {
    if public_read {
        format!("public, max-age=0, s-maxage={ttl_secs}, stale-while-revalidate={stale_secs}")
    } else {
        "private, no-cache".to_string()
    }
}

/// The fingerprint of a normalised query (route, period, parameters, API version).
pub fn query_fingerprint(query: &str) -> u64 {
    fnv1a64(query.as_bytes())
}

/// The slot a query's envelope lives in.
pub fn slot_of(query: u64) -> u64 {
    query % SLOTS
}

/// The KV key of one of a board's cached-read slots.
pub fn slot_key(tenant: &str, board: &str, slot: u64) -> String {
    format!("c:{tenant}/{board}:{slot}")
}

/// The KV key of a board's cached config.
pub fn config_key(tenant: &str, board: &str) -> String {
    format!("cfg:{tenant}/{board}")
}

/// The KV keys a write deletes to invalidate a board's cached reads in a region: every slot, and
/// with `config` (a created or deleted board) its cached config too.
pub fn invalidation(tenant: &str, board: &str, config: bool) -> Vec<String> {
    let mut keys: Vec<String> = (0..SLOTS)
        .map(|slot| slot_key(tenant, board, slot))
        .collect();
    if config {
        keys.push(config_key(tenant, board));
    }
    keys
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
            query: query_fingerprint("entries?limit=10"),
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
        assert_eq!(e.freshness(1_000_000), Freshness::Fresh);
        assert_eq!(e.freshness(1_004_999), Freshness::Fresh);
        assert_eq!(e.freshness(1_005_000), Freshness::Stale);
        assert_eq!(e.freshness(1_034_999), Freshness::Stale);
        assert_eq!(e.freshness(1_035_000), Freshness::Expired);
        assert_eq!(e.freshness(900_000), Freshness::Fresh, "clock skew");
        assert_eq!(e.age_secs(1_012_500), 12);
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
    fn slots_keys_and_invalidation() {
        let q = query_fingerprint("entries?limit=10");
        assert_ne!(q, query_fingerprint("entries?limit=11"));
        assert!(slot_of(q) < SLOTS);
        assert_eq!(slot_key("t", "b", 7), "c:t/b:7");
        assert_eq!(config_key("t", "b"), "cfg:t/b");
        let keys = invalidation("t", "b", false);
        assert_eq!(keys.len(), SLOTS as usize);
        assert!(keys.iter().all(|k| k.starts_with("c:t/b:")));
        assert_eq!(invalidation("t", "b", true).last().unwrap(), "cfg:t/b");
        // Every slot a query can pick is deleted.
        for i in 0..1000 {
            let key = slot_key("t", "b", slot_of(query_fingerprint(&format!("q{i}"))));
            assert!(keys.contains(&key));
        }
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
    fn envelopes_round_trip_and_reject_other_forms() {
        let mut e = env(1_795_310_455_396);
        e.body = "{\"entries\":[],\n\"note\":\"a line break and spaces\"}".into();
        assert_eq!(CacheEnvelope::decode(&e.encode()), Some(e.clone()));
        e.public_read = false;
        e.etag = String::new();
        e.body = String::new();
        assert_eq!(CacheEnvelope::decode(&e.encode()), Some(e));
        for bad in [
            &b""[..],
            b"e2 ff 4 5 30 1",
            b"e1 ff 4 5 30 1 \"x\"\n{}",
            b"e2 ff 4 5 30 2 \"x\"\n{}",
            b"e2 zz 4 5 30 1 \"x\"\n{}",
            b"e2 ff 4 5 30 1 \"x\" extra\n{}",
            b"{\"query\":3}",
        ] {
            assert_eq!(
                CacheEnvelope::decode(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_envelope_round_trips(
            query in proptest::prelude::any::<u64>(),
            stored in proptest::prelude::any::<i64>(),
            ttl in proptest::prelude::any::<u32>(),
            stale in proptest::prelude::any::<u32>(),
            public_read in proptest::prelude::any::<bool>(),
            body in ".*",
        ) {
            let e = CacheEnvelope {
                query,
                stored_at_ms: stored,
                ttl_secs: ttl,
                stale_secs: stale,
                public_read,
                etag: etag_for(&body),
                body,
            };
            proptest::prop_assert_eq!(CacheEnvelope::decode(&e.encode()), Some(e));
        }
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
