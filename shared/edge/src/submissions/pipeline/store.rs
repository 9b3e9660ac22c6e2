//! The drain's Redis side: hand out inbox entries through the consumer group, read what the core
//! decides on, and apply a decided batch in one script.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:idem:in:<key>` | string | an ingest entry with this `idempotency_key` was applied (24 h) |

use leaderboard::events::inbox::{DEDUPE_TTL_MS, RawEntry};
use leaderboard::{LeaderboardError, Result};

use crate::repo::{Keys, RedisResult, Repo, bin, int, text, uint};

pub use super::batch::{Batch, DeadLetter, Put};

crate::repo::script::script! {
    /// Inbox entries handed to a drain (`lua/claim.lua`).
    mod claim = include_str!("lua/claim.lua");
    keys {
        /// The board's inbox.
        inbox,
        /// The board's bell flag ([`Keys::bell`]).
        bell,
    }
    args {
        /// [`GROUP`].
        group,
        /// The drain (its consumer name).
        consumer,
        /// The most entries handed out.
        count,
        /// How long an entry stays pending before another drain takes it (ms).
        min_idle_ms,
    }
}

crate::repo::script::script! {
    /// The values a drain decides on (`lua/lookup.lua`).
    mod lookup = include_str!("lua/lookup.lua");
    keys {
        ;
        /// The keys read ([`Lookup::key`]).
        more keys,
    }
    args {
        ;
        /// Per key: its field read, `''` for its existence ([`Lookup::field`]).
        more fields,
    }
}

crate::repo::script::script! {
    /// A drained batch, applied as the core decided it if nothing it was decided on changed
    /// (`lua/apply_batch.lua`).
    mod apply_batch = crate::integrity::stats::with_stats_note!(include_str!("lua/apply_batch.lua"));
    keys {
        /// The board's config (a batch that puts needs the board).
        config,
        /// The board's event log.
        events,
        /// The board's started periods.
        periods,
        /// The board's version.
        version,
        /// The board's inbox.
        inbox,
        /// The board's dead letters.
        dead,
        /// Its reviews (hash).
        reviews,
        /// Its reviews by time (sorted set).
        reviews_index;
        /// [`Batch::keys`], which the batch names by their index in `KEYS`.
        more batch_keys,
    }
    args {
        /// [`GROUP`].
        group,
        /// The drain's clock (ms).
        now_ms,
        /// How long an ingest idempotency key is remembered (ms).
        dedupe_ttl_ms,
        /// How long a stats bucket stays after a write (s).
        stats_ttl_secs,
        /// Climbers kept per stats minute.
        climbers_kept,
        /// The batch ([`super::batch::Wire`], JSON).
        batch,
    }
}

/// The batch's script as an integration test runs it itself (feature `testing`).
#[cfg(feature = "testing")]
pub fn apply_batch_for_tests() -> crate::repo::script::Named {
    apply_batch::named()
}

