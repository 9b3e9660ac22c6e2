//! The drain's Redis side: hand out inbox entries through the consumer group, read what the core
//! decides on, and apply a decided batch in one script.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:idem:in:<key>` | string | an ingest entry with this `idempotency_key` was applied (24 h) |

use leaderboard::events::inbox::{DEDUPE_TTL_MS, RawEntry};
use leaderboard::{LeaderboardError, Result};
use spin_sdk::redis::RedisParameter;

use crate::repo::{Keys, RedisResult, Repo, bin, int, text, uint};

const CLAIM: &str = include_str!("lua/claim.lua");
const LOOKUP: &str = include_str!("lua/lookup.lua");
const APPLY_BATCH: &str =
    crate::integrity::stats::with_stats_note!(include_str!("lua/apply_batch.lua"));

/// The consumer group every drain of a board's inbox reads through.
pub const GROUP: &str = "projector";

/// The doorbell channel the projector listens on; the payload is `tenant/board`.
pub const DOORBELL: &str = "lb:doorbell";

/// One value the core decides on: a hash field (`field` non-empty) or a key's existence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The key.
    pub key: String,
    /// The hash field, or `""` for the key's existence.
    pub field: String,
}

/// A decided write of a drained entry.
#[derive(Debug, Clone)]
pub struct Put {
    /// Indexes into [`Batch::keys`] of the period's record hash, member hash and sorted set.
    pub period_keys: [usize; 3],
    /// The player.
    pub player: String,
    /// The new record (JSON).
    pub record: String,
    /// Its sorted-set member.
    pub member: String,
    /// Its rank value.
    pub rank_value: u64,
    /// When the period's keys expire.
    pub expire_at_ms: Option<i64>,
    /// The `score_applied` event.
    pub event: String,
    /// How it counts in the board's stats: indexes into [`Batch::keys`] of its minute's keys
    /// and the note (`None`: the board keeps no stats).
    pub stats: Option<([usize; 3], crate::integrity::stats::StatsNote)>,
    /// The period written.
    pub period: leaderboard::PeriodId,
    /// The band its submission names, placing its player on a board with cohorts.
    pub band: Option<String>,
    /// Index into [`Batch::keys`] of its player's cohort's sorted set, which keeps the entry
    /// too (`None`: the board has no cohorts). Set once the players are placed.
    pub cohort: Option<usize>,
}

/// An entry moved to the dead letters.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Its inbox id.
    pub id: String,
    /// Why it cannot be applied.
    pub reason: String,
    /// How many times it was delivered.
    pub deliveries: u64,
    /// Its fields (JSON object), for a redrive.
    pub entry: String,
}

/// A decided batch.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Keys beyond the board's fixed six (records/members/sorted set per period, dedupe keys).
    pub keys: Vec<String>,
    /// What the decisions were based on, with the values seen: `(index into keys, field,
    /// value)`; an empty field means the key had to be absent.
    pub checks: Vec<(usize, String, String)>,
    /// Every entry of the batch (all are acknowledged).
    pub ids: Vec<String>,
    /// New periods: id and its `period_started` event.
    pub starts: Vec<(String, String)>,
    /// Writes, in order.
    pub puts: Vec<Put>,
    /// Dead letters.
    pub dead: Vec<DeadLetter>,
    /// Indexes into keys of ingest idempotency keys to remember.
    pub dedupe: Vec<usize>,
    /// Integrity states to store: index into keys of the period's state hash, player, state
    /// JSON, when the period's keys expire.
    pub states: Vec<(usize, String, String, Option<i64>)>,
    /// Reviews to store (held and flagged submissions): id, JSON, submission time.
    pub reviews: Vec<(String, String, i64)>,
    /// Held and rejected submissions to count in the stats: indexes into keys of the minute's
    /// counters, players and climbers, the counter, the player.
    pub notes: Vec<([usize; 3], String, String)>,
}

impl Batch {
    /// Adds a key (or finds it): its index into [`Batch::keys`].
    pub fn key(&mut self, key: String) -> usize {
        match self.keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                self.keys.push(key);
                self.keys.len() - 1
            }
        }
    }
}

/// What applying a batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchResult {
    /// Written: the board's new version (if anything was put) and the appended event ids.
    Applied {
        /// The board's version after the batch (`None` when nothing was put).
        version: Option<i64>,
        /// Stream ids of the `score_applied` events, in order.
        event_ids: Vec<String>,
    },
    /// Something the decisions were based on changed: look up and decide again.
    Changed,
    /// These entries were applied by another drain meanwhile: drop them and decide again.
    Gone(Vec<String>),
    /// The board was deleted.
    BoardGone,
}

