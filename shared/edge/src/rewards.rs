//! Rewards (docs/competitions.md#rewards): a board's `rewards` table, awarded once from its
//! run's final standings and claimed once by each player awarded.
//!
//! - **When** (`leaderboard::competition::rewards::award_due`): once the run closed — for a
//!   tournament, once its end was announced, which is also what freezes its `sync` writes — and
//!   no review of a submission made in the run is open, or [`GRACE_MS`] after the close whatever
//!   is.
//! - **Who**: whoever finds them due first ([`settle`]): the worker after it announces the end,
//!   the fan-out of `tournament.ended`, a review's decision, and any read or claim of them. The
//!   awards are stored by one script that keeps the first caller's, so however many race, a
//!   run is awarded once, and its `rewards_awarded` log entry (the `rewards.awarded` webhook)
//!   is made once with it.
//! - **What is kept**: each awarded player's rank and the table the awards were made from, so
//!   an award reads the same after the board's table changes; the reward itself is the table's
//!   for that rank.
//!
//! Routes: `GET /api/{v}/boards/{board}/rewards?player=` (one player's), `GET
//! /api/{v}/boards/{board}/rewards?limit&cursor` (a `service` or `admin` lists the run's awards
//! in rank order), `POST /api/{v}/boards/{board}/rewards/claim` `{player}`.

