//! The schedule's due items (`edge::schedule`), served by kind: whatever rang the worker, it
//! ends with them (a missed alarm is made up by the next message of any kind), within the
//! message's budget: 2 s after a drain, what is left of a webhook ring's 10 s, 10 s on the
//! alarm. A drain's message serves only what cannot hold the worker past its budget for long
//! (competitions' edges and inbox sweeps: [`AFTER_A_DRAIN`]); the webhook deliverer's items
//! (an attempt may take `webhook_timeout`, up to a minute) wait for a webhook ring or the alarm
//! (a lease leaves them due and arms the alarm for them).

use edge::competitions::tournaments;
use edge::platform::Spin;
use edge::repo::Repo;
use edge::schedule::{Held, Item, Kind, Register, SET_ASIDE_MS};
use edge::scope::now_ms;
use edge::submissions::pipeline;
use edge::webhooks::delivery;
use leaderboard::http::push::PushSettings;

/// Time the schedule's items may take on the alarm (an item started before it ends is
/// finished; those left are due again at once).
pub const ALARM_BUDGET_MS: i64 = 10_000;

/// The kinds a drain's message serves (see the module's doc).
pub const AFTER_A_DRAIN: &[Kind] = &[Kind::Competition, Kind::Inbox];

/// What serving the due items needs besides the repo: the push tier's settings (a rollover is
/// leased only with them), the drain's reclaim time (an inbox sweep's), the deadline, and what
/// was done, for the log.
struct Due {
    kinds: &'static [Kind],
    push: Option<PushSettings>,
    reclaim_after_ms: Option<u64>,
    deadline_ms: i64,
    applied: u64,
    webhooks: delivery::Swept,
    failed: u64,
}

/// The schedule's items of `kinds` (none named: every kind) due until `deadline_ms`, register by
/// register — on the alarm this region's push tier's first (only its worker can serve it), for
/// half the time at most, and the previous release's registers moved in — each leased just before its items are served,
/// each item by its kind; a register whose turn comes after the deadline is not leased (the
/// alarm is armed for it). Never fails: an item whose work failed is logged and stays leased,
/// due again when the lease ends (the lease armed the alarm for it); a register whose lease
/// failed is logged (a push tier's counted as a publish failure) and leaves its items due, and
/// the next register is still served.
pub async fn serve(repo: &Repo, kinds: &'static [Kind], on_alarm: bool, deadline_ms: i64) {
    let reclaim_after_ms = match edge::settings::reclaim_after_ms(&Spin).await {
        Ok(ms) => Some(ms),
        Err(e) => {
            eprintln!("projector: inbox sweeps wait: {e}");
            None
        }
    };
    let mut due = Due {
        kinds,
        push: None,
        reclaim_after_ms,
        deadline_ms,
        applied: 0,
        webhooks: delivery::Swept::default(),
        failed: 0,
    };
    // (register, until when it is served): on the alarm the tier's first, for half the budget
    // at most (a tier that hangs must not keep every competition and webhook item waiting).
    let mut registers = vec![];
    if on_alarm {
        if let Err(e) = repo.due_adopt(now_ms(), reclaim_after_ms).await {
            eprintln!("projector: moving the previous release's registers in: {e}");
        }
        due.push = edge::live::push::settings(&Spin).await;
        if let Some(settings) = &due.push {
            let now = now_ms();
            let half = now + (deadline_ms - now) / 2;
            registers.push((Register::Tier(settings.tier_id()), half));
        }
    }
    registers.push((Register::Shared, deadline_ms));
    for (register, until) in registers {
        let now = now_ms();
        due.deadline_ms = until;
        if now < until {
            due.lease_and_serve(repo, &register).await;
        } else if let Err(e) = repo.due_rearm(&register, now).await {
            eprintln!("projector: arming the alarm for {}: {e}", register.key());
        }
    }
    due.report().await;
}

impl Due {
    /// One register's lease, and its items served until the deadline.
    async fn lease_and_serve(&mut self, repo: &Repo, register: &Register) {
        let leased = match repo.due_lease(register, self.kinds, now_ms()).await {
            Ok(leased) => leased,
            Err(e) => {
                eprintln!("projector: leasing what is due in {}: {e}", register.key());
                if let Register::Tier(_) = register {
                    edge::live::push::count_failure(&Spin).await;
                }
                return;
            }
        };
        for (item, held) in &leased {
            let now = now_ms();
            // Out of time: the rest are due again at once, not when their leases end (unless
            // another worker leased one since: its lease stands).
            let served = if now >= self.deadline_ms {
                repo.due_give_back(item, now, now, held).await
            } else {
                self.serve_item(repo, item, held).await
            };
            if let Err(e) = served {
                self.failed += 1;
                eprintln!(
                    "projector: {} (again when its lease ends): {e}",
                    item.member()
                );
            }
        }
    }

    /// One leased item, served by its kind while its lease holds it (`held`).
    async fn serve_item(
        &mut self,
        repo: &Repo,
        item: &Item,
        held: &Held,
    ) -> leaderboard::Result<()> {
        let deadline = self.deadline_ms;
        let next = match item {
            Item::Competition(tenant, board) => {
                return tournaments::announce(repo, tenant, board, now_ms(), held).await;
            }
            Item::Rollover { .. } => {
                if let Some(settings) = &self.push {
                    edge::live::push::on_rollover(&Spin, repo, settings, item, held, &now_ms).await;
                }
                return Ok(());
            }
            Item::Inbox(tenant, board) => {
                let Some(reclaim_after_ms) = self.reclaim_after_ms else {
                    // Logged above: set aside, not rung every lease.
                    let now = now_ms();
                    return repo
                        .due_give_back(item, now + SET_ASIDE_MS, now, held)
                        .await;
                };
                let limits = pipeline::Limits {
                    max_events: crate::MAX_EVENTS,
                    deadline_ms: deadline,
                    reclaim_after_ms,
                };
                let swept = pipeline::sweep(&Spin, repo, tenant, board, &limits, &now_ms).await?;
                self.applied += swept.applied;
                swept.next_ms
            }
            Item::WebhookLog(tenant, board) => {
                let swept = &mut self.webhooks;
                delivery::catch_up(&Spin, repo, tenant, board, swept, deadline, &now_ms).await?
            }
            Item::WebhookMessages(tenant) => {
                let swept = &mut self.webhooks;
                delivery::due_messages(&Spin, repo, tenant, swept, deadline, &now_ms).await?
            }
        };
        repo.due_next(item, next, now_ms(), held).await
    }

    /// The log line and the applied entries' count, when anything was done.
    async fn report(&self) {
        if self.applied > 0 || self.webhooks.made > 0 || self.webhooks.delivered > 0 {
            eprintln!(
                "projector: due work served: {} inbox entries a drain left claimed applied, {} \
                 webhook messages made, {} delivered",
                self.applied, self.webhooks.made, self.webhooks.delivered
            );
        }
        if self.failed > 0 {
            eprintln!(
                "projector: {} due items failed (again when their leases end)",
                self.failed
            );
        }
        if self.applied > 0 {
            crate::count_applied(self.applied).await;
        }
    }
}
