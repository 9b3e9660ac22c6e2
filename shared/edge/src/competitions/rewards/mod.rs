//! Rewards (docs/competitions.md#rewards): a board's `rewards` table (a league's per tier),
//! awarded once from its run's final standings and claimed once by each player awarded.
//!
//! - **Runs**: a tournament's one run, or each period of a daily, weekly or monthly board. On a
//!   board with cohorts the ranks paid are each cohort's (the ranks its players see), by the
//!   table of the cohort's tier on a league.
//! - **When** (`leaderboard::competition::rewards::award_due`): once the run closed — for a
//!   tournament, once its end was announced, which is also what freezes its `sync` writes; for
//!   a period, once it ended, its close begun first (`Repo::freeze_period`: from then on no
//!   write lands in it) — and no review of a submission made in the run is open, or
//!   [`GRACE_MS`] after the close whatever is.
//! - **Who**: whoever finds them due first ([`settle`]): the worker after it announces the end,
//!   the fan-out of `tournament.ended`, a review's decision, and any read or claim of them. The
//!   awards are stored by one script that keeps the first caller's, so however many race, a
//!   run is awarded once, and its `rewards_awarded` log entry (the `rewards.awarded` webhook)
//!   is made once with it.
//! - **What is kept**: each awarded player's rank and the table the awards were made from, so
//!   an award reads the same after the board's table changes; the reward itself is the table's
//!   for that rank.
//!
//! Routes ([`routes`]): `GET /api/{v}/boards/{board}/rewards?player=&period=` (one
//! player's), `GET /api/{v}/boards/{board}/rewards?limit&cursor&period=` (a `service` or
//! `admin` lists the run's awards in rank order), `POST /api/{v}/boards/{board}/rewards/claim`
//! `{player, period}`. `period` names the run on a periodic board (default: the last that
//! ended).

pub mod store;

mod routes;
mod shown;

pub use routes::{claim, read};
pub use shown::{
    AwardShown, AwardsListed, MAX_AWARDS_PAGE, RewardsShown, as_awarded, at_end, awards_listed,
    claim_award, of_player,
};

use leaderboard::Conflict;
use leaderboard::board::period;
use leaderboard::board::runs::RewardRun;
use leaderboard::competition::cohort::CohortId;
use leaderboard::competition::rewards::{self, GRACE_MS, MAX_AWARDS, Tables};
use leaderboard::{
    Board, BoardId, EventEnvelope, LeaderboardError, PeriodId, PlayerId, Result, TenantId,
};

use crate::competitions::rewards::store::{AwardWrite, NewAwards, Stored};
use crate::repo::{BoardAt, Keys, Repo};

/// Standings read per round trip while a run is awarded, at most.
const STANDINGS_PAGE: u32 = 500;

/// Reviews of a run read while deciding whether any is open; past this many the run counts as
/// having open reviews (and is awarded after its grace).
const REVIEWS_SCANNED: u64 = 10_000;

/// Reviews read per round trip while counting the open ones.
const REVIEWS_PAGE: u64 = 500;

/// Times the award is decided again on a board config that changed meanwhile.
const DECIDE_ATTEMPTS: usize = 8;

/// Where a run's rewards stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRewards {
    /// Not awarded yet: the run is open, or it waits for its open reviews
    /// (`leaderboard::competition::rewards::Standing`; never `Due`, which is awarded at once).
    NotYet(rewards::Standing),
    /// Awarded.
    Final(Stored),
}

impl RunRewards {
    /// The state as the API names it: `open`, `pending` or `final`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NotYet(s) => s.name(),
            Self::Final(_) => "final",
        }
    }

    /// When the worker should look at the run again: the grace's end while it waits for
    /// reviews (none when it is final, or open: the end's announcement comes first).
    pub fn due_again_ms(&self) -> Option<i64> {
        match self {
            Self::NotYet(rewards::Standing::Pending { until_ms, .. }) => Some(*until_ms),
            _ => None,
        }
    }
}

