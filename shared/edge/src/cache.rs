//! The regional edge cache in the Spin key-value store: cached reads in per-board slots and the
//! cached board config. The layout and why it keeps read-your-writes are in `leaderboard::http::cache`;
//! this module does the I/O.
//!
//! The protocol, per board and region:
//! - **hit**: read the query's slot; a fresh envelope for the same query is the answer.
//! - **miss**: read the board's version in Redis (`v1`), compute from Redis, store the envelope,
//!   read the version again, and delete the slot if it moved ([`EdgeCache::put`]): a write that
//!   landed meanwhile may have deleted the slots before this envelope arrived, and its envelope
//!   must not survive that write.
//! - **write**: after the write is in Redis (which bumps the version), delete the board's slots in
//!   one batch ([`EdgeCache::invalidate`]).
//!
//! Only `get`, `set` and `delete_many` are used, on values the app writes itself, so this works
//! the same on every Spin KV store. The cache is an optimisation: if the KV store is unavailable,
//! reads go to Redis and nothing fails.

use leaderboard::http::cache::{
    CacheEnvelope, config_key, invalidation, query_fingerprint, slot_key, slot_of,
};

use crate::kv::{KvError, STORE};
use crate::platform::{KvStore, Platform};
use leaderboard::LeaderboardError;

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
    /// The KV key of this entry of a tenant's board (what a request may read ahead,
    /// [`crate::platform::Platform::prefetch`]).
    pub fn key(&self, tenant: &str, board: &str) -> String {
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
    pub async fn open(platform: &dyn Platform) -> Self {
        Self {
            bucket: platform.kv(STORE).await,
        }
    }

    /// The cached envelope of an entry, fresh or not (the caller judges freshness); `None` when the
    /// slot is empty or holds another query's envelope.
    pub async fn get(&self, tenant: &str, board: &str, entry: Entry<'_>) -> Option<CacheEnvelope> {
        let raw = self
            .bucket
            .as_ref()?
            .get(&entry.key(tenant, board))
            .await
            .ok()??;
        CacheEnvelope::decode(&raw).filter(|e| e.query == entry.fingerprint())
    }

    /// Stores an envelope computed after the board's Redis version was `version_before` (`None`:
    /// the board has no version yet), then reads the version again (`version_now`, from Redis) and
    /// deletes the entry when it moved or cannot be read (see the module docs). Returns whether the envelope stayed stored. Best effort: a failed cache
    /// write only costs a future miss.
    pub async fn put(
        &self,
        tenant: &str,
        board: &str,
        entry: Entry<'_>,
        mut envelope: CacheEnvelope,
        version_before: Option<i64>,
        version_now: impl AsyncFnOnce() -> leaderboard::Result<Option<i64>>,
    ) -> bool {
        let Some(bucket) = self.bucket.as_ref() else {
            return false;
        };
        let key = entry.key(tenant, board);
        envelope.query = entry.fingerprint();
        if bucket.set(&key, &envelope.encode()).await.is_err() {
            return false;
        }
        if version_now().await.is_ok_and(|now| now == version_before) {
            return true;
        }
        // A write landed while this was computed (or the version could not be read): the envelope
        // must not outlive that write's invalidation.
        if let Err(e) = bucket.delete_many(&[key]).await {
            eprintln!("edge cache: could not delete a slot after a concurrent write: {e}");
        }
        false
    }

    /// Deletes every cached read of the board in this region (with `config`, its cached config
    /// too), after a write. A failure leaves those reads served until their TTL (read-your-writes
    /// does not hold for them): it is logged and counted here
    /// (`lb_cache_invalidation_failures_total`), and returned for the caller to report.
    #[must_use = "cached reads that were not dropped are served until their TTL: report it"]
    pub async fn invalidate(
        &self,
        tenant: &str,
        board: &str,
        config: bool,
    ) -> leaderboard::Result<()> {
        if let Err(e) = self.drop_copies(tenant, board, config).await {
            not_dropped(tenant, board, &e);
            return Err(LeaderboardError::Unavailable(format!(
                "the edge cache could not drop the cached reads of {tenant}/{board}"
            )));
        }
        Ok(())
    }

    /// [`EdgeCache::invalidate`] after a write, in this region only: the write has happened,
    /// so a failure does not fail it (it is logged and counted, and the copies age out with
    /// their TTL).
    pub async fn invalidate_after_write(&self, tenant: &str, board: &str, config: bool) {
        if let Err(e) = self.drop_copies(tenant, board, config).await {
            not_dropped(tenant, board, &e);
        }
    }

    /// Deletes the board's copies; a store that answers busy at once is tried again after a pause
    /// (`kv::retry_busy`): a copy left would be served until its TTL.
    async fn drop_copies(&self, tenant: &str, board: &str, config: bool) -> Result<(), KvError> {
        match self.bucket.as_ref() {
            Some(b) => {
                let keys = invalidation(tenant, board, config);
                crate::kv::retry_busy(async || b.delete_many(&keys).await).await
            }
            None => Err(KvError::NotOpen),
        }
    }

    /// After a write: [`EdgeCache::invalidate`] here, and in every other region: publishes the
    /// board on [`INVALIDATE_CHANNEL`], where each region's worker (the Redis-triggered
    /// `projector`) invalidates its own KV store. Pub/sub is at-most-once: a region whose worker
    /// missed the message serves its copy until the TTL.
    ///
    /// The write has happened, so nothing here fails it: a copy not dropped here, or an
    /// announcement not published, is logged and counted (`lb_cache_invalidation_failures_total`)
    /// and ages out with its TTL.
    pub async fn invalidate_everywhere(
        &self,
        repo: &crate::repo::Repo,
        tenant: &str,
        board: &str,
        config: bool,
    ) {
        self.invalidate_after_write(tenant, board, config).await;
        if let Err(e) = repo
            .publish(
                INVALIDATE_CHANNEL,
                &invalidation_message(tenant, board, config),
            )
            .await
        {
            eprintln!("edge cache: could not announce the invalidation of {tenant}/{board}: {e}");
            crate::scope::note_stale_copy();
        }
    }
}

