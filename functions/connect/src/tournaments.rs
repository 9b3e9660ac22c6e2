//! The tournament methods (docs/competitions.md › Tournaments): `ListTournaments` (as `GET
//! /api/v1/tournaments`), `ListPlayerTournaments` (as `GET /api/v1/players/{player}/tournaments`),
//! `JoinTournament` (as `POST …/boards/{board}/join`), `GetAttempts` and `GrantAttempts` (as `GET`
//! and `POST …/boards/{board}/attempts`), `EndTournament` and `ExtendTournament` (as `POST
//! …/boards/{board}/tournament/end` and `…/extend`, answered with the tournament as listed now:
//! Connect has no message for a whole board), each calling the REST route's edge function, with
//! their messages (written by hand, as [`crate::messages`] are).

use edge::api::Ctx;
use edge::competitions::tournaments::{AttemptsShown, PageAsked, TournamentPage, TournamentShown};
use edge::http::Call;
use leaderboard::http::operation::Operation;
use leaderboard::{LeaderboardError, PlayerId, Result};
use serde::{Deserialize, Serialize};

use crate::json::{int32, int64, opt_int32, opt_int64};
use crate::messages::{is_false, is_zero_u64};

/// A tournament as listed; in a player's list with its standing.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tournament {
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub board: String,
    #[prost(string, tag = "2")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[prost(string, tag = "3")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub category: String,
    /// `upcoming`, `open` or `ended`, now.
    #[prost(string, tag = "4")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    #[prost(string, tag = "5")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub start: String,
    #[prost(string, tag = "6")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub end: String,
    #[prost(bool, tag = "7")]
    #[serde(default, alias = "join_required", skip_serializing_if = "is_false")]
    pub join_required: bool,
    /// Absent: unlimited.
    #[prost(uint32, optional, tag = "8")]
    #[serde(
        default,
        alias = "max_size",
        with = "opt_int32",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_size: Option<u32>,
    /// Absent: unlimited.
    #[prost(uint32, optional, tag = "9")]
    #[serde(
        default,
        alias = "max_attempts",
        with = "opt_int32",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_attempts: Option<u32>,
    #[prost(bool, tag = "10")]
    #[serde(default, alias = "public_read", skip_serializing_if = "is_false")]
    pub public_read: bool,
    /// A player's list: the run its standing is of.
    #[prost(string, tag = "11")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub period: String,
    /// A player's list: its rank (absent before its first score).
    #[prost(uint64, optional, tag = "12")]
    #[serde(default, with = "opt_int64", skip_serializing_if = "Option::is_none")]
    pub rank: Option<u64>,
    /// A player's list: its score as text (empty before its first).
    #[prost(string, tag = "13")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub score: String,
}

impl Tournament {
    fn of(t: &TournamentShown) -> Self {
        let standing = t.standing.as_ref();
        Self {
            board: t.board.clone(),
            title: t.title.clone(),
            category: t.category.clone().unwrap_or_default(),
            phase: t.phase.to_string(),
            start: t.start.clone(),
            end: t.end.clone().unwrap_or_default(),
            join_required: t.join_required,
            max_size: t.max_size,
            max_attempts: t.max_attempts,
            public_read: t.public_read,
            period: standing.map(|s| s.period.clone()).unwrap_or_default(),
            rank: standing.and_then(|s| s.rank),
            score: standing
                .and_then(edge::competitions::tournaments::RunStanding::score_text)
                .unwrap_or_default(),
        }
    }
}

/// `ListTournaments`' request.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListTournamentsRequest {
    /// `open` (empty), `upcoming` or `ended`.
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub state: String,
    #[prost(string, tag = "2")]
    #[serde(default)]
    pub category: String,
    /// 1–100 (0: 20).
    #[prost(uint32, tag = "3")]
    #[serde(default, with = "int32")]
    pub limit: u32,
    #[prost(string, tag = "4")]
    #[serde(default)]
    pub cursor: String,
}

