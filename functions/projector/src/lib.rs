//! `functions/projector`: the Redis-triggered score handler.
//!
//! These channels lead here (`spin-worker.toml`):
//!
//! - the invalidation channel `lb:invalidate`, payload `inv:tenant/board[:config]`: a write in
//!   some region (this one included) changed the board; this region's cached reads of it are
//!   dropped (`edge::cache::EdgeCache::invalidate_everywhere` publishes it), and with
//!   `push_publish_url` set the board's state goes to the push tier (`edge::live::push`);
//! - the doorbell `lb:doorbell`, payload `tenant/board`: a board's inbox has work (an `async`
//!   submission over HTTP, or an entry a trusted backend appended with `XADD` — the durable
//!   ingest form);
//! - the ingest channel `lb:ingest`, payload a JSON submission naming its board (the
//!   fire-and-forget form): it is appended to the board's inbox first;
//! - the webhook channel `lb:webhooks` (`edge::webhooks::delivery`);
//! - the keyspace channel of the schedule's alarm (`edge::schedule`), payload the event's name:
//!   `expired` when something is due — an item of the schedule's register (a competition's
//!   edge) or of this region's push tier's (a period's end), a board for the inbox sweep
//!   (`edge::submissions::pipeline::claims`), something the webhook deliverer owes
//!   (`edge::webhooks::due`); and, for one release, the previous release's own alarms' channels
//!   (`edge::schedule::PREVIOUS_ALARM_CHANNELS`), served the same way.
//!
//! For the doorbell and the ingest channel, the board's inbox is then drained (`edge::submissions::pipeline`): batches decided by the core
//! and applied in one script each, bad entries to the dead letters, exactly once. A drain is
//! bounded (entries and time) so one message never runs long; when it stops with work left it
//! rings the doorbell again. Pub/sub is at-most-once, but the inbox is durable: a lost doorbell
//! only delays entries until the next doorbell or an HTTP drain (`POST /api/v1/admin/drain`).
//! Redis being unavailable fails the message; the entries stay pending for the next drain.
//!
//! A message that drained a board, a webhook ring and the alarm end with the sweep
//! (`edge::submissions::pipeline::sweep`): the boards
//! whose drain may have died holding a claim, noted longer than the reclaim time ago, are drained
//! and settled, so entries a dead drain left claimed are applied without more traffic on their
//! board; the alarm's expiry rings the worker for it when no other message comes. The alarm and
//! a webhook ring also serve what the webhook deliverer owes (`edge::webhooks::delivery::sweep`:
//! a ring no worker heard, a retry's time); a doorbell does not.

use anyhow::Context;
use edge::cache::EdgeCache;
use edge::competitions::tournaments;
use edge::platform::Spin;
use edge::repo::Repo;
use edge::schedule::{Item, Register};
use edge::scope::now_ms;
use edge::settings;
use edge::submissions::pipeline::claims::Lease;
use edge::submissions::pipeline::{self, AlarmEvent};
use edge::submissions::submit;
use edge::webhooks::delivery;
use leaderboard::http::push::PushSettings;
use leaderboard::{BoardId, TenantId};
use spin_sdk::redis_component;

/// Time one webhook ring may deliver for (attempts in flight finish first; each is bounded by
/// `webhook_timeout`).
const WEBHOOK_BUDGET_MS: i64 = 10_000;

/// The longest the worker waits for a message that is due soon (Spin hands a Redis trigger's
/// messages over one at a time, so this delays the next message by as much).
const MAX_WAIT_MS: i64 = 2_000;

/// Entries one message may drain.
const MAX_EVENTS: u64 = 16_384;
/// Time one message may drain for.
const BUDGET_MS: i64 = 2_000;

/// A ring on the webhook channel: `wh:<tenant>` (messages are due) or `wh:<tenant>/<board>` (the
/// board's log has entries to fan out).
fn webhook_ring(payload: &[u8]) -> Option<(TenantId, Option<BoardId>)> {
    let rest = std::str::from_utf8(payload).ok()?.strip_prefix("wh:")?;
    Some(match rest.split_once('/') {
        Some((t, b)) => (TenantId::new(t).ok()?, Some(BoardId::new(b).ok()?)),
        None => (TenantId::new(rest).ok()?, None),
    })
}

