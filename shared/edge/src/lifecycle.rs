//! A board's deletion, whole: its keys ([`crate::repo::Repo::delete_board`]: one short script,
//! then a sweep in short batches), its cached reads in every region, the audit entry and the
//! `board.deleted` webhook messages.

use leaderboard::{BoardId, Result, access};

use crate::api::Ctx;
use crate::http::Call;

/// Deletes the tenant's board `id` with all its data, for an admin; `BoardNotFound` if absent.
///
/// The board is gone once its keys are, whatever follows: its cached reads, its audit entry and
/// its `board.deleted` messages are each best effort (logged when they fail). A failure to store
/// the messages does not make this an error: a `5xx` would have the client retry a delete that
/// happened, and the retry would get a `404` (docs/webhooks.md).
pub fn delete_board(ctx: &Ctx, call: &Call<'_>, id: &BoardId) -> Result<()> {
    access::authorize_admin(ctx.require_principal()?)?;
    let repo = ctx.repo()?;
    repo.delete_board(&ctx.tenant, id)?;
    ctx.cache()
        .invalidate_everywhere(repo, ctx.tenant.as_str(), id.as_str(), true);
    crate::audit::record(
        ctx,
        call,
        "board.delete",
        id.as_str(),
        serde_json::Value::Null,
    );
    if let Err(e) = crate::webhook_delivery::board_deleted(repo, &ctx.tenant, id, call.now_ms) {
        eprintln!(
            "board {}/{}: deleted, but its board.deleted webhook messages were not stored: {e}",
            ctx.tenant.as_str(),
            id.as_str()
        );
    }
    Ok(())
}