impl Keys {
    /// Marker that an ingest entry with this `idempotency_key` was applied (kept 24 hours).
    pub fn ingest_dedupe(&self, key: &str) -> String {
        self.k(&format!("idem:in:{key}"))
    }
}

impl Repo {
    /// Up to `count` entries for a drain (`consumer`), reclaiming entries pending longer than
    /// `min_idle_ms`.
    pub async fn inbox_claim(
        &self,
        keys: &Keys,
        consumer: &str,
        count: usize,
        min_idle_ms: u64,
    ) -> Result<Vec<RawEntry>> {
        let r = self
            .eval(
                CLAIM,
                &[keys.inbox(), keys.bell()],
                vec![
                    bin(GROUP),
                    bin(consumer),
                    bin(count.to_string()),
                    bin(min_idle_ms.to_string()),
                ],
            )
            .await?;
        let mut entries = Vec::new();
        let mut it = r.iter();
        while let Some(id) = it.next() {
            let (Some(deliveries), Some(n)) = (it.next(), it.next()) else {
                return Err(corrupt("a truncated inbox entry"));
            };
            let n = uint(n)? as usize;
            let mut fields = Vec::with_capacity(n / 2);
            for _ in 0..n / 2 {
                let (Some(k), Some(v)) = (it.next(), it.next()) else {
                    return Err(corrupt("a truncated inbox entry"));
                };
                fields.push((text(k)?, text(v)?));
            }
            entries.push(RawEntry {
                id: text(id)?,
                deliveries: uint(deliveries)?,
                fields,
            });
        }
        Ok(entries)
    }

    /// Reads the values of `lookups` in one round trip (`""` for a missing field, `"1"`/`"0"`
    /// for existence).
    pub async fn lookup(&self, lookups: &[Lookup]) -> Result<Vec<String>> {
        if lookups.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = lookups.iter().map(|l| l.key.clone()).collect();
        let args = lookups.iter().map(|l| bin(l.field.as_str())).collect();
        let r = self.eval(LOOKUP, &keys, args).await?;
        if r.len() != lookups.len() {
            return Err(corrupt("a short lookup reply"));
        }
        r.iter().map(text).collect()
    }

    /// Applies a decided batch if everything it was decided on is unchanged.
    pub async fn apply_batch(
        &self,
        keys: &Keys,
        now_ms: i64,
        batch: &Batch,
    ) -> Result<BatchResult> {
        let mut all_keys = vec![
            keys.config(),
            keys.events(),
            keys.periods(),
            keys.version(),
            keys.inbox(),
            keys.dead(),
            keys.reviews(),
            keys.reviews_index(),
        ];
        all_keys.extend(batch.keys.iter().cloned());
        let args = batch_args(now_ms, batch);
        let r = self.eval(APPLY_BATCH, &all_keys, args).await?;
        batch_answer(&r)
    }

    /// Dead letters of the board.
    pub async fn dead_len(&self, keys: &Keys) -> Result<u64> {
        self.xlen(keys.dead()).await
    }

    /// Entries in the board's inbox not yet applied (new, or being applied by a drain).
    pub async fn inbox_len(&self, keys: &Keys) -> Result<u64> {
        self.xlen(keys.inbox()).await
    }

    async fn xlen(&self, stream: String) -> Result<u64> {
        let r = self.exec("XLEN", vec![bin(stream)]).await?;
        r.first()
            .map(uint)
            .transpose()
            .map(Option::unwrap_or_default)
    }
}

fn corrupt(what: &str) -> LeaderboardError {
    LeaderboardError::CorruptData(format!("Redis returned {what}"))
}

/// Fire-and-forget ingest messages that name no valid board, with the reason (a board's own bad
/// entries go to its dead letters).
pub const INGEST_DEAD: &str = "lb:ingest:dead";