/// `ListPlayerTournaments`' request.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListPlayerTournamentsRequest {
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub player: String,
    /// 1–100 (0: 20).
    #[prost(uint32, tag = "2")]
    #[serde(default, with = "int32")]
    pub limit: u32,
    #[prost(string, tag = "3")]
    #[serde(default)]
    pub cursor: String,
}

/// Both listings' response.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListTournamentsResponse {
    /// A player's list: whose.
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub player: String,
    #[prost(message, repeated, tag = "2")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tournaments: Vec<Tournament>,
    /// Empty on the last page.
    #[prost(string, tag = "3")]
    #[serde(
        default,
        alias = "next_cursor",
        skip_serializing_if = "String::is_empty"
    )]
    pub next_cursor: String,
}

impl ListTournamentsResponse {
    fn of(player: Option<&PlayerId>, page: &TournamentPage) -> Self {
        Self {
            player: player.map(ToString::to_string).unwrap_or_default(),
            tournaments: page.tournaments.iter().map(Tournament::of).collect(),
            next_cursor: page.next_cursor.clone().unwrap_or_default(),
        }
    }
}

/// A request about one player in one tournament (`JoinTournament`, `GetAttempts`).
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlayerInTournament {
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub board: String,
    #[prost(string, tag = "2")]
    #[serde(default)]
    pub player: String,
}

/// `JoinTournament`'s response.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JoinTournamentResponse {
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub board: String,
    #[prost(string, tag = "2")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub player: String,
    /// Players joined, this one included.
    #[prost(uint64, tag = "3")]
    #[serde(default, with = "int64", skip_serializing_if = "is_zero_u64")]
    pub players: u64,
    /// Whether it joined now (false: it had joined before, and nothing changed).
    #[prost(bool, tag = "4")]
    #[serde(default, alias = "joined_now", skip_serializing_if = "is_false")]
    pub joined_now: bool,
}

/// `GrantAttempts`' request.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantAttemptsRequest {
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub board: String,
    #[prost(string, tag = "2")]
    #[serde(default)]
    pub player: String,
    /// 1–1,000 more this run.
    #[prost(uint64, tag = "3")]
    #[serde(default, with = "int64")]
    pub extra: u64,
}

/// A player's attempts in a tournament's current run (`GetAttempts`, `GrantAttempts`).
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttemptsResponse {
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub board: String,
    #[prost(string, tag = "2")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub player: String,
    #[prost(string, tag = "3")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub period: String,
    /// Absent: unlimited.
    #[prost(uint32, optional, tag = "4")]
    #[serde(
        default,
        alias = "max_attempts",
        with = "opt_int32",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_attempts: Option<u32>,
    #[prost(uint64, tag = "5")]
    #[serde(default, with = "int64", skip_serializing_if = "is_zero_u64")]
    pub granted: u64,
    /// Absent: unlimited.
    #[prost(uint64, optional, tag = "6")]
    #[serde(default, with = "opt_int64", skip_serializing_if = "Option::is_none")]
    pub allowed: Option<u64>,
    #[prost(uint64, tag = "7")]
    #[serde(default, with = "int64", skip_serializing_if = "is_zero_u64")]
    pub used: u64,
    /// Absent: unlimited.
    #[prost(uint64, optional, tag = "8")]
    #[serde(default, with = "opt_int64", skip_serializing_if = "Option::is_none")]
    pub left: Option<u64>,
}

impl AttemptsResponse {
    fn of(a: &AttemptsShown) -> Self {
        Self {
            board: a.board.clone(),
            player: a.player.clone(),
            period: a.period.clone(),
            max_attempts: a.max_attempts,
            granted: a.granted,
            allowed: a.allowed,
            used: a.used,
            left: a.left,
        }
    }
}

/// `EndTournament`'s request.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndTournamentRequest {
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub board: String,
}

/// `ExtendTournament`'s request.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExtendTournamentRequest {
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub board: String,
    /// The new end (RFC 3339).
    #[prost(string, tag = "2")]
    #[serde(default)]
    pub end: String,
}

