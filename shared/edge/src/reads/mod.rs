//! The ranked reads every door into the API shares — REST (`functions/rankings`) and GraphQL
//! (`functions/graphql`): a top-N page, several players, one player's standing, the neighbours
//! around a player, and the board config they are read with (cache-aside, [`board`]). Each takes
//! typed arguments and returns typed rows ([`Ranked`], [`Standing`]); rendering is the caller's.
//!
//! Where a read looks is an [`At`]: the live projection and the period asked for (at `now_ms`),
//! or with `as_of` (an RFC 3339 time or an event id) the board as it stood then
//! ([`crate::boards::rebuild::as_of`]) and the period asked for at that moment.

pub mod cached;
pub mod routes;
pub mod store;

use leaderboard::board::cursor::{self, Cursor, CursorBinding};
use leaderboard::board::view::{EntryView, PeriodView};
use leaderboard::competition::cohort::{self, CohortId};
use leaderboard::http::cache::{CacheEnvelope, Freshness};
use leaderboard::http::operation::Operation;
use leaderboard::{
    Board, BoardId, LeaderboardError, PlayerId, Record, Result, TenantId, board::rank,
    board::sortkey,
};

use crate::api::Ctx;
use crate::cache::Entry;
use crate::reads::store::Page;
use crate::repo::{BoardAt, Keys, Repo};

/// Most entries per page / players per lookup.
pub const MAX_LIMIT: u32 = 100;
/// Largest `radius` for around-me.
pub const MAX_RADIUS: u32 = 50;

/// How long a board's config is cached when its reads are not (`ttl_secs: 0`): configs change only
/// when a board is created or deleted, which empties the cached config in the writing region; other
/// regions see the change within this many seconds.
const UNCACHED_BOARD_CONFIG_TTL_SECS: u32 = 5;

/// Where and when a read looks.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    /// The request's time (Unix ms).
    pub now_ms: i64,
    /// The period asked for (`None`/`current`, `previous`, or a period id).
    pub period: Option<&'a str>,
    /// The moment to read the board as it stood (`as_of`); `None` or empty: now.
    pub as_of: Option<&'a str>,
    /// The cohort asked for on a board with cohorts (`None`: the default,
    /// [`crate::competitions::cohorts::scope`]).
    pub cohort: Option<&'a str>,
}

/// Ranked rows of one period.
#[derive(Debug, Clone)]
pub struct Ranked {
    /// The period read.
    pub period: PeriodView,
    /// Entries in the period.
    pub total: u64,
    /// The rows, best first.
    pub entries: Vec<EntryView>,
    /// The cursor of the next page, when there is one (top-N pages only).
    pub next_cursor: Option<String>,
    /// Players asked for that have no entry (several-players lookups only).
    pub missing: Vec<String>,
    /// The cohort read, on a board with cohorts (`None`: the whole board).
    pub cohort: Option<CohortId>,
}

/// One player's standing.
#[derive(Debug, Clone)]
pub struct Standing {
    /// The period read.
    pub period: PeriodView,
    /// The player's row.
    pub entry: EntryView,
    /// Entries in the period.
    pub total: u64,
    /// The cohort read, on a board with cohorts (`None`: the whole board).
    pub cohort: Option<CohortId>,
}

/// The board a cached envelope holds, in its stored form (`None`, so read again from Redis,
/// if it does not read).
fn decode_board(env: &CacheEnvelope) -> Option<Board> {
    Board::from_stored("cached board", env.body.as_bytes()).ok()
}

/// How fresh a cached envelope is at `now_ms` (absent: expired).
pub fn freshness(env: Option<&CacheEnvelope>, now_ms: i64) -> Freshness {
    env.map(|e| e.freshness(now_ms))
        .unwrap_or(Freshness::Expired)
}

