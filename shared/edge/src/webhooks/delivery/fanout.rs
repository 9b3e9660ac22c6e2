//! The fan-out: a board's events (and its period closes, its deletion, flagged submissions)
//! become messages, one per subscription that wants them, stored before anything is sent.

use leaderboard::outbound::webhook::{self, Subscription};
use leaderboard::outbound::webhook_delivery::Message;
use leaderboard::{BoardId, LeaderboardError, Result, TenantId};
use serde_json::Value;

use super::{TENANTS, new_message_id, put_new, store};
use crate::platform::Platform;
use crate::repo::{BoardAt, Repo};
use crate::webhooks;

/// The message id of a board event for a subscription: the same whenever the fan-out reads the
/// entry again (`msg_` + 24 hex digits of SHA-256 over subscription, board and entry).
pub(super) fn event_message_id(sub: &str, board: &BoardId, entry: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{sub}\n{board}\n{entry}").as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("msg_{hex}")
}

/// `started` began on `board`, so the period before it closed: stores a `period.closed` message
/// with that period's final top-N for each subscription in `wanting` that wants it and existed
/// when the period closed (none when the period has no standings, e.g. the board's first).
///
/// Two paths lead here: the `period_started` entry of the new period's first write, and a
/// fan-out that finds the clock past the period's end with no write yet (a drain call). The
/// message id is derived from the subscription, board and closed period, so whichever comes
/// second stores nothing; the board's `wh:closed` key remembers the last period done so a drain
/// reads no standings again.
pub(super) async fn period_closed(
    repo: &Repo,
    tenant: &TenantId,
    board: &leaderboard::Board,
    wanting: &[&Subscription],
    started: &leaderboard::PeriodId,
) -> Result<u64> {
    let Some(closed) = leaderboard::board::period::previous(board.period, started) else {
        return Ok(0);
    };
    let Some(at_ms) = started.start_ms() else {
        return Ok(0);
    };
    let mut made = 0;
    if let Some((subs, n)) = wanting_at(wanting, "period.closed", board, at_ms) {
        let top = crate::webhooks::top::top_of(repo, tenant, board, &closed, n).await?;
        for sub in subs.iter().filter(|_| !top.is_empty()) {
            let mine: Vec<Value> = top.iter().take(sub.top_n as usize).cloned().collect();
            let data = serde_json::json!({
                "board": board.id.as_str(),
                "next_period": started.to_string(),
            });
            let data = webhook::with_top(data, &closed, sub.top_n, mine);
            let id = event_message_id(&sub.id, &board.id, &format!("closed:{closed}"));
            store(repo, tenant, sub, id, "period.closed", data, at_ms).await?;
            made += 1;
        }
    }
    Ok(made)
}

/// The drain path of [`period_closed`]: when the board's current period (by the clock) is not
/// the one it last announced the close before, announces the period before it.
pub(super) async fn period_closed_by_clock(
    at: &BoardAt<'_>,
    wanting: &[&Subscription],
) -> Result<u64> {
    let (repo, tenant, board, keys, now_ms) = at.parts();
    if !wanting
        .iter()
        .any(|s| s.wants("period.closed", board.id.as_str()))
    {
        return Ok(0);
    }
    let current = leaderboard::board::period::period_id(board.period, now_ms)?;
    let Some(closed) = leaderboard::board::period::previous(board.period, &current) else {
        return Ok(0);
    };
    if repo.get(&keys.hooks_closed()).await?.as_deref() == Some(closed.to_string().as_str()) {
        return Ok(0);
    }
    let made = period_closed(repo, tenant, board, wanting, &current).await?;
    repo.set(&keys.hooks_closed(), &closed.to_string()).await?;
    Ok(made)
}

/// The subscriptions of `wanting` that want a `kind` message of what happened on `board` at
/// `at_ms` and existed then, and the most places any of them takes (`top_n`); `None` when none
/// does.
fn wanting_at<'a>(
    wanting: &'a [&'a Subscription],
    kind: &str,
    board: &leaderboard::Board,
    at_ms: i64,
) -> Option<(Vec<&'a Subscription>, u32)> {
    let subs: Vec<&Subscription> = wanting
        .iter()
        .copied()
        .filter(|s| s.wants(kind, board.id.as_str()) && at_ms >= s.created_ms)
        .collect();
    let n = subs.iter().map(|s| s.top_n).max()?;
    Some((subs, n))
}

