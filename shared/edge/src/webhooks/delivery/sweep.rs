//! What the deliverer owes with nothing to ring the worker (`crate::webhooks::due`): boards
//! whose writes rang it while no worker may have listened, and tenants whose messages wait
//! until a time. The worker sweeps them when the alarm rings, and after each webhook ring.

use leaderboard::{BoardId, Result, TenantId};

use super::deliver::{Leases, deliver};
use super::fanout::FANOUT_RECLAIM_MS;
use super::{deliver_due, fan_out};
use crate::platform::Platform;
use crate::repo::{Keys, Repo};
use crate::webhooks::due::Owed;
use crate::webhooks::store::MessageKeys;

/// Entries one sweep leases at most.
const SWEEP_ENTRIES: usize = 16;

/// How long a sweep holds an entry it leased (a sweep that dies leaves it due again then): the
/// worker's budget for it (10 s), an attempt's longest timeout (`webhook_timeout`, at most a
/// minute) and a margin fit within it.
const LEASE_MS: i64 = 120_000;

/// What a sweep did.
#[derive(Debug, Default)]
pub struct Swept {
    /// Entries served (those left when the time ran out are due again at once).
    pub entries: u64,
    /// Messages made from log entries no fan-out had read.
    pub made: u64,
    /// Attempts answered 2xx.
    pub delivered: u64,
    /// Entries whose turn failed (logged; due again when their lease ends).
    pub failed: u64,
}

/// Leases the due entries (up to [`SWEEP_ENTRIES`]) and serves each until `deadline_ms`: a
/// board's log is fanned out ([`fan_out`]: entries no fan-out read, and those one read and never
/// acknowledged for [`FANOUT_RECLAIM_MS`]), and its tenant's messages delivered when that made
/// any; a tenant's due messages are delivered. Each entry is then due again when what it owes
/// is (a board whose log still has entries read by a fan-out that may have died, a message
/// waiting for its retry), or leaves the register. A failure is logged and leaves its entry
/// leased; the others go on.
pub async fn sweep(
    platform: &dyn Platform,
    repo: &Repo,
    deadline_ms: i64,
    clock: &dyn Fn() -> i64,
) -> Result<Swept> {
    if clock() >= deadline_ms {
        return Ok(Swept::default());
    }
    let leased = repo.hooks_lease(clock(), LEASE_MS, SWEEP_ENTRIES).await?;
    let mut swept = Swept::default();
    for (i, lease) in leased.iter().enumerate() {
        if clock() >= deadline_ms {
            // Out of time: the rest are due again at once, not when their leases end.
            for unserved in &leased[i..] {
                if let Err(e) = repo.hooks_done(unserved, Some(clock()), clock()).await {
                    eprintln!("webhooks: {} left leased: {e}", unserved.owed.entry());
                }
            }
            break;
        }
        swept.entries += 1;
        let served = match &lease.owed {
            Owed::Board(board) => {
                catch_up(platform, repo, board, &mut swept, deadline_ms, clock).await
            }
            Owed::Tenant(tenant) => {
                due_messages(platform, repo, tenant, &mut swept, deadline_ms, clock).await
            }
        };
        let next = match served {
            Ok(next) => next,
            Err(e) => {
                eprintln!(
                    "webhooks: {} left for after its lease: {e}",
                    lease.owed.entry()
                );
                swept.failed += 1;
                continue;
            }
        };
        if let Err(e) = repo.hooks_done(lease, next, clock()).await {
            eprintln!("webhooks: {} left leased: {e}", lease.owed.entry());
            swept.failed += 1;
        }
    }
    Ok(swept)
}

/// A board's catch-up: when it is owed next (`None`: nothing).
async fn catch_up(
    platform: &dyn Platform,
    repo: &Repo,
    board: &str,
    swept: &mut Swept,
    deadline_ms: i64,
    clock: &dyn Fn() -> i64,
) -> Result<Option<i64>> {
    let Some((tenant, board)) = board
        .split_once('/')
        .and_then(|(t, b)| Some((TenantId::new(t).ok()?, BoardId::new(b).ok()?)))
    else {
        // No write notes such a name: nothing is owed for it.
        eprintln!("webhooks: '{board}' dropped from the register: not a board");
        return Ok(None);
    };
    let made = fan_out(
        platform,
        repo,
        &tenant,
        std::slice::from_ref(&board),
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
        swept.delivered += deliver_due(platform, repo, &tenant, deadline_ms, clock)
            .await?
            .delivered;
    }
    let now = clock();
    Ok(if now >= deadline_ms {
        // Cut short: the rest at once.
        Some(now)
    } else if repo
        .webhook_fanout_holds(&Keys::new(&tenant, &board))
        .await?
    {
        // Read by a fan-out that has not acknowledged them yet: taken over once it may have died.
        Some(now + FANOUT_RECLAIM_MS)
    } else {
        None
    })
}

/// A tenant's due messages delivered: when the next one is due.
async fn due_messages(
    platform: &dyn Platform,
    repo: &Repo,
    tenant: &str,
    swept: &mut Swept,
    deadline_ms: i64,
    clock: &dyn Fn() -> i64,
) -> Result<Option<i64>> {
    let Ok(tenant) = TenantId::new(tenant) else {
        eprintln!("webhooks: tenant '{tenant}' dropped from the register: not a tenant id");
        return Ok(None);
    };
    let settings = crate::settings::delivery(platform).await?;
    let report = deliver(
        platform,
        repo,
        &tenant,
        &settings,
        Leases::Swept,
        deadline_ms,
        clock,
    )
    .await?;
    swept.delivered += report.delivered;
    Ok(report.next_due_ms)
}
