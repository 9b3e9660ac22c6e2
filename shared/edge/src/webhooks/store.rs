//! Webhook messages: stored per message, a due set per tenant, a log per subscription (all in
//! the tenant's hash slot, `lb:tenant:{t}:wh:…`).

use leaderboard::{LeaderboardError, Result};

use crate::repo::script::{Arg, answer, script, unexpected};
use crate::repo::{Keys, RedisParameter, RedisResult, Repo, bin, int, text};

script! {
    /// A new message, stored once (`lua/wh_enqueue.lua`).
    mod enqueue = include_str!("lua/wh_enqueue.lua");
    keys {
        /// The message ([`MessageKeys::message`]).
        message,
        /// The tenant's due set ([`MessageKeys::due`]).
        due,
        /// The subscription's log ([`MessageKeys::log`]).
        log,
    }
    args {
        /// The message (JSON).
        json,
        /// Its id.
        id,
        /// When it is due (ms).
        due_ms,
        /// When it was made (ms).
        created_ms,
        /// How long it is kept (s).
        ttl_secs,
        /// How many of the subscription's newest messages its log keeps.
        log_kept,
    }
}

script! {
    /// A lease of the messages due (`lua/wh_claim.lua`).
    mod claim = include_str!("lua/wh_claim.lua");
    keys {
        /// The tenant's due set.
        due,
    }
    args {
        /// The caller's clock (ms).
        now_ms,
        /// When the lease ends (ms).
        lease_until_ms,
        /// Messages taken at most.
        count,
    }
}

script! {
    /// A message after an attempt (`lua/wh_record.lua`).
    mod record = include_str!("lua/wh_record.lua");
    keys {
        /// The message.
        message,
        /// The tenant's due set.
        due,
    }
    args {
        /// The message (JSON).
        json,
        /// Its id.
        id,
        /// When it is due again (ms; `''`: done).
        next_ms,
        /// How long it is kept (s).
        ttl_secs,
    }
}

script! {
    /// The deliverer's ring for a board (`lua/wh_ring.lua`).
    mod ring = include_str!("lua/wh_ring.lua");
    keys {
        /// The flag saying a subscription wants the board ([`Keys::hooks`]).
        hooks,
        /// The deliverer's bell ([`Keys::hooks_bell`]).
        hooks_bell,
    }
    args {
        /// The ring's payload (`wh:tenant/board`).
        ring,
    }
}

script! {
    /// A read of the board's log for the fan-out (`lua/wh_fanout.lua`).
    mod fanout = include_str!("lua/wh_fanout.lua");
    keys {
        /// The board's log.
        events,
        /// The deliverer's bell.
        hooks_bell,
    }
    args {
        /// Where the fan-out's consumer group starts when it is made.
        start_id,
        /// Entries read at most.
        count,
        /// How long a read entry waits unacknowledged before it is taken back (ms).
        min_idle_ms,
    }
}

script! {
    /// Whether a subscription wants a board's events (`lua/wh_want.lua`).
    mod want = include_str!("lua/wh_want.lua");
    keys {
        /// The flag.
        hooks,
        /// The board's log.
        events,
    }
    args {
        /// `'1'` wanted, `'0'` not.
        wanted,
    }
}

script! {
    /// A subscription's failing time, set once (`lua/wh_failing.lua`).
    mod failing = include_str!("lua/wh_failing.lua");
    keys {
        /// The tenant's failing subscriptions ([`MessageKeys::failing`]).
        failing,
    }
    args {
        /// The subscription.
        subscription,
        /// The caller's clock (ms).
        now_ms,
    }
}

/// The keys of one tenant's webhook messages.
#[derive(Debug, Clone)]
pub struct MessageKeys {
    prefix: String,
}

impl MessageKeys {
    /// The keys of `tenant`.
    pub fn new(tenant: &str) -> Self {
        Self {
            prefix: format!("lb:tenant:{{{tenant}}}:wh"),
        }
    }

    /// One message (string, JSON).
    pub fn message(&self, id: &str) -> String {
        format!("{}:msg:{id}", self.prefix)
    }

    /// Messages by due time (zset).
    pub fn due(&self) -> String {
        format!("{}:due", self.prefix)
    }

    /// A subscription's messages by creation time (zset).
    pub fn log(&self, subscription: &str) -> String {
        format!("{}:log:{subscription}", self.prefix)
    }

    /// Since when each failing subscription has failed (hash: id → Unix ms).
    pub fn failing(&self) -> String {
        format!("{}:failing", self.prefix)
    }
}