/// A tournament's announcement (the log entry `entry`, `envelope`): a `kind` message
/// (`tournament.started`, `tournament.ended`) with `data` for each subscription in `wanting`
/// that wants it and existed when it happened; `tournament.ended` also carries the final top of
/// the last run (the period its last moment fell in), read now: held reviews decided since the
/// end and an `async` board's inbox drained since are in it.
async fn tournament(
    at: &BoardAt<'_>,
    wanting: &[&Subscription],
    entry: &str,
    envelope: &leaderboard::EventEnvelope,
    kind: &str,
    data: Value,
) -> Result<u64> {
    let (repo, tenant, board, _, now_ms) = at.parts();
    let Some((subs, n)) = wanting_at(wanting, kind, board, envelope.at_ms) else {
        return Ok(0);
    };
    let last_run = match &envelope.event {
        leaderboard::Event::TournamentEnded(e) => Some(leaderboard::board::period::run_ending_at(
            board.period,
            e.end_ms,
        )?),
        _ => None,
    };
    let top = match &last_run {
        Some(period) => crate::webhooks::top::top_of(repo, tenant, board, period, n).await?,
        None => Vec::new(),
    };
    // A board with rewards: where they stand, awarded now when due (`crate::competitions::rewards`). An
    // award that cannot be made (a damaged review or table) leaves them out of the message
    // rather than holding every message of the tenant behind it; only an outage is retried.
    let rewards = match (&last_run, &board.rewards) {
        (Some(_), Some(_)) => unless_lasting(
            crate::competitions::rewards::at_end(repo, tenant, &board.id, n, now_ms).await,
            &format!(
                "the rewards of {tenant}/{} left out of tournament.ended",
                board.id
            ),
        )?,
        _ => None,
    };
    let message = Logged {
        kind,
        entry,
        at_ms: envelope.at_ms,
    };
    store_each(repo, tenant, board, &subs, &message, |sub| {
        let mut data = match &last_run {
            Some(period) => webhook::with_top(
                data.clone(),
                period,
                sub.top_n,
                top.iter().take(sub.top_n as usize).cloned().collect(),
            ),
            None => data.clone(),
        };
        if let (Some(rewards), Value::Object(map)) = (&rewards, &mut data) {
            map.insert("rewards".into(), rewards_for(rewards, sub.top_n));
        }
        data
    })
    .await
}

/// A message made from a log entry (`entry`), `kind`, dated `at_ms`.
struct Logged<'a> {
    kind: &'a str,
    entry: &'a str,
    at_ms: i64,
}

/// Stores `message` for each of `subs` (about `board`), with the data `data_for` makes for
/// that subscription; how many were stored.
async fn store_each(
    repo: &Repo,
    tenant: &TenantId,
    board: &leaderboard::Board,
    subs: &[&Subscription],
    message: &Logged<'_>,
    data_for: impl Fn(&Subscription) -> Value,
) -> Result<u64> {
    let mut made = 0;
    for sub in subs {
        let id = event_message_id(&sub.id, &board.id, message.entry);
        store(
            repo,
            tenant,
            sub,
            id,
            message.kind,
            data_for(sub),
            message.at_ms,
        )
        .await?;
        made += 1;
    }
    Ok(made)
}

/// A fan-out step's result where only an outage is worth retrying: a lasting failure (a damaged
/// award or table) is logged as `what` and left out (`None`), rather than failing the fan-out
/// of every board of the tenant again on every retry.
fn unless_lasting<T>(result: Result<T>, what: &str) -> Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_outage() => Err(e),
        Err(e) => {
            eprintln!("webhooks: {what}: {e}");
            Ok(None)
        }
    }
}

