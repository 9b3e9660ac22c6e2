//! Ranked reads: a page (from the top or after a cursor), the rows around a player, several
//! players' standings. Each is one script, so a page is consistent with its ranks and records.

use leaderboard::{LeaderboardError, PeriodId, PlayerId, Record, Result};
use spin_sdk::redis::RedisResult;

use crate::repo::script::{answer, script, unexpected};
use crate::repo::{Keys, Repo, parse_record, text, uint};

script! {
    /// A page from a start or after a cursor (`lua/page.lua`): `page`, the total, the start,
    /// then (when rows were read) the entries better than the first and the rows.
    mod page = include_str!("lua/page.lua");
    keys {
        /// The period's standings (sorted set).
        ranks,
        /// The period's records (hash: player → JSON).
        records,
    }
    args {
        /// The 0-based start (without a cursor).
        start,
        /// Rows read at most.
        count,
        /// The cursor's rank value (`''`: no cursor).
        after_value,
        /// The cursor's member (with `after_value`).
        after_member,
    }
}

script! {
    /// The rows around a player (`lua/around.lua`): `found`, the total, the start, the entries
    /// better than the first and the rows, or `absent` when the player has no entry.
    mod around = include_str!("lua/around.lua");
    keys {
        /// The period's standings (sorted set).
        ranks,
        /// The period's records (hash: player → JSON).
        records,
        /// The period's members (hash: player → sorted-set member).
        members,
    }
    args {
        /// The player.
        player,
        /// Rows either side.
        radius,
    }
}

script! {
    /// Several players' standings (`lua/players.lua`): `players`, the total, then per player
    /// its rank value, the entries better and its record (`''`, `0`, `''` when absent).
    mod players = include_str!("lua/players.lua");
    keys {
        /// The period's standings (sorted set).
        ranks,
        /// The period's records (hash: player → JSON).
        records,
        /// The period's members (hash: player → sorted-set member).
        members,
    }
    args {
        ;
        /// The players.
        more players,
    }
}

/// A sorted-set row with its record.
#[derive(Debug, Clone)]
pub struct Row {
    /// Sorted-set member.
    pub member: String,
    /// Rank value (sorted-set score).
    pub rank_value: u64,
    /// The record, when present.
    pub record: Option<Record>,
}

/// A page of rows from one read script.
#[derive(Debug, Clone)]
pub struct Page {
    /// Entries in the period.
    pub total: u64,
    /// 0-based position of the first row.
    pub start: u64,
    /// Entries strictly better than the first row.
    pub first_better: u64,
    /// Rows, best first.
    pub rows: Vec<Row>,
}

/// A player's standing as stored.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Rank value.
    pub rank_value: u64,
    /// Entries strictly better.
    pub better: u64,
    /// The record.
    pub record: Record,
}

fn rows(items: &[RedisResult]) -> Result<Vec<Row>> {
    items
        .chunks(3)
        .map(|c| match c {
            [m, s, r] => Ok(Row {
                member: text(m)?,
                rank_value: leaderboard::board::sortkey::parse_redis_score(&text(s)?)?,
                record: parse_record(&text(r)?)?,
            }),
            _ => Err(LeaderboardError::CorruptData(
                "truncated page from Redis".into(),
            )),
        })
        .collect()
}

/// A page as `page.lua` answers it.
fn page_of(word: &str, rest: &[RedisResult]) -> Result<Page> {
    match (word, rest) {
        ("page", [total, start]) => Ok(Page {
            total: uint(total)?,
            start: uint(start)?,
            first_better: 0,
            rows: Vec::new(),
        }),
        ("page", [total, start, better, found @ ..]) => Ok(Page {
            total: uint(total)?,
            start: uint(start)?,
            first_better: uint(better)?,
            rows: rows(found)?,
        }),
        _ => Err(unexpected(page::NAME, word, rest)),
    }
}

