//! A run's rewards as every door shows them (REST, GraphQL, Connect, the webhooks): where they
//! stand ([`RewardsShown`]), a player's award ([`AwardShown`], read with [`of_player`] and taken
//! with [`claim_award`]), the run's awards listed ([`awards_listed`]) and what the webhooks
//! carry ([`at_end`], [`as_awarded`]).

use leaderboard::competition::cohort::CohortId;
use leaderboard::competition::rewards::{self, Tables, TablesInput};
use leaderboard::{Board, BoardId, LeaderboardError, PeriodId, PlayerId, Result, TenantId};
use serde::Serialize;
use serde_json::Value;

use super::{RunRewards, settle};
use crate::competitions::rewards::store::{AwardHeld, Claimed, Stored};
use crate::repo::{Keys, Repo};

/// Awards one listing page holds at most (default 100).
pub const MAX_AWARDS_PAGE: u32 = 500;

/// The tables the stored awards were made from, as stored (read, not checked again: a check
/// tightened since they were posted must not turn their awards into errors).
fn stored_tables(stored: &Stored) -> Result<Tables> {
    leaderboard::error::from_stored(
        "reward table",
        stored.table.as_bytes(),
        |input: TablesInput| Tables::from_stored(&input),
    )
}

/// The reward a stored award (its rank in its cohort, if any) has in the tables it was made
/// from.
fn reward_of<'a>(tables: &'a Tables, cohort: Option<&str>, rank: u64) -> Result<&'a Value> {
    let cohort = cohort
        .map(CohortId::parse)
        .transpose()
        .map_err(|e| LeaderboardError::CorruptData(format!("an award's stored cohort: {e}")))?;
    tables
        .for_band(cohort.as_ref().and_then(|c| c.band.as_deref()))
        .and_then(|t| t.for_rank(rank))
        .ok_or_else(|| {
            LeaderboardError::CorruptData(format!("stored rank {rank} has no reward in its table"))
        })
}

/// A player's award as the routes, GraphQL and the webhooks show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwardShown {
    /// The player.
    pub player: String,
    /// Its final rank (in its cohort, on a board with cohorts).
    pub rank: u64,
    /// The reward of its rank in the tables the run was awarded from.
    pub reward: Value,
    /// When it claimed (RFC 3339), if it did.
    pub claimed_at: Option<String>,
    /// Its cohort, on a board with cohorts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohort: Option<String>,
}

/// `player`'s award as shown, from the tables it was made from; `None` for a player awarded
/// nothing.
fn award_view(tables: &Tables, player: &str, held: &AwardHeld) -> Result<Option<AwardShown>> {
    let Some(rank) = held.rank else {
        return Ok(None);
    };
    Ok(Some(AwardShown {
        player: player.to_string(),
        rank,
        reward: reward_of(tables, held.cohort.as_deref(), rank)?.clone(),
        claimed_at: held.claimed_at_ms.map(leaderboard::time::iso_text),
        cohort: held.cohort.clone(),
    }))
}

/// A view as JSON.
pub(super) fn to_json<T: Serialize>(view: &T) -> Result<Value> {
    serde_json::to_value(view).map_err(|e| LeaderboardError::Internal(format!("a view: {e}")))
}

/// Where the board's rewards for the run `asked` names stand for `player` ([`settle`]: awarded
/// first when due), and its award once final (`None` while not final, or for a player awarded
/// nothing). The caller checks who may read it.
pub async fn of_player(
    repo: &Repo,
    tenant: &TenantId,
    board_id: &BoardId,
    asked: Option<&str>,
    player: &PlayerId,
    now_ms: i64,
) -> Result<(PeriodId, RunRewards, Option<AwardShown>)> {
    let (_, run, rewards) = settle(repo, tenant, board_id, asked, now_ms).await?;
    let award = match &rewards {
        RunRewards::Final(stored) => {
            let keys = Keys::new(tenant, board_id);
            let got = repo
                .awards_of(&keys, &run, std::slice::from_ref(player))
                .await?;
            match got.first() {
                Some(held) => award_view(&stored_tables(stored)?, player.as_str(), held)?,
                None => None,
            }
        }
        RunRewards::NotYet(_) => None,
    };
    Ok((run, rewards, award))
}