/// Open reviews of submissions made in `[from_ms, to_ms)`, counted up to [`REVIEWS_SCANNED`]
/// reviews read (past it, at least one more is assumed open). A review that does not decode is
/// counted open (and logged): the run then waits for its grace rather than failing every read.
async fn open_reviews(repo: &Repo, keys: &Keys, from_ms: i64, to_ms: i64) -> Result<u64> {
    let mut open = 0;
    let mut offset = 0;
    while offset < REVIEWS_SCANNED {
        let (read, page) = repo
            .reviews_between(keys, from_ms, to_ms, offset, REVIEWS_PAGE)
            .await?;
        for raw in &page {
            match crate::integrity::decode(raw) {
                Ok(r) if !r.status.is_open() => {}
                Ok(_) => open += 1,
                Err(e) => {
                    eprintln!("rewards: a review of {} counted open: {e}", keys.prefix());
                    open += 1;
                }
            }
        }
        if read < REVIEWS_PAGE {
            return Ok(open);
        }
        offset += REVIEWS_PAGE;
    }
    Ok(open + 1)
}

/// The players of a run's standings (`keys`: the board's, or a cohort's) ranked within
/// `last_rank` (ties at it included), best first, each once, at most [`MAX_AWARDS`]. Paged by
/// the last entry read (not by offset): the first page one entry longer than the ranks paid, at
/// most [`STANDINGS_PAGE`] (so a table paying the top 3 of each of a thousand cohorts reads four
/// entries of each), and when a tie at the cut reads on, pages of [`STANDINGS_PAGE`]. The
/// standings are final here (the run closed, no open review); only a review decided after the
/// grace can move an entry while they are read, and a player read twice keeps its first rank.
async fn final_standings(
    repo: &Repo,
    keys: &Keys,
    board: &Board,
    run: &PeriodId,
    last_rank: u64,
) -> Result<Vec<(PlayerId, u64)>> {
    let mut ranked = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut after: Option<(u64, String)> = None;
    let mut page_size = u32::try_from(last_rank.saturating_add(1))
        .unwrap_or(STANDINGS_PAGE)
        .min(STANDINGS_PAGE);
    loop {
        let page = repo
            .page(
                keys,
                run,
                0,
                page_size,
                after.as_ref().map(|(rv, m)| (*rv, m.as_str())),
            )
            .await?;
        for entry in crate::reads::entries_of(board, &page)? {
            if entry.rank > last_rank || ranked.len() >= MAX_AWARDS {
                return Ok(ranked);
            }
            if seen.insert(entry.player.clone()) {
                ranked.push((entry.player, entry.rank));
            }
        }
        match page.rows.last() {
            Some(last) if page.rows.len() == page_size as usize => {
                after = Some((last.rank_value, last.member.clone()));
                page_size = STANDINGS_PAGE;
            }
            _ => return Ok(ranked),
        }
    }
}

/// A run's awards from its final standings: the whole board's by the one table, or each
/// cohort's by its table (its tier's on a league), with the cohort; at most [`MAX_AWARDS`] in
/// all (cohorts in order).
async fn run_awards(
    repo: &Repo,
    keys: &Keys,
    board: &Board,
    tables: &Tables,
    run: &PeriodId,
) -> Result<Vec<(rewards::Award, Option<CohortId>)>> {
    let Some(size) = board.cohort_size else {
        let last = tables.last_rank(None);
        let standings = final_standings(repo, keys, board, run, last).await?;
        let awards = tables.award(None, standings.iter().map(|(p, r)| (p, *r)));
        return Ok(awards.into_iter().map(|a| (a, None)).collect());
    };
    // Cohorts in order (`cohort::cohorts_of`): past MAX_AWARDS in all, the later cohorts are
    // cut.
    let mut all = Vec::new();
    for cohort in repo.cohorts(keys, run, size).await? {
        if all.len() >= MAX_AWARDS {
            break;
        }
        let band = cohort.band.as_deref();
        let last = tables.last_rank(band);
        if last == 0 {
            continue;
        }
        let standings = final_standings(repo, &keys.in_cohort(&cohort), board, run, last).await?;
        let awards = tables.award(band, standings.iter().map(|(p, r)| (p, *r)));
        all.extend(awards.into_iter().map(|a| (a, Some(cohort.clone()))));
    }
    all.truncate(MAX_AWARDS);
    Ok(all)
}

