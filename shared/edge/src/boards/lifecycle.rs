//! A board's deletion, whole: its keys ([`crate::repo::Repo::delete_board`]: one short script,
//! then a sweep in short steps), its place in the tenant's count, its cached reads in every
//! region, the audit entry and the `board.deleted` webhook messages.

use leaderboard::{BoardId, LeaderboardError, Result, TenantId, policy::access};

use crate::api::Ctx;
use crate::boards::deletion::Deletion;
use crate::boards::sweep::Swept;
use crate::http::Call;
use crate::repo::Repo;

/// Deletes the tenant's board `id` with all its data, for an admin; `BoardNotFound` if absent.
///
/// The board is gone once its delete script ran, whatever follows: everything after it is best
/// effort and logged when it fails, never an error. A `5xx` would have the client retry a delete
/// that happened, the retry would get a `404`, and what the first attempt skipped would never
/// be done (docs/webhooks.md). So the steps a client notices come first (the tenant's board
/// count, the cached reads, the audit entry, the webhook messages) and the sweep of the board's
/// remaining keys last: a sweep that fails leaves the tombstone, and the next delete or creation
/// of the id finishes it.
pub async fn delete_board(ctx: &Ctx<'_>, call: &Call<'_>, id: &BoardId) -> Result<()> {
    access::authorize_admin(ctx.require_principal()?)?;
    let repo = ctx.repo().await?;
    let deletion = repo.delete_board(&ctx.tenant, id).await?;
    // Also when the board was already gone: a delete whose removal from the set failed is
    // finished by the next delete of the id (a board created meanwhile keeps its place).
    if let Err(e) = repo.forget_board(&ctx.tenant, id).await {
        log_step(
            &ctx.tenant,
            id,
            "its id was not removed from the tenant's boards",
            &e,
        );
    }
    if let Err(e) = crate::competitions::tournaments::forget(repo, &ctx.tenant, id).await {
        log_step(
            &ctx.tenant,
            id,
            "its id was not removed from the tenant's tournaments (a listing skips it)",
            &e,
        );
    }
    if let Deletion::Deleted { .. } | Deletion::Unfinished { .. } = deletion {
        // Again for a delete cut short, which may have stopped before it got here.
        ctx.cache()
            .await
            .invalidate_everywhere(repo, ctx.tenant.as_str(), id.as_str(), true)
            .await;
    }
    if let Deletion::Deleted { .. } = deletion {
        crate::audit::record(
            ctx,
            call,
            "board.delete",
            id.as_str(),
            serde_json::Value::Null,
        )
        .await;
        if let Err(e) =
            crate::webhooks::delivery::board_deleted(repo, &ctx.tenant, id, call.now_ms).await
        {
            log_step(
                &ctx.tenant,
                id,
                "its board.deleted webhook messages were not stored",
                &e,
            );
        }
    }
    sweep(repo, &ctx.tenant, id, &deletion).await;
    match deletion {
        Deletion::Deleted { .. } => Ok(()),
        Deletion::Unfinished { .. } | Deletion::Absent => Err(LeaderboardError::BoardNotFound(
            format!("board '{id}' does not exist"),
        )),
    }
}

/// Sweeps what a delete left under the board's prefix; a failure or a takeover is logged.
async fn sweep(repo: &Repo, tenant: &TenantId, id: &BoardId, deletion: &Deletion) {
    let Some((keys, token)) = deletion.sweep_token() else {
        return;
    };
    match repo.sweep_board(keys, token).await {
        Ok(Swept::Done(_)) => {}
        Ok(Swept::TakenOver) => eprintln!(
            "board {}/{}: a later delete or creation of the id took its sweep over",
            tenant.as_str(),
            id.as_str()
        ),
        Err(e) => log_step(
            tenant,
            id,
            "its remaining keys were not all swept (the next delete or creation of the id \
             finishes it)",
            &e,
        ),
    }
}

fn log_step(tenant: &TenantId, id: &BoardId, what: &str, e: &LeaderboardError) {
    eprintln!(
        "board {}/{}: deleted, but {what}: {e}",
        tenant.as_str(),
        id.as_str()
    );
}