/// Takes `player`'s award in the run `asked` names once, answering it with when it was first
/// claimed; a claim made again answers the same and takes nothing more. `409` while the run is
/// open or its rewards are not final, `404` once final for a player awarded nothing. The caller
/// checks who may claim it.
pub async fn claim_award(
    repo: &Repo,
    tenant: &TenantId,
    board_id: &BoardId,
    asked: Option<&str>,
    player: &PlayerId,
    now_ms: i64,
) -> Result<(PeriodId, AwardShown)> {
    let (_, run, rewards) = settle(repo, tenant, board_id, asked, now_ms).await?;
    let stored = match rewards {
        RunRewards::Final(s) => s,
        RunRewards::NotYet(standing) => return Err(rewards::not_final(standing)),
    };
    let keys = Keys::new(tenant, board_id);
    // The claim's script decides it (`rewards_claim.lua`); here its outcome is only shown.
    let claimed = repo.claim_award(&keys, &run, player, now_ms).await?;
    let tables = stored_tables(&stored)?;
    let (rank, claimed_at_ms, cohort) = match claimed {
        Claimed::Now { rank, cohort } => (rank, now_ms, cohort),
        Claimed::Before {
            rank,
            at_ms,
            cohort,
        } => (rank, at_ms, cohort),
        // `settle` read the awards as made just before: only awards that went meanwhile (the
        // run's retention ended, or the board's sweep took them) reach this. The same `409` as
        // a run whose awards `settle` found not made, as before the claim was one script.
        Claimed::NotAwarded => return Err(rewards::not_final(rewards::Standing::Due)),
        Claimed::NoAward => return Err(rewards::no_award()),
    };
    Ok((
        run,
        AwardShown {
            player: player.to_string(),
            rank,
            reward: reward_of(&tables, cohort.as_deref(), rank)?.clone(),
            claimed_at: Some(leaderboard::time::iso_text(claimed_at_ms)),
            cohort,
        },
    ))
}

/// Where a run's rewards stand, as every door shows it: `board`, `period`, `state` (`open`,
/// `pending`, `final`), `awarded_at` and `awarded` (how many) once final, `pending_until`
/// while pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RewardsShown {
    /// The board.
    pub board: String,
    /// The run: `all` for a tournament of one run, else a period id.
    pub period: String,
    /// `open`, `pending` or `final`.
    pub state: &'static str,
    /// When the run was awarded (RFC 3339; final only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awarded_at: Option<String>,
    /// How many players were awarded (final only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awarded: Option<u64>,
    /// When the run is awarded whatever reviews are open (RFC 3339; pending only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_until: Option<String>,
}

impl RewardsShown {
    /// Where `rewards` of the run `run` of `board_id` stand.
    pub fn of(board_id: &BoardId, run: &PeriodId, rewards: &RunRewards) -> Self {
        let (awarded_at, awarded, pending_until) = match rewards {
            RunRewards::Final(s) => (
                Some(leaderboard::time::iso_text(s.at_ms)),
                Some(s.count),
                None,
            ),
            RunRewards::NotYet(rewards::Standing::Pending { until_ms, .. }) => {
                (None, None, Some(leaderboard::time::iso_text(*until_ms)))
            }
            RunRewards::NotYet(_) => (None, None, None),
        };
        Self {
            board: board_id.to_string(),
            period: run.to_string(),
            state: rewards.name(),
            awarded_at,
            awarded,
            pending_until,
        }
    }
}

/// A run's awards listed: where they stand, a page of awards in rank order (cohort by cohort
/// on a board with cohorts; none while not final), and the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwardsListed {
    /// Where the run's rewards stand.
    #[serde(flatten)]
    pub rewards: RewardsShown,
    /// The page.
    pub awards: Vec<AwardShown>,
    /// The next page's cursor (`None` on the last).
    pub next_cursor: Option<String>,
}

/// A listing cursor: the offset of the next award in rank order, as the page before it gave
/// it (decimal digits, at most the number awarded).
fn parse_cursor(raw: &str, count: u64) -> Result<u64> {
    raw.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| raw.parse::<u64>().ok())
        .flatten()
        .filter(|offset| *offset <= count)
        .ok_or_else(|| {
            LeaderboardError::InvalidCursor(format!("cursor '{raw}' is not one this listing gave"))
        })
}