/// Fans out the board's new log entries (when rung for one), then delivers the tenant's due
/// messages; rings again when some are still due (the budget ran out), so a backlog keeps
/// moving without a cron. Until `deadline`, which the rest of the message has after it.
async fn deliver_webhooks(
    repo: &Repo,
    tenant: &TenantId,
    board: Option<BoardId>,
    deadline: i64,
) -> anyhow::Result<()> {
    if let Some(board) = board {
        delivery::fan_out(&Spin, repo, tenant, &[board], deadline, &now_ms)
            .await
            .with_context(|| format!("fanning out webhooks of {tenant}"))?;
    }
    loop {
        let report = delivery::deliver_due(&Spin, repo, tenant, deadline, &now_ms)
            .await
            .with_context(|| format!("delivering webhooks of {tenant}"))?;
        let now = now_ms();
        match report.next_due_ms {
            // The budget ran out with messages due: ring again.
            Some(due) if due <= now && now >= deadline => {
                delivery::ring(repo, tenant).await;
                break;
            }
            Some(due) if due <= now => {}
            // Due within moments (a debounced rank.top_changed, a short retry): wait for it
            // here rather than leave it to the next ring or a cron.
            Some(due) if due - now <= MAX_WAIT_MS && due < deadline => {
                std::thread::sleep(std::time::Duration::from_millis((due - now) as u64));
            }
            _ => break,
        }
    }
    Ok(())
}

#[redis_component]
async fn on_message(payload: Vec<u8>) -> anyhow::Result<()> {
    edge::serve::on_message(&Spin, async || handle(&payload).await).await
}

async fn handle(payload: &[u8]) -> anyhow::Result<()> {
    // Another region's write (or this one's, echoed): drop this region's cached reads of the
    // board (no Redis needed; a failure is reported), then, with a push tier configured, publish
    // the board's new state to it (`edge::live::push`: never fails the message).
    if let Some((tenant, board, config)) = edge::cache::parse_invalidation(payload) {
        EdgeCache::open(&Spin)
            .await
            .invalidate(&tenant, &board, config)
            .await?;
        edge::live::push::on_change(&Spin, &tenant, &board, config, &now_ms).await;
        return Ok(());
    }
    // The sweep register's alarm: its expiry says boards are due; its other events say nothing.
    let alarm = AlarmEvent::parse(payload);
    if alarm == Some(AlarmEvent::Other) {
        return Ok(());
    }
    let repo = Repo::open(&Spin, &settings::redis_target(&Spin).await?).await?;
    // The alarm: the schedule's items due are served by kind (never failing the message).
    if alarm == Some(AlarmEvent::Expired) {
        serve_due(&repo).await;
    }
    // Then the boards a dead drain may have left claimed: those a drain's own note leased, else
    // those due now (on the alarm, after a webhook ring).
    let swept = match alarm {
        Some(_) => {
            // The inbox sweep first; its failure still leaves the webhooks' turn (this alarm
            // will not ring again for them).
            let swept = sweep_due(&repo).await;
            sweep_webhooks(&repo, now_ms() + WEBHOOK_BUDGET_MS).await;
            swept?
        }
        None => match webhook_ring(payload) {
            Some((tenant, board)) => {
                // A tenant whose webhooks cannot go out (a bad webhook variable, Redis's
                // answer) still leaves the sweeps their turn: what it owes stays owed.
                let deadline = now_ms() + WEBHOOK_BUDGET_MS;
                if let Err(e) = deliver_webhooks(&repo, &tenant, board, deadline).await {
                    eprintln!("projector: {e:#}");
                }
                sweep_webhooks(&repo, deadline).await;
                sweep_due(&repo).await?
            }
            None => match drain_for(&repo, payload).await? {
                Some(leased) => {
                    let limits = sweep_limits().await?;
                    pipeline::sweep(&Spin, &repo, &leased, &limits, &now_ms).await
                }
                None => return Ok(()),
            },
        },
    };
    if swept.boards > 0 {
        eprintln!(
            "projector: swept {} boards a drain may have left claimed: {} entries applied, \
             {} boards settled, {} failed",
            swept.boards, swept.applied, swept.settled, swept.failed
        );
        count_applied(swept.applied).await;
    }
    Ok(())
}

