//! The region's watch on Redis servers that stop answering without refusing
//! ([`leaderboard::policy::stall`]): every server's canary, kept as one JSON map under [`KEY`] in
//! the edge cache's store (read ahead with the request's other KV keys, so a request pays no host
//! call for it).
//!
//! The canary is the connection: a request whose turn it is claims the canary (one
//! compare-and-swap), opens its connection to the server and sends a `PING` before anything else,
//! then clears the mark (another). Opening is where a paused server first holds a request (Spin's
//! connect waits for the server's answer to its client handshake; a kept connection's first
//! command does), so the canary covers it; and a `PING` always answers at once, so a canary waits
//! only on a server that does not answer at all. Requests that find a server stalled get
//! [`RedisError::Stalled`] before they connect: a `503` with `Retry-After`, not counted against
//! the breaker (nothing was sent), and on a cluster the request reads the slot map again from
//! the other nodes, so that once a replica has taken over the stalled primary's slots it goes
//! there.

use std::cell::RefCell;
use std::rc::Rc;

use leaderboard::policy::stall::{Canaries, StallPolicy, Watch};

use crate::platform::{KvStore, Platform, RedisError, RedisExec};

/// The canaries' key in the region's KV store.
pub const KEY: &str = "lb:breaker:stall";

/// How many compare-and-swap races an update may lose before giving up (the state is advisory).
const CAS_RETRIES: u32 = 3;

/// What this request decided for a server.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Send.
    Go,
    /// This request holds the canary: `PING` on opening, then [`StallWatch::answered`].
    Canary,
    /// Do not send (the reason).
    Stalled(String),
}

/// One request's view of the canaries, and the verdict for each server it talks to.
pub struct StallWatch {
    kv: Option<Box<dyn KvStore>>,
    seen: RefCell<Option<Canaries>>,
    verdicts: RefCell<Vec<(String, Verdict)>>,
    /// Whether this request may be a stalled server's reprobe (a health probe may not: it must
    /// answer, not join the wait).
    reprobe: bool,
}

/// What a request does before opening a connection to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// Open it.
    Open,
    /// Open it, `PING` it, and report the answer ([`StallWatch::answered`]).
    Canary,
}

impl StallWatch {
    /// The watch of a request (the store is read when a server is first asked about).
    pub async fn open(platform: &dyn Platform) -> Self {
        Self {
            kv: platform.kv(crate::kv::STORE).await,
            seen: RefCell::new(None),
            verdicts: RefCell::new(Vec::new()),
            reprobe: true,
        }
    }

    /// The watch of a health probe: a stalled server is reported at once, never reprobed by it.
    pub async fn observing(platform: &dyn Platform) -> Self {
        Self {
            reprobe: false,
            ..Self::open(platform).await
        }
    }

    /// Before the request opens a connection to `server` (`host:port`): whether to, and as the
    /// canary or not; [`RedisError::Stalled`] when the server has not answered a canary for too
    /// long.
    pub async fn before_open(&self, server: &str, now_ms: i64) -> Result<Opening, RedisError> {
        let known = self
            .verdicts
            .borrow()
            .iter()
            .find(|(s, _)| s == server)
            .map(|(_, v)| v.clone());
        let verdict = match known {
            Some(v) => v,
            None => {
                let v = self.decide(server, now_ms).await;
                self.verdicts
                    .borrow_mut()
                    .push((server.to_owned(), v.clone()));
                v
            }
        };
        match verdict {
            Verdict::Go => Ok(Opening::Open),
            Verdict::Canary => Ok(Opening::Canary),
            Verdict::Stalled(why) => Err(RedisError::Stalled(why)),
        }
    }

    async fn decide(&self, server: &str, now_ms: i64) -> Verdict {
        let policy = StallPolicy::default();
        let canary = self.canaries().await.of(server);
        let watch = if self.reprobe {
            canary.watch(&policy, now_ms)
        } else {
            canary.watch_without_reprobe(&policy, now_ms)
        };
        match watch {
            Watch::Go => Verdict::Go,
            Watch::Stalled {
                waited_ms,
                retry_after_ms,
            } => {
                crate::scope::set_retry_after_ms(retry_after_ms);
                let silent = format!("{:.1} s", waited_ms as f64 / 1000.0);
                // The server's address goes to the log, not to the client.
                eprintln!("redis stall watch: {server} has not answered for {silent}");
                Verdict::Stalled(format!(
                    "the Redis server holding this data has not answered for {silent}"
                ))
            }
            Watch::Canary => {
                // Claimed or not, the claim's KV calls are the region's.
                crate::scope::note_upkeep("stall canary");
                match self.update(server, |c| c.claim(&policy, now_ms)).await {
                    Ok(true) => Verdict::Canary,
                    // Another request took it, or there is no store to share it in.
                    Ok(false) => Verdict::Go,
                    Err(e) => {
                        // Unwatched for this request, not refused: the store's trouble is not
                        // Redis's.
                        eprintln!("redis stall watch: cannot claim the canary of {server}: {e}");
                        Verdict::Go
                    }
                }
            }
        }
    }

