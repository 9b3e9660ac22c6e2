//! The inbox of a board: submissions accepted for later application (`async` boards over HTTP,
//! and trusted backends over Redis), and the pure decisions of the drain that applies them.
//!
//! An inbox entry is a Redis stream entry in one of two field layouts:
//!
//! - `event <score_submitted envelope JSON>`: written by the HTTP API for `async` boards; the score
//!   is already in minor units and was checked at the door; `at_ms` is the acceptance time.
//! - the **ingest layout**, for producers outside the API (`redis-cli XADD`):
//!   `player <id> score <number in board units, e.g. 12.5> [subscore <int>] [metadata <JSON
//!   object>] [idempotency_key <key>] [accepted_at_ms <Unix ms>] [band <skill band>]`. The acceptance time is the
//!   stream id's millisecond part unless `accepted_at_ms` is given (redrive sets it, so a
//!   redriven entry keeps its original time). Validation is the HTTP API's: the same score
//!   parsing, bounds, operator and metadata limits. An `idempotency_key` makes a producer's retry
//!   of the same `XADD` harmless: the drain applies one entry per key per 24 hours.
//!
//! The drain [`plan`]s each entry (parse, period, retention, delivery count), looks up the current
//! records it needs, then [`decide`]s the whole batch in order: entries of the same player see each
//! other's effect, exactly as if they had been applied one at a time.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::board::config::Board;
use crate::board::operator::{self, Outcome};
use crate::board::period::{self, PeriodId};
use crate::board::record::{Record, Submission, SubmissionInput};
use crate::board::sortkey::SortKey;
use crate::error::{LeaderboardError, Result};
use crate::events::event::{Event, EventEnvelope};
use crate::ids::{PlayerId, TenantId};
use crate::integrity::settle::Ruling;

/// Deliveries after which an entry that never completed (its handler died or ran out of time
/// each time) is moved to the dead letters instead of being tried again.
pub const MAX_DELIVERIES: u64 = 5;
/// Most inbox entries one drain call (`POST …/admin/drain?max_events=`) applies.
pub const MAX_DRAIN_EVENTS: u32 = 100_000;

/// How long an ingest `idempotency_key` is remembered.
pub const DEDUPE_TTL_MS: i64 = 24 * 3600 * 1000;

/// Fields of the ingest layout.
const INGEST_FIELDS: [&str; 7] = [
    "player",
    "score",
    "subscore",
    "metadata",
    "idempotency_key",
    "accepted_at_ms",
    "band",
];

/// An inbox entry as read from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    /// Stream entry id (`<ms>-<seq>`).
    pub id: String,
    /// How many times the entry has been delivered to a drain (1 on the first read).
    pub deliveries: u64,
    /// Field/value pairs in stream order.
    pub fields: Vec<(String, String)>,
}

impl RawEntry {
    /// The fields as a JSON object (what a dead letter keeps, so a redrive can restore them).
    pub fn fields_json(&self) -> String {
        let map: Map<String, Value> = self
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        Value::Object(map).to_string()
    }
}

/// Field/value pairs from a dead letter's `entry` JSON object (see [`RawEntry::fields_json`]).
pub fn fields_from_json(json: &str) -> Result<Vec<(String, String)>> {
    let map: Map<String, Value> = serde_json::from_slice(json.as_bytes())
        .map_err(|e| LeaderboardError::CorruptData(format!("dead letter entry: {e}")))?;
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            other => Err(LeaderboardError::CorruptData(format!(
                "dead letter field {k} is not a string: {other}"
            ))),
        })
        .collect()
}

/// The fields a dead letter goes back into the inbox with: its own, plus its original acceptance
/// time for the ingest layout (the API layout carries it in the event).
pub fn redrive_fields(
    original_id: &str,
    mut fields: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let api_layout = matches!(fields.as_slice(), [(f, _)] if f == "event");
    let dated = fields.iter().any(|(k, _)| k == "accepted_at_ms");
    if !api_layout
        && !dated
        && let Ok(ms) = stream_id_ms(original_id)
    {
        fields.push(("accepted_at_ms".into(), ms.to_string()));
    }
    fields
}

/// The millisecond part of a stream id (`1700000000000-3` → `1700000000000`).
pub fn stream_id_ms(id: &str) -> Result<i64> {
    id.split_once('-')
        .map_or(id, |(ms, _)| ms)
        .parse()
        .map_err(|_| LeaderboardError::InvalidEvent(format!("'{id}' is not a stream id")))
}

