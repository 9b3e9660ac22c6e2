//! Webhook delivery: messages are stored in Redis before anything is sent, then delivered by
//! whoever drains the tenant's due set — the worker on its `lb:webhooks` channel (rung when a
//! message is made) and `POST /api/v1/admin/drain` (hosts without a Redis trigger call it from a
//! cron; it also sends retries that came due while no message rang).
//!
//! A drain leases the messages it takes (their due time moves past the attempt's timeout), so two
//! drains never send the same attempt, and a drain that dies mid-attempt leaves them due again:
//! at-least-once, every attempt of a message with the same `webhook-id`. Each attempt is signed
//! anew (`webhook-timestamp` is the attempt's), its target checked again against the operator's
//! policy, and its outcome recorded on the message (`leaderboard::outbound::webhook_delivery`).
//!
//! Variables (all optional): `webhook_retry_schedule` (delays before each retry, default
//! `5s,5m,30m,2h,5h,10h,10h`), `webhook_timeout` (per attempt, default `15s`),
//! `webhook_disable_after` (a subscription failing this long without a success is disabled,
//! default `5d`), `webhook_debounce` (`rank.top_changed`, default `1s`), `webhook_allow_private` (see `leaderboard::outbound::webhook_target`).

use std::collections::HashMap;

use leaderboard::outbound::webhook::{self, AttemptOutcome, NextStep, Subscription};
use leaderboard::outbound::webhook_delivery::{DeliveryState, Message};
use leaderboard::outbound::webhook_target::TargetPolicy;
use leaderboard::{BoardId, LeaderboardError, Result, TenantId};
use serde::Serialize;
use serde_json::Value;

use crate::outbound::{self, Answer};
use crate::platform::Platform;
use crate::repo::Repo;
use crate::repo::webhooks::MessageKeys;
use crate::webhooks;

/// The worker's channel: a tenant has messages due (payload: `wh:<tenant>`).
pub const CHANNEL: &str = "lb:webhooks";

/// How long a message is kept (its delivery log with it).
pub const MESSAGE_TTL_SECS: i64 = 30 * 86_400;

/// Messages listed per subscription (the newest).
pub const LOG_KEPT: i64 = 1_000;

/// The tenants that have had webhook messages (a set): what `/health/detailed` sums the
/// backlog over.
pub const TENANTS: &str = "lb:wh:tenants";

/// Messages one claim takes.
const CLAIM: i64 = 16;

/// Delivery settings from the variables.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Delays before each retry (ms).
    pub schedule: Vec<u64>,
    /// Per attempt (ms).
    pub timeout_ms: u64,
    /// Failing time that disables a subscription (ms).
    pub disable_after_ms: i64,
    /// Which private addresses are open.
    pub policy: TargetPolicy,
    /// The least time between two `rank.top_changed` of one subscription and board (ms).
    pub debounce_ms: i64,
}

impl Settings {
    /// Reads the variables; a malformed one keeps its default and is logged.
    pub fn read(platform: &dyn Platform) -> Self {
        let var = |name: &str| platform.variable(name).unwrap_or_default();
        // One read of the variable (each is a host call); unset or malformed: the default.
        let raw = var("webhook_retry_schedule");
        let raw = if raw.trim().is_empty() {
            webhook::DEFAULT_SCHEDULE
        } else {
            raw.as_str()
        };
        let schedule = webhook::parse_schedule(raw).unwrap_or_else(|e| {
            eprintln!("webhooks: webhook_retry_schedule ignored: {e}");
            webhook::parse_schedule(webhook::DEFAULT_SCHEDULE).unwrap_or_default()
        });
        let duration = |name: &str, default: u64| match var(name).trim() {
            "" => default,
            raw => webhook::parse_duration_ms(raw).unwrap_or_else(|e| {
                eprintln!("webhooks: {name} ignored: {e}");
                default
            }),
        };
        Self {
            schedule,
            timeout_ms: duration("webhook_timeout", webhook::DEFAULT_TIMEOUT_MS).clamp(100, 60_000),
            disable_after_ms: i64::try_from(duration(
                "webhook_disable_after",
                webhook::DEFAULT_DISABLE_AFTER_MS as u64,
            ))
            .unwrap_or(i64::MAX),
            policy: webhooks::target_policy(platform),
            debounce_ms: i64::try_from(duration("webhook_debounce", 1_000)).unwrap_or(1_000),
        }
    }
}

