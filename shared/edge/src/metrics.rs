//! Recording and reading the metrics ([`leaderboard::http::metrics`]) in the region's KV store.
//!
//! Instances are per request, so nothing is kept in memory: [`record`] (called by
//! [`crate::serve::respond`] after the response is built; not for the `/health/*` probes, so
//! liveness never depends on the KV store) bumps the request's series and its
//! route's latency sum with `wasi:keyvalue/atomics.increment` — two KV calls per recorded request —
//! plus whatever the handler added with [`count`]. A series that is new (one of its first
//! increments, see [`bump`]) is added to the index ([`leaderboard::http::metrics::INDEX`]) with a
//! compare-and-swap; `/metrics` reads the index and each series through `increment(key, 0)`, the
//! one read that is portable across Spin's KV backends (SQLite keeps counters as 8 bytes, Redis as
//! text).
//!
//! The `metrics` variable sets what is recorded: `on` (every request, exact counts), `off`, or
//! `1/N` — one request in N, chosen at random, recorded with weight N (unbiased estimates, 1/N of
//! the KV writes).

use leaderboard::http::metrics::{self, RequestLabels};

use crate::platform::{KvError, KvStore, Platform};

/// How many times a lost compare-and-swap on the index is retried.
const INDEX_RETRIES: u32 = 8;

/// Sets the sampling for this request and starts its bookkeeping.
pub fn begin_request(every: u32) {
    crate::scope::with(|l| {
        l.metrics_every = every;
        l.outcome = "";
        l.extra_counters.clear();
    });
}

/// Notes the request's submission outcome (`created`, `improved`, `unchanged`, `accepted`,
/// `replayed`).
pub fn note_outcome(outcome: &'static str) {
    crate::scope::with(|l| l.outcome = outcome);
}

/// Adds `n` to a counter series when the request is recorded (same sampling as the request).
pub fn count(key: String, n: i64) {
    if n != 0 {
        crate::scope::with(|l| {
            if l.metrics_every != 0 {
                l.extra_counters.push((key, n));
            }
        });
    }
}

fn random_below(n: u32) -> u32 {
    let r = crate::scope::random_u64();
    (r % u64::from(n.max(1))) as u32
}

/// Records the request that just got its response.
pub async fn record(
    platform: &dyn Platform,
    route: &str,
    method: &str,
    status: u16,
    cache: &str,
    duration_secs: f64,
) {
    let (every, extra, outcome) = crate::scope::with(|l| {
        (
            l.metrics_every,
            std::mem::take(&mut l.extra_counters),
            l.outcome,
        )
    });
    // A rare failure: counted whatever the sampling, probes included.
    count_stale_copies_now(platform).await;
    // Probes are not traffic, and liveness must not depend on the KV store.
    if every == 0 || route.starts_with("/health/") || (every > 1 && random_below(every) != 0) {
        return;
    }
    let Some(kv) = platform.kv(crate::kv::STORE).await else {
        return;
    };
    let weight = i64::from(every);
    let labels = RequestLabels {
        route,
        method,
        status,
        cache,
        outcome,
    };
    bump(
        kv.as_ref(),
        &metrics::request_key(&labels, metrics::bucket(duration_secs)),
        weight,
    )
    .await;
    let micros = (duration_secs * 1e6).round() as i64;
    bump(
        kv.as_ref(),
        &metrics::duration_key(route),
        micros.max(1) * weight,
    )
    .await;
    for (key, n) in extra {
        bump(kv.as_ref(), &key, n * weight).await;
    }
}

/// The counter of cached copies that writes could not drop ([`crate::scope::note_stale_copy`]).
fn stale_copies_key() -> String {
    metrics::counter_key("cache_invalidation_failures")
}

