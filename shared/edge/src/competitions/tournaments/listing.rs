//! The tenant's tournaments, listed by state and category (`GET /api/{v}/tournaments`), from
//! an index of the tenant's tournaments by when each ends (`store`), kept
//! by their creation, each change of their window and their deletion.
//!
//! Ordered by end: an open or upcoming tournament ending soonest first (a live list is short:
//! what runs now and what is scheduled), an ended one latest first. Each page reads the index
//! from its cursor and the boards it names, keeping those in the state and category asked for;
//! a page stops at `limit` tournaments or after [`SCANNED_PER_PAGE`] index entries, so a
//! filtered page may hold fewer than `limit` (even none) and still have a `next_cursor`: follow
//! it until it is `null`.

use leaderboard::board::{period, rank};
use leaderboard::competition::tournament::Phase;
use leaderboard::{Board, BoardId, LeaderboardError, PlayerId, Result, TenantId, policy::access};
use serde::Serialize;
use serde_json::{Value, json};

use crate::api::Ctx;
use crate::competitions::tournaments::store::Scan;
use crate::http::{Call, Response};
use crate::repo::{Keys, Repo};

/// Index entries one page reads at most.
const SCANNED_PER_PAGE: usize = 200;

/// Index entries read per round trip.
const SCAN_BATCH: usize = 50;

/// Indexes a tournament by its end: a new one before its board is stored (so none is ever
/// stored unlisted; an entry whose creation was then refused is mended by the listing), and
/// again after its window changed.
pub async fn index(repo: &Repo, tenant: &TenantId, board: &Board) -> Result<()> {
    match &board.tournament {
        Some(t) => {
            repo.tournament_index(tenant, &board.id, t.window.end_ms)
                .await
        }
        None => Ok(()),
    }
}

/// Takes a deleted board out of the index, unless a board of that id exists by then (a
/// creation that raced the delete): a tournament is indexed again with its end.
pub async fn forget(repo: &Repo, tenant: &TenantId, id: &BoardId) -> Result<()> {
    repo.tournament_unindex(tenant, id).await?;
    match repo.board(tenant, id).await {
        Ok(board) => index(repo, tenant, &board).await,
        Err(LeaderboardError::BoardNotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A cursor: the end and id of the last index entry a page read, `<end ms>:<id>`.
fn parse_cursor(raw: &str) -> Result<(i64, BoardId)> {
    let bad =
        || LeaderboardError::InvalidCursor(format!("cursor '{raw}' is not one this listing gave"));
    let (end, id) = raw.split_once(':').ok_or_else(bad)?;
    let end = end.parse::<i64>().map_err(|_| bad())?;
    Ok((end, BoardId::new(id).map_err(|_| bad())?))
}

/// A tournament as listed (`GET /api/{v}/tournaments`), and in a player's list with the
/// player's standing in its run; REST, GraphQL and Connect show these fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TournamentShown {
    /// The board.
    pub board: String,
    /// What players see.
    pub title: String,
    /// The label it is listed by.
    pub category: Option<String>,
    /// `upcoming`, `open` or `ended`, now.
    pub phase: &'static str,
    /// When its window opens (RFC 3339).
    pub start: String,
    /// When it closes (RFC 3339), as it is now (ended early or extended).
    pub end: Option<String>,
    /// Only players who joined may submit.
    pub join_required: bool,
    /// Most players who may join.
    pub max_size: Option<u32>,
    /// Submissions per player per run, before grants.
    pub max_attempts: Option<u32>,
    /// Whether anyone may read its standings.
    pub public_read: bool,
    /// In a player's list: where it stands.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub standing: Option<RunStanding>,
}

/// Where a player stands in a tournament's current run (its last once it ended).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStanding {
    /// The run.
    pub period: String,
    /// Its rank (ties share one); `None` before its first score.
    pub rank: Option<u64>,
    /// Its score as the board's score type writes it (`null` before its first score).
    pub score: Value,
}

impl RunStanding {
    /// The score as text, exactly as the JSON writes it (`None` before its first), for the
    /// doors whose scores are text (GraphQL, Connect).
    pub fn score_text(&self) -> Option<String> {
        match &self.score {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            number => Some(number.to_string()),
        }
    }
}

/// A page of tournaments, and the cursor of the next (`None` on the last).
#[derive(Debug, Clone, PartialEq)]
pub struct TournamentPage {
    /// The tournaments shown.
    pub tournaments: Vec<TournamentShown>,
    /// Where the next page starts.
    pub next_cursor: Option<String>,
}

/// Which page of a listing: at most `limit` (1..=100) from `cursor`.
#[derive(Debug, Clone, Copy)]
pub struct PageAsked<'a> {
    /// How many at most (checked by [`PageAsked::new`]).
    limit: usize,
    /// Where to start: the `next_cursor` of the page before.
    cursor: Option<&'a str>,
}