/// A listing's page as a request asks it (a `limit` of 0 is the default).
fn page_asked(limit: u32, cursor: &str) -> Result<PageAsked<'_>> {
    PageAsked::new(
        Some(limit).filter(|l| *l > 0).map(i64::from),
        Some(cursor).filter(|c| !c.is_empty()),
    )
}

/// `ListTournaments`: a read of the tenant's, against the rate limits.
pub(crate) async fn list(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &ListTournamentsRequest,
) -> Result<ListTournamentsResponse> {
    edge::ratelimit::enforce_as(ctx, call, Operation::ListTournaments, None).await?;
    let nonempty = |s: &str| Some(s).filter(|s| !s.is_empty()).map(str::to_owned);
    let (state, category) = (nonempty(&req.state), nonempty(&req.category));
    let page = edge::competitions::tournaments::listed(
        ctx,
        call.now_ms,
        state.as_deref(),
        category.as_deref(),
        page_asked(req.limit, &req.cursor)?,
    )
    .await?;
    Ok(ListTournamentsResponse::of(None, &page))
}

/// `ListPlayerTournaments`.
pub(crate) async fn list_joined(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &ListPlayerTournamentsRequest,
) -> Result<ListTournamentsResponse> {
    edge::ratelimit::enforce_as(ctx, call, Operation::ListPlayerTournaments, None).await?;
    let player = PlayerId::new(&req.player)?;
    let asked = page_asked(req.limit, &req.cursor)?;
    let page = edge::competitions::tournaments::joined_by(ctx, call.now_ms, &player, asked).await?;
    Ok(ListTournamentsResponse::of(Some(&player), &page))
}

/// `JoinTournament`.
pub(crate) async fn join(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &PlayerInTournament,
) -> Result<JoinTournamentResponse> {
    let id = edge::reads::admit(ctx, call, Operation::JoinTournament, &req.board).await?;
    let player = PlayerId::new(&req.player)?;
    let joined = edge::competitions::tournaments::join_player(ctx, call, &id, &player).await?;
    Ok(JoinTournamentResponse {
        board: joined.board,
        player: joined.player,
        players: joined.players,
        joined_now: joined.now,
    })
}

/// `GetAttempts`.
pub(crate) async fn attempts(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &PlayerInTournament,
) -> Result<AttemptsResponse> {
    let id = edge::reads::admit(ctx, call, Operation::GetAttempts, &req.board).await?;
    let player = PlayerId::new(&req.player)?;
    let shown =
        edge::competitions::tournaments::attempts_of(ctx, call.now_ms, &id, &player).await?;
    Ok(AttemptsResponse::of(&shown))
}

/// `GrantAttempts`.
pub(crate) async fn grant(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &GrantAttemptsRequest,
) -> Result<AttemptsResponse> {
    let id = edge::reads::admit(ctx, call, Operation::GrantAttempts, &req.board).await?;
    let player = PlayerId::new(&req.player)?;
    let shown =
        edge::competitions::tournaments::grant_more(ctx, call, &id, &player, req.extra).await?;
    Ok(AttemptsResponse::of(&shown))
}

/// The tournament as listed now, after its window changed.
fn as_listed(board: &leaderboard::Board, now_ms: i64) -> Result<Tournament> {
    let shown = edge::competitions::tournaments::shown(board, now_ms).ok_or_else(|| {
        LeaderboardError::Internal(format!("board '{}' is no tournament", board.id))
    })?;
    Ok(Tournament::of(&shown))
}

/// `EndTournament`.
pub(crate) async fn end(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &EndTournamentRequest,
) -> Result<Tournament> {
    let id = edge::reads::admit(ctx, call, Operation::EndTournament, &req.board).await?;
    let board = edge::competitions::tournaments::end_now(ctx, call, &id).await?;
    as_listed(&board, call.now_ms)
}

/// `ExtendTournament`.
pub(crate) async fn extend(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    req: &ExtendTournamentRequest,
) -> Result<Tournament> {
    let id = edge::reads::admit(ctx, call, Operation::ExtendTournament, &req.board).await?;
    let board = edge::competitions::tournaments::extend_to(ctx, call, &id, &req.end).await?;
    as_listed(&board, call.now_ms)
}
