//! The regional edge cache in the Spin key-value store: cached reads in per-board slots, the cached
//! board config, and the board's version as last seen in this region. The layout and why it keeps
//! read-your-writes are in `leaderboard::cache`; this module does the I/O.
//!
//! The protocol, per board and region:
//! - **hit**: read the query's slot; a fresh envelope for the same query is the answer.
//! - **miss**: read the version (`v1`), compute from Redis, store the envelope in its slot, read the
//!   version again, and empty the slot if it moved: a write that landed meanwhile may have emptied
//!   the slots before this envelope arrived, and it must not survive that write.
//! - **write**: after the write is in Redis, store its version and empty every slot in one batch
//!   write ([`EdgeCache::invalidate`]).
//!
//! The cache is an optimisation: if the KV store is unavailable, reads go to Redis and nothing
//! fails.

use leaderboard::cache::{
    CacheEnvelope, config_key, invalidation, parse_version, query_fingerprint, slot_key, slot_of,
    version_key,
};

use crate::platform::{KvStore, Platform};

/// The KV store label the cache uses.
pub const STORE: &str = "default";

/// A handle on the edge cache (absent store → every lookup misses).
pub struct EdgeCache {
    bucket: Option<Box<dyn KvStore>>,
}

/// Where an envelope goes: a board's query slot or its config.
#[derive(Debug, Clone, Copy)]
pub enum Entry<'q> {
    /// A cached read, by normalised query.
    Read(&'q str),
    /// The board config.
    Config,
}

impl Entry<'_> {
    fn key(&self, tenant: &str, board: &str) -> String {
        match self {
            Entry::Read(query) => slot_key(tenant, board, slot_of(query_fingerprint(query))),
            Entry::Config => config_key(tenant, board),
        }
    }

    fn fingerprint(&self) -> u64 {
        match self {
            Entry::Read(query) => query_fingerprint(query),
            Entry::Config => query_fingerprint("board-config"),
        }
    }
}

impl EdgeCache {
    /// Opens the cache store on a platform.
    pub fn open(platform: &dyn Platform) -> Self {
        Self {
            bucket: platform.kv(STORE),
        }
    }

    /// The board's version as last recorded in this region (`None`: never written here, or
    /// unreadable).
    pub fn version(&self, tenant: &str, board: &str) -> Option<i64> {
        self.bucket
            .as_ref()
            .and_then(|b| b.get(&version_key(tenant, board)).ok().flatten())
            .and_then(|v| parse_version(&v))
    }

    /// The cached envelope of an entry, fresh or not (the caller judges freshness); `None` when the
    /// slot is empty or holds another query's envelope.
    pub fn get(&self, tenant: &str, board: &str, entry: Entry<'_>) -> Option<CacheEnvelope> {
        let raw = self
            .bucket
            .as_ref()?
            .get(&entry.key(tenant, board))
            .ok()??;
        CacheEnvelope::decode(&raw).filter(|e| e.query == entry.fingerprint())
    }

    /// Stores an envelope computed after reading `version_before` (see the module docs); returns
    /// whether it stayed stored. Best effort: a failed cache write only costs a future miss.
    pub fn put(
        &self,
        tenant: &str,
        board: &str,
        entry: Entry<'_>,
        mut envelope: CacheEnvelope,
        version_before: Option<i64>,
    ) -> bool {
        let Some(bucket) = self.bucket.as_ref() else {
            return false;
        };
        let key = entry.key(tenant, board);
        envelope.query = entry.fingerprint();
        if bucket.set(&key, &envelope.encode()).is_err() {
            return false;
        }
        if self.version(tenant, board) == version_before {
            return true;
        }
        // A write landed while this was computed: it must not outlive that write's invalidation.
        if let Err(e) = bucket.set(&key, &[]) {
            eprintln!("edge cache: could not empty {key} after a concurrent write: {e}");
        }
        false
    }

    /// Records the board's `version` after a write in this region and empties every cached read of
    /// the board (with `config`, its cached config too), in one batch write. Returns whether it was
    /// stored (a failure leaves reads here fresh until their TTL).
    pub fn invalidate(&self, tenant: &str, board: &str, version: i64, config: bool) -> bool {
        self.bucket.as_ref().is_some_and(|b| {
            b.set_many(&invalidation(tenant, board, version, config))
                .is_ok()
        })
    }
}