impl Keys {
    /// Present while a webhook subscription wants this board's events (`edge::webhooks`): the
    /// write scripts then ring the webhook deliverer.
    pub fn hooks(&self) -> String {
        self.k("wh")
    }
    /// The payload of the board's webhook ring on `lb:webhooks`: `wh:tenant/board`.
    pub fn hooks_ring(&self) -> String {
        format!("wh:{}", self.board_ref())
    }
    /// The last period whose `period.closed` webhook messages were made (its id).
    pub fn hooks_closed(&self) -> String {
        self.k("wh:closed")
    }
    /// Set while a webhook ring for the board is pending (cleared when a fan-out starts).
    pub fn hooks_bell(&self) -> String {
        self.k("wh:bell")
    }
}

impl Repo {
    /// Stores a new message due at `due_ms`: whether it was new.
    #[allow(clippy::too_many_arguments)]
    pub async fn webhook_enqueue(
        &self,
        keys: &MessageKeys,
        subscription: &str,
        id: &str,
        json: &str,
        due_ms: i64,
        created_ms: i64,
        ttl_secs: i64,
        log_kept: i64,
    ) -> Result<bool> {
        let r = enqueue::run(
            self,
            enqueue::Keys {
                message: keys.message(id),
                due: keys.due(),
                log: keys.log(subscription),
            },
            enqueue::Args {
                json: json.into(),
                id: id.into(),
                due_ms: due_ms.into(),
                created_ms: created_ms.into(),
                ttl_secs: ttl_secs.into(),
                log_kept: log_kept.into(),
            },
        )
        .await?;
        match answer(&r)? {
            (word, []) if word == "stored" => Ok(true),
            (word, []) if word == "exists" => Ok(false),
            (word, rest) => Err(unexpected(enqueue::NAME, &word, rest)),
        }
    }

    /// Leases up to `count` messages due by `now_ms` until `lease_ms`: their ids.
    pub async fn webhook_claim(
        &self,
        keys: &MessageKeys,
        now_ms: i64,
        lease_ms: i64,
        count: i64,
    ) -> Result<Vec<String>> {
        let r = claim::run(
            self,
            claim::Keys { due: keys.due() },
            claim::Args {
                now_ms: now_ms.into(),
                lease_until_ms: lease_ms.into(),
                count: count.into(),
            },
        )
        .await?;
        match answer(&r)? {
            (word, ids) if word == "leased" => ids.iter().map(text).collect(),
            (word, rest) => Err(unexpected(claim::NAME, &word, rest)),
        }
    }

    /// Stores a message after an attempt: due again at `next_ms`, or done.
    pub async fn webhook_record(
        &self,
        keys: &MessageKeys,
        id: &str,
        json: &str,
        next_ms: Option<i64>,
        ttl_secs: i64,
    ) -> Result<()> {
        let r = record::run(
            self,
            record::Keys {
                message: keys.message(id),
                due: keys.due(),
            },
            record::Args {
                json: json.into(),
                id: id.into(),
                next_ms: next_ms.map(|n| n.to_string()).unwrap_or_default().into(),
                ttl_secs: ttl_secs.into(),
            },
        )
        .await?;
        match answer(&r)? {
            (word, []) if word == "recorded" => Ok(()),
            (word, rest) => Err(unexpected(record::NAME, &word, rest)),
        }
    }

    /// Gives a leased message back, due at `due_ms`.
    pub async fn webhook_release(&self, keys: &MessageKeys, id: &str, due_ms: i64) -> Result<()> {
        self.exec(
            "ZADD",
            vec![
                bin(keys.due()),
                bin("XX"),
                RedisParameter::Int64(due_ms),
                bin(id),
            ],
        )
        .await?;
        Ok(())
    }

    /// Takes a message off the due set (it expired).
    pub async fn webhook_forget(&self, keys: &MessageKeys, id: &str) -> Result<()> {
        self.exec("ZREM", vec![bin(keys.due()), bin(id)]).await?;
        Ok(())
    }

