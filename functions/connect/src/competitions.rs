//! The competition methods (docs/competitions.md): `GetLeague` (a league player's standing, as
//! `GET /api/v1/boards/{board}/league`), `GetRewards` (a player's award in a run, as `GET
//! …/rewards?player=`) and `ClaimReward` (as `POST …/rewards/claim`), each for the player's own
//! token or a service or admin one, with their messages (written by hand, as
//! [`crate::messages`] are).

use edge::api::Ctx;
use edge::competitions::rewards::{AwardShown, RewardsShown};
use edge::http::Call;
use leaderboard::http::operation::Operation;
use leaderboard::policy::access;
use leaderboard::{LeaderboardError, PlayerId, Result};
use serde::{Deserialize, Serialize};

use crate::json::{int32, int64};
use crate::messages::{is_false, is_zero_u64};

/// A league's close as a player's standing shows it.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LeagueClose {
    /// The period closed.
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub period: String,
    /// When it closed (RFC 3339).
    #[prost(string, tag = "2")]
    #[serde(default, alias = "closed_at", skip_serializing_if = "String::is_empty")]
    pub closed_at: String,
    /// Whether the player has an entry in the period's standings.
    #[prost(bool, tag = "3")]
    #[serde(default, skip_serializing_if = "is_false")]
    pub played: bool,
    /// The tier it played the period in (empty: it did not play).
    #[prost(string, tag = "4")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// How the close moved it: `promoted`, `demoted`, `stayed` (empty: it did not play).
    #[prost(string, tag = "5")]
    #[serde(default, rename = "move", skip_serializing_if = "String::is_empty")]
    pub moved: String,
}

/// `GetLeague`'s request.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetLeagueRequest {
    /// The league.
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub board: String,
    /// The player.
    #[prost(string, tag = "2")]
    #[serde(default)]
    pub player: String,
}

/// `GetLeague`'s response.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetLeagueResponse {
    /// The league.
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub board: String,
    /// The player.
    #[prost(string, tag = "2")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub player: String,
    /// The league's tiers, lowest first.
    #[prost(string, repeated, tag = "3")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<String>,
    /// The tier the player plays the current period in.
    #[prost(string, tag = "4")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tier: String,
    /// Its cohort in the current period (empty before its first submission of it).
    #[prost(string, tag = "5")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cohort: String,
    /// The current period.
    #[prost(string, tag = "6")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub period: String,
    /// The league's last close still kept (absent before its first, or when none is kept).
    #[prost(message, optional, tag = "7")]
    #[serde(default, alias = "last_close", skip_serializing_if = "Option::is_none")]
    pub last_close: Option<LeagueClose>,
    /// Each close whose period's standings are still kept, newest first, at most 8.
    #[prost(message, repeated, tag = "8")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<LeagueClose>,
}

/// A player's award in a run.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Award {
    /// The player.
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub player: String,
    /// Its final rank (in its cohort, on a board with cohorts).
    #[prost(uint64, tag = "2")]
    #[serde(default, with = "int64", skip_serializing_if = "is_zero_u64")]
    pub rank: u64,
    /// The reward of its rank, as JSON text (the game interprets it).
    #[prost(string, tag = "3")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reward: String,
    /// When it was claimed (RFC 3339; empty while unclaimed).
    #[prost(string, tag = "4")]
    #[serde(
        default,
        alias = "claimed_at",
        skip_serializing_if = "String::is_empty"
    )]
    pub claimed_at: String,
    /// Its cohort, on a board with cohorts.
    #[prost(string, tag = "5")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cohort: String,
}

/// `GetRewards`' request and `ClaimReward`'s.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RewardsRequest {
    /// The board.
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub board: String,
    /// The player.
    #[prost(string, tag = "2")]
    #[serde(default)]
    pub player: String,
    /// The run on a periodic board (a period id; empty: the last period that ended).
    #[prost(string, tag = "3")]
    #[serde(default)]
    pub period: String,
}

