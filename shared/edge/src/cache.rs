//! The regional edge cache in the Spin key-value store: cached read envelopes, cached board
//! configs, and the board's version as last seen in this region (read-your-writes).
//!
//! The cache is an optimisation: if the KV store is unavailable, reads go to Redis and nothing
//! fails. Only plain `get`/`set` are used, with values in formats the app writes itself, so the
//! stored bytes mean the same on every Spin KV backend (SQLite, Redis, cloud stores); see
//! `leaderboard::cache` for why the version is not an atomically incremented counter.

use leaderboard::cache::{CacheEnvelope, cache_key, format_version, parse_version, version_key};

use crate::platform::{KvStore, Platform};

/// The KV store label the cache uses.
pub const STORE: &str = "default";

/// A handle on the edge cache (absent store → every lookup misses).
pub struct EdgeCache {
    bucket: Option<Box<dyn KvStore>>,
}

impl EdgeCache {
    /// Opens the cache store on a platform.
    pub fn open(platform: &dyn Platform) -> Self {
        Self {
            bucket: platform.kv(STORE),
        }
    }

    /// The board's version as last recorded in this region (0 when never written here or
    /// unreadable: envelopes are only fresh at the version they were computed at, so an unknown
    /// version costs a miss, never a stale hit after a write here).
    pub fn version(&self, tenant: &str, board: &str) -> i64 {
        self.bucket
            .as_ref()
            .and_then(|b| b.get(&version_key(tenant, board)).ok().flatten())
            .and_then(|v| parse_version(&v))
            .unwrap_or(0)
    }

    /// Records the board's new version after a write in this region, so the next read here is a
    /// miss. Returns whether it was stored (a failed store leaves reads fresh until their TTL).
    pub fn set_version(&self, tenant: &str, board: &str, version: i64) -> bool {
        self.bucket.as_ref().is_some_and(|b| {
            b.set(&version_key(tenant, board), &format_version(version))
                .is_ok()
        })
    }

    /// A cached envelope for a normalised query.
    pub fn get(&self, tenant: &str, board: &str, query: &str) -> Option<CacheEnvelope> {
        let raw = self
            .bucket
            .as_ref()?
            .get(&cache_key(tenant, board, query))
            .ok()??;
        serde_json::from_slice(&raw).ok()
    }

    /// Stores an envelope, best effort: returns whether it was stored (a failed cache write only
    /// costs a future miss).
    pub fn put(&self, tenant: &str, board: &str, query: &str, envelope: &CacheEnvelope) -> bool {
        match (self.bucket.as_ref(), serde_json::to_vec(envelope)) {
            (Some(b), Ok(raw)) => b.set(&cache_key(tenant, board, query), &raw).is_ok(),
            _ => false,
        }
    }
}
