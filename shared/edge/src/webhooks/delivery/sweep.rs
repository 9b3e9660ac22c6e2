//! What the deliverer owes with nothing to ring the worker (`crate::webhooks::due`): a board's
//! log whose write rang it while no worker may have listened, a tenant's messages waiting until
//! a time. The schedule's alarm rings the worker for them (`crate::schedule`), which serves each
//! item it leased here and notes when it is owed next.

use leaderboard::{BoardId, Result, TenantId};

use super::deliver::{Leases, deliver};
use super::fanout::FANOUT_RECLAIM_MS;
use super::{deliver_due, fan_out};
use crate::platform::Platform;
use crate::repo::{Keys, Repo};
use crate::webhooks::store::MessageKeys;

/// What the deliverer's items served did.
#[derive(Debug, Default)]
pub struct Swept {
    /// Messages made from log entries no fan-out had read.
    pub made: u64,
    /// Attempts answered 2xx.
    pub delivered: u64,
}

/// A board's catch-up (`crate::schedule::Item::WebhookLog`): its log fanned out (entries no
/// fan-out read, and those one read and never acknowledged for [`FANOUT_RECLAIM_MS`]), and its
/// tenant's messages delivered when that made any or some are due. When it is owed next: its
/// log still has entries read by a fan-out that may have died, or the time ran out (`None`:
/// nothing).
pub async fn catch_up(
    platform: &dyn Platform,
    repo: &Repo,
    tenant: &TenantId,
    board: &BoardId,
    swept: &mut Swept,
    deadline_ms: i64,
    clock: &dyn Fn() -> i64,
) -> Result<Option<i64>> {
    let made = fan_out(
        platform,
        repo,
        tenant,
        std::slice::from_ref(board),
        deadline_ms,
        clock,
    )
    .await?;
    swept.made += made;
    // Messages made now, or made by a fan-out that failed before it delivered them.
    let waiting = repo
        .webhook_next_due(&MessageKeys::new(tenant.as_str()))
        .await?
        .is_some_and(|due| due <= clock());
    if made > 0 || waiting {
        swept.delivered += deliver_due(platform, repo, tenant, deadline_ms, clock)
            .await?
            .delivered;
    }
    let now = clock();
    Ok(if now >= deadline_ms {
        // Cut short: the rest at once.
        Some(now)
    } else if repo.webhook_fanout_holds(&Keys::new(tenant, board)).await? {
        // Read by a fan-out that has not acknowledged them yet: taken over once it may have died.
        Some(now + FANOUT_RECLAIM_MS)
    } else {
        None
    })
}

/// A tenant's due messages delivered (`crate::schedule::Item::WebhookMessages`): when the next
/// one is due.
pub async fn due_messages(
    platform: &dyn Platform,
    repo: &Repo,
    tenant: &TenantId,
    swept: &mut Swept,
    deadline_ms: i64,
    clock: &dyn Fn() -> i64,
) -> Result<Option<i64>> {
    let settings = crate::settings::delivery(platform).await?;
    let report = deliver(
        platform,
        repo,
        tenant,
        &settings,
        Leases::Swept,
        deadline_ms,
        clock,
    )
    .await?;
    swept.delivered += report.delivered;
    Ok(report.next_due_ms)
}
