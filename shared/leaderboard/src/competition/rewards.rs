//! Rewards: a table on a board (or tournament) from rank ranges to a payload the game
//! interprets (LootLocker's rewards at a reset, Nakama's tournament rewards).
//!
//! When a run closes (a period ends, a tournament ends), each player ranked within a range is
//! awarded that range's payload, once, from the run's final standings ([`RewardTable::award`]).
//! Ranks are the board's competition ranks, so players tied at a rank share its reward (two
//! players at 1 both get rank 1's, and the next is ranked 3). Standings still held for review
//! could change the final ranks, so the award waits until no review of the run is pending, or
//! for a grace after the close at most ([`award_due`]), then takes the standings as they are.
//! A player claims an award once (decided and taken in one step, by edge's `rewards_claim.lua`);
//! claiming again answers the first claim ([`no_award`] and [`not_final`] name its refusals).

use crate::Conflict;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{LeaderboardError, Result};
use crate::ids::PlayerId;

/// Most ranges in a table.
pub const MAX_RANGES: usize = 100;
/// Lowest rank a range may reach. A close reads the standings until a rank past the table's
/// last (ties can make that more entries than the rank's number).
pub const MAX_RANK: u64 = 10_000;
/// Largest reward payload, serialised.
pub const MAX_REWARD_BYTES: usize = 4096;
/// Most players one run awards. Ties at the last rewarded rank can run past its number of
/// entries (a thousand players tied at 10 all get rank 10's reward); past this many awards the
/// rest are cut in ranked order (the earlier achievement first), so a close reads and stores a
/// bounded number of standings.
pub const MAX_AWARDS: usize = 20_000;
/// How long after a close the award waits for pending reviews at most: 24 hours.
pub const GRACE_MS: i64 = 24 * 3_600_000;

/// One range as posted: ranks `from..=to` (`to` defaults to `from`) get `reward`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardRangeInput {
    /// First rank of the range (from 1).
    pub from: u64,
    /// Last rank of the range (default: `from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
    /// What the game gives (any JSON but `null`, at most 4 KB).
    pub reward: Value,
}

/// A table: ranges in rank order, none overlapping (posted through [`RewardTable::new`], read
/// back as stored through [`RewardTable::build`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardTable {
    ranges: Vec<(u64, u64, Value)>,
}

/// The refusal of a range that does not run from 1 up to [`MAX_RANK`], from before to.
fn bad_ranks(from: u64, to: u64) -> LeaderboardError {
    LeaderboardError::InvalidConfig(format!(
        "rewards: ranks {from}..={to} must run from 1 up to {MAX_RANK}, from before to"
    ))
}

impl RewardTable {
    /// Checks and orders the posted ranges: [`RewardTable::build`], then
    /// [`RewardTable::check`].
    pub fn new(input: &[RewardRangeInput]) -> Result<Self> {
        let table = Self::build(input)?;
        table.check()?;
        Ok(table)
    }

    /// The table of `input`'s ranges in rank order, checked only for what finding a rank's
    /// reward needs (each range from 1 and from before to, none overlapping): how a stored table
    /// is read (checked whole when it was posted; a limit tightened since must not break it).
    pub fn build(input: &[RewardRangeInput]) -> Result<Self> {
        let mut ranges: Vec<_> = input
            .iter()
            .map(|r| (r.from, r.to.unwrap_or(r.from), r.reward.clone()))
            .collect();
        if let Some((from, to, _)) = ranges.iter().find(|(from, to, _)| *from == 0 || to < from) {
            return Err(bad_ranks(*from, *to));
        }
        ranges.sort_by_key(|(from, _, _)| *from);
        if let Some(pair) = ranges.windows(2).find(|w| w[1].0 <= w[0].1) {
            return Err(LeaderboardError::InvalidConfig(format!(
                "rewards: ranks {}..={} and {}..={} overlap",
                pair[0].0, pair[0].1, pair[1].0, pair[1].1
            )));
        }
        Ok(Self { ranges })
    }

