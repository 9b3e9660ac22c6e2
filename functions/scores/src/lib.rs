//! `functions/scores`: `POST /api/{v}/boards/{board}/scores` — submit `{player, score, subscore?,
//! metadata?}` with an optional `Idempotency-Key`. The flow (kill switch, idempotency, quota,
//! sync apply or async accept, cache invalidation) is `edge::submissions::submit`. `POST
//! /api/{v}/boards/{board}/join` — a player joins a tournament; `GET`/`POST
//! /api/{v}/boards/{board}/attempts` — a player's attempts in a tournament's run, and grants of
//! more (`edge::competitions::tournaments`); `GET /api/{v}/boards/{board}/rewards` — a run's rewards, one
//! player's or all of them, and `POST /api/{v}/boards/{board}/rewards/claim` — a player's claim
//! (`edge::competitions::rewards`); `GET /api/{v}/boards/{board}/league` — a player's league standing
//! (`edge::competitions::leagues`).

// The p3 build names its spin-sdk (6.0) `spin_sdk`, as the entry point's macro expects.
#[cfg(feature = "p3")]
extern crate spin_sdk_6 as spin_sdk;

use edge::http::{Call, Response};
use edge::platform::Platform;
use leaderboard::http::operation::Operation;
use leaderboard::{BoardId, Result};
edge::http_entry!(route);

/// Serves one request on `platform` (Spin in the component; a native platform in the benchmark's
/// baseline server): the operation table names what it runs; a method its path lacks is `405`
/// before anything is read.
pub async fn route(platform: &dyn Platform, call: &Call<'_>) -> Result<Response> {
    let op = call.operation(call.route())?;
    let board = BoardId::new(call.param("board").unwrap_or_default())?;
    let ctx = edge::admission::admit(platform, call).await?;
    match op {
        Operation::SubmitScore => edge::submissions::submit::submit(&ctx, call, &board).await,
        Operation::JoinTournament => {
            edge::competitions::tournaments::join(&ctx, call, &board).await
        }
        Operation::GetAttempts => {
            edge::competitions::tournaments::attempts(&ctx, call, &board).await
        }
        Operation::GrantAttempts => {
            edge::competitions::tournaments::grant(&ctx, call, &board).await
        }
        Operation::GetRewards => edge::competitions::rewards::read(&ctx, call, &board).await,
        Operation::ClaimReward => edge::competitions::rewards::claim(&ctx, call, &board).await,
        Operation::GetLeague => edge::competitions::leagues::read(&ctx, call, &board).await,
        // Another component's (Spin routes none of them here).
        _ => Err(call.not_found()),
    }
}
