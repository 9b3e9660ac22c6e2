//! Leagues (`leaderboard::competition::league`, docs/competitions.md › Leagues): a league board
//! places each player's first write of a period in its tier's cohorts ([`placement`]), and
//! closes each period that ended once ([`close_due`]): the close is begun (from then on no write
//! lands in the period), the cohorts' final standings are read, the core decides who moves, and
//! one script stores the moves with the period's `league_closed` event — once, however many
//! closers race, and the same whoever closes, since the standings no longer change.
//!
//! Closes are made by whoever finds them due first: the worker, when the league's item in the
//! schedule (`crate::schedule::Item::Competition`, as a tournament's) is due at a period's end
//! ([`crate::competitions::closes::on_due`]; a close that fails stays leased and is due again,
//! so a worker that stops half-way is made up for), or the first write of a period by a player who is not placed yet,
//! which closes every period before it that ended, oldest first, so the tier it is placed by is
//! the one they left it in.

pub mod store;

use leaderboard::Conflict;
use leaderboard::board::period::{self, PeriodId};
use leaderboard::board::view::PeriodView;
use leaderboard::competition::cohort::CohortId;
use leaderboard::competition::league::{self, League, Move};
use leaderboard::policy::access;
use leaderboard::{BoardId, EventEnvelope, LeaderboardError, PlayerId, Result};
use serde::Serialize;

use crate::api::Ctx;
use crate::http::{Call, Response};
use crate::repo::BoardAt;

/// The cohort `player`'s write of `period` goes in on `board` (`None`: a board without
/// cohorts), placing it on its first write of the period: by the `band` its caller named, or on
/// a league by its tier, after closing every period before that ended ([`close_due`]).
pub async fn placement(
    at: &BoardAt<'_>,
    period: &PeriodId,
    expire_at_ms: Option<i64>,
    player: &PlayerId,
    band: Option<&str>,
) -> Result<Option<CohortId>> {
    let (repo, _, board, keys, _) = at.parts();
    let Some(size) = board.cohort_size else {
        return Ok(None);
    };
    let band = match &board.league {
        None => band.map(str::to_string),
        Some(league) => {
            if let Some(placed) = repo.placement(keys, period, size, player).await? {
                return Ok(Some(placed));
            }
            close_due(at).await?;
            let stored = repo.tier_of(keys, player).await?;
            Some(league.entry_tier(stored.as_deref())?.to_string())
        }
    };
    Ok(repo
        .place(
            keys,
            period,
            size,
            expire_at_ms,
            &[(player, band.as_deref())],
        )
        .await?
        .pop())
}

/// Closes every period of `board` (a league; any other board has none) that ended by `now_ms`
/// and is not closed yet, oldest first ([`league::due`]), after freezing the period before the
/// current one (whether or not it has standings yet). A period whose keys expired before it
/// was closed (no submission and no worker for `retain_periods` periods) is passed over: its
/// standings are gone, and it moves no one.
pub async fn close_due(at: &BoardAt<'_>) -> Result<()> {
    let (repo, _, board, keys, now_ms) = at.parts();
    let (Some(league), Some(size)) = (&board.league, board.cohort_size) else {
        return Ok(());
    };
    // The period before the current one is frozen first, even before its first write lands: a
    // write still under way into it (made as it ended) is refused, to land in the current one,
    // rather than starting a period after the caller read the tiers its closes leave. Once it
    // is closed, so is every period before it (closes go oldest first): nothing is due.
    if let Some(previous) = period::period_id(board.period, now_ms)?.previous() {
        if repo.league_closed_at(keys, &previous).await? {
            return Ok(());
        }
        repo.freeze_period(keys, &previous, now_ms).await?;
    }
    let with_data = repo
        .kept_periods(keys, board.period, board.retain_periods, now_ms)
        .await?;
    let closed: Vec<PeriodId> = repo
        .league_closed(keys, board.period)
        .await?
        .into_iter()
        .map(|(period, _)| period)
        .collect();
    for period in league::due(&with_data, &closed, now_ms) {
        close(at, (league, size), &period).await?;
    }
    Ok(())
}

/// Closes `period`: begins the close, reads each cohort's final standings, and stores the moves
/// the core decides once.
async fn close(at: &BoardAt<'_>, (league, size): (&League, u32), period: &PeriodId) -> Result<()> {
    let (repo, tenant, board, keys, now_ms) = at.parts();
    repo.freeze_period(keys, period, now_ms).await?;
    let mut groups = Vec::new();
    for cohort in repo.cohorts(keys, period, size).await? {
        let ranked = repo.ranked_players(&keys.cohort(period, &cohort)).await?;
        groups.push((cohort, ranked));
    }
    let closed = league.close_groups(&groups)?;
    let event = EventEnvelope::league_closed(
        tenant,
        &board.id,
        *period,
        (closed.promoted, closed.demoted, closed.stayed),
        now_ms,
    )
    .to_json()?;
    let moves: Vec<(PlayerId, String)> = closed
        .moves
        .into_iter()
        .map(|(player, _, tier)| (player, tier))
        .collect();
    let moves_expire_ms = period::expire_at_ms(period, board.retain_periods).ok_or_else(|| {
        LeaderboardError::Internal(format!("league period {period} has no expiry"))
    })?;
    repo.league_close(keys, period, &moves, &event, now_ms, moves_expire_ms)
        .await
}

/// Closes a player's league history shows at most, newest first.
const HISTORY: usize = 8;

