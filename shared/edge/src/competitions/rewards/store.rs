//! A run's rewards (`leaderboard::competition::rewards`), on the board's slot: the awards,
//! stored once with the tables they were made from (`lb:{t/b}:awards:{period}`, a hash; the
//! players in rank order in `lb:{t/b}:awarded:{period}`, a list), and each player's claim in
//! the same hash. Both are the board's keys: they go with it when it is deleted (a period's
//! expire some time after its end, [`NewAwards::keep_until_ms`]).

use leaderboard::{LeaderboardError, PeriodId, PlayerId, Result};

use crate::repo::script::{answer, script, unexpected};
use crate::repo::{Keys, RedisResult, Repo, bin, int, text, uint};

script! {
    /// A run's awards, stored once (`lua/rewards_award.lua`).
    mod award = include_str!("lua/rewards_award.lua");
    keys {
        /// The board's config.
        config,
        /// The hash holding the run's closing mark ([`NewAwards::closed_mark`]).
        closing,
        /// The run's awards (hash).
        awards,
        /// The run's awarded players in rank order (list).
        awarded,
        /// The board's log.
        events,
        /// The flag saying a webhook subscription wants the board.
        hooks,
        /// The webhook deliverer's bell.
        hooks_bell,
    }
    args {
        /// The board's config as the decision read it.
        config,
        /// The caller's clock (Unix ms).
        now_ms,
        /// The reward tables the awards were made from (JSON).
        table,
        /// The `rewards_awarded` event.
        event,
        /// The webhook ring's payload (`wh:tenant/board`).
        ring,
        /// The closing mark: a field of `closing`.
        mark,
        /// When the awards expire (Unix ms; `0`: kept with the board).
        expire_at_ms,
        /// The players awarded, best first: a JSON array of `{player, rank, cohort}` (`rank` a
        /// string, `cohort` absent off a board with cohorts).
        awarded,
    }
}

/// A player awarded, as [`award`] reads it.
#[derive(serde::Serialize)]
struct Awarded<'a> {
    player: &'a str,
    rank: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cohort: Option<&'a str>,
}

script! {
    /// A player's claim of its award, decided and taken once (`lua/rewards_claim.lua`).
    mod claim = include_str!("lua/rewards_claim.lua");
    keys {
        /// The board's config.
        config,
        /// The run's awards (hash).
        awards,
    }
    args {
        /// The player claiming.
        player,
        /// The caller's clock (Unix ms: the claim's time, when taken now).
        now_ms,
    }
}

/// The claim's script as an integration test runs it itself (feature `testing`): the claim is
/// decided there alone.
#[cfg(feature = "testing")]
pub fn claim_for_tests() -> crate::repo::script::Named {
    claim::named()
}

/// A run's awards as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// When they were made (Unix ms).
    pub at_ms: i64,
    /// How many players were awarded.
    pub count: u64,
    /// The reward table they were made from (JSON: the board's `rewards` as posted).
    pub table: String,
}

/// A run's awards to store ([`Repo::store_awards`]).
#[derive(Debug, Clone, Copy)]
pub struct NewAwards<'a> {
    /// The board's config as the decision read it: stored only while it is still that.
    pub config_raw: &'a str,
    /// The table they were made from (JSON: the board's `rewards` as posted).
    pub table_json: &'a str,
    /// The `rewards_awarded` event appended with them.
    pub event_json: &'a str,
    /// Player, rank and cohort (on a board with cohorts: the rank is the player's in it), best
    /// first (cohort by cohort).
    pub awarded: &'a [(&'a PlayerId, u64, Option<String>)],
    /// The hash and field whose presence says the run closed (a tournament's `ended`
    /// announcement, a period's closing mark): stored only once it is there.
    pub closed_mark: (&'a str, &'a str),
    /// When the awards expire (Unix ms; `None`: kept with the board).
    pub keep_until_ms: Option<i64>,
}

/// What storing a run's awards did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwardWrite {
    /// Stored now (at, count).
    Made(i64, u64),
    /// Stored before, by another caller (at, count): those stand.
    Before(i64, u64),
    /// The board's config changed since it was read: decide again.
    ConfigChanged,
}

/// A player's award as stored ([`Repo::awards_of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwardHeld {
    /// Its rank (`None`: awarded nothing).
    pub rank: Option<u64>,
    /// Its cohort, on a board with cohorts.
    pub cohort: Option<String>,
    /// When it claimed, if it did (Unix ms).
    pub claimed_at_ms: Option<i64>,
}