/// `GetRewards`' response.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetRewardsResponse {
    /// The board.
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub board: String,
    /// The run: `all` for a tournament of one run, else a period id.
    #[prost(string, tag = "2")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub period: String,
    /// `open`, `pending` or `final`.
    #[prost(string, tag = "3")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state: String,
    /// When the run was awarded (final only).
    #[prost(string, tag = "4")]
    #[serde(
        default,
        alias = "awarded_at",
        skip_serializing_if = "String::is_empty"
    )]
    pub awarded_at: String,
    /// How many players were awarded (final only).
    #[prost(uint64, tag = "5")]
    #[serde(default, with = "int64", skip_serializing_if = "is_zero_u64")]
    pub awarded: u64,
    /// When the run is awarded whatever reviews are open (pending only).
    #[prost(string, tag = "6")]
    #[serde(
        default,
        alias = "pending_until",
        skip_serializing_if = "String::is_empty"
    )]
    pub pending_until: String,
    /// The player.
    #[prost(string, tag = "7")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub player: String,
    /// The player's award (absent while not final, or for a player awarded nothing).
    #[prost(message, optional, tag = "8")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub award: Option<Award>,
}

/// `ListAwards`' request.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListAwardsRequest {
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub board: String,
    /// The run on a periodic board (empty: the last period that ended).
    #[prost(string, tag = "2")]
    #[serde(default)]
    pub period: String,
    /// 1–500 (0: 100).
    #[prost(uint32, tag = "3")]
    #[serde(default, with = "int32")]
    pub limit: u32,
    /// A page's `next_cursor`.
    #[prost(string, tag = "4")]
    #[serde(default)]
    pub cursor: String,
}

/// `ListAwards`' response.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListAwardsResponse {
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub board: String,
    #[prost(string, tag = "2")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub period: String,
    #[prost(string, tag = "3")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state: String,
    #[prost(string, tag = "4")]
    #[serde(
        default,
        alias = "awarded_at",
        skip_serializing_if = "String::is_empty"
    )]
    pub awarded_at: String,
    #[prost(uint64, tag = "5")]
    #[serde(default, with = "int64", skip_serializing_if = "is_zero_u64")]
    pub awarded: u64,
    #[prost(string, tag = "6")]
    #[serde(
        default,
        alias = "pending_until",
        skip_serializing_if = "String::is_empty"
    )]
    pub pending_until: String,
    /// In rank order (cohort by cohort on a board with cohorts); none while not final.
    #[prost(message, repeated, tag = "7")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub awards: Vec<Award>,
    /// Empty on the last page.
    #[prost(string, tag = "8")]
    #[serde(
        default,
        alias = "next_cursor",
        skip_serializing_if = "String::is_empty"
    )]
    pub next_cursor: String,
}

/// `ClaimReward`'s response.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimRewardResponse {
    /// The board.
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub board: String,
    /// The run.
    #[prost(string, tag = "2")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub period: String,
    /// The award claimed, with when it was first claimed.
    #[prost(message, optional, tag = "3")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub award: Option<Award>,
}

/// The player a method is about, checked against the caller: its own token, or a service or
/// admin one.
fn own_player(ctx: &Ctx<'_>, player: &str) -> Result<PlayerId> {
    let player = PlayerId::new(player)?;
    access::authorize_own(ctx.require_principal()?, &player)?;
    Ok(player)
}

/// The run a request names (empty: the default).
fn run_asked(period: &str) -> Option<&str> {
    Some(period).filter(|p| !p.is_empty())
}

fn close_message(c: &edge::competitions::leagues::PastClose) -> LeagueClose {
    LeagueClose {
        period: c.period.clone(),
        closed_at: c.closed_at.clone(),
        played: c.played,
        from: c.from.clone().unwrap_or_default(),
        moved: c.moved.map(|m| m.as_str().to_string()).unwrap_or_default(),
    }
}

fn award_message(a: &AwardShown) -> Result<Award> {
    Ok(Award {
        player: a.player.clone(),
        rank: a.rank,
        reward: serde_json::to_string(&a.reward)
            .map_err(|e| LeaderboardError::Internal(e.to_string()))?,
        claimed_at: a.claimed_at.clone().unwrap_or_default(),
        cohort: a.cohort.clone().unwrap_or_default(),
    })
}