/// The rows around a player as `around.lua` answers them (`None`: the player has no entry).
fn around_of(word: &str, rest: &[RedisResult]) -> Result<Option<Page>> {
    match (word, rest) {
        ("absent", []) => Ok(None),
        ("found", [total, start, better, found @ ..]) => Ok(Some(Page {
            total: uint(total)?,
            start: uint(start)?,
            first_better: uint(better)?,
            rows: rows(found)?,
        })),
        _ => Err(unexpected(around::NAME, word, rest)),
    }
}

impl Repo {
    /// A page starting at 0-based `start`, or right after the cursor position `(rank_value, member)`.
    pub async fn page(
        &self,
        keys: &Keys,
        period: &PeriodId,
        start: u64,
        count: u32,
        after: Option<(u64, &str)>,
    ) -> Result<Page> {
        let r = page::run(
            self,
            page::Keys {
                ranks: keys.zset(period),
                records: keys.records(period),
            },
            page::Args {
                start: start.into(),
                count: count.into(),
                after_value: after.map(|(rv, _)| rv.into()).unwrap_or_default(),
                after_member: after.map(|(_, m)| m.into()).unwrap_or_default(),
            },
        )
        .await?;
        let (word, rest) = answer(&r)?;
        page_of(&word, rest)
    }

    /// Rows around a player (`radius` either side); `None` if the player has no entry.
    pub async fn around(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
        radius: u32,
    ) -> Result<Option<Page>> {
        let r = around::run(
            self,
            around::Keys {
                ranks: keys.zset(period),
                records: keys.records(period),
                members: keys.members(period),
            },
            around::Args {
                player: player.as_str().into(),
                radius: radius.into(),
            },
        )
        .await?;
        let (word, rest) = answer(&r)?;
        around_of(&word, rest)
    }

    /// Standings of several players (None where absent) and the period total.
    pub async fn players(
        &self,
        keys: &Keys,
        period: &PeriodId,
        players: &[PlayerId],
    ) -> Result<(u64, Vec<Option<Stored>>)> {
        let r = players::run(
            self,
            players::Keys {
                ranks: keys.zset(period),
                records: keys.records(period),
                members: keys.members(period),
            },
            players::Args {
                players: players.iter().map(|p| p.as_str().into()).collect(),
            },
        )
        .await?;
        let (word, rest) = answer(&r)?;
        let (total, found) = match (word.as_str(), rest) {
            ("players", [total, found @ ..]) if found.len() == players.len() * 3 => {
                (uint(total)?, found)
            }
            _ => return Err(unexpected(players::NAME, &word, rest)),
        };
        let mut out = Vec::with_capacity(players.len());
        for c in found.chunks(3) {
            let [s, b, rec] = c else {
                return Err(LeaderboardError::CorruptData(
                    "truncated players reply".into(),
                ));
            };
            let score = text(s)?;
            out.push(match (score.is_empty(), parse_record(&text(rec)?)?) {
                (false, Some(record)) => Some(Stored {
                    rank_value: leaderboard::board::sortkey::parse_redis_score(&score)?,
                    better: uint(b)?,
                    record,
                }),
                _ => None,
            });
        }
        Ok((total, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::repo::script::reply_text as bin;

    #[test]
    fn the_rows_around_a_player_are_found_or_absent() {
        assert!(matches!(around_of("absent", &[]), Ok(None)));
        let found = around_of(
            "found",
            &[
                RedisResult::Int64(7),
                RedisResult::Int64(2),
                RedisResult::Int64(1),
            ],
        );
        assert!(matches!(
            found,
            Ok(Some(Page { total: 7, start: 2, first_better: 1, ref rows })) if rows.is_empty()
        ));
        // The previous release's code for no entry, and a word no release answers.
        for (word, rest) in [("7", vec![RedisResult::Int64(-1)]), ("gone", vec![])] {
            assert!(matches!(
                around_of(word, &rest),
                Err(LeaderboardError::CorruptData(_))
            ));
        }
        assert!(matches!(
            page_of("page", &[bin("3"), bin("0")]),
            Ok(Page { total: 3, start: 0, first_better: 0, ref rows }) if rows.is_empty()
        ));
        assert!(matches!(
            page_of("absent", &[]),
            Err(LeaderboardError::CorruptData(_))
        ));
    }
}