use leaderboard::competition::rewards::{
    self, Claim, GRACE_MS, MAX_AWARDS, RewardRangeInput, RewardTable,
};
use leaderboard::{
    Board, BoardId, EventEnvelope, LeaderboardError, PeriodId, PlayerId, Result, TenantId,
    policy::access,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::api::Ctx;
use crate::http::{Call, Response};
use crate::repo::rewards::{AwardWrite, NewAwards, Stored};
use crate::repo::{Keys, Repo};

/// Standings read per round trip while a run is awarded.
const STANDINGS_PAGE: u32 = 500;

/// Reviews of a run read while deciding whether any is open; past this many the run counts as
/// having open reviews (and is awarded after its grace).
const REVIEWS_SCANNED: u64 = 10_000;

/// Reviews read per round trip while counting the open ones.
const REVIEWS_PAGE: u64 = 500;

/// Times the award is decided again on a board config that changed meanwhile.
const DECIDE_ATTEMPTS: usize = 8;

/// Awards one listing page holds at most (default 100).
const MAX_PAGE: u32 = 500;

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
    fn name(&self) -> &'static str {
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

/// The run a board's rewards are for and when it closes: a tournament's one run (the config
/// refuses `rewards` anywhere else). `409` for a board without rewards.
fn rewarded_run(board: &Board) -> Result<(&RewardTable, PeriodId, i64, i64)> {
    let (Some(table), Some(t)) = (&board.rewards, &board.tournament) else {
        return Err(LeaderboardError::Conflict(format!(
            "board '{}' has no rewards",
            board.id
        )));
    };
    let run = leaderboard::board::period::run_ending_at(board.period, t.window.end_ms)?;
    Ok((table, run, t.window.start_ms, t.window.end_ms))
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

/// The run's players ranked within the table's last rewarded rank (ties at it included), best
/// first, each once, at most [`MAX_AWARDS`]. Paged by the last entry read (not by offset). The
/// standings are final here (the end announced, no open review); only a review decided after
/// the grace can move an entry while they are read, and a player read twice keeps its first
/// rank.
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
    loop {
        let page = repo
            .page(
                keys,
                run,
                0,
                STANDINGS_PAGE,
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
            Some(last) if page.rows.len() == STANDINGS_PAGE as usize => {
                after = Some((last.rank_value, last.member.clone()));
            }
            _ => return Ok(ranked),
        }
    }
}

/// Where the board's rewards stand at `now_ms`, awarding them first when they are due and were
/// not awarded (once, whoever races: see the module docs). Answers the board as read too.
pub async fn settle(
    repo: &Repo,
    tenant: &TenantId,
    board_id: &BoardId,
    now_ms: i64,
) -> Result<(Board, PeriodId, RunRewards)> {
    let keys = Keys::new(tenant, board_id);
    for _ in 0..DECIDE_ATTEMPTS {
        let (raw, board) = repo.board_raw(tenant, board_id).await?;
        let (table, run, start_ms, end_ms) = rewarded_run(&board)?;
        if let Some(stored) = repo.awards(&keys, &run).await? {
            return Ok((board, run, RunRewards::Final(stored)));
        }
        let ended = repo.tournament_announced(&keys).await?.ended;
        // Reviews are counted only when they decide: after the end, within the grace.
        let standing = match rewards::standing(ended, end_ms, now_ms, u64::MAX, GRACE_MS) {
            rewards::Standing::Pending { .. } => {
                let reviews = open_reviews(repo, &keys, start_ms, end_ms).await?;
                rewards::standing(ended, end_ms, now_ms, reviews, GRACE_MS)
            }
            other => other,
        };
        if standing != rewards::Standing::Due {
            return Ok((board, run, RunRewards::NotYet(standing)));
        }
        let standings = final_standings(repo, &keys, &board, &run, table.last_rank()).await?;
        let awards = table.award(standings.iter().map(|(p, r)| (p, *r)));
        let ranked: Vec<(&PlayerId, u64)> = awards.iter().map(|a| (&a.player, a.rank)).collect();
        let table_json = serde_json::to_string(&table.to_input())
            .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
        let event =
            EventEnvelope::rewards_awarded(tenant, board_id, run, ranked.len() as u64, now_ms)
                .to_json()?;
        let stored = match repo
            .store_awards(
                &keys,
                &run,
                NewAwards {
                    config_raw: &raw,
                    table_json: &table_json,
                    event_json: &event,
                    ranked: &ranked,
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
            AwardWrite::Before(..) => repo.awards(&keys, &run).await?.ok_or_else(|| {
                LeaderboardError::CorruptData(format!(
                    "the awards of {board_id}'s run {run} were stored and are gone"
                ))
            })?,
            AwardWrite::ConfigChanged => continue,
        };
        return Ok((board, run, RunRewards::Final(stored)));
    }
    Err(LeaderboardError::Conflict(format!(
        "the config of board '{board_id}' changed {DECIDE_ATTEMPTS} times while its rewards \
         were awarded; retry"
    )))
}

/// [`settle`] where a failure only delays the award (it is made by the next caller): the
/// worker after an end, and a review's decision. Logs what failed.
pub async fn settle_logged(repo: &Repo, tenant: &TenantId, board_id: &BoardId, now_ms: i64) {
    if let Err(e) = settle(repo, tenant, board_id, now_ms).await {
        eprintln!("rewards: awarding {tenant}/{board_id} (left to the next reader): {e}");
    }
}

/// The table the stored awards were made from.
fn stored_table(stored: &Stored) -> Result<RewardTable> {
    let input: Vec<RewardRangeInput> = serde_json::from_str(&stored.table).map_err(|e| {
        LeaderboardError::CorruptData(format!("a stored reward table does not decode: {e}"))
    })?;
    RewardTable::new(&input)
}

/// The reward a stored award's rank has in the table it was made from.
fn reward_of(table: &RewardTable, rank: u64) -> Result<&Value> {
    table.for_rank(rank).ok_or_else(|| {
        LeaderboardError::CorruptData(format!("stored rank {rank} has no reward in its table"))
    })
}

/// An award as the routes and webhooks show it.
fn award_view(
    table: &RewardTable,
    player: &str,
    rank: u64,
    claimed_at_ms: Option<i64>,
) -> Result<Value> {
    let reward = reward_of(table, rank)?;
    Ok(json!({
        "player": player,
        "rank": rank,
        "reward": reward,
        "claimed_at": claimed_at_ms.map(leaderboard::time::iso),
    }))
}

/// What the board's rewards stand at, as the routes and the webhooks open it: `board`,
/// `period`, `state` (`open`, `pending`, `final`), `awarded_at` and `awarded` (how many) once
/// final, `pending_until` while pending.
fn standing_view(board_id: &BoardId, run: &PeriodId, rewards: &RunRewards) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("board".into(), json!(board_id.as_str()));
    map.insert("period".into(), json!(run.to_string()));
    map.insert("state".into(), json!(rewards.name()));
    match rewards {
        RunRewards::Final(s) => {
            map.insert("awarded_at".into(), json!(leaderboard::time::iso(s.at_ms)));
            map.insert("awarded".into(), json!(s.count));
        }
        RunRewards::NotYet(rewards::Standing::Pending { until_ms, .. }) => {
            map.insert(
                "pending_until".into(),
                json!(leaderboard::time::iso(*until_ms)),
            );
        }
        RunRewards::NotYet(_) => {}
    }
    map
}

/// The awards of the run from `offset` (rank order), `n` at most, each with its claim.
async fn awards_page(
    repo: &Repo,
    keys: &Keys,
    run: &PeriodId,
    stored: &Stored,
    offset: u64,
    n: u64,
) -> Result<Vec<Value>> {
    let table = stored_table(stored)?;
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
        .map(|(p, (rank, claimed))| {
            let rank = rank.ok_or_else(|| {
                LeaderboardError::CorruptData(format!("awarded player '{p}' has no rank"))
            })?;
            award_view(&table, p.as_str(), rank, claimed)
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
    let mut map = standing_view(board_id, run, rewards);
    map.remove("board");
    if let RunRewards::Final(stored) = rewards {
        let keys = Keys::new(tenant, board_id);
        let first = awards_page(repo, &keys, run, stored, 0, u64::from(top_n)).await?;
        map.insert("awards".into(), Value::Array(first));
    }
    Ok(Value::Object(map))
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
    let (_, run, rewards) = settle(repo, tenant, board_id, now_ms).await?;
    webhook_view(repo, tenant, board_id, &run, &rewards, top_n).await
}

/// What `rewards.awarded` carries: the awards as stored (never awarded here: the message
/// follows an award), or `None` when the board has none stored for its run (a board of the id
/// made since).
pub async fn as_awarded(
    repo: &Repo,
    tenant: &TenantId,
    board: &Board,
    top_n: u32,
) -> Result<Option<Value>> {
    if board.rewards.is_none() {
        return Ok(None);
    }
    let (_, run, _, _) = rewarded_run(board)?;
    let Some(stored) = repo.awards(&Keys::new(tenant, &board.id), &run).await? else {
        return Ok(None);
    };
    let rewards = RunRewards::Final(stored);
    webhook_view(repo, tenant, &board.id, &run, &rewards, top_n)
        .await
        .map(Some)
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

/// `GET /api/{v}/boards/{board}/rewards?player=`: the player's award in the board's run (the
/// player's own token, or a `service` or `admin` one), `null` while there is none: the
/// standing, `award` (`rank`, `reward`, `claimed_at`). Without `player` (`service` or `admin`):
/// the run's awards in rank order, `limit` (1 to 500, default 100) from `cursor`, with
/// `next_cursor`.
pub async fn read(ctx: &Ctx<'_>, call: &Call<'_>, board_id: &BoardId) -> Result<Response> {
    let principal = ctx.require_principal()?;
    let player = call
        .query
        .get("player")
        .map(|p| PlayerId::new(p.as_str()))
        .transpose()?;
    match &player {
        Some(p) => access::authorize_own(principal, p)?,
        None => access::authorize_operator(principal, "listing a run's awards")?,
    }
    let limit = call.query_u32("limit", 100, 1, MAX_PAGE)?;
    let repo = ctx.repo().await?;
    let (_, run, rewards) = settle(repo, &ctx.tenant, board_id, call.now_ms).await?;
    let keys = Keys::new(&ctx.tenant, board_id);
    let mut map = standing_view(board_id, &run, &rewards);
    let stored = match &rewards {
        RunRewards::Final(s) => Some(s),
        RunRewards::NotYet(_) => None,
    };
    match player {
        Some(p) => {
            let award = match stored {
                Some(stored) => {
                    let got = repo
                        .awards_of(&keys, &run, std::slice::from_ref(&p))
                        .await?;
                    match got.first() {
                        Some((Some(rank), claimed)) => {
                            award_view(&stored_table(stored)?, p.as_str(), *rank, *claimed)?
                        }
                        _ => Value::Null,
                    }
                }
                None => Value::Null,
            };
            map.insert("player".into(), json!(p.as_str()));
            map.insert("award".into(), award);
        }
        None => {
            let (awards, next) = match stored {
                Some(stored) => {
                    let offset = match call.query.get("cursor") {
                        Some(c) => parse_cursor(c, stored.count)?,
                        None => 0,
                    };
                    let page =
                        awards_page(repo, &keys, &run, stored, offset, u64::from(limit)).await?;
                    let end = offset.saturating_add(page.len() as u64);
                    (page, (end < stored.count).then(|| end.to_string()))
                }
                None => {
                    if let Some(c) = call.query.get("cursor") {
                        parse_cursor(c, 0)?;
                    }
                    (Vec::new(), None)
                }
            };
            map.insert("awards".into(), Value::Array(awards));
            map.insert("next_cursor".into(), json!(next));
        }
    }
    Ok(crate::http::json(200, call.version, &Value::Object(map)))
}

/// A claim's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimInput {
    /// Whose award: a player's own token claims its own, a `service` or `admin` any player's.
    player: PlayerId,
}

/// `POST /api/{v}/boards/{board}/rewards/claim` `{player}`: takes the player's award once and
/// answers it with when it was claimed; a claim sent again answers the same (`200` both
/// times). `409` while the run is open or its rewards are not final, `404` once final for a
/// player awarded nothing.
pub async fn claim(ctx: &Ctx<'_>, call: &Call<'_>, board_id: &BoardId) -> Result<Response> {
    let principal = ctx.require_principal()?;
    let input: ClaimInput = call.json()?;
    access::authorize_own(principal, &input.player)?;
    let repo = ctx.repo().await?;
    let (_, run, rewards) = settle(repo, &ctx.tenant, board_id, call.now_ms).await?;
    let stored = match rewards {
        RunRewards::Final(s) => s,
        RunRewards::NotYet(standing) => return Err(rewards::not_final(standing)),
    };
    let keys = Keys::new(&ctx.tenant, board_id);
    let seen = repo
        .claim_award(&keys, &run, &input.player, call.now_ms)
        .await?;
    let award = match seen.rank {
        Some(rank) => Some(rewards::Award {
            player: input.player.clone(),
            rank,
            reward: reward_of(&stored_table(&stored)?, rank)?.clone(),
        }),
        None => None,
    };
    let (award, claimed) = rewards::claim(seen.awarded, award, seen.claimed_before_ms)?;
    let claimed_at_ms = match claimed {
        Claim::Now => call.now_ms,
        Claim::Before(at) => at,
    };
    Ok(crate::http::json(
        200,
        call.version,
        &json!({
            "board": board_id.as_str(),
            "period": run.to_string(),
            "player": award.player.as_str(),
            "rank": award.rank,
            "reward": award.reward,
            "claimed_at": leaderboard::time::iso(claimed_at_ms),
        }),
    ))
}
