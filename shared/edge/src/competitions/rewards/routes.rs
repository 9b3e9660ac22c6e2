//! The rewards routes (docs/competitions.md#rewards): a player's award or the run's awards
//! listed, and a claim.

use leaderboard::{BoardId, PlayerId, Result, policy::access};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::shown::to_json;
use super::{AwardShown, MAX_AWARDS_PAGE, RewardsShown, awards_listed, claim_award, of_player};
use crate::api::Ctx;
use crate::http::{Call, Response};

/// `GET /api/{v}/boards/{board}/rewards?player=&period=`: the player's award in the board's run
/// (`period` names it on a periodic board, by default the last that ended; the player's own
/// token, or a `service` or `admin` one), `null` while there is none: the standing, `award`
/// (`rank`, `reward`, `claimed_at`, and `cohort` on a board with cohorts). Without `player`
/// (`service` or `admin`): the run's awards in rank order (cohort by cohort on a board with
/// cohorts), `limit` (1 to 500, default 100) from `cursor`, with `next_cursor`.
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
    let limit = call.query_u32("limit", 100, 1, MAX_AWARDS_PAGE)?;
    let asked = call.query.get("period").map(String::as_str);
    let repo = ctx.repo().await?;
    if let Some(p) = player {
        let (run, rewards, award) =
            of_player(repo, &ctx.tenant, board_id, asked, &p, call.now_ms).await?;
        let body = PlayerRewards {
            rewards: RewardsShown::of(board_id, &run, &rewards),
            player: p.as_str(),
            award,
        };
        return crate::http::json_of(200, call.version, &body);
    }
    let cursor = call.query.get("cursor").map(String::as_str);
    let listed = awards_listed(
        repo,
        &ctx.tenant,
        board_id,
        asked,
        limit,
        cursor,
        call.now_ms,
    )
    .await?;
    crate::http::json_of(200, call.version, &listed)
}

/// A player's rewards in a run, as `GET …/rewards?player=` answers them.
#[derive(Serialize)]
struct PlayerRewards<'a> {
    /// Where the run's rewards stand.
    #[serde(flatten)]
    rewards: RewardsShown,
    /// The player.
    player: &'a str,
    /// Its award (`null` while not final, or for a player awarded nothing).
    award: Option<AwardShown>,
}

/// A claim's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimInput {
    /// Whose award: a player's own token claims its own, a `service` or `admin` any player's.
    player: PlayerId,
    /// The run, on a periodic board (a period id; default: the last period that ended).
    #[serde(default)]
    period: Option<String>,
}

/// `POST /api/{v}/boards/{board}/rewards/claim` `{player, period}`: takes the player's award once and
/// answers it with when it was claimed; a claim sent again answers the same (`200` both
/// times). `409` while the run is open or its rewards are not final, `404` once final for a
/// player awarded nothing.
pub async fn claim(ctx: &Ctx<'_>, call: &Call<'_>, board_id: &BoardId) -> Result<Response> {
    let principal = ctx.require_principal()?;
    let input: ClaimInput = call.json()?;
    access::authorize_own(principal, &input.player)?;
    let repo = ctx.repo().await?;
    let asked = input.period.as_deref();
    let (run, award) = claim_award(
        repo,
        &ctx.tenant,
        board_id,
        asked,
        &input.player,
        call.now_ms,
    )
    .await?;
    let mut body = to_json(&award)?;
    if let Value::Object(map) = &mut body {
        map.insert("board".into(), json!(board_id.as_str()));
        map.insert("period".into(), json!(run.to_string()));
    }
    Ok(crate::http::json(200, call.version, &body))
}
