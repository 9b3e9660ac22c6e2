//! The circuit breaker around Redis ([`leaderboard::policy::breaker`]), its state shared by the instances
//! of a region through the KV store (key [`KEY`] of the edge cache's store).
//!
//! Every [`crate::repo::Repo`] is opened through a [`Guard`]: one KV read before the connection
//! is made (requests that do not touch Redis, such as cached reads, pay nothing). While the
//! breaker is open, opening a repository fails at once with a `503` problem and a `Retry-After`
//! of the time left, without contacting Redis; the cached-read path treats that as it treats a
//! Redis failure and serves its stale copy (stale-if-error). A request's first Redis failure is
//! counted (one KV atomic increment, see [`Guard::failed`]): a transport failure only, never an
//! error reply, which fails its own request alone ([`crate::redis_error`]); a probe's success
//! closes the breaker (one compare-and-swap). A healthy closed breaker costs no write.
//!
//! The thresholds are [`Policy::default`]: 5 failing requests within one fixed 10 s window open
//! it for 500 ms; then the first request claims the probe (one connection attempt and a `PING`,
//! see [`crate::repo::Repo::open`]): its success closes the breaker, its failure opens it for
//! another 500 ms. So while Redis is down a region makes about two connection attempts a second
//! whatever its load, refusals answer from one KV read, and writes come back within about half a
//! second of Redis answering again (measured in `tests/app/suite/api_recovery.rs`; the numbers
//! are in `docs/caching.md` › Redis outages).

use std::cell::Cell;

use leaderboard::policy::breaker::{Admission, Breaker, Policy, State};
use leaderboard::{LeaderboardError, Result};

use crate::platform::{KvStore, Platform};

/// Starts a request's bookkeeping (`edge::serve::respond`, the Redis-triggered handlers).
pub fn begin_request() {
    crate::scope::with(|l| l.redis_failed = false);
}

/// Whether Redis already failed in the request being served: a request counts once, and does
/// not connect again after a failed connect (its own: [`crate::scope::Locals`]).
pub fn failed_this_request() -> bool {
    crate::scope::with(|l| l.redis_failed)
}

/// The breaker's key in the region's KV store.
pub const KEY: &str = "lb:breaker:redis";

/// How many compare-and-swap races an update may lose before giving up (the state is advisory).
const CAS_RETRIES: u32 = 3;

/// One request's admission to Redis and what it reports back.
pub struct Guard {
    kv: Option<Box<dyn KvStore>>,
    /// The state read when the request was admitted.
    seen: Breaker,
    /// This request holds the half-open probe.
    probing: bool,
    reported_failure: Cell<bool>,
    reported_success: Cell<bool>,
}

/// The current state, for `/health/detailed`: `(state, stored value)`.
pub async fn status(platform: &dyn Platform, now_ms: i64) -> (State, Breaker) {
    let kv = platform.kv(crate::kv::STORE).await;
    let b = read(kv.as_deref()).await;
    (b.state(now_ms), b)
}

async fn read(kv: Option<&dyn KvStore>) -> Breaker {
    let stored = match kv {
        Some(kv) => kv.get(KEY).await.ok().flatten(),
        None => None,
    };
    Breaker::decode(stored.as_deref())
}

fn rejected(seen: &Breaker, retry_after_ms: i64) -> LeaderboardError {
    let secs = crate::scope::set_retry_after_ms(retry_after_ms);
    LeaderboardError::Unavailable(format!(
        "the leaderboard store (Redis) is failing: the circuit breaker is open (opened {} time(s) \
         in a row); retry in {secs} s",
        seen.openings.max(1)
    ))
}

impl Guard {
    /// Admits a request to Redis, or refuses it while the breaker is open.
    pub async fn admit(platform: &dyn Platform, now_ms: i64) -> Result<Self> {
        let kv = platform.kv(crate::kv::STORE).await;
        let seen = read(kv.as_deref()).await;
        let probing = match seen.admit(now_ms) {
            Admission::Closed => false,
            Admission::Reject { retry_after_ms } => return Err(rejected(&seen, retry_after_ms)),
            Admission::Probe => {
                let policy = Policy::default();
                let mut claimed = false;
                // A race lost to another instance is no claim. A store that refuses the write
                // (logged) must not keep Redis shut for the region once it is back: the request
                // that would have claimed probes anyway, and so may others while the store
                // refuses writes.
                if let Some(kv) = kv.as_deref() {
                    store(kv, "the probe's claim", &mut |current| {
                        let mut b = Breaker::decode(current);
                        claimed = b.claim_probe(&policy, now_ms);
                        claimed.then(|| b.encode())
                    })
                    .await;
                }
                if !claimed {
                    return Err(rejected(&seen, policy.probe_ms));
                }
                true
            }
        };
        Ok(Self {
            kv,
            seen,
            probing,
            reported_failure: Cell::new(false),
            reported_success: Cell::new(false),
        })
    }

