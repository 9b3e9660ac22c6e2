//! Leagues: ordered tiers on a periodic board, with promotion and demotion when a period closes
//! (Hiro's cohort events, Duolingo's leagues).
//!
//! A league board names its tiers lowest first (`["bronze", "silver", "gold"]`). A player plays
//! each period in its tier (a player new to the league starts in the lowest); the standings of a
//! period are ranked per group — a tier, or a tier's cohort on a board with `cohort_size` — and
//! when the period closes the best `promote` of each group move up a tier for the next period and
//! the worst `demote` move down. `promote` and `demote` are a count (`3`) or a percentage of the
//! group's players (`"10%"`, rounded down, so a group of 9 promotes no one at `"10%"`; a count
//! moves that many even in a small group, so a player alone in a last cohort is promoted at
//! `promote: 1`: size the amounts for the smallest group a period can have). No one is promoted out of the top tier or demoted out
//! of the lowest. In a group too small for both, promotion is served first: the demoted are at
//! most the players left after it. Ties at a cut are split by the ranked order (the earlier
//! achievement first), as a page lists them. Players with no standing in the closing period
//! (they did not play) keep their tier.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::competition::cohort::CohortId;
use crate::competition::rewards::{RewardRangeInput, RewardTable};
use crate::error::{LeaderboardError, Result};

/// Most tiers a league has.
pub const MAX_TIERS: usize = 32;

/// How many of a group move: a count, or a percentage of the group (rounded down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// This many players (at most the group).
    Count(u32),
    /// This percentage of the group's players, 0..=100, rounded down.
    Percent(u8),
}

impl Amount {
    /// How many of a group of `group` players move.
    pub fn of(self, group: u64) -> u64 {
        match self {
            Self::Count(n) => u64::from(n).min(group),
            // group <= u64::MAX and p <= 100: the product fits in u128.
            Self::Percent(p) => {
                u64::try_from(u128::from(group) * u128::from(p) / 100).unwrap_or(group)
            }
        }
    }

    fn parse(field: &str, raw: &AmountInput) -> Result<Self> {
        let bad = |m: String| {
            Err(LeaderboardError::InvalidConfig(format!(
                "league.{field} {m}"
            )))
        };
        match raw {
            AmountInput::Count(n) => Ok(Self::Count(*n)),
            AmountInput::Text(s) => match s.strip_suffix('%').and_then(percent) {
                Some(p) => Ok(Self::Percent(p)),
                _ => bad(format!(
                    "'{s}' must be a count or a percentage such as \"10%\""
                )),
            },
        }
    }

    fn to_input(self) -> AmountInput {
        match self {
            Self::Count(n) => AmountInput::Count(n),
            Self::Percent(p) => AmountInput::Text(format!("{p}%")),
        }
    }
}

/// A percentage as written before its `%`: `0` to `100`, digits only, no leading zero.
fn percent(digits: &str) -> Option<u8> {
    let plain = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    digits.parse().ok().filter(|p| plain && *p <= 100)
}

/// `promote` or `demote` as posted: a count, or a percentage string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AmountInput {
    /// A count.
    Count(u32),
    /// A percentage, `"10%"`.
    Text(String),
}

/// The `league` block of a board's configuration, as an admin posts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeagueInput {
    /// Tier names, lowest first (2 to 32 labels, `^[a-z0-9][a-z0-9_-]{0,31}$`, each once).
    pub tiers: Vec<String>,
    /// How many of each group move up when a period closes.
    pub promote: AmountInput,
    /// How many of each group move down.
    pub demote: AmountInput,
    /// What each tier's cohorts pay by rank when a period closes (tier → ranges; a tier
    /// without a table pays nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewards: Option<BTreeMap<String, Vec<RewardRangeInput>>>,
}

/// A league (posted through [`LeagueInput::validate`], read back as stored through
/// [`LeagueInput::build`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct League {
    /// Tier names, lowest first.
    pub tiers: Vec<String>,
    /// How many of each group move up.
    pub promote: Amount,
    /// How many of each group move down.
    pub demote: Amount,
    /// What each tier's cohorts pay when a period closes (tier → table; empty: nothing).
    pub rewards: BTreeMap<String, RewardTable>,
}

impl LeagueInput {
    /// Checks the tiers and amounts: [`LeagueInput::build`], then [`League::check`].
    pub fn validate(&self) -> Result<League> {
        let league = self.build()?;
        league.check()?;
        self.check_posted()?;
        Ok(league)
    }

    /// What only the posted form shows, beyond [`League::check`]: a `rewards` object that names
    /// no tier (a league read back holds no tables as none).
    pub fn check_posted(&self) -> Result<()> {
        if self.rewards.as_ref().is_some_and(BTreeMap::is_empty) {
            crate::competition::rewards::check_per_tier(&BTreeMap::new())?;
        }
        Ok(())
    }