/// A new message id: `msg_` + 24 random hex digits (unique; receivers deduplicate on it).
pub fn new_message_id() -> Result<String> {
    Ok(format!("msg_{}", crate::apikeys::unique_hex(24)?))
}

fn encode(m: &Message) -> Result<String> {
    serde_json::to_string(m).map_err(|e| LeaderboardError::Internal(e.to_string()))
}

fn decode(raw: &str) -> Result<Message> {
    serde_json::from_slice(raw.as_bytes())
        .map_err(|e| LeaderboardError::CorruptData(format!("stored webhook message: {e}")))
}

/// Makes a message of `event_type` with `data` for one subscription, due now, and rings the
/// worker. The message is stored before this returns.
pub fn enqueue(
    repo: &Repo,
    tenant: &TenantId,
    sub: &Subscription,
    event_type: &str,
    data: Value,
    now_ms: i64,
) -> Result<Message> {
    let message = store(
        repo,
        tenant,
        sub,
        new_message_id()?,
        event_type,
        data,
        now_ms,
    )?;
    ring(repo, tenant);
    Ok(message)
}

/// Stores a message with the given id, due now, unless one with that id exists (what makes a
/// repeated fan-out harmless).
fn store(
    repo: &Repo,
    tenant: &TenantId,
    sub: &Subscription,
    id: String,
    event_type: &str,
    data: Value,
    now_ms: i64,
) -> Result<Message> {
    let body = webhook::payload(event_type, now_ms, data);
    let message = Message::new(id, &sub.id, event_type, body, now_ms);
    put_new(repo, tenant, &message, now_ms)?;
    Ok(message)
}

/// Stores a new message, due at `due_ms`.
fn put_new(repo: &Repo, tenant: &TenantId, message: &Message, due_ms: i64) -> Result<()> {
    let keys = MessageKeys::new(tenant.as_str());
    repo.webhook_enqueue(
        &keys,
        &message.subscription,
        &message.id,
        &encode(message)?,
        due_ms,
        message.created_ms,
        MESSAGE_TTL_SECS,
        LOG_KEPT,
    )?;
    Ok(())
}