/// What a claim's script decided ([`Repo::claim_award`]): the claim's one decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// Taken now.
    Now {
        /// The player's rank.
        rank: u64,
        /// Its cohort, on a board with cohorts.
        cohort: Option<String>,
    },
    /// Taken before, by an earlier claim: this claim took nothing.
    Before {
        /// The player's rank.
        rank: u64,
        /// When the earlier claim took it (Unix ms).
        at_ms: i64,
        /// Its cohort, on a board with cohorts.
        cohort: Option<String>,
    },
    /// The run's awards are not made: nothing is taken.
    NotAwarded,
    /// The run is awarded, but not to this player: nothing is taken.
    NoAward,
}

/// [`claim`]'s answer as its outcome; `BoardNotFound` when the board is gone.
fn claimed(keys: &Keys, reply: &[RedisResult]) -> Result<Claimed> {
    let (word, rest) = answer(reply)?;
    let rank = |r: &RedisResult| {
        optional_rank(r)?
            .ok_or_else(|| LeaderboardError::CorruptData("a claim answered no rank".into()))
    };
    match (word.as_str(), rest) {
        ("claimed", [r, cohort]) => Ok(Claimed::Now {
            rank: rank(r)?,
            cohort: optional_text(cohort)?,
        }),
        ("claimed_before", [r, at, cohort]) => Ok(Claimed::Before {
            rank: rank(r)?,
            at_ms: int(at)?,
            cohort: optional_text(cohort)?,
        }),
        ("not_awarded", []) => Ok(Claimed::NotAwarded),
        ("no_award", []) => Ok(Claimed::NoAward),
        ("board_gone", []) => Err(crate::repo::board_deleted(keys)),
        _ => Err(unexpected(claim::NAME, &word, rest)),
    }
}

fn optional_int(r: &RedisResult) -> Result<Option<i64>> {
    let raw = text(r)?;
    if raw.is_empty() {
        Ok(None)
    } else {
        raw.parse().map(Some).map_err(|_| {
            LeaderboardError::CorruptData(format!("a stored award holds '{raw}', not a number"))
        })
    }
}

/// A stored text, if any (empty: none).
fn optional_text(r: &RedisResult) -> Result<Option<String>> {
    Ok(Some(text(r)?).filter(|t| !t.is_empty()))
}

/// A stored rank, if any.
fn optional_rank(r: &RedisResult) -> Result<Option<u64>> {
    optional_int(r)?
        .map(|n| {
            u64::try_from(n)
                .map_err(|_| LeaderboardError::CorruptData("a negative awarded rank".into()))
        })
        .transpose()
}

impl Keys {
    /// A run's awards (hash: `_at`, `_count`, `_table`, `p:<player>` → rank, `c:<player>` →
    /// when claimed; this module).
    pub fn awards(&self, p: &PeriodId) -> String {
        self.k(&format!("awards:{p}"))
    }
    /// A run's awarded players in rank order (list).
    pub fn awarded(&self, p: &PeriodId) -> String {
        self.k(&format!("awarded:{p}"))
    }
}

impl Repo {
    /// Stores the run's awards with the tables they were made from, unless they were stored
    /// before, and appends their event (`rewards_awarded`) to the log in the same step, ringing
    /// the webhook deliverer when a subscription wants the board; only while the board's config
    /// is the one the decision read and once the run's close is marked. Waits for the replicas
    /// `redis_min_replica_acks` asks for.
    pub async fn store_awards(
        &self,
        keys: &Keys,
        period: &PeriodId,
        new: NewAwards<'_>,
        now_ms: i64,
    ) -> Result<AwardWrite> {
        let awarded: Vec<Awarded> = new
            .awarded
            .iter()
            .map(|(player, rank, cohort)| Awarded {
                player: player.as_str(),
                rank: rank.to_string(),
                cohort: cohort.as_deref().filter(|c| !c.is_empty()),
            })
            .collect();
        let awarded = serde_json::to_string(&awarded)
            .map_err(|e| LeaderboardError::Internal(format!("the awards as JSON: {e}")))?;
        let awards = keys.awards(period);
        let r = award::run(
            self,
            award::Keys {
                config: keys.config(),
                closing: new.closed_mark.0.to_string(),
                awards: awards.clone(),
                awarded: keys.awarded(period),
                events: keys.events(),
                hooks: keys.hooks(),
                hooks_bell: keys.hooks_bell(),
            },
            award::Args {
                config: new.config_raw.into(),
                now_ms: now_ms.into(),
                table: new.table_json.into(),
                event: new.event_json.into(),
                ring: keys.hooks_ring().into(),
                mark: new.closed_mark.1.into(),
                expire_at_ms: new.keep_until_ms.unwrap_or(0).into(),
                awarded: awarded.into(),
            },
        )
        .await?;
        let (word, rest) = answer(&r)?;
        let (write, rang) = match (word.as_str(), rest) {
            ("stored", [at, count, rang]) => (AwardWrite::Made(int(at)?, uint(count)?), Some(rang)),
            ("before", [at, count]) => (AwardWrite::Before(int(at)?, uint(count)?), None),
            ("changed", []) => (AwardWrite::ConfigChanged, None),
            ("board_gone", []) => return Err(crate::repo::board_deleted(keys)),
            _ => return Err(unexpected(award::NAME, &word, rest)),
        };
        if matches!(write, AwardWrite::Made(..)) {
            self.note_if_rang(keys, rang, now_ms).await;
            self.await_replicas(&[&awards]).await?;
        }
        Ok(write)
    }