/// The board config: from the regional cache when fresh, else from Redis (then cached, see
/// [`crate::cache`]); when Redis is unavailable, a stale cached config is used (stale-if-error),
/// like the cached reads. Also returns the board's Redis version when it read it (on a miss).
pub async fn board(
    ctx: &Ctx<'_>,
    id: &BoardId,
    now_ms: i64,
) -> Result<(Board, Option<Option<i64>>)> {
    let cache = ctx.cache().await;
    let (t, b) = (ctx.tenant.as_str(), id.as_str());
    let cached = cache.get(t, b, Entry::Config).await;
    let freshness = freshness(cached.as_ref(), now_ms);
    if let (Some(env), Freshness::Fresh) = (&cached, freshness)
        && let Some(board) = decode_board(env)
    {
        return Ok((board, None));
    }
    crate::scope::note_upkeep("board config");
    let keys = Keys::new(&ctx.tenant, id);
    let version = match ctx.repo().await {
        Ok(r) => r.board_version(&keys).await,
        Err(e) => Err(e),
    };
    let read = match &version {
        Ok(_) => match ctx.repo().await {
            Ok(r) => r.board(&ctx.tenant, id).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e.clone()),
    };
    let board = match read {
        Ok(board) => board,
        Err(LeaderboardError::Unavailable(reason)) => {
            return match (&cached, freshness) {
                (Some(env), Freshness::Stale) => decode_board(env)
                    .map(|board| (board, None))
                    .ok_or(LeaderboardError::Unavailable(reason)),
                _ => Err(LeaderboardError::Unavailable(reason)),
            };
        }
        Err(e) => return Err(e),
    };
    let (ttl_secs, stale_secs) = if board.cache.enabled() {
        (board.cache.ttl_secs, board.cache.stale_secs)
    } else {
        (UNCACHED_BOARD_CONFIG_TTL_SECS, 0)
    };
    let version = version?;
    let body = board.to_stored()?;
    cache
        .put(
            t,
            b,
            Entry::Config,
            CacheEnvelope {
                query: 0,
                stored_at_ms: now_ms,
                ttl_secs,
                stale_secs,
                public_read: board.public_read,
                etag: String::new(),
                body,
            },
            version,
            async || match ctx.repo().await {
                Ok(r) => r.board_version(&keys).await,
                Err(e) => Err(e),
            },
        )
        .await;
    Ok((board, Some(version)))
}

/// One call about board `id` of a door that serves several per request, admitted as its REST
/// route is, before any other check: the rate limits for a call of `operation` on the board.
/// The board's id.
pub async fn admit(
    ctx: &Ctx<'_>,
    call: &crate::http::Call<'_>,
    operation: Operation,
    id: &str,
) -> Result<BoardId> {
    crate::ratelimit::enforce_as(ctx, call, operation, Some(id)).await?;
    BoardId::new(id)
}

/// One call of a door that serves several per request (a GraphQL root field, a Connect method):
/// the rate limits for a call of `operation` on board `id`, then its config ([`board`]); an
/// operation that shows the board (`Operation::reads_board`) also checks the read access, as
/// `GET …/entries` does.
pub async fn board_for_call(
    ctx: &Ctx<'_>,
    call: &crate::http::Call<'_>,
    operation: Operation,
    id: &str,
) -> Result<Board> {
    let id = admit(ctx, call, operation, id).await?;
    let (board, _) = board(ctx, &id, call.now_ms).await?;
    if operation.reads_board() {
        leaderboard::policy::access::authorize_read(ctx.principal.as_ref(), &board)?;
    }
    Ok(board)
}

/// The keys, period and cohort a read at `at` looks at.
async fn source(
    ctx: &Ctx<'_>,
    board: &Board,
    at: &At<'_>,
) -> Result<(Keys, PeriodView, Option<CohortId>)> {
    match at.as_of.filter(|v| !v.is_empty()) {
        None => {
            let period = PeriodView::resolve(board, at.period, at.now_ms)?;
            let cohort =
                crate::competitions::cohorts::scope(ctx, board, &period.id, at.cohort).await?;
            let keys = Keys::new(&ctx.tenant, &board.id);
            let keys = match &cohort {
                Some(c) => keys.in_cohort(c),
                None => keys,
            };
            Ok((keys, period, cohort))
        }
        Some(raw) => {
            let as_of = leaderboard::events::log::parse_as_of(raw)?;
            let period = PeriodView::resolve(board, at.period, as_of.at_ms)?;
            let cohort =
                crate::competitions::cohorts::scope(ctx, board, &period.id, at.cohort).await?;
            cohort::time_travel(cohort.as_ref())?;
            let board_at = BoardAt::new(ctx.repo().await?, &ctx.tenant, board, at.now_ms);
            let keys = crate::boards::rebuild::as_of(&board_at, &as_of).await?;
            Ok((keys, period, None))
        }
    }
}