/// A valid inbox entry, ready to decide.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Who.
    pub player: PlayerId,
    /// What (minor units).
    pub submission: Submission,
    /// Acceptance time: the achievement time and the period.
    pub at_ms: i64,
    /// The period it goes to.
    pub period: PeriodId,
    /// When the period's keys expire (`None`: never).
    pub expire_at_ms: Option<i64>,
    /// The ingest layout's `idempotency_key`, if any.
    pub dedupe_key: Option<String>,
}

/// Parses and checks one entry of `tenant`'s `board`. An error is the reason the entry goes to the
/// dead letters.
pub fn plan(tenant: &TenantId, board: &Board, entry: &RawEntry, now_ms: i64) -> Result<Planned> {
    if entry.deliveries > MAX_DELIVERIES {
        return Err(LeaderboardError::InvalidEvent(format!(
            "gave up after {} deliveries that never completed",
            entry.deliveries - 1
        )));
    }
    let (player, submission, at_ms, dedupe_key) = match entry.fields.as_slice() {
        [(field, json)] if field == "event" => {
            let (player, submission, at_ms) = from_envelope(tenant, board, json)?;
            (player, submission, at_ms, None)
        }
        fields => {
            // The API checks a join and counts an attempt where it takes a submission; a
            // producer's entry comes with neither, so a tournament that requires a join or
            // limits attempts takes no ingest entries.
            if board
                .tournament
                .as_ref()
                .is_some_and(|t| t.join_required || t.max_attempts.is_some())
            {
                return Err(LeaderboardError::InvalidEvent(
                    "a tournament with join_required or max_attempts takes submissions through \
                     the API only, where joins and attempts are checked"
                        .into(),
                ));
            }
            from_ingest(board, &entry.id, fields)?
        }
    };
    // A tournament's window, at the acceptance time (what the API checked when it accepted
    // the entry; a producer's entry is checked here).
    board.admits_submission(at_ms)?;
    let period = period::period_id(board.period, at_ms)?;
    let expire_at_ms = period::expire_at_ms(&period, board.retain_periods);
    if expire_at_ms.is_some_and(|at| at <= now_ms) {
        return Err(LeaderboardError::InvalidEvent(format!(
            "its period {period} has ended and is no longer retained"
        )));
    }
    // Bounds and operator rules that need no record (the same check as the HTTP door).
    operator::check_acceptable(board, &submission, at_ms)?;
    Ok(Planned {
        player,
        submission,
        at_ms,
        period,
        expire_at_ms,
        dedupe_key,
    })
}

fn from_envelope(
    tenant: &TenantId,
    board: &Board,
    json: &str,
) -> Result<(PlayerId, Submission, i64)> {
    let envelope = EventEnvelope::from_json(json)?;
    if envelope.tenant != *tenant || envelope.board != board.id {
        return Err(LeaderboardError::InvalidEvent(format!(
            "the event belongs to {}/{}, not to this board",
            envelope.tenant, envelope.board
        )));
    }
    let Event::ScoreSubmitted(s) = envelope.event else {
        return Err(LeaderboardError::InvalidEvent(format!(
            "an inbox entry must be a score_submitted event, not {}",
            envelope.event.type_name()
        )));
    };
    let submission = Submission {
        score: s.score,
        subscore: s.subscore,
        metadata: s.metadata,
        band: s.band,
    };
    Ok((s.player, submission, envelope.at_ms))
}

type Ingested = (PlayerId, Submission, i64, Option<String>);

fn from_ingest(board: &Board, id: &str, fields: &[(String, String)]) -> Result<Ingested> {
    let mut map = HashMap::new();
    for (k, v) in fields {
        if !INGEST_FIELDS.contains(&k.as_str()) {
            return Err(LeaderboardError::InvalidBody(format!(
                "unknown inbox field '{k}' (expected {})",
                INGEST_FIELDS.join(", ")
            )));
        }
        if map.insert(k.as_str(), v.as_str()).is_some() {
            return Err(LeaderboardError::InvalidBody(format!(
                "inbox field '{k}' given twice"
            )));
        }
    }
    let required = |name: &str| {
        map.get(name).copied().ok_or_else(|| {
            LeaderboardError::InvalidBody(format!("inbox entry has no '{name}' field"))
        })
    };
    let integer = |name: &str, raw: &str| {
        raw.trim().parse::<i64>().map_err(|_| {
            LeaderboardError::InvalidBody(format!("inbox field '{name}' is not an integer: {raw}"))
        })
    };
    let metadata = map
        .get("metadata")
        .map(|raw| {
            serde_json::from_slice::<Value>(raw.as_bytes()).map_err(|e| {
                LeaderboardError::InvalidBody(format!("inbox field 'metadata' is not JSON: {e}"))
            })
        })
        .transpose()?;
    let input = SubmissionInput {
        player: PlayerId::new(required("player")?)?,
        score: Value::String(required("score")?.trim().to_owned()),
        subscore: map
            .get("subscore")
            .map(|raw| integer("subscore", raw))
            .transpose()?,
        metadata,
        band: map.get("band").map(|b| (*b).to_owned()),
    };
    let at_ms = match map.get("accepted_at_ms") {
        Some(raw) => integer("accepted_at_ms", raw)?,
        None => stream_id_ms(id)?,
    };
    let dedupe_key = map
        .get("idempotency_key")
        .map(|k| crate::events::idempotency::validate_key(k).map(|()| (*k).to_owned()))
        .transpose()?;
    let (player, submission) = input.into_submission(board)?;
    Ok((player, submission, at_ms, dedupe_key))
}