/// The awards of the run `asked` names ([`settle`]: awarded first when due), `limit`
/// (1..=[`MAX_AWARDS_PAGE`]) from `cursor`. The caller checks who may list them (an
/// operator).
pub async fn awards_listed(
    repo: &Repo,
    tenant: &TenantId,
    board_id: &BoardId,
    asked: Option<&str>,
    limit: u32,
    cursor: Option<&str>,
    now_ms: i64,
) -> Result<AwardsListed> {
    if !(1..=MAX_AWARDS_PAGE).contains(&limit) {
        return Err(LeaderboardError::InvalidBody(format!(
            "limit {limit} must be from 1 to {MAX_AWARDS_PAGE}"
        )));
    }
    let (_, run, rewards) = settle(repo, tenant, board_id, asked, now_ms).await?;
    let shown = RewardsShown::of(board_id, &run, &rewards);
    let (awards, next_cursor) = match &rewards {
        RunRewards::Final(stored) => {
            let offset = cursor.map(|c| parse_cursor(c, stored.count)).transpose()?;
            let offset = offset.unwrap_or(0);
            let keys = Keys::new(tenant, board_id);
            let page = awards_page(repo, &keys, &run, stored, offset, u64::from(limit)).await?;
            let end = offset.saturating_add(page.len() as u64);
            (page, (end < stored.count).then(|| end.to_string()))
        }
        RunRewards::NotYet(_) => {
            if let Some(c) = cursor {
                parse_cursor(c, 0)?;
            }
            (Vec::new(), None)
        }
    };
    Ok(AwardsListed {
        rewards: shown,
        awards,
        next_cursor,
    })
}

/// The awards of the run from `offset` (rank order), `n` at most, each with its claim.
async fn awards_page(
    repo: &Repo,
    keys: &Keys,
    run: &PeriodId,
    stored: &Stored,
    offset: u64,
    n: u64,
) -> Result<Vec<AwardShown>> {
    let tables = stored_tables(stored)?;
    let players = repo
        .awarded_players(keys, run, offset, n)
        .await?
        .into_iter()
        .map(PlayerId::new)
        .collect::<Result<Vec<_>>>()?;
    let got = repo.awards_of(keys, run, &players).await?;
    players
        .iter()
        .zip(got)
        .map(|(p, got)| {
            award_view(&tables, p.as_str(), &got)?.ok_or_else(|| {
                LeaderboardError::CorruptData(format!("awarded player '{p}' has no rank"))
            })
        })
        .collect()
}

/// `rewards` as the webhooks carry them (without `board`): the standing, and once final the
/// first `top_n` awards in rank order (all of them are listed by `GET …/rewards`).
async fn webhook_view(
    repo: &Repo,
    tenant: &TenantId,
    board_id: &BoardId,
    run: &PeriodId,
    rewards: &RunRewards,
    top_n: u32,
) -> Result<Value> {
    let mut view = to_json(&RewardsShown::of(board_id, run, rewards))?;
    if let Value::Object(map) = &mut view {
        map.remove("board");
        if let RunRewards::Final(stored) = rewards {
            let keys = Keys::new(tenant, board_id);
            let first = awards_page(repo, &keys, run, stored, 0, u64::from(top_n)).await?;
            map.insert("awards".into(), to_json(&first)?);
        }
    }
    Ok(view)
}

/// What `tournament.ended` carries of a board's rewards: where they stand, awarding them first
/// when due ([`settle`]).
pub async fn at_end(
    repo: &Repo,
    tenant: &TenantId,
    board_id: &BoardId,
    top_n: u32,
    now_ms: i64,
) -> Result<Value> {
    let (_, run, rewards) = settle(repo, tenant, board_id, None, now_ms).await?;
    webhook_view(repo, tenant, board_id, &run, &rewards, top_n).await
}

/// What `rewards.awarded` carries for the run `run`: the awards as stored (never awarded here:
/// the message follows an award), or `None` when the board has none stored for it (a board of
/// the id made since).
pub async fn as_awarded(
    repo: &Repo,
    tenant: &TenantId,
    board: &Board,
    run: &PeriodId,
    top_n: u32,
) -> Result<Option<Value>> {
    if !board.pays_rewards() {
        return Ok(None);
    }
    let Some(stored) = repo.awards(&Keys::new(tenant, &board.id), run).await? else {
        return Ok(None);
    };
    let rewards = RunRewards::Final(stored);
    webhook_view(repo, tenant, &board.id, run, &rewards, top_n)
        .await
        .map(Some)
}