/// Logs and counts cached reads of a board that a write could not drop.
fn not_dropped(tenant: &str, board: &str, e: &KvError) {
    eprintln!(
        "edge cache: the cached reads of {tenant}/{board} could not be dropped (served until their TTL): {e}"
    );
    crate::scope::note_stale_copy();
}

/// The channel regions hear each other's invalidations on.
pub const INVALIDATE_CHANNEL: &str = "lb:invalidate";

/// The message announcing that a board's cached reads (with `config`, its config too) are stale:
/// `inv:<tenant>/<board>` or `inv:<tenant>/<board>:config`.
pub fn invalidation_message(tenant: &str, board: &str, config: bool) -> String {
    format!(
        "inv:{tenant}/{board}{}",
        if config { ":config" } else { "" }
    )
}

/// Reads an [`invalidation_message`]: `(tenant, board, config)`.
pub fn parse_invalidation(payload: &[u8]) -> Option<(String, String, bool)> {
    let text = std::str::from_utf8(payload).ok()?.strip_prefix("inv:")?;
    let (board_ref, config) = match text.strip_suffix(":config") {
        Some(b) => (b, true),
        None => (text, false),
    };
    let (tenant, board) = board_ref.split_once('/')?;
    let tenant = leaderboard::TenantId::new(tenant).ok()?;
    let board = leaderboard::BoardId::new(board).ok()?;
    Some((
        tenant.as_str().to_string(),
        board.as_str().to_string(),
        config,
    ))
}

/// A small per-tenant value (flag document, tenant settings) read through the regional KV store:
/// served from `key` while younger than `fresh_ms`, else fetched (Redis) and remembered —
/// absence included; a fetch is the request's upkeep, named `copy` in its log line. An unusable
/// KV store only means every call fetches.
pub async fn remembered(
    platform: &dyn Platform,
    copy: &'static str,
    key: &str,
    now_ms: i64,
    fresh_ms: i64,
    fetch: impl AsyncFnOnce() -> leaderboard::Result<Option<String>>,
) -> leaderboard::Result<Option<String>> {
    let bucket = platform.kv(STORE).await;
    let stored = match bucket.as_ref() {
        Some(b) => b.get(key).await.ok().flatten(),
        None => None,
    };
    let cached = stored.and_then(|raw| serde_json::from_slice::<serde_json::Value>(&raw).ok());
    if let Some(cached) = cached
        && cached["stored_at"]
            .as_i64()
            .is_some_and(|at| (0..fresh_ms).contains(&(now_ms - at)))
    {
        return Ok(cached["value"].as_str().map(str::to_string));
    }
    crate::scope::note_upkeep(copy);
    let value = fetch().await?;
    if let Some(b) = bucket.as_ref() {
        let envelope = serde_json::json!({"stored_at": now_ms, "value": value});
        // Not remembered: the next call fetches again.
        if let Err(e) = b.set(key, envelope.to_string().as_bytes()).await {
            eprintln!("edge cache: could not remember {key}: {e}");
        }
    }
    Ok(value)
}