/// A close as a player's league standing shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PastClose {
    /// The period closed.
    pub period: String,
    /// When it closed (RFC 3339).
    pub closed_at: String,
    /// Whether the player has an entry in the period's standings.
    pub played: bool,
    /// The tier it played the period in.
    pub from: Option<String>,
    /// How the close moved it (`None`: it did not play, or the close kept no moves).
    #[serde(rename = "move")]
    pub moved: Option<Move>,
}

/// Where a player stands in a league ([`standing`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeagueStanding {
    /// The league.
    pub board: String,
    /// The player.
    pub player: String,
    /// The league's tiers, lowest first.
    pub tiers: Vec<String>,
    /// The tier it plays the current period in.
    pub tier: String,
    /// Its cohort in the current period, once placed.
    pub cohort: Option<String>,
    /// The current period.
    pub period: String,
    /// The league's last close, and how it moved the player.
    pub last_close: Option<PastClose>,
    /// Each close whose period's standings are still kept, newest first, at most [`HISTORY`].
    pub history: Vec<PastClose>,
}

/// A player's history in the league: each close whose period's standings are still kept, newest
/// first, at most [`HISTORY`]: the period, when it closed, whether the player played it, the
/// tier it played it in and how the close moved it (none for a close stored before its moves
/// were kept).
async fn history(
    at: &BoardAt<'_>,
    (league, size): (&League, u32),
    closed: &[(PeriodId, i64)],
    player: &PlayerId,
) -> Result<Vec<PastClose>> {
    let (repo, _, board, keys, now_ms) = at.parts();
    let mut newest: Vec<&(PeriodId, i64)> = closed.iter().collect();
    newest.sort_by_key(|(p, _)| std::cmp::Reverse(p.start_ms()));
    let mut past = Vec::new();
    for (closed, at_ms) in newest {
        if past.len() >= HISTORY {
            break;
        }
        if !period::is_retained(closed, now_ms, board.retain_periods)? {
            continue;
        }
        // Played: an entry in the period's standings, in the tier its placement names.
        let played = match repo.record(keys, closed, player).await?.1 {
            Some(_) => repo
                .placement(keys, closed, size, player)
                .await?
                .and_then(|c| c.band),
            None => None,
        };
        let (kept, to) = repo.moved_to(keys, closed, player).await?;
        let moved = league.past_move(played.as_deref(), kept, to.as_deref())?;
        past.push(PastClose {
            period: closed.to_string(),
            closed_at: leaderboard::time::iso_text(*at_ms),
            played: played.is_some(),
            from: played,
            moved,
        });
    }
    Ok(past)
}

/// Where `player` stands in the league `board` at `now_ms`: the tier it plays the current period
/// in (its cohort's, once placed), the last close — whether it played the period closed, and
/// then the tier it played it in and how it moved — and its history ([`history`]). The closes
/// due are made first (a read may make one, once, as the worker or a submission would), so the
/// answer is the one the player's next submission is placed by. `409` on a board that is not a
/// league. The caller checks who may read it (the player's own token, or a service or admin
/// one).
pub async fn standing(at: &BoardAt<'_>, player: &PlayerId) -> Result<LeagueStanding> {
    let (repo, _, board, keys, now_ms) = at.parts();
    let (Some(league), Some(size)) = (&board.league, board.cohort_size) else {
        return Err(Conflict::NotALeague {
            board: board.id.to_string(),
        }
        .into());
    };
    close_due(at).await?;
    let period = PeriodView::resolve(board, None, now_ms)?;
    let placed = repo.placement(keys, &period.id, size, player).await?;
    let stored = repo.tier_of(keys, player).await?;
    let closed = repo.league_closed(keys, board.period).await?;
    let last = closed
        .iter()
        .max_by_key(|(closed, _)| closed.start_ms())
        .cloned();
    // Played: an entry in the last closed period's standings (a refused write places no one
    // in them), in the tier its placement names.
    let mut played = None;
    if let Some((closed, _)) = &last
        && repo.record(keys, closed, player).await?.1.is_some()
    {
        played = repo
            .placement(keys, closed, size, player)
            .await?
            .and_then(|c| c.band);
    }
    let placed_tier = placed.as_ref().and_then(|c| c.band.as_deref());
    let standing = league.standing(placed_tier, stored.as_deref(), played.as_deref())?;
    let last_close = last.map(|(closed, at_ms)| PastClose {
        period: closed.to_string(),
        closed_at: leaderboard::time::iso_text(at_ms),
        played: standing.from.is_some(),
        from: standing.from.clone(),
        moved: standing.moved,
    });
    Ok(LeagueStanding {
        board: board.id.to_string(),
        player: player.to_string(),
        tiers: league.tiers.clone(),
        tier: standing.tier,
        cohort: placed.map(|c| c.to_string()),
        period: period.id.to_string(),
        last_close,
        history: history(at, (league, size), &closed, player).await?,
    })
}

/// `GET /api/{v}/boards/{board}/league?player=`: where a player stands in the league
/// ([`standing`]), for the player's own token, or a service or admin one; `400` without
/// `player`.
pub async fn read(ctx: &Ctx<'_>, call: &Call<'_>, board_id: &BoardId) -> Result<Response> {
    let principal = ctx.require_principal()?;
    let raw = call
        .query
        .get("player")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            LeaderboardError::InvalidBody("'player' names whose league standing is read".into())
        })?;
    let player = PlayerId::new(raw.as_str())?;
    access::authorize_own(principal, &player)?;
    let repo = ctx.repo().await?;
    let board = repo.board(&ctx.tenant, board_id).await?;
    let body = standing(
        &BoardAt::new(repo, &ctx.tenant, &board, call.now_ms),
        &player,
    )
    .await?;
    crate::http::json_of(200, call.version, &body)
}