    /// The run's awards as stored, if they were made.
    pub async fn awards(&self, keys: &Keys, period: &PeriodId) -> Result<Option<Stored>> {
        let r = self
            .exec(
                "HMGET",
                vec![
                    bin(keys.awards(period)),
                    bin("_at"),
                    bin("_count"),
                    bin("_table"),
                ],
            )
            .await?;
        let [at, count, table] = r.as_slice() else {
            return Err(LeaderboardError::CorruptData(
                "short HMGET of awards".into(),
            ));
        };
        let Some(at_ms) = optional_int(at)? else {
            return Ok(None);
        };
        Ok(Some(Stored {
            at_ms,
            count: uint(count)?,
            table: text(table)?,
        }))
    }

    /// Each of `players`' award in the run as stored.
    pub async fn awards_of(
        &self,
        keys: &Keys,
        period: &PeriodId,
        players: &[PlayerId],
    ) -> Result<Vec<AwardHeld>> {
        if players.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![bin(keys.awards(period))];
        for p in players {
            args.push(bin(format!("p:{}", p.as_str())));
            args.push(bin(format!("c:{}", p.as_str())));
            args.push(bin(format!("g:{}", p.as_str())));
        }
        let r = self.exec("HMGET", args).await?;
        if r.len() != players.len() * 3 {
            return Err(LeaderboardError::CorruptData(
                "short HMGET of awards".into(),
            ));
        }
        r.chunks_exact(3)
            .map(|got| {
                Ok(AwardHeld {
                    rank: optional_rank(&got[0])?,
                    claimed_at_ms: optional_int(&got[1])?,
                    cohort: optional_text(&got[2])?,
                })
            })
            .collect()
    }

    /// Awarded players in rank order, `limit` from `offset`.
    pub async fn awarded_players(
        &self,
        keys: &Keys,
        period: &PeriodId,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<String>> {
        let r = self
            .exec(
                "LRANGE",
                vec![
                    bin(keys.awarded(period)),
                    bin(offset.to_string()),
                    bin(offset.saturating_add(limit).saturating_sub(1).to_string()),
                ],
            )
            .await?;
        r.iter().map(text).collect()
    }

    /// Claims `player`'s award in the run once (the first claim's time is kept): what the
    /// claim's script decided. Waits for the replicas `redis_min_replica_acks` asks for after a
    /// claim taken now.
    pub async fn claim_award(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
        now_ms: i64,
    ) -> Result<Claimed> {
        let awards = keys.awards(period);
        let r = claim::run(
            self,
            claim::Keys {
                config: keys.config(),
                awards: awards.clone(),
            },
            claim::Args {
                player: player.as_str().into(),
                now_ms: now_ms.into(),
            },
        )
        .await?;
        let outcome = claimed(keys, &r)?;
        if matches!(outcome, Claimed::Now { .. }) {
            self.await_replicas(&[&awards]).await?;
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use leaderboard::{BoardId, TenantId};

    use crate::repo::script::reply_text as word;

    #[test]
    fn a_claims_answer_is_read_by_word_and_arity() {
        let keys = Keys::new(&TenantId::new("t").unwrap(), &BoardId::new("b").unwrap());
        let read = |reply: &[RedisResult]| claimed(&keys, reply);
        assert_eq!(
            read(&[word("claimed"), word("3"), word("")]).unwrap(),
            Claimed::Now {
                rank: 3,
                cohort: None
            }
        );
        assert_eq!(
            read(&[
                word("claimed_before"),
                word("1"),
                word("17"),
                word("2:gold")
            ])
            .unwrap(),
            Claimed::Before {
                rank: 1,
                at_ms: 17,
                cohort: Some("2:gold".into())
            }
        );
        assert_eq!(read(&[word("not_awarded")]).unwrap(), Claimed::NotAwarded);
        assert_eq!(read(&[word("no_award")]).unwrap(), Claimed::NoAward);
        assert!(matches!(
            read(&[word("board_gone")]),
            Err(LeaderboardError::BoardNotFound(_))
        ));
        for damaged in [
            vec![],
            vec![word("claimed"), word(""), word("")],
            vec![word("claimed_before"), word("1"), word("")],
            vec![word("no_award"), word("1")],
            vec![word("taken")],
        ] {
            assert!(
                matches!(read(&damaged), Err(LeaderboardError::CorruptData(_))),
                "{damaged:?}"
            );
        }
    }
}