/// `rewards` (what [`crate::competitions::rewards::at_end`] made for the largest `top_n`) cut to one
/// subscription's `top_n` awards.
fn rewards_for(rewards: &Value, top_n: u32) -> Value {
    let mut mine = rewards.clone();
    if let Some(Value::Array(awards)) = mine.get_mut("awards") {
        awards.truncate(top_n as usize);
    }
    mine
}

/// A league's close (the log entry `entry`, `envelope`: `league_closed`, its message `data`): a
/// `league.closed` message for each subscription in `wanting` that wants it and existed then.
async fn league_closed(
    repo: &Repo,
    tenant: &TenantId,
    board: &leaderboard::Board,
    wanting: &[&Subscription],
    entry: &str,
    envelope: &leaderboard::EventEnvelope,
    data: Value,
) -> Result<u64> {
    let Some((subs, _)) = wanting_at(wanting, "league.closed", board, envelope.at_ms) else {
        return Ok(0);
    };
    let message = Logged {
        kind: "league.closed",
        entry,
        at_ms: envelope.at_ms,
    };
    store_each(repo, tenant, board, &subs, &message, |_| data.clone()).await
}

/// A run's awards (the log entry `entry`, `envelope`: `rewards_awarded`): a `rewards.awarded`
/// message for each subscription in `wanting` that wants it and existed when they were made,
/// with the board's rewards and the first `top_n` awards (the rest are listed by `GET
/// …/rewards`).
async fn rewards_awarded(
    repo: &Repo,
    tenant: &TenantId,
    board: &leaderboard::Board,
    wanting: &[&Subscription],
    entry: &str,
    envelope: &leaderboard::EventEnvelope,
) -> Result<u64> {
    let leaderboard::Event::RewardsAwarded(awarded) = &envelope.event else {
        return Ok(0);
    };
    let Some((subs, n)) = wanting_at(wanting, "rewards.awarded", board, envelope.at_ms) else {
        return Ok(0);
    };
    // The awards as stored; none for a board of the id made since (they went with the old one).
    // Damaged awards are logged and skipped, not retried for ever; an outage is retried.
    let awarded =
        crate::competitions::rewards::as_awarded(repo, tenant, board, &awarded.period, n).await;
    let what = format!("rewards.awarded of {tenant}/{} not made", board.id);
    let Some(rewards) = unless_lasting(awarded, &what)?.flatten() else {
        return Ok(0);
    };
    let message = Logged {
        kind: "rewards.awarded",
        entry,
        at_ms: envelope.at_ms,
    };
    store_each(repo, tenant, board, &subs, &message, |sub| {
        let mut data = rewards_for(&rewards, sub.top_n);
        if let Value::Object(map) = &mut data {
            map.insert("board".into(), Value::from(board.id.as_str()));
            map.insert("top_n".into(), Value::from(sub.top_n));
        }
        data
    })
    .await
}

/// Log entries one fan-out read takes.
pub(super) const FANOUT_BATCH: i64 = 256;

/// A fan-out read but not acknowledged is taken back after this long.
pub(super) const FANOUT_RECLAIM_MS: i64 = 30_000;