    /// What a posted table must hold besides ([`RewardTable::build`]): 1 to [`MAX_RANGES`]
    /// ranges of ranks up to [`MAX_RANK`], each reward not `null` and at most
    /// [`MAX_REWARD_BYTES`].
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(LeaderboardError::InvalidConfig(format!("rewards: {m}")));
        if self.ranges.is_empty() || self.ranges.len() > MAX_RANGES {
            return bad(format!("1 to {MAX_RANGES} ranges"));
        }
        for (from, to, reward) in &self.ranges {
            if *to > MAX_RANK {
                return Err(bad_ranks(*from, *to));
            }
            if reward.is_null() {
                return bad(format!("the reward of ranks {from}..={to} is null"));
            }
            let bytes = serde_json::to_vec(reward).map_or(usize::MAX, |b| b.len());
            if bytes > MAX_REWARD_BYTES {
                return bad(format!(
                    "the reward of ranks {from}..={to} has {bytes} bytes (at most {MAX_REWARD_BYTES})"
                ));
            }
        }
        Ok(())
    }

    /// The table as posted, in rank order (`to` given only when it differs from `from`).
    pub fn to_input(&self) -> Vec<RewardRangeInput> {
        self.ranges
            .iter()
            .map(|(from, to, reward)| RewardRangeInput {
                from: *from,
                to: (to != from).then_some(*to),
                reward: reward.clone(),
            })
            .collect()
    }

    /// The reward of `rank`, if a range holds it.
    pub fn for_rank(&self, rank: u64) -> Option<&Value> {
        let i = self.ranges.partition_point(|(_, to, _)| *to < rank);
        self.ranges
            .get(i)
            .filter(|(from, _, _)| *from <= rank)
            .map(|(_, _, reward)| reward)
    }

    /// The lowest rank any range rewards: a close reads the standings, best first, until one
    /// ranks past it (players tied at this rank are all awarded).
    pub fn last_rank(&self) -> u64 {
        self.ranges.last().map_or(0, |(_, to, _)| *to)
    }

    /// The awards of a run's final standings, given as (player, competition rank) best first.
    pub fn award<'a>(&self, ranked: impl IntoIterator<Item = (&'a PlayerId, u64)>) -> Vec<Award> {
        ranked
            .into_iter()
            .take_while(|(_, rank)| *rank <= self.last_rank())
            .filter_map(|(player, rank)| {
                self.for_rank(rank).map(|reward| Award {
                    player: player.clone(),
                    rank,
                    reward: reward.clone(),
                })
            })
            .take(MAX_AWARDS)
            .collect()
    }
}

/// The tables a run pays by: one for every player (a board's `rewards`), or one per league
/// tier (`league.rewards`: a tier without a table pays nothing). On a board with cohorts a
/// table pays the ranks within each cohort, the ranks its players see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tables {
    /// One table.
    One(RewardTable),
    /// A table per tier (a posted one names a tier at least).
    PerTier(BTreeMap<String, RewardTable>),
}

/// [`Tables`] as stored with a run's awards (JSON): a table's ranges, or an object from tier
/// to ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TablesInput {
    /// One table's ranges.
    One(Vec<RewardRangeInput>),
    /// Ranges per tier.
    PerTier(BTreeMap<String, Vec<RewardRangeInput>>),
}

impl Tables {
    /// The tables as stored with a run's awards, unchecked ([`RewardTable::build`]): they
    /// were checked when the board that pays by them was posted.
    pub fn from_stored(input: &TablesInput) -> Result<Self> {
        Ok(match input {
            TablesInput::One(ranges) => Self::One(RewardTable::build(ranges)?),
            TablesInput::PerTier(tiers) => Self::PerTier(per_tier_build(tiers)?),
        })
    }

    /// The tables as posted.
    pub fn to_input(&self) -> TablesInput {
        match self {
            Self::One(t) => TablesInput::One(t.to_input()),
            Self::PerTier(tiers) => TablesInput::PerTier(per_tier_input(tiers)),
        }
    }

    /// The table that pays a group of players: the one table, or the table of the tier `band`
    /// names (none for a tier without one, or for players outside any tier).
    pub fn for_band(&self, band: Option<&str>) -> Option<&RewardTable> {
        match self {
            Self::One(t) => Some(t),
            Self::PerTier(tiers) => band.and_then(|b| tiers.get(b)),
        }
    }

    /// The awards of one group's final standings ([`RewardTable::award`] by the group's table),
    /// none when its table pays nothing.
    pub fn award<'a>(
        &self,
        band: Option<&str>,
        ranked: impl IntoIterator<Item = (&'a PlayerId, u64)>,
    ) -> Vec<Award> {
        self.for_band(band)
            .map(|t| t.award(ranked))
            .unwrap_or_default()
    }

    /// The lowest rank a group's table rewards, [`RewardTable::last_rank`] (0: it pays nothing):
    /// how far a close reads that group's standings.
    pub fn last_rank(&self, band: Option<&str>) -> u64 {
        self.for_band(band).map_or(0, RewardTable::last_rank)
    }
}

