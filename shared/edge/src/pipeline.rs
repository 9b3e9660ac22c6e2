//! The drain: applies a board's inbox, batch by batch, exactly once.
//!
//! Each batch takes three round trips whatever its size: the consumer group hands out up to
//! [`BATCH`] entries (reclaiming entries a dead drain left pending longer than the reclaim time,
//! `XAUTOCLAIM`), one script reads the records and idempotency keys they need, the pure core plans
//! and decides every entry in order (`leaderboard::events::inbox`), and one script applies the decided
//! batch — records, sorted sets, `score_applied` events, dead letters, acknowledgement and deletion
//! of the entries — only if nothing it was decided on changed meanwhile (else it decides again).
//! Applying and acknowledging are one atomic step, so an entry is applied at most once whoever
//! drains it, and at least once because it stays pending until then.
//!
//! The same drain runs from the Redis trigger (`functions/projector`, on every doorbell) and from
//! `POST /api/v1/admin/drain` (`functions/pipeline`) on hosts without one. Each drain ends with the
//! board's log maintenance: a snapshot when `log.snapshot_every` events were added since the last,
//! and the trim of the log behind the oldest snapshot kept (`leaderboard::events::log`). Synchronous
//! boards ring the doorbell every [`MAINTENANCE_EVERY`] writes for it.

/// Synchronous writes between two doorbells rung for log maintenance.
pub const MAINTENANCE_EVERY: i64 = 1024;

use std::collections::{HashMap, HashSet};

use leaderboard::events::inbox::{self, Planned, RawEntry, Verdict};
use leaderboard::{
    Board, BoardId, EventEnvelope, LeaderboardError, PeriodId, PlayerId, Record, Result, TenantId,
};
use serde::Serialize;

use crate::cache::EdgeCache;
use crate::platform::Platform;
use crate::repo::pipeline::{Batch, BatchResult, DeadLetter, Lookup, Put};
use crate::repo::{Keys, Repo};

/// Entries per batch.
pub const BATCH: usize = 256;

/// Consumer name of every drain in the group (entries in flight are told apart by idle time).
const CONSUMER: &str = "drain";

/// Decisions of one batch attempted before giving up (each retry means a concurrent write changed
/// a record the batch was decided on).
const MAX_ATTEMPTS: usize = 50;

/// Reclaim time when the `inbox_reclaim_after_ms` variable is not set.
pub const DEFAULT_RECLAIM_AFTER_MS: u64 = 30_000;

/// Bounds of one drain call.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Stop after this many entries.
    pub max_events: u64,
    /// Stop once the clock passes this (Unix ms).
    pub deadline_ms: i64,
    /// Entries pending longer than this are reclaimed from the drain that took them.
    pub reclaim_after_ms: u64,
}

/// What a drain of one board did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The board.
    pub board: String,
    /// Entries applied.
    pub applied: u64,
    /// Entries acknowledged without effect (an ingest `idempotency_key` seen before).
    pub duplicates: u64,
    /// Entries moved to the dead letters.
    pub dead_lettered: u64,
    /// Entries an integrity rule held for review (not applied until approved).
    #[serde(skip_serializing_if = "is_zero")]
    pub held: u64,
    /// Entries still in the inbox afterwards (new, or being applied by another drain).
    pub pending: u64,
    /// Whether the drain stopped at its limits with entries left: call again.
    pub more: bool,
    /// A snapshot taken after the drain (its id), when one was due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// Log entries trimmed behind the oldest snapshot kept.
    #[serde(skip_serializing_if = "is_zero")]
    pub trimmed: u64,
    /// The board's version after the last write (the edge cache needs invalidating).
    #[serde(skip)]
    pub version: Option<i64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One board's drain as the worker runs it on a doorbell and the HTTP drain runs it per board:
/// [`drain`] within `max_events` and `deadline_ms` (the `inbox_reclaim_after_ms` variable says
/// when another drain's unfinished claim is taken over), then, when the board changed, its
/// cached reads dropped in every region.
pub fn drain_and_invalidate(
    platform: &dyn Platform,
    repo: &Repo,
    tenant: &TenantId,
    board: &BoardId,
    max_events: u64,
    deadline_ms: i64,
    clock: &dyn Fn() -> i64,
) -> Result<Report> {
    let limits = Limits {
        max_events,
        deadline_ms,
        reclaim_after_ms: platform
            .variable("inbox_reclaim_after_ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_RECLAIM_AFTER_MS),
    };
    let report = drain(repo, tenant, board, &limits, clock)?;
    if report.version.is_some() {
        EdgeCache::open(platform).invalidate_everywhere(
            repo,
            tenant.as_str(),
            board.as_str(),
            false,
        );
    }
    Ok(report)
}

/// Drains `board_id`'s inbox within `limits`. A board that does not exist has its entries moved
/// to its dead letters (a redrive after creating it applies them).
pub fn drain(
    repo: &Repo,
    tenant: &TenantId,
    board_id: &BoardId,
    limits: &Limits,
    clock: &dyn Fn() -> i64,
) -> Result<Report> {
    let keys = Keys::new(tenant, board_id);
    let mut board = match repo.board(tenant, board_id) {
        Ok(b) => Some(b),
        Err(LeaderboardError::BoardNotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let mut report = Report {
        board: board_id.to_string(),
        ..Report::default()
    };
    let mut done = 0u64;
    let mut stopped_early = false;
    loop {
        if done >= limits.max_events || clock() >= limits.deadline_ms {
            stopped_early = true;
            break;
        }
        let want = usize::try_from(limits.max_events - done)
            .unwrap_or(BATCH)
            .min(BATCH);
        let mut entries = repo.inbox_claim(&keys, CONSUMER, want, limits.reclaim_after_ms)?;
        if entries.is_empty() {
            break;
        }
        done += entries.len() as u64;
        let mut attempts = 0;
        // A burst's earlier members flagged by any attempt (each stored once).
        let mut retro_flagged = 0;
        while !entries.is_empty() {
            attempts += 1;
            if attempts > MAX_ATTEMPTS {
                // Left pending: reclaimed after the reclaim time, by this drain or another.
                return Err(LeaderboardError::Conflict(format!(
                    "the records of {tenant}/{board_id} kept changing while a batch was applied"
                )));
            }
            let now = clock();
            let (batch, tally) =
                decide(repo, tenant, board_id, board.as_ref(), &keys, &entries, now)?;
            retro_flagged += tally.retro_flagged;
            match repo.apply_batch(&keys, now, &batch)? {
                BatchResult::Applied { version, .. } => {
                    if let Some(b) = board.as_ref() {
                        announce_reviews(
                            repo,
                            tenant,
                            b,
                            &keys,
                            &tally.announce,
                            retro_flagged,
                            now,
                        );
                    }
                    report.applied += tally.applied;
                    report.duplicates += tally.duplicates;
                    report.dead_lettered += tally.dead;
                    report.held += tally.held;
                    report.version = version.or(report.version);
                    break;
                }
                BatchResult::Changed => {}
                BatchResult::Gone(ids) => entries.retain(|e| !ids.contains(&e.id)),
                BatchResult::BoardGone => board = None,
            }
        }
    }
    report.pending = repo.inbox_len(&keys)?;
    report.more = stopped_early && report.pending > 0;
    // The log is the webhook outbox: ring the deliverer when a subscription wants the board.
    if report.applied > 0 {
        repo.webhook_ring_board(&keys)?;
    }
    // Log maintenance rides on the drain: a snapshot when one is due, and the trim behind it.
    if let Some(board) = &board
        && let Some(s) = repo.snapshot(&keys, &board.log, false)?
    {
        report.snapshot = Some(s.id);
        report.trimmed = s.trimmed;
    }
    Ok(report)
}

/// After a batch with integrity verdicts is written: counts a burst's earlier members flagged
/// meanwhile and announces the held and flagged submissions to `score.flagged` subscribers (a
/// failure is logged: the reviews stay listed).
fn announce_reviews(
    repo: &Repo,
    tenant: &TenantId,
    board: &Board,
    keys: &Keys,
    reviews: &[leaderboard::integrity::review::Review],
    retro_flagged: u64,
    now_ms: i64,
) {
    if board.stats && retro_flagged > 0 {
        let minute = leaderboard::integrity::stats::minute(now_ms);
        let flagged = leaderboard::integrity::stats::Counter::Flagged;
        if let Err(e) = repo.note_stats(keys, minute, flagged, retro_flagged, "") {
            eprintln!("drain: could not count flagged submissions: {e}");
        }
    }
    if !reviews.is_empty()
        && let Err(e) = crate::webhook_delivery::score_flagged(repo, tenant, board, reviews, now_ms)
    {
        eprintln!("drain: could not announce flagged submissions: {e}");
    }
}

#[derive(Default)]
struct Tally {
    applied: u64,
    duplicates: u64,
    dead: u64,
    held: u64,
    /// Held and flagged submissions, a burst's earlier members included: announced to
    /// `score.flagged` subscribers once the batch is written.
    announce: Vec<leaderboard::integrity::review::Review>,
    /// A burst's earlier members flagged by this decision (newly stored reviews).
    retro_flagged: u64,
}

/// Looks up what the entries need, lets the core decide them, and builds the batch write.
fn decide(
    repo: &Repo,
    tenant: &TenantId,
    board_id: &BoardId,
    board: Option<&Board>,
    keys: &Keys,
    entries: &[RawEntry],
    now_ms: i64,
) -> Result<(Batch, Tally)> {
    let plans: Vec<Result<Planned>> = entries
        .iter()
        .map(|e| match board {
            Some(b) => inbox::plan(tenant, b, e, now_ms),
            None => Err(LeaderboardError::BoardNotFound(format!(
                "board '{board_id}' does not exist in tenant '{tenant}'"
            ))),
        })
        .collect();

    // What the decisions depend on: each (period, player)'s record and each ingest key.
    let mut lookups: Vec<Lookup> = Vec::new();
    let mut slots: Vec<(PeriodId, PlayerId)> = Vec::new();
    let mut dedupe_keys: Vec<String> = Vec::new();
    for p in plans.iter().flatten() {
        let slot = (p.period, p.player.clone());
        if !slots.contains(&slot) {
            lookups.push(Lookup {
                key: keys.records(&p.period),
                field: p.player.to_string(),
            });
            slots.push(slot);
        }
        if let Some(k) = &p.dedupe_key
            && !dedupe_keys.contains(k)
        {
            dedupe_keys.push(k.clone());
        }
    }
    lookups.extend(dedupe_keys.iter().map(|k| Lookup {
        key: keys.ingest_dedupe(k),
        field: String::new(),
    }));
    // With integrity rules, each player's state too (checked like the records: a concurrent
    // write of it makes the batch decide again).
    let judging = board.filter(|b| !b.integrity.is_empty());
    if judging.is_some() {
        lookups.extend(slots.iter().map(|(period, player)| Lookup {
            key: keys.integrity(period),
            field: player.to_string(),
        }));
    }
    let values = repo.lookup(&lookups)?;
    let mut records: HashMap<(PeriodId, PlayerId), Option<Record>> = HashMap::new();
    for (slot, raw) in slots.iter().zip(&values) {
        records.insert(slot.clone(), crate::repo::parse_record(raw)?);
    }
    let seen: HashSet<String> = dedupe_keys
        .iter()
        .zip(&values[slots.len()..])
        .filter(|(_, v)| v.as_str() == "1")
        .map(|(k, _)| k.clone())
        .collect();

    let mut states: HashMap<(PeriodId, PlayerId), String> = HashMap::new();
    if judging.is_some() {
        let at = slots.len() + dedupe_keys.len();
        for (slot, raw) in slots.iter().zip(&values[at..]) {
            states.insert(slot.clone(), raw.clone());
        }
    }
    let stored_states = states.clone();
    let mut tally = Tally::default();
    let verdicts = match board {
        Some(b) if judging.is_some() => {
            inbox::decide_judged(b, &plans, &records, &seen, |p, before, outcome| {
                judge_entry(repo, keys, b, p, before, outcome, &mut states, &mut tally)
            })?
        }
        Some(b) => inbox::decide(b, &plans, &records, &seen),
        None => plans
            .iter()
            .map(|p| {
                Verdict::Dead(
                    p.as_ref()
                        .err()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                )
            })
            .collect(),
    };

    let mut batch = Batch::default();
    for (lookup, value) in lookups.iter().zip(&values) {
        if lookup.field.is_empty() && value != "0" {
            continue; // a key seen before stays seen
        }
        let k = batch.key(lookup.key.clone());
        let expected = if lookup.field.is_empty() {
            String::new()
        } else {
            value.clone()
        };
        batch.checks.push((k, lookup.field.clone(), expected));
    }
    batch.ids = entries.iter().map(|e| e.id.clone()).collect();
    // The players' states the judging changed, stored with the batch.
    for (slot, state) in &states {
        if stored_states.get(slot) != Some(state) {
            let (period, player) = slot;
            let expire = board
                .and_then(|b| leaderboard::board::period::expire_at_ms(period, b.retain_periods));
            let k = batch.key(keys.integrity(period));
            batch
                .states
                .push((k, player.to_string(), state.clone(), expire));
        }
    }
    let note = |batch: &mut Batch,
                counter: leaderboard::integrity::stats::Counter,
                player: &PlayerId,
                at_ms: i64| {
        if board.is_some_and(|b| b.stats) {
            let [h, u, c] = keys.stats(leaderboard::integrity::stats::minute(at_ms));
            let ids = [batch.key(h), batch.key(u), batch.key(c)];
            batch
                .notes
                .push((ids, counter.as_str().to_string(), player.to_string()));
        }
    };
    for ((entry, plan), verdict) in entries.iter().zip(&plans).zip(verdicts) {
        match verdict {
            Verdict::Apply(d) => {
                tally.applied += 1;
                if !batch.starts.iter().any(|(p, _)| *p == d.period.to_string()) {
                    let started =
                        EventEnvelope::period_started(tenant, board_id, d.period, d.at_ms);
                    batch
                        .starts
                        .push((d.period.to_string(), started.to_json()?));
                }
                let event = EventEnvelope::score_applied(
                    tenant,
                    board_id,
                    entry.id.clone(),
                    d.at_ms,
                    &d.player,
                    d.period,
                    &d.outcome,
                )
                .to_json()?;
                let record = serde_json::to_string(&d.outcome.record)
                    .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
                let period_keys = [
                    batch.key(keys.records(&d.period)),
                    batch.key(keys.members(&d.period)),
                    batch.key(keys.zset(&d.period)),
                ];
                let stats = board.is_some_and(|b| b.stats).then(|| {
                    let minute = leaderboard::integrity::stats::minute(d.at_ms);
                    let [h, u, c] = keys.stats(minute);
                    let counters = leaderboard::integrity::stats::applied_counters(
                        true,
                        d.flagged.is_some(),
                        d.outcome.improved,
                        d.outcome.previous.is_none(),
                    );
                    let note = crate::repo::StatsNote {
                        minute,
                        counters,
                        count_player: true,
                        improved: d.outcome.improved,
                    };
                    ([batch.key(h), batch.key(u), batch.key(c)], note)
                });
                if let Some(review) = &d.flagged {
                    batch.reviews.push((
                        review.id.clone(),
                        crate::integrity::encode(review)?,
                        review.submitted_at_ms,
                    ));
                    tally.announce.push((**review).clone());
                }
                batch.puts.push(Put {
                    period_keys,
                    stats,
                    player: d.player.to_string(),
                    record,
                    member: d.key.member.clone(),
                    rank_value: d.key.rank_value,
                    expire_at_ms: d.expire_at_ms,
                    event,
                });
                if let Some(k) = plan.as_ref().ok().and_then(|p| p.dedupe_key.as_ref()) {
                    let i = batch.key(keys.ingest_dedupe(k));
                    batch.dedupe.push(i);
                }
            }
            Verdict::Dead(reason) => {
                tally.dead += 1;
                batch.dead.push(DeadLetter {
                    id: entry.id.clone(),
                    reason,
                    deliveries: entry.deliveries,
                    entry: entry.fields_json(),
                });
            }
            Verdict::Duplicate => tally.duplicates += 1,
            Verdict::Held(review) => {
                // Its ingest key is used up: a resend is a duplicate of what is under review.
                if let Some(k) = plan.as_ref().ok().and_then(|p| p.dedupe_key.as_ref()) {
                    let i = batch.key(keys.ingest_dedupe(k));
                    batch.dedupe.push(i);
                }
                batch.reviews.push((
                    review.id.clone(),
                    crate::integrity::encode(&review)?,
                    review.submitted_at_ms,
                ));
                note(
                    &mut batch,
                    leaderboard::integrity::stats::Counter::Held,
                    &review.player,
                    review.submitted_at_ms,
                );
                tally.held += 1;
                tally.announce.push(*review);
            }
            Verdict::Rejected(reason) => {
                tally.dead += 1;
                if let Ok(p) = plan {
                    note(
                        &mut batch,
                        leaderboard::integrity::stats::Counter::Rejected,
                        &p.player,
                        p.at_ms,
                    );
                }
                batch.dead.push(DeadLetter {
                    id: entry.id.clone(),
                    reason,
                    deliveries: entry.deliveries,
                    entry: entry.fields_json(),
                });
            }
        }
    }
    Ok((batch, tally))
}

/// Judges one entry of a batch by the board's integrity rules ([`crate::integrity`]), with the
/// player's state as the batch has it so far: what becomes of it. An applied (or flagged) one
/// moves the state on; a burst it completes flags its earlier members at once (as on a sync
/// board).
#[allow(clippy::too_many_arguments)]
fn judge_entry(
    repo: &Repo,
    keys: &Keys,
    board: &Board,
    p: &Planned,
    before: Option<&Record>,
    outcome: &leaderboard::Outcome,
    states: &mut HashMap<(PeriodId, PlayerId), String>,
    tally: &mut Tally,
) -> Result<inbox::Judgment> {
    use leaderboard::board::rules::Action;
    let slot = (p.period, p.player.clone());
    let state = states.get(&slot).cloned().unwrap_or_default();
    let j = crate::integrity::judge(
        repo,
        keys,
        board,
        &p.period,
        &p.player,
        &p.submission,
        before,
        &outcome.record,
        p.at_ms,
        Some(&state),
    )?;
    if !j.burst_members.is_empty() {
        let earlier = crate::integrity::burst_reviews(
            board,
            &p.period,
            &j.verdict,
            &j.burst_members,
            p.submission.score,
        );
        tally.retro_flagged += crate::integrity::store_new(repo, keys, &earlier)?;
        tally.announce.extend(earlier);
    }
    let review = |applied| {
        crate::integrity::review(
            board,
            &j.verdict,
            &p.player,
            &p.period,
            &p.submission,
            p.at_ms,
            applied,
        )
    };
    Ok(match j.verdict.action() {
        None => {
            states.insert(slot, j.state_json.clone());
            inbox::Judgment::Apply(None)
        }
        Some(Action::Flag) => {
            let flagged = review(Some((before, &outcome.record)))?;
            states.insert(slot, j.state_json.clone());
            inbox::Judgment::Apply(Some(Box::new(flagged)))
        }
        Some(Action::Hold) => inbox::Judgment::Hold(Box::new(review(None)?)),
        Some(Action::Reject) => {
            inbox::Judgment::Reject(crate::integrity::rejected(&j.verdict).to_string())
        }
    })
}

/// The fire-and-forget ingest channel: a JSON message `{"tenant"?, "board", "player", "score",
/// "subscore"?, "metadata"?, "idempotency_key"?}`. Pub/sub is at-most-once: a message published
/// while no handler is subscribed is gone; use the inbox (durable) form when that matters.
pub const INGEST: &str = "lb:ingest";

/// Puts a fire-and-forget ingest message into its board's inbox (the ingest layout), where the
/// drain validates it like any other entry. A message that names no valid board is kept in
/// [`crate::repo::pipeline::INGEST_DEAD`] with the reason; `None` then.
pub fn ingest(repo: &Repo, payload: &[u8], now_ms: i64) -> Result<Option<(TenantId, BoardId)>> {
    match ingest_fields(payload) {
        Ok((tenant, board, fields)) => {
            repo.inbox_add(&Keys::new(&tenant, &board), &fields)?;
            Ok(Some((tenant, board)))
        }
        Err(reason) => {
            eprintln!("ingest: message kept in the ingest dead letters: {reason}");
            repo.ingest_dead(payload, &reason, now_ms)?;
            Ok(None)
        }
    }
}

type Fields = Vec<(String, String)>;

fn ingest_fields(payload: &[u8]) -> std::result::Result<(TenantId, BoardId, Fields), String> {
    use serde_json::Value;
    let mut message: serde_json::Map<String, Value> = serde_json::from_slice(payload)
        .map_err(|e| format!("the message is not a JSON object: {e}"))?;
    let tenant = match message.remove("tenant") {
        None => TenantId::default(),
        Some(Value::String(t)) => TenantId::new(&t).map_err(|e| e.to_string())?,
        Some(other) => return Err(format!("'tenant' must be a string, got {other}")),
    };
    let board = match message.remove("board") {
        Some(Value::String(b)) => BoardId::new(&b).map_err(|e| e.to_string())?,
        Some(other) => return Err(format!("'board' must be a string, got {other}")),
        None => return Err("the message names no 'board'".into()),
    };
    let fields: Fields = message
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect();
    if fields.is_empty() {
        return Err(format!(
            "the message for {tenant}/{board} carries no submission"
        ));
    }
    Ok((tenant, board, fields))
}

/// A doorbell payload (`tenant/board`).
pub fn doorbell_target(payload: &[u8]) -> std::result::Result<(TenantId, BoardId), String> {
    let text = std::str::from_utf8(payload).map_err(|_| "the payload is not UTF-8".to_string())?;
    let (tenant, board) = text
        .split_once('/')
        .ok_or_else(|| format!("'{text}' is neither tenant/board nor a JSON ingest message"))?;
    Ok((
        TenantId::new(tenant).map_err(|e| e.to_string())?,
        BoardId::new(board).map_err(|e| e.to_string())?,
    ))
}