fn entry(
    board: &Board,
    rank: u64,
    rank_value: u64,
    member: &str,
    record: Option<&Record>,
) -> Result<EntryView> {
    let (achieved_at_ms, player) = sortkey::decode_member(member)?;
    let (score, subscore) = sortkey::decode_rank_value(board, rank_value)?;
    Ok(EntryView {
        rank,
        player,
        score,
        subscore,
        achieved_at_ms,
        metadata: record.and_then(|r| r.metadata.clone()),
    })
}

/// The rows of a page with their ranks (ties share one), decoded.
pub fn entries_of(board: &Board, page: &Page) -> Result<Vec<EntryView>> {
    let values: Vec<u64> = page.rows.iter().map(|r| r.rank_value).collect();
    let ranks = rank::assign_ranks(
        rank::rank_from_better(page.first_better),
        page.start,
        &values,
    );
    page.rows
        .iter()
        .zip(ranks)
        .map(|(row, rank)| {
            entry(
                board,
                rank,
                row.rank_value,
                &row.member,
                row.record.as_ref(),
            )
        })
        .collect()
}

fn check_limit(name: &str, value: u32, min: u32, max: u32) -> Result<u32> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(LeaderboardError::InvalidBody(format!(
            "'{name}' must be an integer in {min}..={max}, got {value}"
        )))
    }
}

/// The top-N page of `limit` (1..=[`MAX_LIMIT`]) entries after `cursor` (a keyset cursor of an
/// earlier page of the same board and period).
pub async fn top(
    ctx: &Ctx<'_>,
    board: &Board,
    at: &At<'_>,
    limit: u32,
    after: Option<&str>,
) -> Result<Ranked> {
    let limit = check_limit("limit", limit, 1, MAX_LIMIT)?;
    let (keys, period, cohort) = source(ctx, board, at).await?;
    page_of(
        ctx.repo().await?,
        &ctx.tenant,
        board,
        &keys,
        (period, cohort),
        limit,
        after,
    )
    .await
}

/// The first `limit` (1..=[`MAX_LIMIT`]) entries of the board's current period, read from `repo`
/// without a request (the worker's push publishing, `crate::live::push`).
pub async fn current_top(at: &BoardAt<'_>, limit: u32) -> Result<Ranked> {
    let limit = check_limit("limit", limit, 1, MAX_LIMIT)?;
    let period = PeriodView::resolve(at.board(), None, at.now_ms)?;
    page_of(
        at.repo,
        at.tenant(),
        at.board(),
        at.keys(),
        (period, None),
        limit,
        None,
    )
    .await
}

/// The page of `limit` entries of `period` under `keys` after `after` (a keyset cursor).
async fn page_of(
    repo: &Repo,
    tenant: &TenantId,
    board: &Board,
    keys: &Keys,
    (period, cohort): (PeriodView, Option<CohortId>),
    limit: u32,
    after: Option<&str>,
) -> Result<Ranked> {
    let binding = CursorBinding {
        tenant,
        board: &board.id,
        period: &period.id,
        sort: board.sort,
        cohort: cohort.as_ref(),
    };
    let after = after.map(|c| cursor::decode(&binding, c)).transpose()?;
    let page = repo
        .page(
            keys,
            &period.id,
            0,
            limit,
            after.as_ref().map(|c| (c.rank_value, c.member.as_str())),
        )
        .await?;
    let entries = entries_of(board, &page)?;
    let next_cursor = match (page.rows.last(), entries.last()) {
        (Some(row), Some(last)) if page.start + u64::from(limit) < page.total => {
            Some(cursor::encode(
                &binding,
                &Cursor {
                    rank_value: row.rank_value,
                    member: row.member.clone(),
                    rank: last.rank,
                },
            ))
        }
        _ => None,
    };
    Ok(Ranked {
        period,
        total: page.total,
        entries,
        next_cursor,
        missing: Vec::new(),
        cohort,
    })
}

