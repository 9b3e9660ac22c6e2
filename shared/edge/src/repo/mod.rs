//! The Redis repository: the source of truth, reached through Spin's outbound Redis (`execute`).
//!
//! Key layout — every key of a board shares the hash tag `{tenant/board}`, so the multi-key Lua
//! scripts stay on one slot and the layout runs on Redis Cluster:
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:config` | string | the board in its stored form (`leaderboard::board::stored`, format 1: its canonical config JSON), read without the input's checks |
//! | `lb:{t/b}:version` | string | the board's version: an integer counter, `INCR`ed by every write's own script (starts at `leaderboard::http::cache::initial_version`) |
//! | `lb:{t/b}:z:<period>` | sorted set | score = rank value (exact integer < 2^53), member = `{achieved_at:013x}{player}` |
//! | `lb:{t/b}:r:<period>` | hash | player → `Record` JSON |
//! | `lb:{t/b}:m:<period>` | hash | player → current sorted-set member |
//! | `lb:{t/b}:periods` | set | period ids that have data (for deletion) |
//! | `lb:{t/b}:events` | stream | the board's log: every accepted change, appended in the same script as its effect |
//! | `lb:{t/b}:dead` | stream | dead letters: inbox entries that cannot be applied, with reason and deliveries |
//! | `lb:tenant:{t}:boards` | set | board ids of a tenant |
//!
//! Writes are compare-and-set: the handler reads a record, the pure core decides the new record,
//! and one Lua script applies it only if the record is still the one read (else the handler
//! retries). Business rules stay in `shared/leaderboard`; Redis only sees the decided effects.
//!
//! Here: the link (one server, or a cluster: [`routed`]; replica acknowledgements: [`replicas`]),
//! the script runner (and [`script`]: a script's keys, arguments and answers by name), the
//! board at a moment that a board's operations take ([`BoardAt`]: the repository, tenant,
//! board, keys and time as one value), the board's own key names ([`Keys`], [`keys`]; each
//! capability adds the names of its keys, and their rows of this table, in its `store`), the
//! event log and its dead letters ([`log`]), and plain commands for small records ([`plain`],
//! [`hashes`]). Each capability's Redis methods and Lua scripts live in its own folder
//! (`crate::boards::store`, `crate::submissions::writes`, …).

mod board_at;
mod hashes;
pub(crate) mod log;
mod plain;
mod replicas;
mod routed;
pub mod script;

mod keys;

pub use board_at::BoardAt;
pub use keys::Keys;
pub(crate) use keys::{board_deleted, tenant_boards};
pub use log::{StreamEntry, check_stream_id};

use leaderboard::{LeaderboardError, Record, Result};
pub(crate) use spin_sdk::redis::{RedisParameter, RedisResult};

use crate::platform::{Platform, RedisError, RedisExec};
use crate::settings::RedisTarget;

/// Redis failures are logged in full (component stderr) and reported to clients without
/// internals.
fn unavailable(e: impl std::fmt::Display) -> LeaderboardError {
    eprintln!("redis error: {e}");
    LeaderboardError::Unavailable(
        "the leaderboard store (Redis) is unavailable; retry shortly".into(),
    )
}

/// A server that stopped answering ([`RedisError::Stalled`]): `503`, its `Retry-After` set by the
/// watch; the command was not sent.
fn stalled(e: RedisError) -> LeaderboardError {
    eprintln!("redis: {e}");
    LeaderboardError::Unavailable(format!("{e}; retry shortly"))
}

/// A command Redis refused ([`RedisError::Reply`]): this request fails, Redis is healthy. A value
/// of the wrong type under a key is damaged data; anything else is our fault.
fn refused(cmd: &str, reply: &str) -> LeaderboardError {
    eprintln!("redis refused {cmd}: {reply}");
    // Anywhere in the text: a script's failed call reads `WRONGTYPE …` from Redis 7, but
    // `ERR Error running script … WRONGTYPE …` from earlier versions.
    if reply.contains("WRONGTYPE") {
        LeaderboardError::CorruptData(
            "a value in the leaderboard store is not of the type this request expects".into(),
        )
    } else {
        LeaderboardError::Internal("the leaderboard store refused a command".into())
    }
}

pub(crate) fn bin(s: impl Into<Vec<u8>>) -> RedisParameter {
    RedisParameter::Binary(s.into())
}

pub(crate) fn text(r: &RedisResult) -> Result<String> {
    match r {
        RedisResult::Binary(b) => String::from_utf8(b.clone())
            .map_err(|_| LeaderboardError::CorruptData("non-UTF-8 value in Redis".into())),
        RedisResult::Status(s) => Ok(s.clone()),
        RedisResult::Int64(i) => Ok(i.to_string()),
        RedisResult::Nil => Ok(String::new()),
    }
}

pub(crate) fn int(r: &RedisResult) -> Result<i64> {
    match r {
        RedisResult::Int64(i) => Ok(*i),
        other => text(other)?.parse().map_err(|_| {
            LeaderboardError::CorruptData(format!("expected an integer from Redis, got {other:?}"))
        }),
    }
}

pub(crate) fn uint(r: &RedisResult) -> Result<u64> {
    u64::try_from(int(r)?)
        .map_err(|_| LeaderboardError::CorruptData("negative count from Redis".into()))
}

/// A stored record (`""`: none).
pub(crate) fn parse_record(raw: &str) -> Result<Option<Record>> {
    if raw.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(raw.as_bytes())
        .map(Some)
        .map_err(|e| LeaderboardError::CorruptData(format!("stored record does not decode: {e}")))
}

/// A connection to the source of truth, admitted by the region's circuit breaker
/// ([`crate::breaker`]).
pub struct Repo {
    link: Link,
    guard: crate::breaker::Guard,
    /// Replicas that must acknowledge a submission's write or a board's creation
    /// ([`Repo::eval_durable`]).
    min_replica_acks: u32,
}

pub use replicas::REPLICA_ACK_TIMEOUT_MS;

/// How the repository reaches Redis.
enum Link {
    /// One server: the connection, shared out for each command (a retry's reconnect replaces
    /// it).
    Single(std::cell::RefCell<std::rc::Rc<dyn RedisExec>>),
    /// A Redis Cluster: each command on the primary of its key's slot ([`routed`]).
    Cluster(routed::Routed),
}

/// Commands that change nothing: the only ones retried after a failure.
const IDEMPOTENT: &[&str] = &[
    "PING",
    "GET",
    "MGET",
    "EXISTS",
    "TTL",
    "PTTL",
    "HGET",
    "HMGET",
    "HGETALL",
    "HLEN",
    "SMEMBERS",
    "SCARD",
    "SISMEMBER",
    "ZCARD",
    "ZCOUNT",
    "ZSCORE",
    "ZMSCORE",
    "ZRANK",
    "ZREVRANK",
    "ZRANGE",
    "ZREVRANGE",
    "ZRANGEBYSCORE",
    "ZREVRANGEBYSCORE",
    "LRANGE",
    "XLEN",
    "XRANGE",
    "XREVRANGE",
    "XINFO",
    "XPENDING",
    "SCAN",
];

/// A short random pause before the one retry (10–40 ms), so instances that failed together do
/// not retry together.
async fn jitter() {
    let r = crate::scope::random_u64();
    crate::scope::sleep(10 + r % 31).await;
}

impl Repo {
    /// Replicas that must acknowledge a durable write (`redis_min_replica_acks`; 0: none).
    pub(crate) fn min_replica_acks(&self) -> u32 {
        self.min_replica_acks
    }

    /// Opens the link to Redis on a platform (`redis_url` and `redis_mode` from its variables),
    /// if the circuit breaker admits it: one server's connection (a failed connect is retried
    /// once after a jittered pause), or a cluster's, each opened when a command first needs its
    /// node.
    ///
    /// The request that claims the breaker's half-open probe connects once (no retry) and sends
    /// a `PING` before anything else: the cheapest question that tells whether Redis is back,
    /// answered before the request's own commands, so that its success closes the breaker for
    /// everyone and its failure reopens it without a second connection attempt.
    pub async fn open(platform: &dyn Platform, target: &RedisTarget) -> Result<Self> {
        if crate::breaker::failed_this_request() {
            return Err(unavailable("an earlier Redis call of this request failed"));
        }
        let guard = crate::breaker::Guard::admit(platform, crate::scope::now_ms()).await?;
        let probing = guard.is_probe();
        let watch = crate::stall::StallWatch::open(platform).await;
        let repo = Self::connect(platform, target, guard, watch, !probing).await?;
        if probing {
            let pong = repo.send("PING", &[], false).await;
            repo.report("PING", pong).await?;
        }
        Ok(repo)
    }

    /// Opens the link whatever the breaker's state (the readiness probe): its success closes
    /// the breaker. A server that stopped answering is reported at once ([`crate::stall`]): the
    /// probe is never a stalled server's reprobe (it may still be the first to meet a server
    /// that has just stopped, as any request may).
    pub async fn open_probe(platform: &dyn Platform, target: &RedisTarget) -> Result<Self> {
        let guard = crate::breaker::Guard::probe(platform).await;
        let watch = crate::stall::StallWatch::observing(platform).await;
        Self::connect(platform, target, guard, watch, true).await
    }

    /// Connects (one server), retrying a failed connect once after a jittered pause when
    /// `retry`; a failure is reported to the breaker. A cluster's nodes are connected as
    /// commands need them.
    async fn connect(
        platform: &dyn Platform,
        target: &RedisTarget,
        guard: crate::breaker::Guard,
        watch: crate::stall::StallWatch,
        retry: bool,
    ) -> Result<Self> {
        let watch = std::rc::Rc::new(watch);
        if target.cluster {
            let connector = platform.redis_connector().ok_or_else(|| {
                LeaderboardError::Internal(
                    "this platform cannot reach the nodes of a Redis Cluster".into(),
                )
            })?;
            let kv = platform.kv(crate::kv::STORE).await;
            return Ok(Self {
                link: Link::Cluster(routed::Routed::new(
                    target.urls.clone(),
                    connector,
                    kv,
                    watch,
                )),
                guard,
                min_replica_acks: target.min_replica_acks,
            });
        }
        let url = target.first();
        let server = crate::cluster::address(url);
        let opening = match watch.before_open(server, crate::scope::now_ms()).await {
            Ok(opening) => opening,
            Err(e) => return Err(stalled(e)),
        };
        let conn = match platform.redis(url).await {
            Err(first) if retry => {
                eprintln!("redis connect failed (retrying once): {first}");
                jitter().await;
                platform.redis(url).await
            }
            other => other,
        };
        let conn = match conn {
            Ok(conn) => std::rc::Rc::<dyn RedisExec>::from(conn),
            Err(e) => {
                watch.answered(server).await;
                guard.failed(crate::scope::now_ms()).await;
                return Err(unavailable(e));
            }
        };
        let conn = match watch.canary_after_open(server, opening, conn, retry).await {
            Ok(conn) => conn,
            Err(e) => {
                guard.failed(crate::scope::now_ms()).await;
                return Err(unavailable(e));
            }
        };
        Ok(Self {
            link: Link::Single(std::cell::RefCell::new(conn)),
            guard,
            min_replica_acks: target.min_replica_acks,
        })
    }

    /// The repository in `cell`, connected on first use (`redis_url` and `redis_mode` from the
    /// variables): what handlers that may or may not need Redis keep.
    pub async fn open_in<'c>(
        cell: &'c std::cell::OnceCell<Repo>,
        platform: &dyn Platform,
    ) -> Result<&'c Repo> {
        if let Some(r) = cell.get() {
            return Ok(r);
        }
        let target = crate::settings::redis_target(platform).await?;
        let opened = Self::open(platform, &target).await?;
        Ok(cell.get_or_init(|| opened))
    }

    /// Removes `member` from the sorted set `key`, or, with `score`, only while its score is
    /// that (what the caller holds or read): an entry written again meanwhile stays.
    pub(crate) async fn zrem_if(&self, key: &str, member: &[u8], score: Option<i64>) -> Result<()> {
        let Some(score) = score else {
            self.exec("ZREM", vec![bin(key), bin(member)]).await?;
            return Ok(());
        };
        let keys = zrem_if::Keys {
            set: key.to_string(),
        };
        let args = zrem_if::Args {
            member: member.into(),
            score: score.into(),
        };
        let reply = zrem_if::run(self, keys, args).await?;
        match script::answer(&reply)? {
            (word, []) if word == "removed" || word == "kept" => Ok(()),
            (word, rest) => Err(script::unexpected(zrem_if::NAME, &word, rest)),
        }
    }

    /// `PING`: whether Redis answers.
    pub async fn ping(&self) -> Result<()> {
        self.exec("PING", vec![]).await.map(|_| ())
    }

    /// One command. A command that changes nothing ([`IDEMPOTENT`]) and failed because Redis
    /// could not be reached is retried once, on a new connection when the platform can make
    /// one; every outcome is reported to the breaker.
    pub(crate) async fn exec(
        &self,
        cmd: &str,
        args: Vec<RedisParameter>,
    ) -> Result<Vec<RedisResult>> {
        let result = self.send(cmd, &args, IDEMPOTENT.contains(&cmd)).await;
        self.report(cmd, result).await
    }

    /// One command on the link, retried once after a transport failure when `retry`.
    async fn send(
        &self,
        cmd: &str,
        args: &[RedisParameter],
        retry: bool,
    ) -> std::result::Result<Vec<RedisResult>, RedisError> {
        let cell = match &self.link {
            Link::Single(cell) => cell,
            Link::Cluster(routed) => return routed.execute(cmd, args, retry).await,
        };
        // A handle of its own, so a command under way borrows no cell.
        let conn = std::rc::Rc::clone(&cell.borrow());
        match conn.execute(cmd, args).await {
            Err(e) if e.is_transport() && retry => {
                eprintln!("redis error (retrying {cmd} once): {e}");
                jitter().await;
                let retry_on = match conn.reconnect().await {
                    Some(Ok(fresh)) => {
                        let fresh = std::rc::Rc::<dyn RedisExec>::from(fresh);
                        *cell.borrow_mut() = std::rc::Rc::clone(&fresh);
                        fresh
                    }
                    // The retry goes on the old connection (and most likely fails the same way).
                    Some(Err(e)) => {
                        eprintln!("redis: reconnecting for the retry of {cmd}: {e}");
                        conn
                    }
                    None => conn,
                };
                retry_on.execute(cmd, args).await
            }
            other => other,
        }
    }

    /// Reports a call's outcome to the breaker: a reply, an error reply included, says Redis
    /// answers; only a transport failure counts against it.
    async fn report<T>(&self, cmd: &str, result: std::result::Result<T, RedisError>) -> Result<T> {
        match result {
            Ok(reply) => {
                self.guard.succeeded().await;
                Ok(reply)
            }
            Err(RedisError::Reply(reply)) => {
                self.guard.succeeded().await;
                Err(refused(cmd, &reply))
            }
            Err(e @ RedisError::Transport(_)) => {
                self.guard.failed(crate::scope::now_ms()).await;
                Err(unavailable(e))
            }
            // Nothing was sent: the server stopped answering ([`crate::stall`]).
            Err(e @ RedisError::Stalled(_)) => Err(stalled(e)),
            // One shard of a cluster: its own outage, not the region's.
            Err(e @ RedisError::ShardDown(_)) => {
                eprintln!("redis: {cmd}: {e}");
                crate::scope::set_retry_after(1);
                Err(LeaderboardError::Unavailable(
                    "the Redis server holding this data cannot be reached; retry shortly".into(),
                ))
            }
            // Redis answered: the slot is moving, the servers are fine.
            Err(RedisError::Moving(reply)) => {
                self.guard.succeeded().await;
                eprintln!("redis: {cmd} met a moving slot: {reply}");
                Err(LeaderboardError::Unavailable(
                    "the board's data is moving between Redis servers; retry shortly".into(),
                ))
            }
        }
    }

    pub(crate) async fn eval(
        &self,
        script: &str,
        keys: &[String],
        args: Vec<RedisParameter>,
    ) -> Result<Vec<RedisResult>> {
        let mut params = Vec::with_capacity(2 + keys.len() + args.len());
        params.push(bin(script));
        params.push(RedisParameter::Int64(keys.len() as i64));
        params.extend(keys.iter().map(|k| bin(k.as_str())));
        params.extend(args);
        self.exec("EVAL", params).await
    }
}

script::script! {
    /// A sorted set's member removed only while its score is the caller's (`lua/zrem_if.lua`).
    mod zrem_if = include_str!("lua/zrem_if.lua");
    keys {
        /// The sorted set.
        set,
    }
    args {
        /// The member.
        member,
        /// Its score as the caller holds or read it.
        score,
    }
}
