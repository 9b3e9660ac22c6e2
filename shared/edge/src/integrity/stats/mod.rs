//! Board stats in Redis (`leaderboard::integrity::stats`): the per-minute buckets a submission is counted
//! in, and the two round trips of a stats read.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:st:<minute>` | hash | the minute's counters (`accepted`, `flagged`, …) |
//! | `lb:{t/b}:st:<minute>:u` | HyperLogLog | the minute's players |
//! | `lb:{t/b}:st:<minute>:c` | sorted set | the minute's climbers: player → ranks gained (the best 100) |
//!
//! Each expires `leaderboard::integrity::stats::RETAIN_SECS` after its last write.

pub mod routes;

use leaderboard::integrity::stats::{Counter, Counts, Window, WindowStats};
use leaderboard::{LeaderboardError, PeriodId, Result, board::sortkey};

use crate::repo::{Keys, Repo, bin, int, text, uint};

/// Prepended to every script that counts a submission (`stats_note`): `with_stats_note!(include_str!(…))`.
/// The note's path is the crate's own (a relative `include_str!` inside a macro resolves from the
/// file that calls it).
macro_rules! with_stats_note {
    ($script:expr) => {
        concat!(
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/integrity/stats/lua/stats_note.lua"
            )),
            $script
        )
    };
}
pub(crate) use with_stats_note;

const STATS_COUNT: &str = include_str!("lua/stats_count.lua");
const STATS_READ: &str = include_str!("lua/stats_read.lua");
const STATS_DIST: &str = include_str!("lua/stats_dist.lua");

/// How a write counts its submission (`None` in a write: the board keeps no stats).
#[derive(Debug, Clone)]
pub struct StatsNote {
    /// The minute bucket (`leaderboard::integrity::stats::minute` of the submission's time).
    pub minute: i64,
    /// The counters to increment.
    pub counters: Vec<Counter>,
    /// Whether the player counts among the minute's players (not for an approval: the held
    /// submission was counted).
    pub count_player: bool,
    /// Whether the write improved the player's standing (a climber, if it gained ranks).
    pub improved: bool,
}

impl StatsNote {
    /// The counters as the script takes them (comma-separated).
    pub fn fields(&self) -> String {
        self.counters
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Keys {
    /// A minute bucket's keys: its counters, its players, its climbers.
    pub fn stats(&self, minute: i64) -> [String; 3] {
        let base = self.k(&format!("st:{minute}"));
        [base.clone(), format!("{base}:u"), format!("{base}:c")]
    }
}

fn corrupt(what: &str) -> LeaderboardError {
    LeaderboardError::CorruptData(format!("stats: {what}"))
}

impl Repo {
    /// Counts `n` submissions outside a write in `minute`: a held or rejected one of `player`
    /// (counted among the minute's players), or the earlier members of a burst flagged when it
    /// completed (`player` empty: they were counted when they arrived).
    pub async fn note_stats(
        &self,
        keys: &Keys,
        minute: i64,
        counter: Counter,
        n: u64,
        player: &str,
    ) -> Result<()> {
        let [counters, players, _] = keys.stats(minute);
        self.eval(
            STATS_COUNT,
            &[counters, players],
            vec![
                bin(counter.as_str()),
                bin(n.to_string()),
                bin(player),
                bin(leaderboard::integrity::stats::RETAIN_SECS.to_string()),
            ],
        )
        .await?;
        Ok(())
    }

    /// The counters, players and climbers of `window`, and the size and extremes of `period`.
    pub async fn stats(
        &self,
        keys: &Keys,
        period: &PeriodId,
        window: &Window,
    ) -> Result<WindowStats> {
        let mut all = vec![keys.zset(period), keys.members(period)];
        for m in window.minutes() {
            all.extend(keys.stats(m));
        }
        let mut args = vec![
            bin(window.minutes_per_step().to_string()),
            bin(leaderboard::integrity::stats::CLIMBERS_SHOWN.to_string()),
        ];
        args.extend(Counter::ALL.iter().map(|c| bin(c.as_str())));
        let r = self.eval(STATS_READ, &all, args).await?;
        let (head, rest) = r
            .split_at_checked(4)
            .ok_or_else(|| corrupt("a short reply"))?;
        let value = |i: usize| -> Result<Option<u64>> {
            let t = text(&head[i])?;
            if t.is_empty() {
                Ok(None)
            } else {
                sortkey::parse_redis_score(&t).map(Some)
            }
        };
        let best_worst = value(1)?.zip(value(2)?);
        let per_step = Counter::ALL.len() + 1;
        let steps_len = window.steps() * per_step;
        let (steps_raw, climbers_raw) = rest
            .split_at_checked(steps_len)
            .ok_or_else(|| corrupt("a short reply"))?;
        let mut steps = Vec::with_capacity(window.steps());
        for chunk in steps_raw.chunks(per_step) {
            let mut counts = Counts::default();
            for (c, v) in Counter::ALL.iter().zip(chunk) {
                counts.add(*c, uint(v)?);
            }
            counts.unique_players = uint(&chunk[Counter::ALL.len()])?;
            steps.push(counts);
        }
        let (n, list) = climbers_raw
            .split_first()
            .ok_or_else(|| corrupt("no climbers count"))?;
        let n = uint(n)? as usize;
        if list.len() != n * 3 {
            return Err(corrupt("a short climbers list"));
        }
        let climbers = list
            .chunks(3)
            .map(|c| {
                let gained = text(&c[1])?
                    .parse::<f64>()
                    .map_err(|_| corrupt("ranks gained"))?;
                let rank = uint(&c[2])?;
                Ok((text(&c[0])?, gained as u64, (rank > 0).then_some(rank)))
            })
            .collect::<Result<_>>()?;
        Ok(WindowStats {
            players: uint(&head[0])?,
            best_worst,
            unique_players: uint(&head[3])?,
            steps,
            climbers,
        })
    }

    /// The rank values at `positions` (zero-based, best first; `None` when the period shrank
    /// meanwhile) and the standings within each inclusive rank-value range of `ranges`.
    pub async fn stats_distribution(
        &self,
        keys: &Keys,
        period: &PeriodId,
        positions: &[u64],
        ranges: &[(u64, u64)],
    ) -> Result<(Vec<Option<u64>>, Vec<u64>)> {
        let mut args = vec![bin(positions.len().to_string())];
        args.extend(positions.iter().map(|p| bin(p.to_string())));
        for (lo, hi) in ranges {
            args.extend([bin(lo.to_string()), bin(hi.to_string())]);
        }
        let r = self.eval(STATS_DIST, &[keys.zset(period)], args).await?;
        if r.len() != positions.len() + ranges.len() {
            return Err(corrupt("a short distribution reply"));
        }
        let (at, counts) = r.split_at(positions.len());
        let at = at
            .iter()
            .map(|v| {
                let t = text(v)?;
                if t.is_empty() {
                    Ok(None)
                } else {
                    sortkey::parse_redis_score(&t).map(Some)
                }
            })
            .collect::<Result<_>>()?;
        let counts = counts
            .iter()
            .map(|v| int(v).map(|n| n.max(0) as u64))
            .collect::<Result<_>>()?;
        Ok((at, counts))
    }
}