/// Several players at once (at most [`MAX_LIMIT`], duplicates read once): the players found, in
/// the order asked, and the ones `missing`.
pub async fn players(ctx: &Ctx<'_>, board: &Board, at: &At<'_>, ids: &[&str]) -> Result<Ranked> {
    let mut players: Vec<PlayerId> = Vec::new();
    for id in ids {
        let p = PlayerId::new(*id)?;
        if !players.contains(&p) {
            players.push(p);
        }
    }
    if players.is_empty() {
        return Err(LeaderboardError::InvalidBody(
            "name at least one player id".into(),
        ));
    }
    if players.len() > MAX_LIMIT as usize {
        return Err(LeaderboardError::InvalidBody(format!(
            "at most {MAX_LIMIT} players per request, got {}",
            players.len()
        )));
    }
    let (keys, period, cohort) = source(ctx, board, at).await?;
    let (total, found) = ctx
        .repo()
        .await?
        .players(&keys, &period.id, &players)
        .await?;
    let mut entries = Vec::new();
    let mut missing = Vec::new();
    for (player, stored) in players.iter().zip(found) {
        match stored {
            Some(s) => {
                let member = s.record.sort_key(board, player)?.member;
                entries.push(entry(
                    board,
                    rank::rank_from_better(s.better),
                    s.rank_value,
                    &member,
                    Some(&s.record),
                )?);
            }
            None => missing.push(player.as_str().to_string()),
        }
    }
    Ok(Ranked {
        period,
        total,
        entries,
        next_cursor: None,
        missing,
        cohort,
    })
}

fn no_entry(player: &PlayerId, board: &Board, period: &PeriodView) -> LeaderboardError {
    LeaderboardError::PlayerNotFound(format!(
        "'{player}' has no entry on '{}' for period {}",
        board.id, period.id
    ))
}

/// One player's standing (`PlayerNotFound` when the player has no entry in the period).
pub async fn standing(ctx: &Ctx<'_>, board: &Board, at: &At<'_>, player: &str) -> Result<Standing> {
    let player = PlayerId::new(player)?;
    let (keys, period, cohort) = source(ctx, board, at).await?;
    let (total, mut found) = ctx
        .repo()
        .await?
        .players(&keys, &period.id, std::slice::from_ref(&player))
        .await?;
    let stored = found
        .pop()
        .flatten()
        .ok_or_else(|| no_entry(&player, board, &period))?;
    let member = stored.record.sort_key(board, &player)?.member;
    let entry = entry(
        board,
        rank::rank_from_better(stored.better),
        stored.rank_value,
        &member,
        Some(&stored.record),
    )?;
    Ok(Standing {
        period,
        entry,
        total,
        cohort,
    })
}

/// The `radius` (0..=[`MAX_RADIUS`]) entries either side of `player`, the player included
/// (`PlayerNotFound` when the player has no entry in the period).
pub async fn around(
    ctx: &Ctx<'_>,
    board: &Board,
    at: &At<'_>,
    player: &str,
    radius: u32,
) -> Result<Ranked> {
    let radius = check_limit("radius", radius, 0, MAX_RADIUS)?;
    let player = PlayerId::new(player)?;
    let (keys, period, cohort) = source(ctx, board, at).await?;
    let page = ctx
        .repo()
        .await?
        .around(&keys, &period.id, &player, radius)
        .await?
        .ok_or_else(|| no_entry(&player, board, &period))?;
    Ok(Ranked {
        entries: entries_of(board, &page)?,
        period,
        total: page.total,
        next_cursor: None,
        missing: Vec::new(),
        cohort,
    })
}