    /// `MGET` of messages (same slot): each one's JSON, if it still exists.
    pub async fn webhook_messages(
        &self,
        keys: &MessageKeys,
        ids: &[String],
    ) -> Result<Vec<Option<String>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.exec("MGET", ids.iter().map(|id| bin(keys.message(id))).collect())
            .await?
            .iter()
            .map(|r| match r {
                RedisResult::Nil => Ok(None),
                other => text(other).map(|t| (!t.is_empty()).then_some(t)),
            })
            .collect()
    }

    /// A subscription's newest `count` message ids, newest first.
    pub async fn webhook_log(
        &self,
        keys: &MessageKeys,
        subscription: &str,
        count: i64,
    ) -> Result<Vec<String>> {
        self.exec(
            "ZREVRANGE",
            vec![
                bin(keys.log(subscription)),
                RedisParameter::Int64(0),
                RedisParameter::Int64(count - 1),
            ],
        )
        .await?
        .iter()
        .map(text)
        .collect()
    }

    /// Messages waiting (due now or later, leased included).
    pub async fn webhook_backlog(&self, keys: &MessageKeys) -> Result<u64> {
        let r = self.exec("ZCARD", vec![bin(keys.due())]).await?;
        Ok(r.first().map(int).transpose()?.unwrap_or(0).max(0) as u64)
    }

    /// The earliest due time, if any message waits.
    pub async fn webhook_next_due(&self, keys: &MessageKeys) -> Result<Option<i64>> {
        let r = self
            .exec(
                "ZRANGE",
                vec![
                    bin(keys.due()),
                    RedisParameter::Int64(0),
                    RedisParameter::Int64(0),
                    bin("WITHSCORES"),
                ],
            )
            .await?;
        match r.get(1) {
            Some(score) => Ok(text(score)?.parse::<f64>().ok().map(|s| s as i64)),
            None => Ok(None),
        }
    }

    /// `HSETNX`: the failing-since time of a subscription, set once.
    pub async fn webhook_failing(
        &self,
        keys: &MessageKeys,
        subscription: &str,
        now_ms: i64,
    ) -> Result<i64> {
        let r = failing::run(
            self,
            failing::Keys {
                failing: keys.failing(),
            },
            failing::Args {
                subscription: subscription.into(),
                now_ms: now_ms.into(),
            },
        )
        .await?;
        match answer(&r)? {
            (word, [since]) if word == "failing_since" => text(since)?.parse().map_err(|e| {
                LeaderboardError::CorruptData(format!(
                    "subscription {subscription}'s failing time: {e}"
                ))
            }),
            (word, rest) => Err(unexpected(failing::NAME, &word, rest)),
        }
    }

    /// Clears a subscription's failing time (it was delivered to).
    pub async fn webhook_recovered(&self, keys: &MessageKeys, subscription: &str) -> Result<()> {
        self.hdel(&keys.failing(), subscription).await.map(|_| ())
    }

    /// Rings the webhook deliverer for a board if a subscription wants its events (after a
    /// drain applied entries), noting the board as owed a catch-up when it rang
    /// (`crate::webhooks::due`): whether it rang.
    pub async fn webhook_ring_board(&self, keys: &Keys, now_ms: i64) -> Result<bool> {
        let r = ring::run(
            self,
            ring::Keys {
                hooks: keys.hooks(),
                hooks_bell: keys.hooks_bell(),
            },
            ring::Args {
                ring: keys.hooks_ring().into(),
            },
        )
        .await?;
        let rang = match answer(&r)? {
            (word, []) if word == "rang" => true,
            (word, []) if word == "quiet" => false,
            (word, rest) => return Err(unexpected(ring::NAME, &word, rest)),
        };
        if rang {
            self.note_rang(keys, now_ms).await;
        }
        Ok(rang)
    }

    /// Marks whether a subscription wants the board's events; when none does any more, the
    /// fan-out's consumer group goes too (the log may then be trimmed freely).
    pub async fn webhook_board_wanted(&self, keys: &Keys, wanted: bool) -> Result<()> {
        let r = want::run(
            self,
            want::Keys {
                hooks: keys.hooks(),
                events: keys.events(),
            },
            want::Args {
                wanted: Arg::flag(wanted),
            },
        )
        .await?;
        match answer(&r)? {
            (word, []) if word == "marked" => Ok(()),
            (word, rest) => Err(unexpected(want::NAME, &word, rest)),
        }
    }

    /// Reads up to `count` log entries for the fan-out (see `wh_fanout.lua`): `(entry id, event
    /// JSON)`, the JSON empty for an entry trimmed meanwhile.
    pub async fn webhook_fanout_read(
        &self,
        keys: &Keys,
        start_id: &str,
        count: i64,
        min_idle_ms: i64,
    ) -> Result<Vec<(String, String)>> {
        let r = fanout::run(
            self,
            fanout::Keys {
                events: keys.events(),
                hooks_bell: keys.hooks_bell(),
            },
            fanout::Args {
                start_id: start_id.into(),
                count: count.into(),
                min_idle_ms: min_idle_ms.into(),
            },
        )
        .await?;
        match answer(&r)? {
            (word, pairs) if word == "read" && pairs.len() % 2 == 0 => pairs
                .chunks_exact(2)
                .map(|p| Ok((text(&p[0])?, text(&p[1])?)))
                .collect(),
            (word, rest) => Err(unexpected(fanout::NAME, &word, rest)),
        }
    }

    /// Whether a fan-out read some of the board's log entries and has not acknowledged them.
    pub async fn webhook_fanout_holds(&self, keys: &Keys) -> Result<bool> {
        Ok(self
            .stream_stranded(&keys.events(), "webhooks", 0, 1)
            .await?
            > 0)
    }

    /// Acknowledges fanned-out log entries.
    pub async fn webhook_fanout_ack(&self, keys: &Keys, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut args = vec![bin(keys.events()), bin("webhooks")];
        args.extend(ids.iter().map(|id| bin(id.as_str())));
        self.exec("XACK", args).await?;
        Ok(())
    }
}
