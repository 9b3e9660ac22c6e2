//! What the webhook deliverer owes, beside the pub/sub rings that usually tell it
//! (`crate::webhooks::delivery`), as items of the schedule (`crate::schedule`).
//!
//! Pub/sub keeps no message for a subscriber that is not listening (a worker restarting), and
//! nothing rings when a retry's time comes. So:
//!
//! - a write whose script rang the deliverer notes its board's log
//!   ([`crate::schedule::Item::WebhookLog`]), due a short while later ([`CATCH_UP_AFTER_MS`]):
//!   should no fan-out have heard the ring, the worker fans out what none read, though the board
//!   gets no next write (a run's awards, a league's close);
//! - a tenant's messages ([`crate::schedule::Item::WebhookMessages`]) are noted as due when the
//!   earliest waits until: a retry's time, the end of a lease a deliverer took (should it die
//!   mid-attempt), a short while after the tenant's ring.
//!
//! The earliest due time of an item stands ([`NoteMode::Earlier`]). The worker leases due
//! items, serves them (`crate::webhooks::delivery::sweep`), and then says when each is owed
//! next; one noted again after its lease stays, so no note is lost to a worker that read before
//! it.

use leaderboard::{BoardId, Result, TenantId};

use crate::repo::{Keys, RedisResult, Repo, int};
use crate::schedule::{Item, NoteMode};

/// How long after a write's ring its board is due for a catch-up: a ring that was heard is fanned
/// out within moments, so the catch-up then finds nothing to read, and one that was not waits
/// this long.
pub const CATCH_UP_AFTER_MS: i64 = 10_000;

impl Repo {
    /// Notes the tenant's messages as owed at `due_ms`, unless they are owed sooner already.
    pub async fn hooks_note_messages(
        &self,
        tenant: &TenantId,
        due_ms: i64,
        now_ms: i64,
    ) -> Result<()> {
        let item = Item::WebhookMessages(tenant.clone());
        self.due_note(&item, due_ms, now_ms, NoteMode::Earlier)
            .await
            .map(|_| ())
    }

    /// After a write's script: when its ring flag (`1`) says it rang the deliverer, its board is
    /// noted for a catch-up. Best effort, as a drain's note for the inbox sweep: a failure is
    /// logged, and the write, which has happened, is answered (the ring, if heard, delivers).
    /// A flag that is no integer is logged as damaged, not taken for "not rung" in silence.
    pub(crate) async fn note_if_rang(&self, keys: &Keys, flag: Option<&RedisResult>, now_ms: i64) {
        match flag.map(int) {
            Some(Ok(1)) => self.note_rang(keys, now_ms).await,
            Some(Err(e)) => eprintln!(
                "webhooks: {} not noted for a catch-up: its write's ring flag is damaged: {e}",
                keys.board_ref()
            ),
            Some(Ok(_)) | None => {}
        }
    }

    /// Notes the board of a write that rang the deliverer as owed a catch-up
    /// [`CATCH_UP_AFTER_MS`] on; best effort, as [`Repo::note_if_rang`].
    pub(crate) async fn note_rang(&self, keys: &Keys, now_ms: i64) {
        let noted = match board_of(keys) {
            Ok((tenant, board)) => {
                let item = Item::WebhookLog(tenant, board);
                self.due_note(&item, now_ms + CATCH_UP_AFTER_MS, now_ms, NoteMode::Earlier)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = noted {
            eprintln!(
                "webhooks: {} not noted for a catch-up after its ring: {e}",
                keys.board_ref()
            );
        }
    }
}

/// The tenant and board whose keys `keys` are.
fn board_of(keys: &Keys) -> Result<(TenantId, BoardId)> {
    crate::schedule::board_ref(keys.board_ref().as_bytes())
        .map_err(leaderboard::LeaderboardError::CorruptData)
}
