//! The reads themselves: each asks the repository for rows and renders them with the core's view.

use edge::api::Ctx;
use edge::http::Call;
use edge::repo::{Keys, Page};
use leaderboard::cursor::{self, Cursor, CursorBinding};
use leaderboard::view::{self, EntryView, PeriodView};
use leaderboard::{
    Board, BoardId, EventEnvelope, LeaderboardError, PlayerId, Result, access, rank, sortkey,
};
use spin_sdk::http::Response;

/// Most entries per page / players per lookup.
pub const MAX_LIMIT: u32 = 100;
/// Largest `radius` for around-me.
const MAX_RADIUS: u32 = 50;

/// Where a read looks: the live projection and the period asked for (at `now`), or with
/// `as_of=<RFC 3339 time | event id>` the board as it stood then (`edge::rebuild::as_of`) and the
/// period asked for at that moment.
fn source(call: &Call<'_>, ctx: &Ctx, board: &Board) -> Result<(Keys, PeriodView)> {
    let requested = call.query.get("period").map(String::as_str);
    match call.query.get("as_of").filter(|v| !v.is_empty()) {
        None => Ok((
            Keys::new(&ctx.tenant, &board.id),
            PeriodView::resolve(board, requested, call.now_ms)?,
        )),
        Some(raw) => {
            let as_of = leaderboard::log::parse_as_of(raw)?;
            let period = PeriodView::resolve(board, requested, as_of.at_ms)?;
            let keys = edge::rebuild::as_of(ctx.repo()?, &ctx.tenant, board, &as_of, call.now_ms)?;
            Ok((keys, period))
        }
    }
}

fn entry(
    board: &Board,
    rank: u64,
    rank_value: u64,
    member: &str,
    record: Option<&leaderboard::Record>,
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

fn entries_of(board: &Board, page: &Page) -> Result<Vec<EntryView>> {
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

/// `GET …/entries?limit&cursor&period`.
pub fn entries(call: &Call<'_>, ctx: &Ctx, board: &Board) -> Result<String> {
    entries_page(call, ctx, board).map(|page| page.to_string())
}

/// The page [`entries`] renders, as JSON.
pub fn entries_page(call: &Call<'_>, ctx: &Ctx, board: &Board) -> Result<serde_json::Value> {
    let (keys, period) = source(call, ctx, board)?;
    let limit = call.query_u32("limit", 10, 1, MAX_LIMIT)?;
    let binding = CursorBinding {
        tenant: &ctx.tenant,
        board: &board.id,
        period: &period.id,
        sort: board.sort,
    };
    let after = call
        .query
        .get("cursor")
        .map(|c| cursor::decode(&binding, c))
        .transpose()?;
    let page = ctx.repo()?.page(
        &keys,
        &period.id,
        0,
        limit,
        after.as_ref().map(|c| (c.rank_value, c.member.as_str())),
    )?;
    let entries = entries_of(board, &page)?;
    let next = match (page.rows.last(), entries.last()) {
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
    Ok(view::page(
        call.version,
        board,
        &period,
        page.total,
        &entries,
        next.as_deref(),
        Some(limit),
    ))
}

/// `GET …/players?ids=a,b,c&period`: the players found, in the order asked, and `missing`.
pub fn players(call: &Call<'_>, ctx: &Ctx, board: &Board) -> Result<String> {
    let (keys, period) = source(call, ctx, board)?;
    let ids = call
        .query
        .get("ids")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            LeaderboardError::InvalidBody(
                "query parameter 'ids' (comma-separated player ids) is required".into(),
            )
        })?;
    let mut players = Vec::new();
    for id in ids.split(',') {
        let p = PlayerId::new(id)?;
        if !players.contains(&p) {
            players.push(p);
        }
    }
    if players.len() > MAX_LIMIT as usize {
        return Err(LeaderboardError::InvalidBody(format!(
            "at most {MAX_LIMIT} players per request, got {}",
            players.len()
        )));
    }
    let (total, found) = ctx.repo()?.players(&keys, &period.id, &players)?;
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
    let mut body = view::page(call.version, board, &period, total, &entries, None, None);
    body["missing"] = serde_json::json!(missing);
    Ok(body.to_string())
}

/// `GET …/players/{player}?period`.
pub fn player(call: &Call<'_>, ctx: &Ctx, board: &Board, player: &str) -> Result<String> {
    standing(call, ctx, board, player).map(|s| s.to_string())
}

/// The standing [`player`] renders, as JSON.
pub fn standing(
    call: &Call<'_>,
    ctx: &Ctx,
    board: &Board,
    player: &str,
) -> Result<serde_json::Value> {
    let player = PlayerId::new(player)?;
    let (keys, period) = source(call, ctx, board)?;
    let (total, mut found) =
        ctx.repo()?
            .players(&keys, &period.id, std::slice::from_ref(&player))?;
    let stored = found.pop().flatten().ok_or_else(|| {
        LeaderboardError::PlayerNotFound(format!(
            "'{player}' has no entry on '{}' for period {}",
            board.id, period.id
        ))
    })?;
    let member = stored.record.sort_key(board, &player)?.member;
    let e = entry(
        board,
        rank::rank_from_better(stored.better),
        stored.rank_value,
        &member,
        Some(&stored.record),
    )?;
    Ok(view::standing(call.version, board, &period, &e, total))
}

/// `GET …/players/{player}/around?radius&period`.
pub fn around(call: &Call<'_>, ctx: &Ctx, board: &Board, player: &str) -> Result<String> {
    let player = PlayerId::new(player)?;
    let (keys, period) = source(call, ctx, board)?;
    let radius = call.query_u32("radius", 5, 0, MAX_RADIUS)?;
    let page = ctx
        .repo()?
        .around(&keys, &period.id, &player, radius)?
        .ok_or_else(|| {
            LeaderboardError::PlayerNotFound(format!(
                "'{player}' has no entry on '{}' for period {}",
                board.id, period.id
            ))
        })?;
    let entries = entries_of(board, &page)?;
    let mut body = view::page(
        call.version,
        board,
        &period,
        page.total,
        &entries,
        None,
        None,
    );
    body["player"] = serde_json::json!(player.as_str());
    Ok(body.to_string())
}

/// `DELETE …/players/{player}?period` (admin).
pub fn delete_player(call: &Call<'_>, ctx: &Ctx, id: &BoardId, player: &str) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let player = PlayerId::new(player)?;
    let board = ctx.repo()?.board(&ctx.tenant, id)?;
    let period = PeriodView::resolve(
        &board,
        call.query.get("period").map(String::as_str),
        call.now_ms,
    )?;
    let event = EventEnvelope::record_deleted(&ctx.tenant, id, &player, period.id, call.now_ms)
        .to_json()?;
    let keys = Keys::new(&ctx.tenant, id);
    ctx.repo()?
        .delete_player(&keys, &period.id, &player, &event)?
        .ok_or_else(|| {
            LeaderboardError::PlayerNotFound(format!(
                "'{player}' has no entry on '{id}' for period {}",
                period.id
            ))
        })?;
    ctx.cache()
        .invalidate_everywhere(ctx.repo()?, ctx.tenant.as_str(), id.as_str(), false);
    edge::audit::record(
        ctx,
        call,
        "entry.delete",
        id.as_str(),
        serde_json::json!({ "player": player.as_str(), "period": period.id.to_string() }),
    );
    Ok(Response::builder().status(204).build())
}