    /// The league as posted or stored, unchecked but for its amounts' form (a count or
    /// `"N%"`): how a stored league is read.
    pub fn build(&self) -> Result<League> {
        if self.tiers.is_empty() {
            // A league of no tier has nowhere to place a player.
            return Err(tiers_refused());
        }
        Ok(League {
            tiers: self.tiers.clone(),
            promote: Amount::parse("promote", &self.promote)?,
            demote: Amount::parse("demote", &self.demote)?,
            rewards: self
                .rewards
                .as_ref()
                .map(crate::competition::rewards::per_tier_build)
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

impl League {
    /// What a posted league must hold: 2 to [`MAX_TIERS`] tiers, each a label named once,
    /// reward tables only for its tiers, each valid.
    pub fn check(&self) -> Result<()> {
        if !(2..=MAX_TIERS).contains(&self.tiers.len()) {
            return Err(tiers_refused());
        }
        for (i, name) in self.tiers.iter().enumerate() {
            super::label("league tier", name)?;
            if self.tiers[..i].contains(name) {
                return Err(LeaderboardError::InvalidConfig(format!(
                    "league tier '{name}' is named twice"
                )));
            }
        }
        if let Some(stray) = self.rewards.keys().find(|t| !self.tiers.contains(t)) {
            return Err(LeaderboardError::InvalidConfig(format!(
                "league.rewards names '{stray}', which is not one of league.tiers"
            )));
        }
        if self.rewards.is_empty() {
            return Ok(());
        }
        crate::competition::rewards::check_per_tier(&self.rewards)
    }
}

fn tiers_refused() -> LeaderboardError {
    LeaderboardError::InvalidConfig(format!("league.tiers must name 2 to {MAX_TIERS} tiers"))
}

/// Where a player goes when a period closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Move {
    /// Up a tier.
    Promoted,
    /// Down a tier.
    Demoted,
    /// The same tier.
    Stayed,
}

impl Move {
    /// Its name as the API writes it (`promoted`, `demoted`, `stayed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Promoted => "promoted",
            Self::Demoted => "demoted",
            Self::Stayed => "stayed",
        }
    }
}

impl League {
    /// The canonical configuration.
    pub fn to_input(&self) -> LeagueInput {
        LeagueInput {
            tiers: self.tiers.clone(),
            promote: self.promote.to_input(),
            demote: self.demote.to_input(),
            rewards: (!self.rewards.is_empty())
                .then(|| crate::competition::rewards::per_tier_input(&self.rewards)),
        }
    }

    /// The index of the tier named `name`.
    pub fn tier(&self, name: &str) -> Option<usize> {
        self.tiers.iter().position(|t| t == name)
    }

    /// How many of a group of `group` players in tier `tier` (a tier of the league: see
    /// [`League::close`]) move up, and how many down.
    fn cuts(&self, tier: usize, group: u64) -> (u64, u64) {
        let top = tier + 1 >= self.tiers.len();
        let up = if top { 0 } else { self.promote.of(group) };
        let down = if tier == 0 {
            0
        } else {
            self.demote.of(group).min(group - up)
        };
        (up, down)
    }

    /// The moves of a group in tier `tier`, its players ranked best first: each player, where
    /// it goes and the tier it plays the next period in.
    pub fn close<'a, P>(&self, tier: usize, ranked: &'a [P]) -> Result<Vec<(&'a P, Move, usize)>> {
        if tier >= self.tiers.len() {
            return Err(LeaderboardError::CorruptData(format!(
                "league tier {tier} of {}",
                self.tiers.len()
            )));
        }
        let group = u64::try_from(ranked.len()).unwrap_or(u64::MAX);
        let (up, down) = self.cuts(tier, group);
        Ok(ranked
            .iter()
            .enumerate()
            .map(|(i, player)| {
                let position = u64::try_from(i).unwrap_or(u64::MAX);
                if position < up {
                    (player, Move::Promoted, tier + 1)
                } else if position >= group - down {
                    (player, Move::Demoted, tier - 1)
                } else {
                    (player, Move::Stayed, tier)
                }
            })
            .collect())
    }
}

impl League {
    /// The tier a player plays a period in, by name: where the last close left it (`stored`), or
    /// the lowest for a player new to the league. A league board places each player in its
    /// tier's cohorts: the tier is the cohort's band.
    pub fn entry_tier<'a>(&'a self, stored: Option<&'a str>) -> Result<&'a str> {
        match stored {
            None => Ok(self.lowest()),
            Some(name) => self.tier_index(name).map(|_| name),
        }
    }

    /// The index of a tier stored data names (a player's, a cohort's band); `CorruptData` for
    /// a name the league does not have.
    fn tier_index(&self, name: &str) -> Result<usize> {
        self.tier(name).ok_or_else(|| {
            LeaderboardError::CorruptData(format!(
                "league tier '{name}' is not one of the league's"
            ))
        })
    }