/// Tables per tier as posted or stored, each built ([`RewardTable::build`]; an error names its
/// tier).
pub fn per_tier_build(
    input: &BTreeMap<String, Vec<RewardRangeInput>>,
) -> Result<BTreeMap<String, RewardTable>> {
    input
        .iter()
        .map(|(tier, ranges)| {
            RewardTable::build(ranges)
                .map(|t| (tier.clone(), t))
                .map_err(|e| in_tier(tier, e))
        })
        .collect()
}

/// An error about `tier`'s table, naming it.
fn in_tier(tier: &str, e: LeaderboardError) -> LeaderboardError {
    match e {
        LeaderboardError::InvalidConfig(m) => {
            LeaderboardError::InvalidConfig(format!("tier '{tier}': {m}"))
        }
        other => other,
    }
}

/// What posted tables per tier must hold: at least one tier, each table valid
/// ([`RewardTable::check`]; an error names its tier).
pub fn check_per_tier(tables: &BTreeMap<String, RewardTable>) -> Result<()> {
    if tables.is_empty() {
        return Err(LeaderboardError::InvalidConfig(
            "rewards: a table per tier names no tier".into(),
        ));
    }
    for (tier, table) in tables {
        table.check().map_err(|e| in_tier(tier, e))?;
    }
    Ok(())
}

/// Tables per tier as posted ([`per_tier_build`]'s input).
pub fn per_tier_input(
    tables: &BTreeMap<String, RewardTable>,
) -> BTreeMap<String, Vec<RewardRangeInput>> {
    tables
        .iter()
        .map(|(tier, t)| (tier.clone(), t.to_input()))
        .collect()
}

/// A player's reward for a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Award {
    /// The player.
    pub player: PlayerId,
    /// Its final rank.
    pub rank: u64,
    /// The range's payload.
    pub reward: Value,
}

/// Where a run's rewards stand before its stored awards are looked at ([`standing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The run has not closed (for a tournament: its end was not announced).
    Open,
    /// Closed with reviews of its submissions open (at least `reviews`): the award waits for
    /// their decisions, or until `until_ms` (the close plus the grace).
    Pending {
        /// Open reviews found.
        reviews: u64,
        /// When the run is awarded whatever is open (Unix ms).
        until_ms: i64,
    },
    /// Due: award it now (unless it was awarded).
    Due,
}

impl Standing {
    /// The state as the API names it (`open`, `pending`; `due` is never shown: a run found due
    /// is awarded at once, and then `final`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Pending { .. } => "pending",
            Self::Due => "due",
        }
    }
}

/// Where the rewards of a run that closed at `closed_at_ms` stand at `now_ms`: `closed` says
/// whether the close was announced (the announcement, not the clock, freezes the standings, so
/// an instance whose clock runs behind still counts the grace from the close), `open_reviews`
/// how many reviews of its submissions are open.
pub fn standing(
    closed: bool,
    closed_at_ms: i64,
    now_ms: i64,
    open_reviews: u64,
    grace_ms: i64,
) -> Standing {
    if !closed {
        return Standing::Open;
    }
    if award_due(
        closed_at_ms,
        now_ms.max(closed_at_ms),
        open_reviews,
        grace_ms,
    ) {
        Standing::Due
    } else {
        Standing::Pending {
            reviews: open_reviews,
            until_ms: closed_at_ms.saturating_add(grace_ms),
        }
    }
}

/// Whether a run closed at `closed_at_ms` is awarded at `now_ms`, with `pending_reviews` of its
/// submissions still held: once none is, or `grace_ms` after the close whatever is.
pub fn award_due(closed_at_ms: i64, now_ms: i64, pending_reviews: u64, grace_ms: i64) -> bool {
    now_ms >= closed_at_ms
        && (pending_reviews == 0 || now_ms >= closed_at_ms.saturating_add(grace_ms))
}

/// Why a claim of a player awarded nothing in an awarded run takes nothing: `404`. (The claim
/// itself is decided where it is taken, in one step: edge's `rewards_claim.lua`.)
pub fn no_award() -> LeaderboardError {
    LeaderboardError::NotFound("no reward for this player in this run".into())
}

/// Why a run's rewards cannot be claimed while they stand at `standing` (not awarded): `409`.
pub fn not_final(standing: Standing) -> LeaderboardError {
    LeaderboardError::Conflict(match standing {
        Standing::Open => Conflict::RunOpen,
        Standing::Pending { .. } | Standing::Due => Conflict::RewardsNotFinal,
    })
}

#[cfg(test)]
#[path = "rewards_tests.rs"]
mod tests;