/// What the drain does with one entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Write the decided record.
    Apply(Box<Decided>),
    /// Move the entry to the dead letters with this reason.
    Dead(String),
    /// Acknowledge without effect: its `idempotency_key` was applied before.
    Duplicate,
    /// Held for review by an integrity rule: the review is stored, nothing applied.
    Held(Box<crate::integrity::review::Review>),
    /// Rejected by an integrity rule: to the dead letters with this reason.
    Rejected(String),
}

/// A decided write.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    /// The player.
    pub player: PlayerId,
    /// The period written.
    pub period: PeriodId,
    /// When the period's keys expire.
    pub expire_at_ms: Option<i64>,
    /// Acceptance time.
    pub at_ms: i64,
    /// The core's decision (record after and before).
    pub outcome: Outcome,
    /// Sorted-set entry of the new record.
    pub key: SortKey,
    /// The review of a submission an integrity rule flagged (stored with the write).
    pub flagged: Option<Box<crate::integrity::review::Review>>,
}

/// Decides a batch in order. `records` holds the stored record of every `(period, player)` the
/// planned entries touch (`None`: no record); `seen` the ingest idempotency keys already applied.
/// Entries of one player see the effect of the ones before them in the batch.
pub fn decide(
    board: &Board,
    plans: &[Result<Planned>],
    records: &HashMap<(PeriodId, PlayerId), Option<Record>>,
    seen: &HashSet<String>,
) -> Vec<Verdict> {
    decide_judged(board, plans, records, seen, |_, _, _| {
        Ok(Ruling::Apply(None))
    })
    .unwrap_or_default()
}

/// [`decide`] with a board's integrity rules: `judge` sees each entry the core would apply, in
/// order, with the record before it and the decided one, and says what becomes of it (its
/// [`Ruling`], as `leaderboard::integrity::settle` settles it). A held or
/// rejected entry leaves the player's record as it was for the entries after it. An error of
/// `judge` (Redis) fails the whole batch (it is decided again). [`Deciding`] is the same decision
/// for a caller whose judge must wait (an async one).
pub fn decide_judged(
    board: &Board,
    plans: &[Result<Planned>],
    records: &HashMap<(PeriodId, PlayerId), Option<Record>>,
    seen: &HashSet<String>,
    mut judge: impl FnMut(&Planned, Option<&Record>, &Outcome) -> Result<Ruling>,
) -> Result<Vec<Verdict>> {
    let mut deciding = Deciding::new(board, plans, records, seen);
    while let Some(asked) = deciding.next_to_judge() {
        let ruling = judge(asked.plan, asked.before.as_ref(), &asked.outcome)?;
        deciding.rule(ruling);
    }
    Ok(deciding.finish())
}

/// An entry [`Deciding`] asks a ruling for.
#[derive(Debug)]
pub struct Asked<'a> {
    /// The planned entry.
    pub plan: &'a Planned,
    /// The player's record before it (the batch's earlier entries included).
    pub before: Option<Record>,
    /// What the board's operator decided.
    pub outcome: Outcome,
}

/// A batch decided entry by entry, the caller judging between the steps: call
/// [`Deciding::next_to_judge`] and answer each entry it returns with [`Deciding::rule`] (before
/// asking again), then take the verdicts with [`Deciding::finish`]. The entries that need no
/// ruling (a failed plan, a duplicate, an operator error) are decided on the way.
pub struct Deciding<'a> {
    board: &'a Board,
    plans: &'a [Result<Planned>],
    records: &'a HashMap<(PeriodId, PlayerId), Option<Record>>,
    seen: &'a HashSet<String>,
    /// The records as the batch has made them so far.
    current: HashMap<(PeriodId, PlayerId), Option<Record>>,
    keys_used: HashSet<&'a str>,
    verdicts: Vec<Verdict>,
    /// The entry waiting for its ruling: its outcome and sort key.
    waiting: Option<(Outcome, SortKey)>,
}