    /// How a player who played a period in tier `from` moved when it closed, now in tier `to`
    /// (both by name).
    pub fn moved(&self, from: &str, to: &str) -> Result<Move> {
        Ok(match self.tier_index(to)?.cmp(&self.tier_index(from)?) {
            std::cmp::Ordering::Greater => Move::Promoted,
            std::cmp::Ordering::Less => Move::Demoted,
            std::cmp::Ordering::Equal => Move::Stayed,
        })
    }

    /// A player's standing as its league read shows it: the tier it plays the current period
    /// in — its placement's (`placed`, its cohort's band) once placed, else where the last close
    /// left it (`stored`, or the lowest) — and, if it has an entry in the last closed period
    /// (`played`: the tier it played it in), how that close moved it.
    pub fn standing(
        &self,
        placed: Option<&str>,
        stored: Option<&str>,
        played: Option<&str>,
    ) -> Result<Standing> {
        let next = self.entry_tier(stored)?;
        let tier = match placed {
            Some(band) => self.entry_tier(Some(band))?,
            None => next,
        };
        Ok(Standing {
            tier: tier.to_string(),
            from: played.map(str::to_string),
            moved: played.map(|from| self.moved(from, next)).transpose()?,
        })
    }

    /// How a close moved a player, as its history shows it: `played`, the tier it played the
    /// closed period in (`None`: it did not play, and did not move); `kept`, whether the close's
    /// moves were kept for the period; `moved_to`, the tier the close moved it to (`None`: it
    /// stayed). `None` for a player who did not play, or a close whose moves were not kept.
    pub fn past_move(
        &self,
        played: Option<&str>,
        kept: bool,
        moved_to: Option<&str>,
    ) -> Result<Option<Move>> {
        match played {
            Some(from) if kept => self.moved(from, moved_to.unwrap_or(from)).map(Some),
            _ => Ok(None),
        }
    }

    /// The lowest tier's name.
    fn lowest(&self) -> &str {
        // `build` keeps one tier at least (a posted league has 2 to MAX_TIERS).
        self.tiers.first().map_or("", String::as_str)
    }

    /// A period's close: `groups` are its cohorts (a league's cohorts are its tiers': each one's
    /// band is a tier's name), each with its players ranked best first. Every player is counted;
    /// the ones whose tier changes are listed with their move and the tier they play next.
    pub fn close_groups<P: Clone>(&self, groups: &[(CohortId, Vec<P>)]) -> Result<Closed<P>> {
        let mut closed = Closed {
            moves: Vec::new(),
            promoted: 0,
            demoted: 0,
            stayed: 0,
        };
        for (cohort, ranked) in groups {
            let tier = self.tier_index(cohort.band.as_deref().unwrap_or_default())?;
            for (player, moved, next) in self.close(tier, ranked)? {
                match moved {
                    Move::Stayed => {
                        closed.stayed += 1;
                        continue;
                    }
                    Move::Promoted => closed.promoted += 1,
                    Move::Demoted => closed.demoted += 1,
                }
                let next = self.tiers.get(next).ok_or_else(|| {
                    LeaderboardError::CorruptData(format!("league tier {next} past the top"))
                })?;
                closed.moves.push((player.clone(), moved, next.clone()));
            }
        }
        Ok(closed)
    }
}

/// A player's standing in a league ([`League::standing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// The tier it plays the current period in.
    pub tier: String,
    /// The tier it played the last closed period in, if it has an entry there.
    pub from: Option<String>,
    /// How the last close moved it, if it played.
    pub moved: Option<Move>,
}

/// What a period's close decided ([`League::close_groups`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed<P> {
    /// Each player whose tier changes: where it goes, and the tier it plays next (by name).
    pub moves: Vec<(P, Move, String)>,
    /// How many moved up.
    pub promoted: u64,
    /// How many moved down.
    pub demoted: u64,
    /// How many kept their tier.
    pub stayed: u64,
}

/// The periods whose close is due at `now_ms`, oldest first: of the periods with standings
/// (`with_data`, each with when it ends, Unix ms), those that ended and are not `closed` yet.
/// A close reads the tiers the one before it left, so they are closed in this order; a period
/// no one played in moves no one.
pub fn due<P: Clone + PartialEq>(with_data: &[(P, i64)], closed: &[P], now_ms: i64) -> Vec<P> {
    let mut due: Vec<&(P, i64)> = with_data
        .iter()
        .filter(|(p, end)| *end <= now_ms && !closed.contains(p))
        .collect();
    due.sort_by_key(|(_, end)| *end);
    due.into_iter().map(|(p, _)| p.clone()).collect()
}

#[cfg(test)]
#[path = "league_tests.rs"]
mod tests;