/// Makes the messages of `boards`' new log entries for the tenant's subscriptions (the log is
/// the outbox: entries are acknowledged only once their messages are stored), until the clock
/// passes `deadline_ms`. Returns how many messages it stored.
pub async fn fan_out(
    platform: &dyn Platform,
    repo: &Repo,
    tenant: &TenantId,
    boards: &[BoardId],
    deadline_ms: i64,
    clock: &dyn Fn() -> i64,
) -> Result<u64> {
    let subs = webhooks::list(repo, tenant).await?;
    let debounce_ms = crate::settings::delivery(platform).await?.debounce_ms;
    let mut made = 0;
    for board_id in boards {
        let top_subs: Vec<&Subscription> = subs
            .iter()
            .filter(|s| s.wants("rank.top_changed", board_id.as_str()))
            .collect();
        let wanting: Vec<&Subscription> = subs
            .iter()
            .filter(|s| {
                webhooks::BOARD_EVENTS
                    .iter()
                    .any(|t| s.wants(t, board_id.as_str()))
            })
            .collect();
        let Some(start) = wanting.iter().map(|s| s.created_ms).min() else {
            continue;
        };
        let board = match repo.board(tenant, board_id).await {
            Ok(b) => b,
            Err(LeaderboardError::BoardNotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        let keys = crate::repo::Keys::new(tenant, board_id);
        while clock() < deadline_ms {
            let entries = repo
                .webhook_fanout_read(
                    &keys,
                    &format!("{start}-0"),
                    FANOUT_BATCH,
                    FANOUT_RECLAIM_MS,
                )
                .await?;
            if entries.is_empty() {
                break;
            }
            let fan = Fan {
                at: BoardAt::new(repo, tenant, &board, clock()),
                wanting: &wanting,
            };
            let mut scores = 0;
            for (entry, json) in &entries {
                let (messages, score) = fan.entry(entry, json).await?;
                made += messages;
                scores += u64::from(score);
            }
            if scores > 0 && !top_subs.is_empty() {
                made += fan.top_changed(&top_subs, debounce_ms).await?;
            }
            let ids: Vec<String> = entries.into_iter().map(|(id, _)| id).collect();
            repo.webhook_fanout_ack(&keys, &ids).await?;
        }
        made +=
            period_closed_by_clock(&BoardAt::new(repo, tenant, &board, clock()), &wanting).await?;
    }
    if made > 0 {
        repo.sadd(TENANTS, tenant.as_str()).await?;
    }
    Ok(made)
}

/// A batch of one board's log entries, fanned out at the batch's time (`at.now_ms`).
struct Fan<'a> {
    /// The board, at the batch's time.
    at: BoardAt<'a>,
    /// The subscriptions that want any of the board's events.
    wanting: &'a [&'a Subscription],
}

impl Fan<'_> {
    /// The messages of one log entry, stored: how many, and whether it was an applied score
    /// (which may change the top).
    async fn entry(&self, entry: &str, json: &str) -> Result<(u64, bool)> {
        let (repo, tenant, board, _, now) = self.at.parts();
        let wanting = self.wanting;
        let Ok(envelope) = leaderboard::EventEnvelope::from_json(json) else {
            return Ok((0, false));
        };
        if let leaderboard::Event::PeriodStarted(started) = &envelope.event {
            return Ok((
                period_closed(repo, tenant, board, wanting, &started.period).await?,
                false,
            ));
        }
        if let Some(data) = webhook::league_closed_data(board, &envelope) {
            let made = league_closed(repo, tenant, board, wanting, entry, &envelope, data).await?;
            return Ok((made, false));
        }
        if let leaderboard::Event::RewardsAwarded(_) = &envelope.event {
            let made = rewards_awarded(repo, tenant, board, wanting, entry, &envelope).await?;
            return Ok((made, false));
        }
        if let Some((kind, data)) = webhook::tournament_data(board, &envelope) {
            let made = tournament(&self.at, wanting, entry, &envelope, kind, data).await?;
            return Ok((made, false));
        }
        let Some(data) = webhook::score_applied_data(board, &envelope) else {
            return Ok((0, false));
        };
        let mut made = 0;
        for sub in wanting {
            if sub.wants("score.applied", board.id.as_str()) && envelope.at_ms >= sub.created_ms {
                let id = event_message_id(&sub.id, &board.id, entry);
                let at = envelope.at_ms.min(now);
                store(repo, tenant, sub, id, "score.applied", data.clone(), at).await?;
                made += 1;
            }
        }
        Ok((made, true))
    }

    /// The `rank.top_changed` messages owed after applied scores, each due when its
    /// subscription's debounce allows.
    async fn top_changed(&self, top_subs: &[&Subscription], debounce_ms: i64) -> Result<u64> {
        let (repo, tenant, board, _, now) = self.at.parts();
        crate::webhooks::top::check(&self.at, top_subs, debounce_ms, async |sub, due| {
            let mut m = Message::new(
                new_message_id()?,
                &sub.id,
                "rank.top_changed",
                String::new(),
                now,
            );
            m.board = Some(board.id.to_string());
            m.next_attempt_ms = Some(due);
            put_new(repo, tenant, &m, due).await?;
            Ok(m)
        })
        .await
    }
}