impl<'a> Deciding<'a> {
    /// Starts deciding `plans` (see [`decide`] for `records` and `seen`).
    pub fn new(
        board: &'a Board,
        plans: &'a [Result<Planned>],
        records: &'a HashMap<(PeriodId, PlayerId), Option<Record>>,
        seen: &'a HashSet<String>,
    ) -> Self {
        Self {
            board,
            plans,
            records,
            seen,
            current: HashMap::new(),
            keys_used: HashSet::new(),
            verdicts: Vec::with_capacity(plans.len()),
            waiting: None,
        }
    }

    /// Decides entries up to the next one that needs a ruling, and returns it; `None` when every
    /// entry is decided. An entry returned and not yet ruled on is returned again.
    pub fn next_to_judge(&mut self) -> Option<Asked<'a>> {
        loop {
            let plan = self.plans.get(self.verdicts.len())?;
            let p = match plan {
                Ok(p) => p,
                Err(e) => {
                    self.verdicts.push(Verdict::Dead(e.to_string()));
                    continue;
                }
            };
            let previous = self.previous(p);
            if let Some((outcome, _)) = &self.waiting {
                return Some(Asked {
                    plan: p,
                    before: previous,
                    outcome: outcome.clone(),
                });
            }
            if let Some(key) = &p.dedupe_key
                && (self.seen.contains(key) || !self.keys_used.insert(key.as_str()))
            {
                self.verdicts.push(Verdict::Duplicate);
                continue;
            }
            let decided = operator::apply(self.board, previous.as_ref(), &p.submission, p.at_ms)
                .and_then(|outcome| {
                    let key = outcome.record.sort_key(self.board, &p.player)?;
                    Ok((outcome, key))
                });
            match decided {
                Ok((outcome, key)) => {
                    let asked = Asked {
                        plan: p,
                        before: previous,
                        outcome: outcome.clone(),
                    };
                    self.waiting = Some((outcome, key));
                    return Some(asked);
                }
                Err(e) => self.close(p, Verdict::Dead(e.to_string())),
            }
        }
    }

    /// The ruling on the entry [`Deciding::next_to_judge`] returned last (ignored when none waits).
    pub fn rule(&mut self, ruling: Ruling) {
        let Some((outcome, key)) = self.waiting.take() else {
            return;
        };
        let Some(Ok(p)) = self.plans.get(self.verdicts.len()) else {
            return;
        };
        match ruling {
            Ruling::Apply(flagged) => {
                self.current
                    .insert((p.period, p.player.clone()), Some(outcome.record.clone()));
                self.verdicts.push(Verdict::Apply(Box::new(Decided {
                    player: p.player.clone(),
                    period: p.period,
                    expire_at_ms: p.expire_at_ms,
                    at_ms: p.at_ms,
                    outcome,
                    key,
                    flagged,
                })));
            }
            Ruling::Hold(review) => self.close(p, Verdict::Held(review)),
            Ruling::Reject(refusal) => self.close(p, Verdict::Rejected(refusal.to_string())),
        }
    }

    /// The verdicts, one per planned entry, in order, once [`Deciding::next_to_judge`] answered
    /// `None` (before that, the entries not decided yet are missing).
    pub fn finish(self) -> Vec<Verdict> {
        debug_assert!(
            self.verdicts.len() == self.plans.len(),
            "a batch finished before every entry was decided"
        );
        self.verdicts
    }

    /// The player's record before `p`: as the batch left it, else as stored.
    fn previous(&self, p: &Planned) -> Option<Record> {
        let slot = (p.period, p.player.clone());
        match self.current.get(&slot) {
            Some(r) => r.clone(),
            None => self.records.get(&slot).cloned().flatten(),
        }
    }

    /// Records a verdict that leaves the player's record as it was.
    fn close(&mut self, p: &'a Planned, verdict: Verdict) {
        // A refused entry's own key stays free: a corrected resend may use it. A held one
        // keeps it: a resend is a duplicate of the submission under review.
        if let Some(key) = &p.dedupe_key
            && !matches!(verdict, Verdict::Held(_))
        {
            self.keys_used.remove(key.as_str());
        }
        self.verdicts.push(verdict);
    }
}

#[cfg(test)]
#[path = "inbox_tests.rs"]
mod tests;
