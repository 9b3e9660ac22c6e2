//! `functions/projector`: the Redis-triggered score handler for `async` boards.
//!
//! A doorbell (`lb:doorbell`, payload `tenant/board`) says a board's inbox stream has work. The
//! projector reads it through the `projector` consumer group — first its own unacknowledged
//! entries (a previous run that died), then new ones — applies each `score_submitted` event with
//! the same compare-and-set write as synchronous submissions (achievement time = acceptance
//! time), at most once per event (the write and the event's applied-marker are one script), then
//! acknowledges. Pub/sub is at-most-once, but the stream is durable: a lost doorbell only delays
//! projection until the next one, and nothing accepted is lost when the projector or Redis
//! restarts (with Redis persistence on).
//!
//! A submission that can no longer be applied (e.g. an `incr` that would now exceed the board
//! maximum) is logged and acknowledged: retrying cannot succeed. Redis being unavailable fails the
//! message, leaving the entries pending for the next doorbell.

use anyhow::Context;
use edge::cache::EdgeCache;
use edge::platform::Spin;
use edge::repo::{Keys, Repo};
use edge::{settings, submit};
use leaderboard::{BoardId, Event, EventEnvelope, LeaderboardError, Submission, TenantId};
use spin_sdk::redis_component;

/// Entries per read.
const BATCH: u32 = 64;
/// Batches per doorbell, so one message cannot run past the host's deadline.
const MAX_BATCHES: usize = 64;

#[redis_component]
fn on_message(payload: Vec<u8>) -> anyhow::Result<()> {
    let text = String::from_utf8(payload).context("doorbell payload is not UTF-8")?;
    let (tenant, board) = text
        .split_once('/')
        .with_context(|| format!("doorbell payload '{text}' is not tenant/board"))?;
    let tenant = TenantId::new(tenant)?;
    let board_id = BoardId::new(board)?;
    let repo = Repo::open(&Spin, &settings::redis_url(&Spin)?)?;
    let board = match repo.board(&tenant, &board_id) {
        Ok(b) => b,
        Err(LeaderboardError::BoardNotFound(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let keys = Keys::new(&tenant, &board_id);
    let mut applied_any = false;
    for _ in 0..MAX_BATCHES {
        let batch = repo.inbox_batch(&keys, submit::GROUP, "projector", BATCH)?;
        if batch.is_empty() {
            break;
        }
        let mut done = Vec::with_capacity(batch.len());
        for (id, json) in batch {
            match project(&repo, &tenant, &board, &id, &json) {
                Ok(applied) => applied_any |= applied,
                Err(e @ LeaderboardError::Unavailable(_)) => {
                    repo.inbox_ack(&keys, submit::GROUP, &done)?;
                    return Err(e.into());
                }
                Err(e) => {
                    eprintln!("projector: dropping inbox entry {id} of {tenant}/{board_id}: {e}")
                }
            }
            done.push(id);
        }
        repo.inbox_ack(&keys, submit::GROUP, &done)?;
    }
    if applied_any {
        EdgeCache::open(&Spin).invalidate(tenant.as_str(), board_id.as_str(), false);
    }
    Ok(())
}

/// Applies one inbox entry; whether it changed anything (false for a duplicate).
fn project(
    repo: &Repo,
    tenant: &TenantId,
    board: &leaderboard::Board,
    stream_id: &str,
    json: &str,
) -> Result<bool, LeaderboardError> {
    let envelope = EventEnvelope::from_json(json)?;
    let Event::ScoreSubmitted(s) = envelope.event else {
        return Err(LeaderboardError::InvalidEvent(format!(
            "inbox entry is a '{}' event, expected score_submitted",
            envelope.event.type_name()
        )));
    };
    let submission = Submission {
        score: s.score,
        subscore: s.subscore,
        metadata: s.metadata,
    };
    let outcome = submit::apply(
        repo,
        tenant,
        board,
        &s.player,
        &submission,
        envelope.at_ms,
        Some(stream_id),
        None,
        None,
    )?;
    Ok(outcome.is_some())
}
