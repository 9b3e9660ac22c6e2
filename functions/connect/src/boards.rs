//! The board methods (`GetLeaderboard`, `GetPlayer`, `GetAround`, `SubmitScore`): each the REST
//! route's own code (`edge::reads`, `edge::submissions::submit::submit_input`), its answer as its message.

use edge::api::Ctx;
use edge::http::Call;
use edge::reads::{self, At};
use leaderboard::board::view::{EntryView, PeriodView};
use leaderboard::events::outcome::Fate;
use leaderboard::http::operation::Operation;
use leaderboard::time::iso;
use leaderboard::{Board, LeaderboardError, Result, SubmissionInput};

use crate::board;
use crate::messages::{
    Entry, GetAroundRequest, GetAroundResponse, GetLeaderboardRequest, GetLeaderboardResponse,
    GetPlayerRequest, GetPlayerResponse, Period, ReadAt, SubmitScoreRequest, SubmitScoreResponse,
    SubmitStatus,
};

fn at<'a>(call: &Call<'_>, at: Option<&'a ReadAt>) -> At<'a> {
    let nonempty = |s: &'a str| Some(s).filter(|s| !s.is_empty());
    At {
        now_ms: call.now_ms,
        period: at.and_then(|a| nonempty(&a.period)),
        as_of: at.and_then(|a| nonempty(&a.as_of)),
        cohort: at.and_then(|a| nonempty(&a.cohort)),
    }
}

fn iso_text(ms: i64) -> String {
    iso(ms).as_str().unwrap_or_default().to_string()
}

fn entry(board: &Board, e: &EntryView) -> Entry {
    Entry {
        rank: e.rank,
        player: e.player.as_str().to_string(),
        score: board.format_score(e.score),
        subscore: e.subscore,
        achieved_at: iso_text(e.achieved_at_ms),
        metadata_json: e
            .metadata
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
    }
}

fn period(p: &PeriodView) -> Option<Period> {
    Some(Period {
        id: p.id.to_string(),
        current: p.current.to_string(),
        next_reset: p.next_reset_ms.map(iso_text).unwrap_or_default(),
    })
}

pub(crate) async fn get_leaderboard(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &GetLeaderboardRequest,
) -> Result<GetLeaderboardResponse> {
    let b = board(ctx, call, Operation::GetLeaderboard, &req.board).await?;
    let limit = if req.limit == 0 { 10 } else { req.limit };
    let cursor = Some(req.cursor.as_str()).filter(|c| !c.is_empty());
    let page = reads::top(ctx, &b, &at(call, req.at.as_ref()), limit, cursor).await?;
    Ok(page_message(&b, page))
}

/// A top-N page as its message.
pub(crate) fn page_message(b: &Board, page: reads::Ranked) -> GetLeaderboardResponse {
    GetLeaderboardResponse {
        board: b.id.as_str().to_string(),
        entries: page.entries.iter().map(|e| entry(b, e)).collect(),
        total_count: page.total,
        next_cursor: page.next_cursor.unwrap_or_default(),
        period: period(&page.period),
        cohort: cohort(page.cohort.as_ref()),
    }
}

/// A standing as its message.
pub(crate) fn standing_message(b: &Board, s: &reads::Standing) -> GetPlayerResponse {
    GetPlayerResponse {
        entry: Some(entry(b, &s.entry)),
        percentile: leaderboard::board::rank::percentile(s.entry.rank, s.total),
        total_count: s.total,
        period: period(&s.period),
        cohort: cohort(s.cohort.as_ref()),
    }
}

pub(crate) async fn get_player(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &GetPlayerRequest,
) -> Result<GetPlayerResponse> {
    let b = board(ctx, call, Operation::GetPlayer, &req.board).await?;
    let s = reads::standing(ctx, &b, &at(call, req.at.as_ref()), &req.player).await?;
    Ok(standing_message(&b, &s))
}

pub(crate) async fn get_around(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &GetAroundRequest,
) -> Result<GetAroundResponse> {
    let b = board(ctx, call, Operation::GetAround, &req.board).await?;
    let radius = req.radius.unwrap_or(5);
    let page = reads::around(ctx, &b, &at(call, req.at.as_ref()), &req.player, radius).await?;
    Ok(GetAroundResponse {
        board: b.id.as_str().to_string(),
        entries: page.entries.iter().map(|e| entry(&b, e)).collect(),
        total_count: page.total,
        period: period(&page.period),
        cohort: cohort(page.cohort.as_ref()),
    })
}

/// The cohort an answer shows, as its messages carry it (empty: the whole board, or a board
/// without cohorts).
fn cohort(read: Option<&leaderboard::competition::cohort::CohortId>) -> String {
    read.map(ToString::to_string).unwrap_or_default()
}

pub(crate) async fn submit_score(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &SubmitScoreRequest,
) -> Result<SubmitScoreResponse> {
    ctx.require_principal()?;
    let b = board(ctx, call, Operation::SubmitScore, &req.board).await?;
    let metadata = Some(req.metadata_json.as_str())
        .filter(|m| !m.is_empty())
        .map(serde_json::from_str::<serde_json::Value>)
        .transpose()
        .map_err(|e| LeaderboardError::InvalidBody(format!("'metadata_json' is not JSON: {e}")))?;
    let player = leaderboard::PlayerId::new(req.player.as_str())?;
    let input = SubmissionInput {
        player: player.clone(),
        score: serde_json::Value::String(req.score.clone()),
        subscore: req.subscore,
        metadata,
        band: None,
    };
    // What a replay under the same key must match: the submission, as JSON.
    let fingerprinted =
        serde_json::to_vec(&input).map_err(|e| LeaderboardError::Internal(e.to_string()))?;
    let key = Some(req.idempotency_key.as_str()).filter(|k| !k.is_empty());
    let done =
        edge::submissions::submit::submit_input(ctx, call, &b.id, input, key, &fingerprinted)
            .await?;
    let summary = done.outcome.summary(&b, &player);
    Ok(SubmitScoreResponse {
        status: match summary.fate {
            Fate::Applied => SubmitStatus::Applied,
            Fate::Accepted => SubmitStatus::Accepted,
            Fate::Held => SubmitStatus::Held,
        } as i32,
        http_status: u32::from(done.status),
        replayed: done.replayed,
        player: req.player.clone(),
        entry: summary.entry.map(|e| Entry {
            rank: e.rank,
            player: req.player.clone(),
            score: e.score,
            subscore: e.subscore,
            achieved_at: e.achieved_at,
            metadata_json: e.metadata.map(|m| m.to_string()).unwrap_or_default(),
        }),
        total_count: summary.total.unwrap_or_default(),
        previous_score: summary.previous_score.unwrap_or_default(),
        improved: summary.improved.unwrap_or_default(),
        event_id: summary.event_id.unwrap_or_default(),
        review: summary.review.unwrap_or_default(),
    })
}