/// `GetLeague`.
pub(crate) async fn get_league(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &GetLeagueRequest,
) -> Result<GetLeagueResponse> {
    let id = edge::reads::admit(ctx, call, Operation::GetLeague, &req.board).await?;
    let p = own_player(ctx, &req.player)?;
    let (b, _) = edge::reads::board(ctx, &id, call.now_ms).await?;
    let repo = ctx.repo().await?;
    let at = edge::repo::BoardAt::new(repo, &ctx.tenant, &b, call.now_ms);
    let s = edge::competitions::leagues::standing(&at, &p).await?;
    Ok(GetLeagueResponse {
        board: s.board.clone(),
        player: s.player.clone(),
        tiers: s.tiers.clone(),
        tier: s.tier.clone(),
        cohort: s.cohort.clone().unwrap_or_default(),
        period: s.period.clone(),
        last_close: s.last_close.as_ref().map(close_message),
        history: s.history.iter().map(close_message).collect(),
    })
}

/// `GetRewards`.
pub(crate) async fn get_rewards(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &RewardsRequest,
) -> Result<GetRewardsResponse> {
    let id = edge::reads::admit(ctx, call, Operation::GetRewards, &req.board).await?;
    let p = own_player(ctx, &req.player)?;
    let repo = ctx.repo().await?;
    let asked = run_asked(&req.period);
    let (run, rewards, award) =
        edge::competitions::rewards::of_player(repo, &ctx.tenant, &id, asked, &p, call.now_ms)
            .await?;
    let shown = RewardsShown::of(&id, &run, &rewards);
    Ok(GetRewardsResponse {
        board: shown.board,
        period: shown.period,
        state: shown.state.to_string(),
        awarded_at: shown.awarded_at.unwrap_or_default(),
        awarded: shown.awarded.unwrap_or_default(),
        pending_until: shown.pending_until.unwrap_or_default(),
        player: p.to_string(),
        award: award.as_ref().map(award_message).transpose()?,
    })
}

/// `ListAwards` (a service or admin token).
pub(crate) async fn list_awards(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &ListAwardsRequest,
) -> Result<ListAwardsResponse> {
    let id = edge::reads::admit(ctx, call, Operation::GetRewards, &req.board).await?;
    access::authorize_operator(ctx.require_principal()?, "listing a run's awards")?;
    let repo = ctx.repo().await?;
    let limit = if req.limit == 0 { 100 } else { req.limit };
    let cursor = Some(req.cursor.as_str()).filter(|c| !c.is_empty());
    let asked = run_asked(&req.period);
    let listed = edge::competitions::rewards::awards_listed(
        repo,
        &ctx.tenant,
        &id,
        asked,
        limit,
        cursor,
        call.now_ms,
    )
    .await?;
    let shown = listed.rewards;
    Ok(ListAwardsResponse {
        board: shown.board,
        period: shown.period,
        state: shown.state.to_string(),
        awarded_at: shown.awarded_at.unwrap_or_default(),
        awarded: shown.awarded.unwrap_or_default(),
        pending_until: shown.pending_until.unwrap_or_default(),
        awards: listed
            .awards
            .iter()
            .map(award_message)
            .collect::<Result<_>>()?,
        next_cursor: listed.next_cursor.unwrap_or_default(),
    })
}

/// `ClaimReward`.
pub(crate) async fn claim_reward(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &RewardsRequest,
) -> Result<ClaimRewardResponse> {
    let id = edge::reads::admit(ctx, call, Operation::ClaimReward, &req.board).await?;
    let p = own_player(ctx, &req.player)?;
    let repo = ctx.repo().await?;
    let asked = run_asked(&req.period);
    let (run, award) =
        edge::competitions::rewards::claim_award(repo, &ctx.tenant, &id, asked, &p, call.now_ms)
            .await?;
    Ok(ClaimRewardResponse {
        board: id.to_string(),
        period: run.to_string(),
        award: Some(award_message(&award)?),
    })
}