/// Where the board's rewards for the run `asked` names (`Board::reward_run`) stand at `now_ms`,
/// awarding them first when they are due and were not awarded (once, whoever races: see the
/// module docs). Answers the board as read too.
pub async fn settle(
    repo: &Repo,
    tenant: &TenantId,
    board_id: &BoardId,
    asked: Option<&str>,
    now_ms: i64,
) -> Result<(Board, PeriodId, RunRewards)> {
    let keys = Keys::new(tenant, board_id);
    for _ in 0..DECIDE_ATTEMPTS {
        let (raw, board) = repo.board_raw(tenant, board_id).await?;
        let run = board.reward_run(asked, now_ms)?;
        let tables = board.reward_tables().ok_or_else(|| {
            LeaderboardError::Internal(format!("board '{board_id}' pays no rewards"))
        })?;
        if let Some(stored) = repo.awards(&keys, &run.period).await? {
            return Ok((board, run.period, RunRewards::Final(stored)));
        }
        let standing = run_standing(repo, &keys, &run, now_ms).await?;
        if standing != rewards::Standing::Due {
            return Ok((board, run.period, RunRewards::NotYet(standing)));
        }
        let (mark, keep_until_ms) = begin_close(repo, &keys, &board, &run, now_ms).await?;
        let awards = run_awards(repo, &keys, &board, &tables, &run.period).await?;
        let awarded: Vec<(&PlayerId, u64, Option<String>)> = awards
            .iter()
            .map(|(a, c)| (&a.player, a.rank, c.as_ref().map(CohortId::to_string)))
            .collect();
        let table_json = serde_json::to_string(&tables.to_input())
            .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
        let event = EventEnvelope::rewards_awarded(
            tenant,
            board_id,
            run.period,
            awarded.len() as u64,
            now_ms,
        )
        .to_json()?;
        let stored = match repo
            .store_awards(
                &keys,
                &run.period,
                NewAwards {
                    config_raw: &raw,
                    table_json: &table_json,
                    event_json: &event,
                    awarded: &awarded,
                    closed_mark: (&mark.0, &mark.1),
                    keep_until_ms,
                },
                now_ms,
            )
            .await?
        {
            AwardWrite::Made(at_ms, count) => Stored {
                at_ms,
                count,
                table: table_json,
            },
            // Another caller awarded the run meanwhile: its awards, and its table, stand.
            AwardWrite::Before(..) => repo.awards(&keys, &run.period).await?.ok_or_else(|| {
                LeaderboardError::CorruptData(format!(
                    "the awards of {board_id}'s run {} were stored and are gone",
                    run.period
                ))
            })?,
            AwardWrite::ConfigChanged => continue,
        };
        return Ok((board, run.period, RunRewards::Final(stored)));
    }
    Err(Conflict::AwardRaced {
        board: board_id.to_string(),
        attempts: DECIDE_ATTEMPTS,
    }
    .into())
}

/// Where the run's awards stand: closed (a tournament's end announced, a period past its end),
/// and within the grace the reviews still open over its time (counted only when they decide:
/// after the end, within the grace).
async fn run_standing(
    repo: &Repo,
    keys: &Keys,
    run: &RewardRun,
    now_ms: i64,
) -> Result<rewards::Standing> {
    let closed = if run.tournament {
        repo.tournament_announced(keys).await?.ended
    } else {
        run.end_ms <= now_ms
    };
    Ok(
        match rewards::standing(closed, run.end_ms, now_ms, u64::MAX, GRACE_MS) {
            rewards::Standing::Pending { .. } => {
                let reviews = open_reviews(repo, keys, run.start_ms, run.end_ms).await?;
                rewards::standing(closed, run.end_ms, now_ms, reviews, GRACE_MS)
            }
            other => other,
        },
    )
}