    /// Changes `server`'s canary by compare-and-swap (written only when `change` says it
    /// changed it); whether it did (`false` without a store).
    async fn update(
        &self,
        server: &str,
        mut change: impl FnMut(&mut leaderboard::policy::stall::Canary) -> bool,
    ) -> Result<bool, crate::platform::KvError> {
        let Some(kv) = self.kv.as_deref() else {
            return Ok(false);
        };
        let mut changed = false;
        let now_ms = crate::scope::now_ms();
        kv.update(
            KEY,
            &mut |current| {
                let mut all = Canaries::decode(current);
                let mut c = all.of(server);
                changed = change(&mut c);
                changed.then(|| {
                    all.0.insert(server.to_owned(), c);
                    all.prune(&StallPolicy::default(), now_ms);
                    all.encode()
                })
            },
            CAS_RETRIES,
        )
        .await?;
        Ok(changed)
    }

    /// The canary (this request's) got its answer from `server`, or a failure other than
    /// silence: the server answers. Clears its mark for the region.
    pub async fn answered(&self, server: &str) {
        {
            let mut verdicts = self.verdicts.borrow_mut();
            match verdicts.iter_mut().find(|(s, _)| s == server) {
                Some((_, v)) if *v == Verdict::Canary => *v = Verdict::Go,
                _ => return,
            }
        }
        if let Err(e) = self.update(server, |c| c.answered()).await {
            // The mark stays: the server looks stalled until a reprobe answers.
            eprintln!("redis stall watch: cannot clear the canary of {server}: {e}");
        }
    }

    /// After connecting to `server` as `opening` says: the canary's `PING` when this request
    /// holds the canary, then its mark cleared (the connect itself counted: Spin's waits for the
    /// server's handshake answer). A connection an instance kept (p3) may have broken since its
    /// last use: with `reconnect` it connects anew once, as a failed command would be retried.
    /// The connection to use, or the transport failure the server answered with.
    pub async fn canary_after_open(
        &self,
        server: &str,
        opening: Opening,
        conn: Rc<dyn RedisExec>,
        reconnect: bool,
    ) -> Result<Rc<dyn RedisExec>, RedisError> {
        if opening != Opening::Canary {
            return Ok(conn);
        }
        let mut conn = conn;
        let mut pong = conn.execute("PING", &[]).await;
        if reconnect && matches!(&pong, Err(e) if e.is_transport()) {
            match conn.reconnect().await {
                Some(Ok(fresh)) => {
                    conn = Rc::from(fresh);
                    pong = conn.execute("PING", &[]).await;
                }
                Some(Err(e)) => eprintln!("redis: reconnecting for the canary: {e}"),
                None => {}
            }
        }
        self.answered(server).await;
        match pong {
            Err(e) if e.is_transport() => Err(e),
            _ => Ok(conn),
        }
    }

    async fn canaries(&self) -> Canaries {
        if let Some(seen) = self.seen.borrow().as_ref() {
            return seen.clone();
        }
        let raw = match self.kv.as_deref() {
            Some(kv) => match kv.get(KEY).await {
                Ok(raw) => raw,
                Err(e) => {
                    eprintln!("redis stall watch: cannot read the canaries: {e}");
                    None
                }
            },
            None => None,
        };
        let seen = Canaries::decode(raw.as_deref());
        *self.seen.borrow_mut() = Some(seen.clone());
        seen
    }
}

/// How long each server that stopped answering has been silent, for `/health/detailed` (a
/// store that cannot be read is logged and reports none).
pub async fn silences(platform: &dyn Platform, now_ms: i64) -> Vec<i64> {
    let raw = match platform.kv(crate::kv::STORE).await {
        Some(kv) => kv.get(KEY).await.unwrap_or_else(|e| {
            eprintln!("redis stall watch: cannot read the canaries: {e}");
            None
        }),
        None => None,
    };
    let policy = StallPolicy::default();
    let mut all = Canaries::decode(raw.as_deref());
    all.prune(&policy, now_ms);
    all.0
        .values()
        .filter_map(|c| c.silent_for(&policy, now_ms))
        .collect()
}