impl<'a> PageAsked<'a> {
    /// `limit` (20 when absent) must be 1..=100.
    pub fn new(limit: Option<i64>, cursor: Option<&'a str>) -> Result<Self> {
        let limit = limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(LeaderboardError::InvalidBody(format!(
                "limit {limit} must be from 1 to 100"
            )));
        }
        Ok(Self {
            limit: limit.unsigned_abs() as usize,
            cursor,
        })
    }

    /// From a request's `limit` and `cursor` query parameters.
    fn of(call: &'a Call<'_>) -> Result<Self> {
        let limit = call.query_u32("limit", 20, 1, 100)?;
        Ok(Self {
            limit: limit as usize,
            cursor: call.query.get("cursor").map(String::as_str),
        })
    }
}

/// The tournament `board` as listed at `now_ms` (`None`: it is no tournament).
pub fn shown(board: &Board, now_ms: i64) -> Option<TournamentShown> {
    summary(board, board.tournament.as_ref()?.window.phase(now_ms))
}

/// A tournament as listed.
fn summary(board: &Board, phase: Phase) -> Option<TournamentShown> {
    let t = board.tournament.as_ref()?;
    let input = t.to_input();
    Some(TournamentShown {
        board: board.id.to_string(),
        title: input.title,
        category: input.category,
        phase: phase.as_str(),
        start: input.start,
        end: input.end,
        join_required: input.join_required,
        max_size: input.max_size,
        max_attempts: input.max_attempts,
        public_read: board.public_read,
        standing: None,
    })
}

/// The board an index entry (`id` at `end_ms`) names, mending the index as it reads it: an
/// entry whose board is gone (or is no tournament) is removed, and one whose end is not the
/// board's (a window change whose index write failed, a creation refused for a taken id) is
/// written again with the board's end, so it is listed in its place from the next page on.
/// A removal is made only while the entry is still as read (a rewrite is a plain `ZADD` of the
/// board's own end, right whatever raced it); a failed mend is logged.
async fn indexed(
    repo: &Repo,
    tenant: &TenantId,
    index: &str,
    id: &BoardId,
    end_ms: i64,
) -> Result<Option<Board>> {
    let board = match repo.board(tenant, id).await {
        Ok(board) => Some(board),
        // Indexed before it is stored: a creation on its way keeps its entry (and one whose mark
        // cannot be read is left, not dropped).
        Err(LeaderboardError::BoardNotFound(_)) => {
            match repo
                .creation_on_its_way(&crate::repo::Keys::new(tenant, id))
                .await
            {
                Ok(false) => None,
                Ok(true) => return Ok(None),
                Err(e) => {
                    eprintln!("tournaments: the creation mark of {tenant}/{id} (entry left): {e}");
                    return Ok(None);
                }
            }
        }
        Err(e) => return Err(e),
    };
    let mended = match board.as_ref().and_then(|b| b.tournament.as_ref()) {
        None => repo.tournament_drop_if(index, id, end_ms).await,
        Some(t) if t.window.end_ms != end_ms => {
            repo.tournament_index(tenant, id, t.window.end_ms).await
        }
        Some(_) => Ok(()),
    };
    if let Err(e) = mended {
        eprintln!("tournaments: mending the index entry of {tenant}/{id}: {e}");
    }
    Ok(board)
}