/// Drops a [`remembered`] value in this region, after its write. The write has happened, so a
/// failure does not fail it: the copy is served until it is `fresh_ms` old, and the failure is
/// logged and counted (`lb_cache_invalidation_failures_total`).
pub async fn forget(platform: &dyn Platform, key: &str) {
    let dropped = match platform.kv(STORE).await {
        Some(b) => b.delete_many(&[key.to_string()]).await,
        None => Err(KvError::NotOpen),
    };
    if let Err(e) = dropped {
        eprintln!("edge cache: could not forget {key} (served until it is stale): {e}");
        crate::scope::note_stale_copy();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;

    use super::*;
    use crate::platform::OnlyKv;

    #[derive(Default, Clone)]
    struct Memory(Rc<RefCell<BTreeMap<String, Vec<u8>>>>);

    #[async_trait::async_trait(?Send)]
    impl KvStore for Memory {
        async fn increment(&self, _: &str, _: i64) -> Result<i64, KvError> {
            Err(KvError::Other("no counters in this test store".into()))
        }
        async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
            Ok(self.0.borrow().get(key).cloned())
        }
        async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
            self.0.borrow_mut().insert(key.into(), value.to_vec());
            Ok(())
        }
        async fn delete_many(&self, keys: &[String]) -> Result<(), KvError> {
            for k in keys {
                self.0.borrow_mut().remove(k);
            }
            Ok(())
        }
        async fn update(
            &self,
            key: &str,
            f: &mut crate::platform::Update<'_>,
            _retries: u32,
        ) -> Result<(), KvError> {
            let next = f(self.0.borrow().get(key).map(Vec::as_slice));
            if let Some(next) = next {
                self.0.borrow_mut().insert(key.into(), next);
            }
            Ok(())
        }
    }

    /// A store that refuses every write (and has nothing to read).
    #[derive(Clone)]
    struct Refusing;

    #[async_trait::async_trait(?Send)]
    impl KvStore for Refusing {
        async fn increment(&self, _: &str, _: i64) -> Result<i64, KvError> {
            Err(KvError::AccessDenied)
        }
        async fn get(&self, _: &str) -> Result<Option<Vec<u8>>, KvError> {
            Ok(None)
        }
        async fn set(&self, _: &str, _: &[u8]) -> Result<(), KvError> {
            Err(KvError::AccessDenied)
        }
        async fn delete_many(&self, _: &[String]) -> Result<(), KvError> {
            Err(KvError::AccessDenied)
        }
        async fn update(
            &self,
            _: &str,
            _: &mut crate::platform::Update<'_>,
            _: u32,
        ) -> Result<(), KvError> {
            Err(KvError::AccessDenied)
        }
    }

    fn envelope(body: &str) -> CacheEnvelope {
        CacheEnvelope {
            query: 0,
            stored_at_ms: 1_000,
            ttl_secs: 60,
            stale_secs: 60,
            public_read: true,
            etag: leaderboard::http::cache::etag_for(body),
            body: body.into(),
        }
    }

    /// [`EdgeCache::put`] of an envelope of `body` on tenant `t`'s `board`: read at
    /// `before`, the board's version then reads `now`.
    async fn put(
        cache: &EdgeCache,
        board: &str,
        entry: Entry<'_>,
        body: &str,
        before: Option<i64>,
        now: leaderboard::Result<Option<i64>>,
    ) -> bool {
        cache
            .put("t", board, entry, envelope(body), before, async move || now)
            .await
    }

    #[test]
    fn a_miss_result_stays_only_if_no_write_landed_meanwhile() {
        futures::executor::block_on(async {
            let kv = Memory::default();
            let cache = EdgeCache::open(&OnlyKv(kv.clone())).await;
            let read = Entry::Read("v1|/entries|limit=10");
            assert!(put(&cache, "b", read, "a", Some(7), Ok(Some(7))).await);
            assert_eq!(cache.get("t", "b", read).await.unwrap().body, "a");
            // Another query sharing the slot is a miss, never the first one's body.
            let other = (0..10_000)
                .map(|i| format!("q{i}"))
                .find(|q| {
                    slot_of(query_fingerprint(q))
                        == slot_of(query_fingerprint("v1|/entries|limit=10"))
                })
                .unwrap();
            assert!(cache.get("t", "b", Entry::Read(&other)).await.is_none());
            // A write bumped the version while this was computed: it is not kept.
            assert!(!put(&cache, "b", read, "stale", Some(7), Ok(Some(8))).await);
            assert!(cache.get("t", "b", read).await.is_none());
            // The version cannot be read: not kept either.
            let down = Err(LeaderboardError::Unavailable("down".into()));
            assert!(!put(&cache, "b", read, "unsure", Some(7), down).await);
            assert!(cache.get("t", "b", read).await.is_none());
            // A board without a version yet, still without one.
            let config = Entry::Config;
            assert!(put(&cache, "b", config, "cfg", None, Ok(None)).await);
            assert_eq!(cache.get("t", "b", config).await.unwrap().body, "cfg");
        });
    }

    #[test]
    fn invalidation_messages_round_trip_and_refuse_garbage() {
        for config in [false, true] {
            let m = invalidation_message("acme", "arena-1", config);
            assert_eq!(
                parse_invalidation(m.as_bytes()),
                Some(("acme".into(), "arena-1".into(), config))
            );
        }
        assert_eq!(parse_invalidation(b"acme/arena"), None, "a doorbell");
        assert_eq!(parse_invalidation(b"inv:acme"), None);
        assert_eq!(parse_invalidation(b"inv:ACME/x"), None, "not an id");
        assert_eq!(parse_invalidation(b"{\"board\":1}"), None);
    }

    #[test]
    fn invalidation_deletes_every_read_and_optionally_the_config() {
        futures::executor::block_on(async {
            let kv = Memory::default();
            let cache = EdgeCache::open(&OnlyKv(kv.clone())).await;
            for i in 0..100 {
                let q = format!("q{i}");
                let read = Entry::Read(&q);
                put(&cache, "b", read, "x", None, Ok(None)).await;
            }
            let config = Entry::Config;
            put(&cache, "b", config, "cfg", None, Ok(None)).await;
            let q1 = Entry::Read("q1");
            put(&cache, "other", q1, "y", None, Ok(None)).await;
            assert_eq!(cache.invalidate("t", "b", false).await, Ok(()));
            let left: Vec<String> = kv.0.borrow().keys().cloned().collect();
            let other_slot = format!("c:t/other:{}", slot_of(query_fingerprint("q1")));
            assert_eq!(left, [other_slot, "cfg:t/b".to_string()]);
            assert_eq!(cache.invalidate("t", "b", true).await, Ok(()));
            assert!(cache.get("t", "b", config).await.is_none());
        });
    }

    #[test]
    fn copies_a_write_could_not_drop_are_reported_and_counted() {
        futures::executor::block_on(async {
            crate::scope::begin_request();
            let cache = EdgeCache::open(&OnlyKv(Refusing)).await;
            let refused = cache.invalidate("t", "b", false).await;
            assert!(
                matches!(&refused, Err(LeaderboardError::Unavailable(m)) if m.contains("t/b")),
                "{refused:?}"
            );
            forget(&OnlyKv(Refusing), "flags:t").await;
            assert_eq!(crate::scope::take_stale_copies(), 2);
            assert_eq!(crate::scope::take_stale_copies(), 0, "taken once");
            // A store that works: nothing counted.
            let cache = EdgeCache::open(&OnlyKv(Memory::default())).await;
            assert_eq!(cache.invalidate("t", "b", true).await, Ok(()));
            forget(&OnlyKv(Memory::default()), "flags:t").await;
            assert_eq!(crate::scope::take_stale_copies(), 0);
        });
    }
}