/// Begins the run's close where its awards need it (a period's: from then on no write lands in
/// it), and answers the mark that says it closed, written with its awards (a tournament's
/// `ended` announcement; the period's close), and until when its awards are kept. A period
/// whose standings expired before anyone awarded it, or that no one played, pays no one: a `404`
/// saying so, rather than final awards of nobody (and nothing is written).
async fn begin_close(
    repo: &Repo,
    keys: &Keys,
    board: &Board,
    run: &RewardRun,
    now_ms: i64,
) -> Result<((String, String), Option<i64>)> {
    if run.tournament {
        return Ok(((keys.announced(), "ended".to_string()), None));
    }
    period::ensure_retained(&run.period, now_ms, board.retain_periods)?;
    if !repo.has_period(keys, &run.period).await? {
        return Err(LeaderboardError::NotFound(format!(
            "no one played period {} of board '{}': it pays no one",
            run.period, board.id
        )));
    }
    // Its close begun first: from then on no write lands in it, so the standings read next are
    // final, and every awarder reads the same.
    repo.freeze_period(keys, &run.period, now_ms).await?;
    let mark = (
        keys.league(),
        crate::competitions::leagues::store::closing_field(&run.period),
    );
    Ok((mark, board.awards_kept_until_ms(run)))
}

/// [`settle`] of the run `asked` names where a failure only delays the award (it is made by
/// the next caller): a review's decision. Logs what failed.
pub async fn settle_logged(
    repo: &Repo,
    tenant: &TenantId,
    board_id: &BoardId,
    asked: Option<&str>,
    now_ms: i64,
) {
    if let Err(e) = settle(repo, tenant, board_id, asked, now_ms).await {
        eprintln!("rewards: awarding {tenant}/{board_id} (left to the next reader): {e}");
    }
}

/// The worker's awards of a periodic board's runs at `now_ms` (a tournament of many runs' too:
/// each run is a period inside its window, the last cut by its end): each run with standings
/// that closed and is still kept is settled ([`settle`]: awarded once when due). Answers when to look
/// again (the earliest grace's end of a run waiting for reviews). A period whose award fails
/// for an outage is left for the next ring, and the first such failure is answered once the
/// others were tried; any other failure (a damaged table, a config that kept changing) would
/// fail the same way every time: it is logged and left to the period's readers.
pub async fn settle_ended(at: &BoardAt<'_>) -> Result<Option<i64>> {
    let (repo, tenant, board, keys, now_ms) = at.parts();
    if !board.closes_periods() || !board.pays_rewards() {
        return Ok(None);
    }
    let mut again: Option<i64> = None;
    let mut outage = None;
    let kept = repo
        .kept_periods(keys, board.period, board.retain_periods, now_ms)
        .await?;
    for (run, _) in kept {
        let asked = run.to_string();
        // A tournament's run ends with its window at the latest, and a period outside the
        // window is none of its runs.
        match board.reward_run(Some(&asked), now_ms) {
            Ok(r) if r.end_ms <= now_ms => {}
            Ok(_) | Err(LeaderboardError::NotFound(_)) => continue,
            Err(e) => {
                eprintln!(
                    "rewards: the run {run} of {tenant}/{} (left to its readers): {e}",
                    board.id
                );
                continue;
            }
        }
        match settle(repo, tenant, &board.id, Some(&asked), now_ms).await {
            Ok((_, _, rewards)) => {
                if let Some(at) = rewards.due_again_ms() {
                    again = Some(again.map_or(at, |a| a.min(at)));
                }
            }
            Err(e) if e.is_outage() => outage = outage.or(Some(e)),
            Err(e) => eprintln!(
                "rewards: awarding {tenant}/{} period {run} (left to its readers): {e}",
                board.id
            ),
        }
    }
    match outage {
        Some(e) => Err(e),
        None => Ok(again),
    }
}
