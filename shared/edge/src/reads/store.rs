//! Ranked reads: a page (from the top or after a cursor), the rows around a player, several
//! players' standings. Each is one script, so a page is consistent with its ranks and records.

use leaderboard::{LeaderboardError, PeriodId, PlayerId, Record, Result};
use spin_sdk::redis::RedisResult;

use crate::repo::{Keys, Repo, bin, int, parse_record, text, uint};

const PAGE: &str = include_str!("lua/page.lua");
const AROUND: &str = include_str!("lua/around.lua");
const PLAYERS: &str = include_str!("lua/players.lua");

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
        let mut args = vec![bin(start.to_string()), bin(count.to_string())];
        if let Some((rv, member)) = after {
            args.push(bin(rv.to_string()));
            args.push(bin(member));
        }
        let r = self
            .eval(PAGE, &[keys.zset(period), keys.records(period)], args)
            .await?;
        let (total, start) = match r.as_slice() {
            [t, s, ..] => (uint(t)?, uint(s)?),
            _ => return Err(LeaderboardError::CorruptData("short page reply".into())),
        };
        let (first_better, rows) = match r.get(2) {
            Some(b) => (uint(b)?, rows(&r[3..])?),
            None => (0, Vec::new()),
        };
        Ok(Page {
            total,
            start,
            first_better,
            rows,
        })
    }

    /// Rows around a player (`radius` either side); `None` if the player has no entry.
    pub async fn around(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
        radius: u32,
    ) -> Result<Option<Page>> {
        let r = self
            .eval(
                AROUND,
                &[
                    keys.zset(period),
                    keys.records(period),
                    keys.members(period),
                ],
                vec![bin(player.as_str()), bin(radius.to_string())],
            )
            .await?;
        match r.as_slice() {
            [_, s, ..] if int(s)? < 0 => Ok(None),
            [t, s, b, rest @ ..] => Ok(Some(Page {
                total: uint(t)?,
                start: uint(s)?,
                first_better: uint(b)?,
                rows: rows(rest)?,
            })),
            _ => Err(LeaderboardError::CorruptData("short around reply".into())),
        }
    }

    /// Standings of several players (None where absent) and the period total.
    pub async fn players(
        &self,
        keys: &Keys,
        period: &PeriodId,
        players: &[PlayerId],
    ) -> Result<(u64, Vec<Option<Stored>>)> {
        let r = self
            .eval(
                PLAYERS,
                &[
                    keys.zset(period),
                    keys.records(period),
                    keys.members(period),
                ],
                players.iter().map(|p| bin(p.as_str())).collect(),
            )
            .await?;
        let total = r.first().map(uint).transpose()?.unwrap_or(0);
        let mut out = Vec::with_capacity(players.len());
        for c in r.get(1..).unwrap_or_default().chunks(3) {
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