/// The schedule's items due (`edge::schedule`), register by register — its own, then this
/// region's push tier's — each leased just before its items are served, each item by its kind:
/// a competition's edge announced or closed (`edge::competitions::tournaments::announce`), a
/// period's end published to the push tier (`edge::live::push::on_rollover`). Never fails: an
/// item whose work failed is logged and stays leased, due again when the lease ends (the lease
/// armed the alarm for it); a register whose lease failed is logged (a push tier's counted as a
/// publish failure) and leaves its items due, unrung until the alarm's next ring (a note, a
/// worker's start, another register's item), and the next register is still served.
async fn serve_due(repo: &Repo) {
    let push = edge::live::push::settings(&Spin).await;
    let mut registers = vec![Register::Shared];
    if let Some(settings) = &push {
        registers.push(Register::Tier(settings.tier_id()));
    }
    for register in registers {
        let leased = match repo.due_lease(&register, now_ms()).await {
            Ok(leased) => leased,
            Err(e) => {
                eprintln!("projector: leasing what is due in {}: {e}", register.key());
                if let Register::Tier(_) = register {
                    edge::live::push::count_failure(&Spin).await;
                }
                continue;
            }
        };
        for item in &leased.items {
            serve_item(repo, push.as_ref(), item, leased.held_ms).await;
        }
    }
}

/// One leased item of the schedule, served by its kind while its lease holds it (`held_ms`);
/// `push`, the push tier's settings (a rollover is leased only with them).
async fn serve_item(repo: &Repo, push: Option<&PushSettings>, item: &Item, held_ms: i64) {
    match item {
        Item::Competition(tenant, board) => {
            let announced = tournaments::announce(repo, tenant, board, now_ms(), held_ms).await;
            if let Err(e) = announced {
                eprintln!(
                    "projector: {} (again when its lease ends): {e}",
                    item.member()
                );
            }
        }
        Item::Rollover { .. } => {
            if let Some(settings) = push {
                edge::live::push::on_rollover(&Spin, repo, settings, item, held_ms, &now_ms).await;
            }
        }
    }
}

/// What the webhook deliverer owes with nothing to ring it (`edge::webhooks::due`: a ring no
/// worker heard, a retry's time), served on the alarm and after each webhook ring (in what is
/// left of the ring's budget), until `deadline`; a failure is logged (the entries stay due,
/// served at the next alarm or webhook ring).
async fn sweep_webhooks(repo: &Repo, deadline: i64) {
    match delivery::sweep(&Spin, repo, deadline, &now_ms).await {
        Ok(swept) if swept.entries > 0 => eprintln!(
            "projector: served {} webhook entries owed with no ring: {} messages made, {} \
             delivered, {} failed",
            swept.entries, swept.made, swept.delivered, swept.failed
        ),
        Ok(_) => {}
        Err(e) => eprintln!("projector: sweeping what the webhook deliverer owes: {e}"),
    }
}

/// A sweep's bounds: a budget of its own after the message's main work.
async fn sweep_limits() -> anyhow::Result<pipeline::Limits> {
    Ok(pipeline::Limits::read(&Spin, MAX_EVENTS, now_ms() + BUDGET_MS).await?)
}

async fn sweep_due(repo: &Repo) -> anyhow::Result<pipeline::Swept> {
    let limits = sweep_limits().await?;
    pipeline::sweep_due(&Spin, repo, &limits, &now_ms)
        .await
        .context("sweeping boards left claimed")
}

/// A doorbell or an ingest message: the board's inbox drained. The due boards its drain leased
/// (`None`: the message named no board, kept in the ingest dead letters).
async fn drain_for(repo: &Repo, payload: &[u8]) -> anyhow::Result<Option<Vec<Lease>>> {
    let target = if payload.first() == Some(&b'{') {
        pipeline::ingest(repo, payload, now_ms()).await?
    } else {
        match edge::schedule::board_ref(payload) {
            Ok(t) => Some(t),
            Err(reason) => {
                let reason = format!("{reason}, nor a JSON ingest message");
                eprintln!("projector: doorbell kept in the ingest dead letters: {reason}");
                repo.ingest_dead(payload, &reason, now_ms()).await?;
                None
            }
        }
    };
    let Some((tenant, board)) = target else {
        return Ok(None);
    };
    let limits = pipeline::Limits {
        lease: pipeline::SWEEP_BOARDS,
        ..pipeline::Limits::read(&Spin, MAX_EVENTS, now_ms() + BUDGET_MS).await?
    };
    let report = pipeline::drain_and_invalidate(&Spin, repo, &tenant, &board, &limits, &now_ms)
        .await
        .with_context(|| format!("draining {tenant}/{board}"))?;
    count_applied(report.applied).await;
    if report.more {
        repo.ring(submit::DOORBELL, &format!("{tenant}/{board}"))
            .await?;
    }
    Ok(Some(report.leased))
}

async fn count_applied(applied: u64) {
    edge::metrics::add_now(
        &Spin,
        &leaderboard::http::metrics::counter_key("events_applied"),
        applied as i64,
    )
    .await;
}