/// The message id of a board event for a subscription: the same whenever the fan-out reads the
/// entry again (`msg_` + 24 hex digits of SHA-256 over subscription, board and entry).
fn event_message_id(sub: &str, board: &BoardId, entry: &str) -> String {
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
fn period_closed(
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
    let subs: Vec<&&Subscription> = wanting
        .iter()
        .filter(|s| s.wants("period.closed", board.id.as_str()) && at_ms >= s.created_ms)
        .collect();
    let mut made = 0;
    if let Some(n) = subs.iter().map(|s| s.top_n).max() {
        let top = crate::webhook_top::top_of(repo, tenant, board, &closed, n)?;
        for sub in subs.iter().filter(|_| !top.is_empty()) {
            let mine: Vec<Value> = top.iter().take(sub.top_n as usize).cloned().collect();
            let data = serde_json::json!({
                "board": board.id.as_str(),
                "period": closed.to_string(),
                "next_period": started.to_string(),
                "top_n": sub.top_n,
                "top": mine,
            });
            let id = event_message_id(&sub.id, &board.id, &format!("closed:{closed}"));
            store(repo, tenant, sub, id, "period.closed", data, at_ms)?;
            made += 1;
        }
    }
    Ok(made)
}

/// The drain path of [`period_closed`]: when the board's current period (by the clock) is not
/// the one it last announced the close before, announces the period before it.
fn period_closed_by_clock(
    repo: &Repo,
    tenant: &TenantId,
    board: &leaderboard::Board,
    wanting: &[&Subscription],
    now_ms: i64,
) -> Result<u64> {
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
    let keys = crate::repo::Keys::new(tenant, &board.id);
    if repo.get(&keys.hooks_closed())?.as_deref() == Some(closed.to_string().as_str()) {
        return Ok(0);
    }
    let made = period_closed(repo, tenant, board, wanting, &current)?;
    repo.set(&keys.hooks_closed(), &closed.to_string())?;
    Ok(made)
}

/// Log entries one fan-out read takes.
const FANOUT_BATCH: i64 = 256;

/// A fan-out read but not acknowledged is taken back after this long.
const FANOUT_RECLAIM_MS: i64 = 30_000;

/// Makes the messages of `boards`' new log entries for the tenant's subscriptions (the log is
/// the outbox: entries are acknowledged only once their messages are stored), until the clock
/// passes `deadline_ms`. Returns how many messages it stored.
pub fn fan_out(
    platform: &dyn Platform,
    repo: &Repo,
    tenant: &TenantId,
    boards: &[BoardId],
    deadline_ms: i64,
    clock: &dyn Fn() -> i64,
) -> Result<u64> {
    let subs = webhooks::list(repo, tenant)?;
    let debounce_ms = Settings::read(platform).debounce_ms;
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
        let board = match repo.board(tenant, board_id) {
            Ok(b) => b,
            Err(LeaderboardError::BoardNotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        let keys = crate::repo::Keys::new(tenant, board_id);
        while clock() < deadline_ms {
            let entries = repo.webhook_fanout_read(
                &keys,
                &format!("{start}-0"),
                FANOUT_BATCH,
                FANOUT_RECLAIM_MS,
            )?;
            if entries.is_empty() {
                break;
            }
            let now = clock();
            let mut scores = 0;
            for (entry, json) in &entries {
                let Ok(envelope) = leaderboard::EventEnvelope::from_json(json) else {
                    continue;
                };
                if let leaderboard::Event::PeriodStarted(started) = &envelope.event {
                    made += period_closed(repo, tenant, &board, &wanting, &started.period)?;
                    continue;
                }
                let Some(data) = webhook::score_applied_data(&board, &envelope) else {
                    continue;
                };
                scores += 1;
                for sub in &wanting {
                    if sub.wants("score.applied", board_id.as_str())
                        && envelope.at_ms >= sub.created_ms
                    {
                        let id = event_message_id(&sub.id, board_id, entry);
                        store(
                            repo,
                            tenant,
                            sub,
                            id,
                            "score.applied",
                            data.clone(),
                            envelope.at_ms.min(now),
                        )?;
                        made += 1;
                    }
                }
            }
            if scores > 0 && !top_subs.is_empty() {
                made += crate::webhook_top::check(
                    repo,
                    tenant,
                    &board,
                    &top_subs,
                    debounce_ms,
                    now,
                    &|sub, due| {
                        let mut m = Message::new(
                            new_message_id()?,
                            &sub.id,
                            "rank.top_changed",
                            String::new(),
                            now,
                        );
                        m.board = Some(board_id.to_string());
                        m.next_attempt_ms = Some(due);
                        put_new(repo, tenant, &m, due)?;
                        Ok(m)
                    },
                )?;
            }
            let ids: Vec<String> = entries.into_iter().map(|(id, _)| id).collect();
            repo.webhook_fanout_ack(&keys, &ids)?;
        }
        made += period_closed_by_clock(repo, tenant, &board, &wanting, clock())?;
    }
    if made > 0 {
        repo.sadd(TENANTS, tenant.as_str())?;
    }
    Ok(made)
}

/// Makes the `board.deleted` messages of a deleted board (stored before the deletion is
/// answered) and rings the worker.
pub fn board_deleted(repo: &Repo, tenant: &TenantId, board: &BoardId, now_ms: i64) -> Result<()> {
    let mut any = false;
    for sub in webhooks::list(repo, tenant)? {
        if sub.wants("board.deleted", board.as_str()) {
            let data = serde_json::json!({"board": board.as_str()});
            store(
                repo,
                tenant,
                &sub,
                new_message_id()?,
                "board.deleted",
                data,
                now_ms,
            )?;
            any = true;
        }
    }
    if any {
        repo.sadd(TENANTS, tenant.as_str())?;
        ring(repo, tenant);
    }
    Ok(())
}

/// Makes the `score.flagged` messages of held and flagged submissions (`reviews`) for the
/// subscriptions that want them on `board`, and rings the worker. A message's id derives from
/// the subscription and the review, so announcing a review again stores nothing.
pub fn score_flagged(
    repo: &Repo,
    tenant: &TenantId,
    board: &leaderboard::Board,
    reviews: &[leaderboard::integrity::review::Review],
    now_ms: i64,
) -> Result<()> {
    let subs: Vec<Subscription> = webhooks::list(repo, tenant)?
        .into_iter()
        .filter(|s| s.wants("score.flagged", board.id.as_str()))
        .collect();
    if subs.is_empty() {
        return Ok(());
    }
    for review in reviews {
        let mut data = review.view(board);
        if let Value::Object(map) = &mut data {
            map.insert("board".into(), Value::from(board.id.as_str()));
            map.insert("review".into(), Value::from(review.id.as_str()));
            map.remove("id");
        }
        for sub in &subs {
            let id = event_message_id(&sub.id, &board.id, &format!("flagged:{}", review.id));
            store(repo, tenant, sub, id, "score.flagged", data.clone(), now_ms)?;
        }
    }
    repo.sadd(TENANTS, tenant.as_str())?;
    ring(repo, tenant);
    Ok(())
}

/// Tells the worker the tenant has messages due (at most once: a missed ring waits for the next
/// one or a drain call).
pub fn ring(repo: &Repo, tenant: &TenantId) {
    if let Err(e) = repo.publish(CHANNEL, &format!("wh:{tenant}")) {
        eprintln!("webhooks: ringing the worker for {tenant}: {e}");
    }
}

/// One message of a subscription; `404` when there is none by that id.
pub fn message(repo: &Repo, tenant: &TenantId, sub: &str, id: &str) -> Result<Message> {
    let keys = MessageKeys::new(tenant.as_str());
    repo.webhook_messages(&keys, &[id.to_string()])?
        .into_iter()
        .flatten()
        .next()
        .map(|raw| decode(&raw))
        .transpose()?
        .filter(|m| m.subscription == sub)
        .ok_or_else(|| {
            LeaderboardError::NotFound(format!("no message '{id}' for subscription '{sub}'"))
        })
}

/// A subscription's newest messages (at most `limit`, newest first), optionally only those in
/// `state`.
pub fn deliveries(
    repo: &Repo,
    tenant: &TenantId,
    sub: &str,
    state: Option<DeliveryState>,
    limit: usize,
) -> Result<Vec<Message>> {
    let keys = MessageKeys::new(tenant.as_str());
    let ids = repo.webhook_log(&keys, sub, LOG_KEPT)?;
    let mut out = Vec::new();
    for chunk in ids.chunks(100) {
        for raw in repo.webhook_messages(&keys, chunk)?.into_iter().flatten() {
            let m = decode(&raw)?;
            if state.is_none_or(|s| s == m.state) {
                out.push(m);
                if out.len() == limit {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

/// Makes a failed message pending again, due now, and rings the worker.
pub fn redrive(
    repo: &Repo,
    tenant: &TenantId,
    sub: &str,
    id: &str,
    now_ms: i64,
) -> Result<Message> {
    let mut m = message(repo, tenant, sub, id)?;
    m.redrive(now_ms)?;
    let keys = MessageKeys::new(tenant.as_str());
    repo.webhook_record(&keys, &m.id, &encode(&m)?, Some(now_ms), MESSAGE_TTL_SECS)?;
    ring(repo, tenant);
    Ok(m)
}

/// What one drain of a tenant's messages did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Attempts answered 2xx.
    pub delivered: u64,
    /// Attempts that failed with a retry left.
    pub retrying: u64,
    /// Messages that failed for good (dead-lettered) in this drain.
    pub failed: u64,
    /// Messages still waiting afterwards.
    pub backlog: u64,
    /// Attempts that failed and left no retry (part of `failed`).
    #[serde(skip)]
    pub attempts_failed_for_good: u64,
    /// Time spent in attempts (ms).
    #[serde(skip)]
    pub attempt_ms: u64,
    /// The earliest time one of them is due (Unix ms).
    #[serde(skip)]
    pub next_due_ms: Option<i64>,
}

fn jitter() -> f64 {
    let r = crate::scope::random_u64();
    (r % 1_000_000) as f64 / 1_000_000.0
}

/// Delivers the tenant's due messages until none is due or the clock passes `deadline_ms`.
///
/// Each claim takes up to [`CLAIM`] messages and sends them at once ([`outbound::post_all`]), so
/// a receiver that is slow or down costs a claim one timeout, not one per message.
pub fn deliver_due(
    platform: &dyn Platform,
    repo: &Repo,
    tenant: &TenantId,
    deadline_ms: i64,
    clock: &dyn Fn() -> i64,
) -> Result<Report> {
    let settings = Settings::read(platform);
    let keys = MessageKeys::new(tenant.as_str());
    let mut report = Report::default();
    let mut subs: HashMap<String, Option<Subscription>> = HashMap::new();
    while clock() < deadline_ms {
        let now = clock();
        let lease = now + i64::try_from(settings.timeout_ms).unwrap_or(i64::MAX) + 30_000;
        let ids = repo.webhook_claim(&keys, now, lease, CLAIM)?;
        if ids.is_empty() {
            break;
        }
        let raws = repo.webhook_messages(&keys, &ids)?;
        let mut batch: Vec<(Message, Subscription)> = Vec::with_capacity(ids.len());
        for (id, raw) in ids.iter().zip(raws) {
            match ready_to_send(repo, tenant, &keys, &mut subs, id, raw, clock)? {
                Claimed::Send(ready) => batch.push(*ready),
                Claimed::Failed => report.failed += 1,
                Claimed::Settled => {}
            }
        }
        if batch.is_empty() {
            continue;
        }
        let started = clock();
        let timestamp = started.div_euclid(1_000);
        let mut posts = Vec::with_capacity(batch.len());
        let mut refused: Vec<Option<AttemptOutcome>> = Vec::with_capacity(batch.len());
        for (m, sub) in &batch {
            match signed(&settings, sub, m, timestamp, started) {
                Ok(post) => {
                    posts.push(post);
                    refused.push(None);
                }
                Err(outcome) => refused.push(Some(outcome)),
            }
        }
        let mut sent = outbound::post_all(&posts, settings.timeout_ms).into_iter();
        for ((mut m, sub), refused) in batch.into_iter().zip(refused) {
            let (outcome, latency) = match refused {
                Some(outcome) => (outcome, 0),
                None => {
                    let s = sent.next().unwrap_or(outbound::Sent {
                        answer: outbound::Answer::Failed("not sent".into()),
                        elapsed_ms: 0,
                    });
                    (outcome_of(s.answer), s.elapsed_ms)
                }
            };
            report.attempt_ms += latency;
            let step = m.record(&outcome, started, latency, &settings.schedule, jitter());
            let disable = match &step {
                NextStep::Delivered => {
                    report.delivered += 1;
                    repo.webhook_recovered(&keys, &sub.id)?;
                    None
                }
                NextStep::Retry { .. } | NextStep::DeadLetter => {
                    if matches!(step, NextStep::Retry { .. }) {
                        report.retrying += 1;
                    } else {
                        report.failed += 1;
                        report.attempts_failed_for_good += 1;
                    }
                    let since = repo.webhook_failing(&keys, &sub.id, started)?;
                    webhook::failing_too_long(Some(since), clock(), settings.disable_after_ms)
                        .then(|| {
                            format!(
                                "deliveries failed without a success since {} (webhook_disable_after)",
                                chrono::DateTime::from_timestamp_millis(since)
                                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                                    .unwrap_or_default()
                            )
                        })
                }
                NextStep::Disable => {
                    report.failed += 1;
                    report.attempts_failed_for_good += 1;
                    Some("the receiver answered 410 Gone".to_string())
                }
            };
            repo.webhook_record(
                &keys,
                &m.id,
                &encode(&m)?,
                m.next_attempt_ms,
                MESSAGE_TTL_SECS,
            )?;
            let still_enabled = subs
                .get(&sub.id)
                .and_then(Option::as_ref)
                .is_some_and(|s| s.enabled);
            if let Some(reason) = disable.filter(|_| still_enabled) {
                // Re-read: an admin may have changed it meanwhile.
                let mut fresh = webhooks::get(repo, tenant, &sub.id)?;
                fresh.disable(&reason, clock());
                webhooks::put(repo, &fresh)?;
                webhooks::refresh_all(repo, tenant)?;
                repo.webhook_recovered(&keys, &sub.id)?;
                subs.insert(sub.id.clone(), Some(fresh));
                eprintln!(
                    "webhooks: subscription {} of {tenant} disabled: {reason}",
                    sub.id
                );
            }
        }
    }
    report.backlog = repo.webhook_backlog(&keys)?;
    report.next_due_ms = repo.webhook_next_due(&keys)?;
    let counter = leaderboard::http::metrics::counter_key;
    for (name, n) in [
        ("webhook_delivered", report.delivered),
        (
            "webhook_failed_attempts",
            report.retrying + report.attempts_failed_for_good,
        ),
        ("webhook_dead_lettered", report.failed),
        ("webhook_attempt_ms", report.attempt_ms),
    ] {
        crate::metrics::add_now(
            platform,
            &counter(name),
            i64::try_from(n).unwrap_or(i64::MAX),
        );
    }
    Ok(report)
}

/// What becomes of a claimed message.
enum Claimed {
    /// It is sent now.
    Send(Box<(Message, Subscription)>),
    /// It failed for good without an attempt.
    Failed,
    /// Nothing to send (expired, or no longer pending).
    Settled,
}

/// A claimed message and its subscription when it is to be sent now. Otherwise settles it: an
/// expired message is forgotten, one no longer pending is put back in its place, one whose
/// subscription is gone or disabled fails (it can be redriven once the subscription is enabled
/// again).
fn ready_to_send(
    repo: &Repo,
    tenant: &TenantId,
    keys: &MessageKeys,
    subs: &mut HashMap<String, Option<Subscription>>,
    id: &str,
    raw: Option<String>,
    clock: &dyn Fn() -> i64,
) -> Result<Claimed> {
    let Some(raw) = raw else {
        // Expired: nothing to send.
        repo.webhook_forget(keys, id)?;
        return Ok(Claimed::Settled);
    };
    let mut m = decode(&raw)?;
    if m.state != DeliveryState::Pending {
        repo.webhook_record(keys, id, &raw, None, MESSAGE_TTL_SECS)?;
        return Ok(Claimed::Settled);
    }
    if !subs.contains_key(&m.subscription) {
        let sub = match webhooks::get(repo, tenant, &m.subscription) {
            Ok(s) => Some(s),
            Err(LeaderboardError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        subs.insert(m.subscription.clone(), sub);
    }
    let sub = subs.get(&m.subscription).cloned().flatten();
    let failure = match &sub {
        None => Some("the subscription was deleted".to_string()),
        Some(s) if !s.enabled => Some(format!(
            "the subscription is disabled{}",
            s.disabled_reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )),
        Some(s) if m.body.is_empty() => {
            crate::webhook_top::freeze(repo, tenant, s, &mut m, clock())
                .err()
                .map(|e| format!("its content could not be made: {e}"))
        }
        Some(_) => None,
    };
    match (failure, sub) {
        (None, Some(sub)) => Ok(Claimed::Send(Box::new((m, sub)))),
        (failure, _) => {
            if m.body.is_empty() {
                crate::webhook_top::abandon(repo, tenant, &m.subscription, &m)?;
            }
            m.fail(&failure.unwrap_or_default());
            repo.webhook_record(keys, id, &encode(&m)?, None, MESSAGE_TTL_SECS)?;
            Ok(Claimed::Failed)
        }
    }
}

/// One attempt's request, signed for `timestamp` (seconds); the outcome instead when the
/// operator's policy refuses the target now or signing fails.
fn signed<'a>(
    settings: &Settings,
    sub: &'a Subscription,
    m: &'a Message,
    timestamp: i64,
    now_ms: i64,
) -> std::result::Result<outbound::Post<'a>, AttemptOutcome> {
    settings
        .policy
        .check(&sub.url)
        .map_err(|e| AttemptOutcome::Failed(format!("target refused: {e}")))?;
    let signature = webhooks::signature_header(sub, &m.id, timestamp, m.body.as_bytes(), now_ms)
        .map_err(|e| AttemptOutcome::Failed(format!("signing: {e}")))?;
    Ok(outbound::Post {
        url: &sub.url,
        headers: vec![
            ("content-type", "application/json".to_string()),
            ("user-agent", "edge-leaderboards-webhooks/1".to_string()),
            ("webhook-id", m.id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ],
        body: m.body.as_bytes(),
    })
}

fn outcome_of(answer: Answer) -> AttemptOutcome {
    match answer {
        Answer::Status(code, retry_after_secs) => AttemptOutcome::Status {
            code,
            retry_after_secs,
        },
        Answer::Timeout => AttemptOutcome::Timeout,
        Answer::Failed(e) => AttemptOutcome::Failed(e),
    }
}

/// Messages waiting over every tenant that has had some (the first 1,000 such tenants), and how
/// many tenants have any.
pub fn backlog(repo: &Repo) -> Result<(u64, u64)> {
    let mut total = 0;
    let mut tenants = 0;
    for tenant in repo.smembers(TENANTS)?.iter().take(1_000) {
        let n = repo.webhook_backlog(&MessageKeys::new(tenant))?;
        total += n;
        tenants += u64::from(n > 0);
    }
    Ok((total, tenants))
}