    /// Whether this request holds the half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probing
    }

    /// A guard that admits whatever the state (the readiness probe: its success closes the
    /// breaker, its failure counts).
    pub async fn probe(platform: &dyn Platform) -> Self {
        let kv = platform.kv(crate::kv::STORE).await;
        let seen = read(kv.as_deref()).await;
        Self {
            kv,
            seen,
            probing: true,
            reported_failure: Cell::new(false),
            reported_success: Cell::new(false),
        }
    }

    /// Reports a Redis failure (counted once per request).
    ///
    /// While closed, failures are counted with an atomic increment of the window's counter
    /// (`<KEY>:failures:<window>`; the previous window's is deleted when a window starts), and the
    /// one that reaches the threshold opens the breaker. A compare-and-swap would not do: on an
    /// absent key, Spin's stores (and edge-host, faithfully) write unconditionally, so concurrent
    /// first failures would overwrite each other. A failed probe reopens it by compare-and-swap
    /// on the state, which exists by then.
    pub async fn failed(&self, now_ms: i64) {
        if self.reported_failure.replace(true)
            || crate::scope::with(|l| std::mem::replace(&mut l.redis_failed, true))
        {
            return;
        }
        let Some(kv) = self.kv.as_deref() else {
            return;
        };
        let policy = Policy::default();
        let mut opened = false;
        let tripping = self.seen.state(now_ms) == State::Closed && !self.probing;
        if tripping {
            let w = leaderboard::policy::breaker::window(&policy, now_ms);
            let key = format!("{KEY}:failures:{w}");
            let n = match crate::kv::retry_busy(async || kv.increment(&key, 1).await).await {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("redis circuit breaker: cannot count a failure: {e}");
                    return;
                }
            };
            if n == 1 {
                let last = format!("{KEY}:failures:{}", w - 1);
                if let Err(e) = kv.delete_many(&[last]).await {
                    // Harmless but for the space: a window's counter is never read once it is
                    // over.
                    eprintln!("redis circuit breaker: cannot delete the last window's count: {e}");
                }
            }
            if n < i64::from(policy.threshold) {
                return;
            }
            let stored = store(kv, "its opening", &mut |current| {
                let mut b = Breaker::decode(current);
                opened = b.trip(&policy, now_ms);
                opened.then(|| b.encode())
            })
            .await;
            // Logged when it trips, not at each failed probe (two a second during an outage).
            if opened && stored {
                eprintln!("redis circuit breaker: open");
            }
        } else {
            store(kv, "the failed probe", &mut |current| {
                let mut b = Breaker::decode(current);
                b.failed(&policy, now_ms).then(|| b.encode())
            })
            .await;
        }
    }

    /// Reports that Redis answered: closes the breaker if this request saw failures or probed.
    pub async fn succeeded(&self) {
        if self.reported_success.replace(true) || (self.seen.is_clear() && !self.probing) {
            return;
        }
        let Some(kv) = self.kv.as_deref() else {
            return;
        };
        let mut closed = false;
        let stored = store(kv, "its closing", &mut |current| {
            let mut b = Breaker::decode(current);
            closed = b.open_until_ms != 0;
            b.succeeded().then(|| b.encode())
        })
        .await;
        if closed && stored {
            eprintln!("redis circuit breaker: closed");
        }
    }
}

/// Writes the breaker's state by compare-and-swap; whether it was stored. A failure is logged
/// (the state is advisory: the next request's report tries again).
async fn store(kv: &dyn KvStore, what: &str, f: &mut crate::platform::Update<'_>) -> bool {
    match kv.update(KEY, f, CAS_RETRIES).await {
        Ok(()) => true,
        Err(e) => {
            eprintln!("redis circuit breaker: cannot store {what}: {e}");
            false
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::platform::{KvError, OnlyKv, Update};

    /// A store holding one breaker state that refuses every write.
    #[derive(Clone)]
    struct ReadOnly(Vec<u8>);

    #[async_trait::async_trait(?Send)]
    impl KvStore for ReadOnly {
        async fn increment(&self, _: &str, _: i64) -> std::result::Result<i64, KvError> {
            Err(KvError::AccessDenied)
        }
        async fn get(&self, _: &str) -> std::result::Result<Option<Vec<u8>>, KvError> {
            Ok(Some(self.0.clone()))
        }
        async fn set(&self, _: &str, _: &[u8]) -> std::result::Result<(), KvError> {
            Err(KvError::AccessDenied)
        }
        async fn delete_many(&self, _: &[String]) -> std::result::Result<(), KvError> {
            Err(KvError::AccessDenied)
        }
        async fn update(
            &self,
            _: &str,
            f: &mut Update<'_>,
            _: u32,
        ) -> std::result::Result<(), KvError> {
            // The swap runs (it decides what to write), then the write fails.
            f(Some(&self.0));
            Err(KvError::AccessDenied)
        }
    }

    #[test]
    fn a_store_that_refuses_writes_never_keeps_redis_shut() {
        futures::executor::block_on(async {
            let open = Breaker {
                open_until_ms: 1_000,
                openings: 1,
                opened_at_ms: 500,
                ..Breaker::default()
            };
            let platform = OnlyKv(ReadOnly(open.encode()));
            // Still open: refused without a write.
            assert!(Guard::admit(&platform, 900).await.is_err());
            // The open time is over: the probe's claim cannot be stored, and the request probes
            // all the same (were it refused, the stored "open" would refuse every request for as
            // long as the store refuses writes, Redis healthy or not).
            assert_eq!(open.admit(2_000), Admission::Probe);
            let admitted = Guard::admit(&platform, 2_000).await.map(|g| g.is_probe());
            assert_eq!(admitted, Ok(true));
        });
    }
}
