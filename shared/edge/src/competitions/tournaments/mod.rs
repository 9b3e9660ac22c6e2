//! Tournaments (docs/competitions.md): joining one (`POST /api/{v}/boards/{board}/join`) and
//! what a submission to one must pass before it is written (here); a player's attempts and
//! grants ([`attempts`]); ending one early, extending it and its announcements ([`window`]);
//! the tenant's tournaments listed by state and category, and those a player joined
//! ([`listing`]). The rules are
//! `leaderboard::competition::tournament`'s; the counts, membership, announcements and the
//! index are in Redis ([`store`]; the scripts it runs by name, [`scripts`]), what is due next in
//! the schedule's register (`crate::schedule`).

pub mod store;

mod scripts;

mod attempts;
mod listing;
mod window;

pub use attempts::{AttemptsShown, attempts, attempts_of, grant, grant_more};
pub use listing::{
    PageAsked, RunStanding, TournamentPage, TournamentShown, forget, index, joined, joined_by,
    list, listed, shown,
};
pub use window::{
    CREATING_MS, CREATING_RECHECK_MS, announce, end_early, end_now, extend, extend_to, note_created,
};

use leaderboard::Conflict;
use leaderboard::competition::tournament::Joined;
use leaderboard::{Board, BoardId, PlayerId, Result, policy::access};
use serde::{Deserialize, Serialize};

use crate::api::Ctx;
use crate::http::{Call, Response};
use crate::repo::{Keys, Repo};

/// A join's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JoinInput {
    /// Who joins: a player's own token joins itself only, a `service` or `admin` any player.
    player: PlayerId,
}

/// `POST /api/{v}/boards/{board}/join`: `201` the player joined now, `200` it had joined before
/// (a join is idempotent), with the number of players joined; `409` `tournament-full` past
/// `max_size`, `409` `tournament-closed` once the tournament has ended, `409` for a board that is
/// not a tournament; `503` while the `submissions-enabled` flag is off.
pub async fn join(ctx: &Ctx<'_>, call: &Call<'_>, board_id: &BoardId) -> Result<Response> {
    ctx.require_principal()?;
    let input: JoinInput = call.json()?;
    let joined = join_player(ctx, call, board_id, &input.player).await?;
    let status = if joined.now { 201 } else { 200 };
    crate::http::json_of(status, call.version, &joined)
}

/// A join as every door answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JoinShown {
    /// The tournament.
    pub board: String,
    /// Who joined.
    pub player: String,
    /// Always true: the player is in.
    pub joined: bool,
    /// How many players joined, this one included.
    pub players: u64,
    /// Whether it joined now (`false`: it had joined before).
    #[serde(skip)]
    pub now: bool,
}

/// `player` joins the tournament `board_id`, as [`join`] answers it (REST, GraphQL and
/// Connect): the principal's checks, the kill switch, the window and `max_size`.
pub async fn join_player(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    board_id: &BoardId,
    player: &PlayerId,
) -> Result<JoinShown> {
    let principal = ctx.require_principal()?;
    // A join is a write a player makes, as a submission is: the kill switch stops both.
    crate::flags::check_submissions(ctx, call).await?;
    let repo = ctx.repo().await?;
    let board = repo.board(&ctx.tenant, board_id).await?;
    access::authorize_submit(principal, &board, player)?;
    let Some(tournament) = &board.tournament else {
        return Err(Conflict::NotATournament {
            board: board_id.to_string(),
            why: "only a tournament is joined",
        }
        .into());
    };
    let window = tournament.window;
    tournament.joinable(window, call.now_ms)?;
    let keys = Keys::new(&ctx.tenant, board_id);
    let step = repo
        .tournament_join(&keys, player, tournament.max_size)
        .await?;
    let (players, now) = match tournament.join(window, step, call.now_ms)? {
        Joined::Now { players } => (players, true),
        Joined::Already { players } => (players, false),
    };
    // The player's own list ("my tournaments"): on the tenant's slot, so after the join; a
    // join sent again after a failure here adds it then (a first join sets its time, so a new
    // board of an old id sorts as new).
    repo.joined_note(&ctx.tenant, player, board_id, call.now_ms, now)
        .await?;
    Ok(JoinShown {
        board: board_id.to_string(),
        player: player.to_string(),
        joined: true,
        players,
        now,
    })
}

/// Whether `board` takes a submission from `player` at `now_ms`: any board that is not a
/// tournament does; a tournament inside its window, and with `join_required` from a player who
/// joined (one Redis read, only then).
pub async fn admit_submission(
    repo: &Repo,
    keys: &Keys,
    board: &Board,
    player: &PlayerId,
    now_ms: i64,
) -> Result<()> {
    let Some(tournament) = &board.tournament else {
        return Ok(());
    };
    board.admits_submission(now_ms)?;
    let joined = tournament.join_required && repo.tournament_joined(keys, player).await?;
    tournament.admits(tournament.window, joined, now_ms)?;
    Ok(())
}