/// The claim's script as an integration test runs it itself (feature `testing`).
#[cfg(feature = "testing")]
pub fn claim_for_tests() -> crate::repo::script::Named {
    claim::named()
}

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
        let r = claim::run(
            self,
            claim::Keys {
                inbox: keys.inbox(),
                bell: keys.bell(),
            },
            claim::Args {
                group: GROUP.into(),
                consumer: consumer.into(),
                count: count.into(),
                min_idle_ms: min_idle_ms.into(),
            },
        )
        .await?;
        claim_answer(&r)
    }

    /// Reads the values of `lookups` in one round trip (`""` for a missing field, `"1"`/`"0"`
    /// for existence).
    pub async fn lookup(&self, lookups: &[Lookup]) -> Result<Vec<String>> {
        if lookups.is_empty() {
            return Ok(Vec::new());
        }
        let r = lookup::run(
            self,
            lookup::Keys {
                keys: lookups.iter().map(|l| l.key.clone()).collect(),
            },
            lookup::Args {
                fields: lookups.iter().map(|l| l.field.as_str().into()).collect(),
            },
        )
        .await?;
        let (word, rest) = crate::repo::script::answer(&r)?;
        if word != "values" || rest.len() != lookups.len() {
            return Err(crate::repo::script::unexpected(lookup::NAME, &word, rest));
        }
        rest.iter().map(text).collect()
    }

    /// Applies a decided batch if everything it was decided on is unchanged.
    pub async fn apply_batch(
        &self,
        keys: &Keys,
        now_ms: i64,
        batch: &Batch,
    ) -> Result<BatchResult> {
        let wire =
            serde_json::to_string(&super::batch::Wire::of(batch, apply_batch::KEY_NAMES.len()))
                .map_err(|e| {
                    LeaderboardError::Internal(format!("the drain's batch as JSON: {e}"))
                })?;
        let r = apply_batch::run(
            self,
            apply_batch::Keys {
                config: keys.config(),
                events: keys.events(),
                periods: keys.periods(),
                version: keys.version(),
                inbox: keys.inbox(),
                dead: keys.dead(),
                reviews: keys.reviews(),
                reviews_index: keys.reviews_index(),
                batch_keys: batch.keys.clone(),
            },
            apply_batch::Args {
                group: GROUP.into(),
                now_ms: now_ms.into(),
                dedupe_ttl_ms: DEDUPE_TTL_MS.into(),
                stats_ttl_secs: leaderboard::integrity::stats::RETAIN_SECS.into(),
                climbers_kept: leaderboard::integrity::stats::CLIMBERS_KEPT.into(),
                batch: wire.into(),
            },
        )
        .await?;
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

/// What the claim script answered: the entries handed out.
fn claim_answer(r: &[RedisResult]) -> Result<Vec<RawEntry>> {
    let rest = crate::repo::script::answer_of(r, claim::NAME, "claimed")?;
    let mut entries = Vec::new();
    let mut it = rest.iter();
    while let Some(id) = it.next() {
        let (Some(deliveries), Some(count)) = (it.next(), it.next()) else {
            return Err(crate::repo::log::truncated_entry());
        };
        let fields = crate::repo::log::entry_fields(count, &mut it)?;
        entries.push(RawEntry {
            id: text(id)?,
            deliveries: uint(deliveries)?,
            fields,
        });
    }
    Ok(entries)
}

/// What the batch script answered.
fn batch_answer(r: &[RedisResult]) -> Result<BatchResult> {
    let (word, rest) = crate::repo::script::answer(r)?;
    match (word.as_str(), rest) {
        ("applied", [version, ids @ ..]) => {
            let version = int(version)?;
            Ok(BatchResult::Applied {
                version: (version != 0).then_some(version),
                event_ids: ids.iter().map(text).collect::<Result<_>>()?,
            })
        }
        ("board_gone", []) => Ok(BatchResult::BoardGone),
        ("changed", [_check]) => Ok(BatchResult::Changed),
        ("gone", ids) => Ok(BatchResult::Gone(
            ids.iter().map(text).collect::<Result<_>>()?,
        )),
        _ => Err(crate::repo::script::unexpected(
            apply_batch::NAME,
            &word,
            rest,
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use crate::repo::script::reply_text as word;

    #[test]
    fn the_batch_scripts_answers_are_read_by_word_and_arity() {
        assert_eq!(
            batch_answer(&[word("applied"), RedisResult::Int64(7), word("1-0")]).unwrap(),
            BatchResult::Applied {
                version: Some(7),
                event_ids: vec!["1-0".into()]
            }
        );
        assert_eq!(
            batch_answer(&[word("applied"), RedisResult::Int64(0)]).unwrap(),
            BatchResult::Applied {
                version: None,
                event_ids: vec![]
            }
        );
        assert_eq!(
            batch_answer(&[word("board_gone")]).unwrap(),
            BatchResult::BoardGone
        );
        assert_eq!(
            batch_answer(&[word("changed"), RedisResult::Int64(2)]).unwrap(),
            BatchResult::Changed
        );
        assert_eq!(
            batch_answer(&[word("gone"), word("1-0"), word("2-0")]).unwrap(),
            BatchResult::Gone(vec!["1-0".into(), "2-0".into()])
        );
        for damaged in [
            vec![],
            vec![word("changed")],
            vec![word("applied")],
            vec![word("board_gone"), word("x")],
            vec![word("applies"), RedisResult::Int64(1)],
        ] {
            assert!(
                matches!(
                    batch_answer(&damaged),
                    Err(LeaderboardError::CorruptData(_))
                ),
                "{damaged:?}"
            );
        }
    }
}
