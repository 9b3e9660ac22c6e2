//! Webhook messages: stored per message, a due set per tenant, a log per subscription (all in
//! the tenant's hash slot, `lb:tenant:{t}:wh:…`).

use leaderboard::Result;

use crate::repo::{Keys, RedisParameter, RedisResult, Repo, bin, int, text};

const ENQUEUE: &str = include_str!("lua/wh_enqueue.lua");
const CLAIM: &str = include_str!("lua/wh_claim.lua");
const RECORD: &str = include_str!("lua/wh_record.lua");
const RING: &str = include_str!("lua/wh_ring.lua");
const FANOUT: &str = include_str!("lua/wh_fanout.lua");
const WANT: &str = include_str!("lua/wh_want.lua");
const FAILING: &str = include_str!("lua/wh_failing.lua");

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
        let r = self
            .eval(
                ENQUEUE,
                &[keys.message(id), keys.due(), keys.log(subscription)],
                vec![
                    bin(json),
                    bin(id),
                    RedisParameter::Int64(due_ms),
                    RedisParameter::Int64(created_ms),
                    RedisParameter::Int64(ttl_secs),
                    RedisParameter::Int64(log_kept),
                ],
            )
            .await?;
        Ok(r.first().map(int).transpose()? == Some(1))
    }

    /// Leases up to `count` messages due by `now_ms` until `lease_ms`: their ids.
    pub async fn webhook_claim(
        &self,
        keys: &MessageKeys,
        now_ms: i64,
        lease_ms: i64,
        count: i64,
    ) -> Result<Vec<String>> {
        self.eval(
            CLAIM,
            &[keys.due()],
            vec![
                RedisParameter::Int64(now_ms),
                RedisParameter::Int64(lease_ms),
                RedisParameter::Int64(count),
            ],
        )
        .await?
        .iter()
        .map(text)
        .collect()
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
        self.eval(
            RECORD,
            &[keys.message(id), keys.due()],
            vec![
                bin(json),
                bin(id),
                bin(next_ms.map(|n| n.to_string()).unwrap_or_default()),
                RedisParameter::Int64(ttl_secs),
            ],
        )
        .await?;
        Ok(())
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
        let r = self
            .eval(
                FAILING,
                &[keys.failing()],
                vec![bin(subscription), RedisParameter::Int64(now_ms)],
            )
            .await?;
        Ok(r.first()
            .and_then(|v| text(v).ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(now_ms))
    }

    /// Clears a subscription's failing time (it was delivered to).
    pub async fn webhook_recovered(&self, keys: &MessageKeys, subscription: &str) -> Result<()> {
        self.hdel(&keys.failing(), subscription).await.map(|_| ())
    }

    /// Rings the webhook deliverer for a board if a subscription wants its events (after a
    /// drain applied entries), noting the board as owed a catch-up when it rang
    /// (`crate::webhooks::due`): whether it rang.
    pub async fn webhook_ring_board(&self, keys: &Keys, now_ms: i64) -> Result<bool> {
        let r = self
            .eval(
                RING,
                &[keys.hooks(), keys.hooks_bell()],
                vec![bin(keys.hooks_ring())],
            )
            .await?;
        let rang = r.first().map(int).transpose()? == Some(1);
        if rang {
            self.note_rang(keys, now_ms).await;
        }
        Ok(rang)
    }

    /// Marks whether a subscription wants the board's events; when none does any more, the
    /// fan-out's consumer group goes too (the log may then be trimmed freely).
    pub async fn webhook_board_wanted(&self, keys: &Keys, wanted: bool) -> Result<()> {
        self.eval(
            WANT,
            &[keys.hooks(), keys.events()],
            vec![bin(if wanted { "1" } else { "0" })],
        )
        .await?;
        Ok(())
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
        let flat = self
            .eval(
                FANOUT,
                &[keys.events(), keys.hooks_bell()],
                vec![
                    bin(start_id),
                    RedisParameter::Int64(count),
                    RedisParameter::Int64(min_idle_ms),
                ],
            )
            .await?;
        flat.chunks_exact(2)
            .map(|p| Ok((text(&p[0])?, text(&p[1])?)))
            .collect()
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
