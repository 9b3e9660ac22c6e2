//! The competition parts of a board's configuration (docs/competitions.md): a tournament, a
//! reward table, cohorts and a league, checked together, since each needs or refuses the
//! others and the board's period, write mode, retention and integrity rules. Each refusal is a
//! `422` naming why: what is not served is not taken, so no one relies on a rule that is not
//! enforced.

use crate::board::period::PeriodKind;
use crate::board::rules::Integrity;
use crate::competition::league::League;
use crate::competition::rewards::RewardTable;
use crate::competition::tournament::Tournament;
use crate::error::{LeaderboardError, Result};

/// A board's competition parts, with what of the rest of the board they depend on
/// (`crate::board::config::Board`'s fields).
pub(crate) struct Competition<'a> {
    /// The tournament the board is, if it is one.
    pub tournament: &'a Option<Tournament>,
    /// What its runs pay by rank.
    pub rewards: &'a Option<RewardTable>,
    /// How many players each cohort holds.
    pub cohort_size: Option<u32>,
    /// The league the board is, if it is one.
    pub league: &'a Option<League>,
    /// The board's period.
    pub period: PeriodKind,
    /// Whether the board's writes are `async`.
    pub async_writes: bool,
    /// Past periods the board keeps.
    pub retain_periods: u32,
    /// The board's integrity rules.
    pub integrity: &'a Integrity,
}

fn bad<T>(m: String) -> Result<T> {
    Err(LeaderboardError::InvalidConfig(m))
}

/// Checks a board's competition parts, each alone and against each other and the board's
/// period, write mode, `retain_periods` and `integrity` rules (the rest of the board checked
/// before).
pub(crate) fn check(c: &Competition<'_>) -> Result<()> {
    if let Some(t) = c.tournament {
        t.check()?;
    }
    if c.tournament
        .as_ref()
        .is_some_and(|t| t.max_attempts.is_some())
        && c.async_writes
    {
        // An attempt past the limit is refused as it is made; an async board answers `202`
        // before its write is decided, so the refusal could reach nobody.
        return bad(
            "tournament.max_attempts needs write_mode sync: an attempt past the limit \
             is refused when it is made, and an async board accepts a submission before it is \
             decided"
                .into(),
        );
    }

    check_rewards(c)?;
    if let Some(size) = c.cohort_size {
        crate::competition::cohort::size(size)?;
    }
    if c.rewards.is_some() && c.tournament.is_some() && c.cohort_size.is_some() {
        // Served on a periodic board's cohorts; a tournament's announcement of its end does
        // not carry per-cohort awards yet.
        return bad(
            "rewards on a tournament with cohorts are not served yet: on a periodic board \
             they pay each cohort"
                .into(),
        );
    }

    check_league(c)?;
    let periodic_rewards = periodic_rewards(c);
    let pays_at_close =
        periodic_rewards || c.league.as_ref().is_some_and(|l| !l.rewards.is_empty());
    if pays_at_close && c.period == PeriodKind::Daily && c.retain_periods < 2 {
        // The award waits up to a grace after the end for open reviews: a day kept one day
        // more would expire as the grace ends, and pay no one.
        return bad(format!(
            "rewards on a daily board need retain_periods of 2 or more: a period's award \
             waits up to {} hours after its end for open reviews, and its standings are read \
             then",
            crate::competition::rewards::GRACE_MS / 3_600_000
        ));
    }
    if c.league.is_some() && c.tournament.is_some() {
        return bad(
            "a league closes at each period's end and a tournament at its window's: not \
             served together yet"
                .into(),
        );
    }
    Ok(())
}

/// Whether the board pays rewards at each period's close: a periodic board's (a tournament
/// of many runs' too).
fn periodic_rewards(c: &Competition<'_>) -> bool {
    c.rewards.is_some() && c.period != PeriodKind::AllTime
}

/// A reward table alone and against the board's write mode, period, retention and rules.
fn check_rewards(c: &Competition<'_>) -> Result<()> {
    if let Some(table) = c.rewards {
        table.check()?;
    }
    if c.rewards.is_some() && c.async_writes {
        // An async board's inbox may still hold entries accepted before the end when the
        // run is awarded: its final standings are not known then.
        return bad(
            "rewards need write_mode sync: an async board may apply entries accepted before \
             the end after it, so its final standings are not known when the run is awarded"
                .into(),
        );
    }
    if c.rewards.is_some() && c.tournament.is_none() && c.period == PeriodKind::AllTime {
        return bad(
            "rewards are paid when a run closes: a tournament's end, or each period's end on \
             a daily, weekly or monthly board; an all-time board never closes"
                .into(),
        );
    }
    let periodic_rewards = periodic_rewards(c);
    if periodic_rewards && c.retain_periods == 0 {
        // A period's standings would expire as it closes: the award would find no one.
        return bad(
            "rewards on a periodic board need retain_periods of 1 or more: a period's \
             standings are read when it closes, after its end"
                .into(),
        );
    }
    if periodic_rewards && c.integrity.holds() {
        // As for a league: a held score's approval would write into a closed period.
        return bad(
            "rewards on a periodic board take no integrity rule with action hold: a held \
             score could be approved after its period closed; use flag or reject"
                .into(),
        );
    }

    Ok(())
}

/// A league alone and against the board's period, cohorts, write mode, retention, rules and
/// rewards.
fn check_league(c: &Competition<'_>) -> Result<()> {
    if let Some(league) = c.league {
        league.check()?;
    }
    if c.league.is_some() && c.period == PeriodKind::AllTime {
        return bad(
            "a league needs a period that resets (daily, weekly or monthly): its players \
             move between tiers when a period closes"
                .into(),
        );
    }
    if c.league.is_some() && c.cohort_size.is_none() {
        return bad(
            "a league needs cohort_size: each tier's players are ranked in cohorts of that \
             size (100000 for one group per tier)"
                .into(),
        );
    }
    if c.league.is_some() && c.async_writes {
        // As for rewards: the close reads final standings, which an async board's inbox
        // may still change after the period's end.
        return bad(
            "a league needs write_mode sync: an async board may apply entries accepted before \
             a period's end after it, so the standings a close reads are not final"
                .into(),
        );
    }
    if c.league.is_some() && c.retain_periods == 0 {
        // A period's cohorts would expire as it closes: the close would find no one.
        return bad(
            "a league needs retain_periods of 1 or more: a period's standings are read when \
             it closes, after its end"
                .into(),
        );
    }
    if c.league.is_some() && c.integrity.holds() {
        // A held score's review may be decided after the period closed, when its standings
        // are final: refused rather than approved into a closed period.
        return bad(
            "a league takes no integrity rule with action hold: a held score could be \
             approved after its period closed; use flag or reject"
                .into(),
        );
    }
    if c.league.is_some() && c.rewards.is_some() {
        return bad(
            "a league pays per tier: put its reward tables in league.rewards (tier → ranges), \
             not in rewards"
                .into(),
        );
    }
    Ok(())
}
