//! The regional edge cache in the Spin key-value store: cached read envelopes, cached board
//! configs, and the board's regional version counter (bumped by writes, for read-your-writes).
//!
//! The cache is an optimisation: if the KV store is unavailable, reads go to Redis and nothing
//! fails.

use leaderboard::cache::{CacheEnvelope, cache_key, version_key};

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

    /// The board's regional version (0 when never written here).
    pub fn version(&self, tenant: &str, board: &str) -> i64 {
        self.bucket
            .as_ref()
            .and_then(|b| b.get(&version_key(tenant, board)).ok().flatten())
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Bumps the board's regional version after a write; returns the new version.
    pub fn bump(&self, tenant: &str, board: &str) -> Option<i64> {
        self.bucket
            .as_ref()
            .and_then(|b| b.increment(&version_key(tenant, board), 1).ok())
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
