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
//!   `expired` when an item of the schedule's register or of this region's push tier's is due.
//!
//! For the doorbell and the ingest channel, the board's inbox is then drained
//! (`edge::submissions::pipeline`): batches decided by the core and applied in one script each,
//! bad entries to the dead letters, exactly once. A drain is bounded (entries and time) so one
//! message never runs long; when it stops with work left it rings the doorbell again. Pub/sub
//! is at-most-once, but the inbox is durable: a lost doorbell only delays entries until the next
//! doorbell or an HTTP drain (`POST /api/v1/admin/drain`).
//! Redis being unavailable fails the message; the entries stay pending for the next drain.
//!
//! A doorbell, an ingest message, a webhook ring and the alarm's expiry end with the schedule's
//! due items (`due`), served by kind: a competition's edge, a board a dead drain may have left
//! claimed (the inbox sweep); except after a drain, what the webhook deliverer owes with nothing
//! to ring it (a ring no worker heard, a retry's time); and on the alarm only, a period's end for
//! this region's push tier. The alarm's expiry rings the worker for them when no other message
//! comes.

use anyhow::Context;
use edge::cache::EdgeCache;
use edge::platform::Spin;
use edge::repo::Repo;
use edge::schedule::AlarmEvent;
use edge::scope::now_ms;
use edge::settings;
use edge::submissions::pipeline;
use edge::submissions::submit;
use edge::webhooks::delivery;
use leaderboard::{BoardId, TenantId};
use spin_sdk::redis_component;

mod due;

/// Time one webhook ring may deliver for (attempts in flight finish first; each is bounded by
/// `webhook_timeout`).
const WEBHOOK_BUDGET_MS: i64 = 10_000;

/// The longest the worker waits for a message that is due soon (Spin hands a Redis trigger's
/// messages over one at a time, so this delays the next message by as much).
const MAX_WAIT_MS: i64 = 2_000;

/// Entries one message may drain (a doorbell's drain, an inbox sweep).
const MAX_EVENTS: u64 = 16_384;
/// Time one message may drain for, and then serve the schedule's due items for.
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
    // The schedule's alarm: its expiry says something is due (served below, as after every
    // other message); its other events say nothing.
    let alarm = AlarmEvent::parse(payload);
    if alarm == Some(AlarmEvent::Other) {
        return Ok(());
    }
    let repo = Repo::open(&Spin, &settings::redis_target(&Spin).await?).await?;
    let (handled, kinds, deadline) = match (alarm, webhook_ring(payload)) {
        (Some(_), _) => (Ok(()), &[][..], now_ms() + due::ALARM_BUDGET_MS),
        (None, Some((tenant, board))) => {
            // A tenant whose webhooks cannot go out (a bad webhook variable, Redis's answer)
            // still leaves the due items their turn, in what is left of the ring's budget:
            // what it owes stays owed.
            let deadline = now_ms() + WEBHOOK_BUDGET_MS;
            if let Err(e) = deliver_webhooks(&repo, &tenant, board, deadline).await {
                eprintln!("projector: {e:#}");
            }
            (Ok(()), &[][..], deadline)
        }
        (None, None) => {
            let drained = drain_for(&repo, payload).await;
            (drained, due::AFTER_A_DRAIN, now_ms() + BUDGET_MS)
        }
    };
    due::serve(&repo, kinds, alarm.is_some(), deadline).await;
    handled
}

/// A doorbell or an ingest message: the board's inbox drained (a message that names no board is
/// kept in the ingest dead letters).
async fn drain_for(repo: &Repo, payload: &[u8]) -> anyhow::Result<()> {
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
        return Ok(());
    };
    let limits = pipeline::Limits::read(&Spin, MAX_EVENTS, now_ms() + BUDGET_MS).await?;
    let report = pipeline::drain_and_invalidate(&Spin, repo, &tenant, &board, &limits, &now_ms)
        .await
        .with_context(|| format!("draining {tenant}/{board}"))?;
    count_applied(report.applied).await;
    if report.more {
        repo.ring(submit::DOORBELL, &format!("{tenant}/{board}"))
            .await?;
    }
    Ok(())
}

/// Counts entries applied (`lb_events_applied_total`).
async fn count_applied(applied: u64) {
    edge::metrics::add_now(
        &Spin,
        &leaderboard::http::metrics::counter_key("events_applied"),
        applied as i64,
    )
    .await;
}