/// `GET /api/{v}/tournaments?state=open|upcoming|ended&category=&limit=1..=100&cursor=`: the
/// tenant's tournaments in one state (`open` by default), of one category if asked, `limit`
/// (20) at most, and the cursor of the next page (`null` on the last). Any token of the tenant
/// with a role (a player's too: players choose what to join); `401` without one.
pub async fn list(ctx: &Ctx<'_>, call: &Call<'_>) -> Result<Response> {
    let listed = listed(
        ctx,
        call.now_ms,
        call.query.get("state").map(String::as_str),
        call.query.get("category").map(String::as_str),
        PageAsked::of(call)?,
    )
    .await?;
    Ok(crate::http::json(
        200,
        call.version,
        &json!({ "tournaments": listed.tournaments, "next_cursor": listed.next_cursor }),
    ))
}

/// The tenant's tournaments in `state` (`open` when `None`), of `category` if asked, as
/// [`list`] answers them (REST, GraphQL and Connect).
pub async fn listed(
    ctx: &Ctx<'_>,
    now_ms: i64,
    state: Option<&str>,
    category: Option<&str>,
    asked: PageAsked<'_>,
) -> Result<TournamentPage> {
    // Any token of the tenant with a role (none: `401`; one without a role: `403`).
    access::authorize_read_of(Some(ctx.require_principal()?), false)?;
    let state = match state {
        Some(raw) => Phase::parse(raw)?,
        None => Phase::Open,
    };
    if let Some(c) = category
        && !leaderboard::ids::is_label(c)
    {
        return Err(LeaderboardError::InvalidBody(format!(
            "category '{c}' must be 1 to 32 of a-z, 0-9, '_' and '-', starting with a letter or digit"
        )));
    }
    let scan = if state == Phase::Ended {
        Scan::Ended
    } else {
        Scan::Live
    };
    let repo = ctx.repo().await?;
    let index = crate::competitions::tournaments::store::index(&ctx.tenant);
    page(repo, now_ms, asked, &index, scan, async |id, end_ms| {
        let shown = match indexed(repo, &ctx.tenant, &index, &id, end_ms).await? {
            Some(b) => b
                .tournament
                .as_ref()
                .filter(|t| t.listed(state, category, now_ms))
                .and_then(|t| summary(&b, t.window.phase(now_ms))),
            None => None,
        };
        Ok(shown)
    })
    .await
}

/// One page of the sorted set `key` read the way `scan` says, from the `cursor` asked: each
/// entry (id and score) handed to `show`, which answers what the page shows of it, until the
/// `limit` asked are shown or [`SCANNED_PER_PAGE`] entries were read. What was shown, and the
/// cursor of the next page (`None` once the set has no more).
async fn page(
    repo: &Repo,
    now_ms: i64,
    asked: PageAsked<'_>,
    key: &str,
    scan: Scan,
    mut show: impl AsyncFnMut(BoardId, i64) -> Result<Option<TournamentShown>>,
) -> Result<TournamentPage> {
    let mut cursor = asked.cursor.map(parse_cursor).transpose()?;
    let mut tournaments = Vec::new();
    let mut scanned = 0;
    loop {
        let batch = repo
            .tournament_scan(key, scan, now_ms, cursor.as_ref(), SCAN_BATCH)
            .await?;
        if batch.is_empty() {
            return Ok(TournamentPage {
                tournaments,
                next_cursor: None,
            });
        }
        for (id, score) in batch {
            scanned += 1;
            tournaments.extend(show(id.clone(), score).await?);
            cursor = Some((score, id));
            if tournaments.len() == asked.limit || scanned == SCANNED_PER_PAGE {
                let next_cursor = cursor.as_ref().map(|(score, id)| format!("{score}:{id}"));
                return Ok(TournamentPage {
                    tournaments,
                    next_cursor,
                });
            }
        }
    }
}