impl Repo {
    /// Appends an entry in the ingest layout to the board's inbox; its stream id.
    pub async fn inbox_add(&self, keys: &Keys, fields: &[(String, String)]) -> Result<String> {
        let mut args = vec![bin(keys.inbox()), bin("*")];
        for (k, v) in fields {
            args.extend([bin(k.as_str()), bin(v.as_str())]);
        }
        let r = self.exec("XADD", args).await?;
        r.first()
            .map(text)
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Keeps an ingest message that names no valid board, with the reason.
    pub async fn ingest_dead(&self, payload: &[u8], reason: &str, now_ms: i64) -> Result<()> {
        self.exec(
            "XADD",
            vec![
                bin(INGEST_DEAD),
                bin("*"),
                bin("payload"),
                bin(payload),
                bin("reason"),
                bin(reason),
                bin("dead_at_ms"),
                bin(now_ms.to_string()),
            ],
        )
        .await?;
        Ok(())
    }

    /// Publishes a doorbell (`tenant/board`) so the Redis-triggered drain runs for the board.
    pub async fn ring(&self, channel: &str, board_ref: &str) -> Result<()> {
        self.publish(channel, board_ref).await
    }
}

/// The batch script's keys before the batch's own: a batch's key `i` is `KEYS[FIXED + i + 1]`.
const FIXED: usize = 8;

/// The batch script's argument naming the batch's key `i` (its index in `KEYS`).
fn idx(i: usize) -> RedisParameter {
    RedisParameter::Binary((FIXED + i + 1).to_string().into_bytes())
}

/// The batch script's arguments (`lua/apply_batch.lua` reads them in this order): the fixed
/// values, then each list of the batch as its length and its items.
fn batch_args(now_ms: i64, batch: &Batch) -> Vec<RedisParameter> {
    let count = |n: usize| bin(n.to_string());
    let mut args = vec![
        bin(GROUP),
        bin(now_ms.to_string()),
        bin(DEDUPE_TTL_MS.to_string()),
        bin(leaderboard::integrity::stats::RETAIN_SECS.to_string()),
        bin(leaderboard::integrity::stats::CLIMBERS_KEPT.to_string()),
    ];
    args.push(count(batch.checks.len()));
    for (k, field, value) in &batch.checks {
        args.extend([idx(*k), bin(field.as_str()), bin(value.as_str())]);
    }
    args.push(count(batch.ids.len()));
    args.extend(batch.ids.iter().map(|i| bin(i.as_str())));
    args.push(count(batch.starts.len()));
    for (period, event) in &batch.starts {
        args.extend([bin(period.as_str()), bin(event.as_str())]);
    }
    args.push(count(batch.puts.len()));
    for p in &batch.puts {
        args.extend(put_args(p));
    }
    args.push(count(batch.dead.len()));
    for d in &batch.dead {
        args.extend([
            bin(d.id.as_str()),
            bin(d.reason.as_str()),
            bin(d.deliveries.to_string()),
            bin(d.entry.as_str()),
        ]);
    }
    args.push(count(batch.dedupe.len()));
    args.extend(batch.dedupe.iter().map(|k| idx(*k)));
    args.push(count(batch.states.len()));
    for (k, player, state, expire) in &batch.states {
        args.extend([
            idx(*k),
            bin(player.as_str()),
            bin(state.as_str()),
            bin(expire.unwrap_or(0).to_string()),
        ]);
    }
    args.push(count(batch.reviews.len()));
    for (id, json, at) in &batch.reviews {
        args.extend([bin(id.as_str()), bin(json.as_str()), bin(at.to_string())]);
    }
    args.push(count(batch.notes.len()));
    for ([h, u, c], counter, player) in &batch.notes {
        args.extend([
            idx(*h),
            idx(*u),
            idx(*c),
            bin(counter.as_str()),
            bin(player.as_str()),
        ]);
    }
    args
}

/// One put's arguments: its period's keys, the record and its event, its stats and cohort.
fn put_args(p: &Put) -> Vec<RedisParameter> {
    let mut out = Vec::with_capacity(15);

    out.extend([
        idx(p.period_keys[0]),
        idx(p.period_keys[1]),
        idx(p.period_keys[2]),
        bin(p.player.as_str()),
        bin(p.record.as_str()),
        bin(p.member.as_str()),
        bin(p.rank_value.to_string()),
        bin(p.expire_at_ms.unwrap_or(0).to_string()),
        bin(p.event.as_str()),
    ]);
    match &p.stats {
        Some(([h, u, c], note)) => out.extend([
            idx(*h),
            idx(*u),
            idx(*c),
            bin(note.fields()),
            bin(if note.improved { "1" } else { "0" }),
        ]),
        None => out.extend(["0", "0", "0", "", "0"].map(bin)),
    }
    out.push(p.cohort.map_or_else(|| bin("0"), idx));
    out
}

/// What the batch script answered.
fn batch_answer(r: &[RedisResult]) -> Result<BatchResult> {
    match r {
        [ok, version, ids @ ..] if int(ok)? == 1 => {
            let version = int(version)?;
            Ok(BatchResult::Applied {
                version: (version != 0).then_some(version),
                event_ids: ids.iter().map(text).collect::<Result<_>>()?,
            })
        }
        [_, why, rest @ ..] => match text(why)?.as_str() {
            "board" => Ok(BatchResult::BoardGone),
            "check" => Ok(BatchResult::Changed),
            "gone" => Ok(BatchResult::Gone(
                rest.iter().map(text).collect::<Result<_>>()?,
            )),
            other => Err(corrupt(&format!("unexpected batch reply '{other}'"))),
        },
        other => Err(corrupt(&format!("unexpected batch reply {other:?}"))),
    }
}