/// Counts at once the cached copies this handler could not drop (the Redis-triggered handlers,
/// which serve no HTTP request; a request's are counted when it is recorded).
pub async fn count_stale_copies_now(platform: &dyn Platform) {
    add_now(
        platform,
        &stale_copies_key(),
        i64::from(crate::scope::take_stale_copies()),
    )
    .await;
}

/// Adds to a counter at once (the Redis-triggered handlers, which serve no HTTP request).
pub async fn add_now(platform: &dyn Platform, key: &str, n: i64) {
    if n == 0 {
        return;
    }
    if let Some(kv) = platform.kv(crate::kv::STORE).await {
        bump(kv.as_ref(), key, n).await;
    }
}

/// How many times an increment that failed otherwise than a busy store is tried, without a
/// pause.
const OTHER_FAILURE_TRIES: u32 = 3;

/// Increments a series; its first increments (up to ten) also make sure it is in the index.
/// Not only the first: while the index does not exist yet, a compare-and-swap on it is an
/// unconditional write on Spin's stores, so two series registering at once could lose one; once
/// it exists, the swap is atomic and a later increment repairs the loss.
///
/// An increment the store failed (`KvError::Busy`, `KvError::Other`) is tried again. Spin's
/// SQLite store increments in a transaction that reads, then writes; the HTTP app and the worker
/// share the file (the shipped runtime-config.toml), and when two such transactions of the two
/// processes meet, SQLite fails one at once with "database is locked" (`KvError::Busy`: its
/// deadlock case, where the busy timeout does not wait), having written nothing, so the retry
/// counts it exactly once: it is tried as `kv::retry_busy` says (after a pause that doubles, up
/// to `kv::BUSY_TRIES` tries), which a request recorded then waits for before its response goes.
/// Another failure is tried at once, up to [`OTHER_FAILURE_TRIES`] times in all (a store that is
/// down costs no pause); the busy tries between two of those start afresh, so a store that
/// alternates the two is tried 18 times at most. On a Redis store an increment fails only with its connection, where a retry
/// may rarely count one twice: a counter's choice of over losing.
async fn bump(kv: &dyn KvStore, key: &str, delta: i64) {
    bump_within(kv, key, delta, crate::kv::BUSY_AT_ONCE_MS).await;
}

/// [`bump`], a busy answer counting as at once within `at_once_ms` (`kv::retry_busy`).
async fn bump_within(kv: &dyn KvStore, key: &str, delta: i64, at_once_ms: i64) {
    let mut tries = 0;
    let counted = loop {
        tries += 1;
        match crate::kv::retry_busy_within(at_once_ms, async || kv.increment(key, delta).await)
            .await
        {
            Ok(v) => break v,
            // A store's own failure may pass; no store, or no access to it, will not.
            Err(KvError::Other(_)) if tries < OTHER_FAILURE_TRIES => {}
            Err(e) => {
                eprintln!("metrics: increment of {key} failed ({tries} rounds of tries): {e}");
                return;
            }
        }
    };
    if delta > 0 && counted <= delta.saturating_mul(10) {
        register(kv, key).await;
    }
}

async fn register(kv: &dyn KvStore, key: &str) {
    let updated = kv
        .update(
            metrics::INDEX,
            &mut |current| {
                let mut keys: Vec<String> = current
                    .and_then(|raw| serde_json::from_slice(raw).ok())
                    .unwrap_or_default();
                if keys.iter().any(|k| k == key) {
                    return None;
                }
                keys.push(key.to_string());
                serde_json::to_vec(&keys).ok()
            },
            INDEX_RETRIES,
        )
        .await;
    if let Err(e) = updated {
        eprintln!("metrics: could not add {key} to the index: {e}");
    }
}