/// `GET /api/{v}/players/{player}/tournaments?limit=1..=100&cursor=`: the tournaments `player`
/// joined, the newest joined first, `limit` (20) at most, and the cursor of the next page
/// (`null` on the last); each as listed plus the player's standing in its current run (its last
/// once it ended): `period`, `rank` (ties share one) and `score`, both `null` before its first
/// score. The player's own token, or a `service` or `admin` one. A tournament deleted since, or
/// a new board of its id the player has not joined, is left out and leaves the player's list.
pub async fn joined(ctx: &Ctx<'_>, call: &Call<'_>, raw_player: &str) -> Result<Response> {
    let player = PlayerId::new(raw_player)?;
    let shown = joined_by(ctx, call.now_ms, &player, PageAsked::of(call)?).await?;
    Ok(crate::http::json(
        200,
        call.version,
        &json!({ "player": player.as_str(), "tournaments": shown.tournaments,
            "next_cursor": shown.next_cursor }),
    ))
}

/// The tournaments `player` joined, as [`joined`] answers them (REST, GraphQL and Connect).
pub async fn joined_by(
    ctx: &Ctx<'_>,
    now_ms: i64,
    player: &PlayerId,
    asked: PageAsked<'_>,
) -> Result<TournamentPage> {
    access::authorize_own(ctx.require_principal()?, player)?;
    let repo = ctx.repo().await?;
    let list = crate::competitions::tournaments::store::joined_by(&ctx.tenant, player);
    page(
        repo,
        now_ms,
        asked,
        &list,
        Scan::Ended,
        async |id, joined_ms| {
            let item = standing(repo, &ctx.tenant, &id, player, now_ms).await?;
            if item.is_none()
                && let Err(e) = repo.tournament_drop_if(&list, &id, joined_ms).await
            {
                eprintln!("tournaments: dropping {id} from the list of {player}: {e}");
            }
            Ok(item)
        },
    )
    .await
}

/// The tournament `id` as a player's list shows it, with `player`'s standing; `None` when it
/// is gone, no tournament, or one the player has not joined (a new board of the id).
async fn standing(
    repo: &Repo,
    tenant: &TenantId,
    id: &BoardId,
    player: &PlayerId,
    now_ms: i64,
) -> Result<Option<TournamentShown>> {
    let board = match repo.board(tenant, id).await {
        Ok(board) => board,
        Err(LeaderboardError::BoardNotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let keys = Keys::new(tenant, id);
    let Some(t) = &board.tournament else {
        return Ok(None);
    };
    if !repo.tournament_joined(&keys, player).await? {
        return Ok(None);
    }
    let run = period::period_id(board.period, t.standing_at(now_ms))?;
    // On a board with cohorts the player's rank is its cohort's, as its reads show it.
    let keys = match repo.cohort_of(&keys, &board, &run, player).await? {
        Some(cohort) => keys.in_cohort(&cohort),
        None => keys,
    };
    let (_, standing) = repo
        .players(&keys, &run, std::slice::from_ref(player))
        .await?;
    let standing = standing.into_iter().next().flatten();
    Ok(
        summary(&board, t.window.phase(now_ms)).map(|shown| TournamentShown {
            standing: Some(RunStanding {
                period: run.to_string(),
                rank: standing.as_ref().map(|s| rank::rank_from_better(s.better)),
                score: standing.map_or(Value::Null, |s| board.score_type.to_json(s.record.score)),
            }),
            ..shown
        }),
    )
}
