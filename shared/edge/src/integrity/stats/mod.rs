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

use crate::repo::script::{Arg, answer, answer_of, script, unexpected};
use crate::repo::{Keys, Repo, int, text, uint};

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

script! {
    /// Submissions counted outside a write (`lua/stats_count.lua`).
    mod count = include_str!("lua/stats_count.lua");
    keys {
        /// The minute's counters (hash).
        counters,
        /// The minute's players (HyperLogLog).
        players,
    }
    args {
        /// The counter incremented.
        counter,
        /// By how many.
        by,
        /// The player counted among the minute's players (`''`: none).
        player,
        /// How long the bucket stays after this write (seconds).
        ttl_secs,
    }
}

script! {
    /// A window's stats (`lua/stats_read.lua`).
    mod read = include_str!("lua/stats_read.lua");
    keys {
        /// The period's standings (sorted set).
        ranks,
        /// The period's members (hash: player → its member in `ranks`).
        members;
        /// Per minute of the window, oldest first: its counters, players, climbers ([`Keys::stats`]).
        more minutes,
    }
    args {
        /// Minutes per step.
        per_step,
        /// Climbers answered at most.
        shown;
        /// The counter fields, in the order answered.
        more counters,
    }
}

script! {
    /// A period's distribution (`lua/stats_dist.lua`).
    mod dist = include_str!("lua/stats_dist.lua");
    keys {
        /// The period's standings (sorted set).
        ranks,
    }
    args {
        /// How many positions come first among the values.
        positions;
        /// The positions (zero-based, best first), then each range's lowest and highest rank
        /// values (inclusive).
        more values,
    }
}

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
        let r = count::run(
            self,
            count::Keys { counters, players },
            count::Args {
                counter: counter.as_str().into(),
                by: n.into(),
                player: player.into(),
                ttl_secs: leaderboard::integrity::stats::RETAIN_SECS.into(),
            },
        )
        .await?;
        match answer(&r)? {
            (word, []) if word == "counted" => Ok(()),
            (word, rest) => Err(unexpected(count::NAME, &word, rest)),
        }
    }

    /// The counters, players and climbers of `window`, and the size and extremes of `period`.
    pub async fn stats(
        &self,
        keys: &Keys,
        period: &PeriodId,
        window: &Window,
    ) -> Result<WindowStats> {
        let r = read::run(
            self,
            read::Keys {
                ranks: keys.zset(period),
                members: keys.members(period),
                minutes: window.minutes().flat_map(|m| keys.stats(m)).collect(),
            },
            read::Args {
                per_step: window.minutes_per_step().into(),
                shown: leaderboard::integrity::stats::CLIMBERS_SHOWN.into(),
                counters: Counter::ALL.iter().map(|c| c.as_str().into()).collect(),
            },
        )
        .await?;
        let reply = answer_of(&r, read::NAME, "stats")?;
        let (head, rest) = reply
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
        let mut values: Vec<Arg> = positions.iter().map(|p| (*p).into()).collect();
        for (lo, hi) in ranges {
            values.extend([(*lo).into(), (*hi).into()]);
        }
        let r = dist::run(
            self,
            dist::Keys {
                ranks: keys.zset(period),
            },
            dist::Args {
                positions: positions.len().into(),
                values,
            },
        )
        .await?;
        let reply = answer_of(&r, dist::NAME, "distribution")?;
        if reply.len() != positions.len() + ranges.len() {
            return Err(corrupt("a short distribution reply"));
        }
        let (at, counts) = reply.split_at(positions.len());
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