/// Every recorded series and its value.
pub async fn read_all(platform: &dyn Platform) -> Vec<(String, i64)> {
    let Some(kv) = platform.kv(crate::kv::STORE).await else {
        return Vec::new();
    };
    let keys: Vec<String> = kv
        .get(metrics::INDEX)
        .await
        .ok()
        .flatten()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .unwrap_or_default();
    let mut all = Vec::new();
    for k in keys {
        if let Ok(v) = kv.increment(&k, 0).await {
            all.push((k, v));
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter store that fails its first `fails` increments as SQLite's deadlock case does
    /// (nothing written), then counts.
    struct Contended {
        fails: std::cell::Cell<u32>,
        /// What a failed increment says.
        failure: &'static str,
        value: std::cell::Cell<i64>,
        index: std::cell::RefCell<Option<Vec<u8>>>,
    }

    impl Contended {
        fn new(fails: u32) -> Self {
            Self::failing_with(fails, "database is locked")
        }

        fn failing_with(fails: u32, failure: &'static str) -> Self {
            Self {
                fails: std::cell::Cell::new(fails),
                failure,
                value: std::cell::Cell::new(0),
                index: std::cell::RefCell::new(None),
            }
        }
    }

    #[async_trait::async_trait(?Send)]
    impl KvStore for Contended {
        async fn increment(&self, _: &str, delta: i64) -> Result<i64, KvError> {
            if self.fails.get() > 0 {
                self.fails.set(self.fails.get() - 1);
                // As the platform reads the host's failure.
                return Err(KvError::from(
                    crate::bindings::wasi::keyvalue::store::Error::Other(self.failure.into()),
                ));
            }
            self.value.set(self.value.get() + delta);
            Ok(self.value.get())
        }
        async fn get(&self, _: &str) -> Result<Option<Vec<u8>>, KvError> {
            Ok(self.index.borrow().clone())
        }
        async fn set(&self, _: &str, value: &[u8]) -> Result<(), KvError> {
            *self.index.borrow_mut() = Some(value.to_vec());
            Ok(())
        }
        async fn delete_many(&self, _: &[String]) -> Result<(), KvError> {
            Ok(())
        }
        async fn update(
            &self,
            _: &str,
            f: &mut crate::platform::Update<'_>,
            _: u32,
        ) -> Result<(), KvError> {
            let next = f(self.index.borrow().as_deref());
            if let Some(next) = next {
                *self.index.borrow_mut() = Some(next);
            }
            Ok(())
        }
    }

    #[test]
    fn an_increment_the_other_process_locked_out_is_counted_once() {
        let store = Contended::new(crate::kv::BUSY_TRIES - 1);
        // "At once" within an hour: a loaded test machine is no busy store.
        futures::executor::block_on(bump_within(&store, "c:push_published", 1, 3_600_000));
        assert_eq!(store.value.get(), 1);
        let index: Vec<String> =
            serde_json::from_slice(store.index.borrow().as_deref().unwrap_or_default())
                .unwrap_or_default();
        assert_eq!(index, ["c:push_published"]);
    }

    #[test]
    fn an_increment_that_keeps_failing_gives_up_and_counts_nothing() {
        let store = Contended::new(crate::kv::BUSY_TRIES);
        // "At once" within an hour: a loaded test machine is no busy store.
        futures::executor::block_on(bump_within(&store, "c:push_published", 1, 3_600_000));
        assert_eq!(store.value.get(), 0);
        assert_eq!(
            store.fails.get(),
            0,
            "tried {} times",
            crate::kv::BUSY_TRIES
        );
        assert!(store.index.borrow().is_none());
    }

    #[test]
    fn another_failure_is_tried_three_times_as_before() {
        // Tried as another failure (3 times), not as a lock (6 times, with pauses).
        let store = Contended::failing_with(crate::kv::BUSY_TRIES, "connection refused");
        // "At once" within an hour: a loaded test machine is no busy store.
        futures::executor::block_on(bump_within(&store, "c:push_published", 1, 3_600_000));
        assert_eq!(store.value.get(), 0);
        assert_eq!(
            store.fails.get(),
            crate::kv::BUSY_TRIES - OTHER_FAILURE_TRIES
        );
    }
}
