//! One batch decided: what the entries depend on is looked up in one round trip ([`look_up`]),
//! the core decides every entry in order (`leaderboard::events::inbox`, with the board's
//! integrity rules judging and settling each one: [`judge_entry`]), and the decisions become the
//! batch write ([`BatchWriter`]) that one script applies only if nothing they were based on
//! changed.

use std::collections::{HashMap, HashSet};

use leaderboard::events::inbox::{self, Decided, Planned, RawEntry, Verdict};
use leaderboard::integrity::review::Review;
use leaderboard::integrity::settle::{Judged, Ruling};
use leaderboard::integrity::stats::{self, Counter};
use leaderboard::{
    Board, BoardId, EventEnvelope, LeaderboardError, PeriodId, PlayerId, Record, Result, TenantId,
};

use crate::integrity::stats::StatsNote;
use crate::repo::{Keys, Repo};
use crate::submissions::pipeline::store::{Batch, DeadLetter, Lookup, Put};

/// What a decided batch amounts to, beyond its write.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) applied: u64,
    pub(super) duplicates: u64,
    pub(super) dead: u64,
    pub(super) held: u64,
    /// Held and flagged submissions, a burst's earlier members included: announced to
    /// `score.flagged` subscribers once the batch is written.
    pub(super) announce: Vec<Review>,
    /// A burst's earlier members flagged by this decision (newly stored reviews).
    pub(super) retro_flagged: u64,
}

type Slot = (PeriodId, PlayerId);

/// What the decisions of a batch depend on, as read: each (period, player)'s record, each
/// ingest key, and (with integrity rules) each player's state.
struct Looked {
    lookups: Vec<Lookup>,
    values: Vec<String>,
    records: HashMap<Slot, Option<Record>>,
    seen: HashSet<String>,
    states: HashMap<Slot, String>,
}

/// Looks up, in one round trip, what the planned entries' decisions depend on. With integrity
/// rules (`judging`) each player's state too, checked like the records: a concurrent write of it
/// makes the batch decide again.
async fn look_up(
    repo: &Repo,
    keys: &Keys,
    plans: &[Result<Planned>],
    judging: bool,
) -> Result<Looked> {
    let mut lookups: Vec<Lookup> = Vec::new();
    let mut slots: Vec<Slot> = Vec::new();
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
    if judging {
        lookups.extend(slots.iter().map(|(period, player)| Lookup {
            key: keys.integrity(period),
            field: player.to_string(),
        }));
    }
    let values = repo.lookup(&lookups).await?;
    let mut records = HashMap::new();
    for (slot, raw) in slots.iter().zip(&values) {
        records.insert(slot.clone(), crate::repo::parse_record(raw)?);
    }
    let seen = dedupe_keys
        .iter()
        .zip(values.get(slots.len()..).unwrap_or_default())
        .filter(|(_, v)| v.as_str() == "1")
        .map(|(k, _)| k.clone())
        .collect();
    let mut states = HashMap::new();
    if judging {
        let at = slots.len() + dedupe_keys.len();
        for (slot, raw) in slots.iter().zip(values.get(at..).unwrap_or_default()) {
            states.insert(slot.clone(), raw.clone());
        }
    }
    Ok(Looked {
        lookups,
        values,
        records,
        seen,
        states,
    })
}

/// Looks up what the entries need, lets the core decide them, and builds the batch write.
pub(super) async fn decide(
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
    let judging = board.is_some_and(|b| !b.integrity.is_empty());
    let looked = look_up(repo, keys, &plans, judging).await?;
    let mut states = looked.states.clone();
    let mut tally = Tally::default();
    let verdicts = match board {
        Some(b) if judging => {
            decide_judged(repo, keys, b, &plans, &looked, &mut states, &mut tally).await?
        }
        Some(b) => inbox::decide(b, &plans, &looked.records, &looked.seen),
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

    let mut w = BatchWriter {
        tenant,
        board_id,
        board,
        keys,
        batch: Batch::default(),
    };
    w.checks(&looked);
    w.batch.ids = entries.iter().map(|e| e.id.clone()).collect();
    w.changed_states(&looked.states, &states);
    for ((entry, plan), verdict) in entries.iter().zip(&plans).zip(verdicts) {
        w.verdict(entry, plan, verdict, &mut tally)?;
    }
    let mut batch = w.batch;
    if let Some(size) = board.and_then(|b| b.cohort_size) {
        place(repo, keys, size, &mut batch).await?;
    }
    Ok((batch, tally))
}

/// Places the players of a batch's writes in their cohorts (those placed keep theirs), and
/// points each write at its cohort's sorted set: one script per period written. A batch decided
/// again later places no one twice.
async fn place(repo: &Repo, keys: &Keys, size: u32, batch: &mut Batch) -> Result<()> {
    let mut periods: Vec<(PeriodId, Option<i64>)> = Vec::new();
    for p in &batch.puts {
        let period = p.period;
        if !periods.iter().any(|(q, _)| *q == period) {
            periods.push((period, p.expire_at_ms));
        }
    }
    for (period, expire) in periods {
        let mut at = Vec::new();
        let mut players = Vec::new();
        for (i, p) in batch.puts.iter().enumerate() {
            if p.period == period {
                at.push(i);
                players.push((PlayerId::new(p.player.as_str())?, p.band.clone()));
            }
        }
        let asked: Vec<(&PlayerId, Option<&str>)> =
            players.iter().map(|(p, b)| (p, b.as_deref())).collect();
        let cohorts = repo.place(keys, &period, size, expire, &asked).await?;
        for (i, cohort) in at.into_iter().zip(cohorts) {
            let key = batch.key(keys.cohort(&period, &cohort));
            if let Some(put) = batch.puts.get_mut(i) {
                put.cohort = Some(key);
            }
        }
    }
    Ok(())
}

/// Builds one batch's write from its decisions.
struct BatchWriter<'a> {
    tenant: &'a TenantId,
    board_id: &'a BoardId,
    board: Option<&'a Board>,
    keys: &'a Keys,
    batch: Batch,
}

impl BatchWriter<'_> {
    /// Writes what `verdict` says of `entry` into the batch, and counts it in `tally`.
    fn verdict(
        &mut self,
        entry: &RawEntry,
        plan: &Result<Planned>,
        verdict: Verdict,
        tally: &mut Tally,
    ) -> Result<()> {
        let dedupe_key = plan.as_ref().ok().and_then(|p| p.dedupe_key.as_deref());
        let band = plan
            .as_ref()
            .ok()
            .and_then(|p| p.submission.band.as_deref());
        match verdict {
            Verdict::Apply(d) => {
                tally
                    .announce
                    .extend(self.apply(entry, &d, dedupe_key, band)?);
                tally.applied += 1;
            }
            Verdict::Dead(reason) => {
                self.dead(entry, reason);
                tally.dead += 1;
            }
            Verdict::Duplicate => tally.duplicates += 1,
            Verdict::Held(review) => {
                self.held(&review, dedupe_key)?;
                tally.held += 1;
                tally.announce.push(*review);
            }
            Verdict::Rejected(reason) => {
                if let Ok(p) = plan {
                    self.note(Counter::Rejected, &p.player, p.at_ms);
                }
                self.dead(entry, reason);
                tally.dead += 1;
            }
        }
        Ok(())
    }

    /// What the decisions were based on, checked by the script: each record and state as read,
    /// each ingest key unseen (a key seen before stays seen, and is not checked).
    fn checks(&mut self, looked: &Looked) {
        for (lookup, value) in looked.lookups.iter().zip(&looked.values) {
            let unseen_key = lookup.field.is_empty();
            if unseen_key && value != "0" {
                continue;
            }
            let k = self.batch.key(lookup.key.clone());
            let expected = if unseen_key {
                String::new()
            } else {
                value.clone()
            };
            self.batch.checks.push((k, lookup.field.clone(), expected));
        }
    }

    /// The players' integrity states the judging changed, stored with the batch.
    fn changed_states(&mut self, stored: &HashMap<Slot, String>, now: &HashMap<Slot, String>) {
        for (slot, state) in now {
            if stored.get(slot) == Some(state) {
                continue;
            }
            let (period, player) = slot;
            let expire = self
                .board
                .and_then(|b| leaderboard::board::period::expire_at_ms(period, b.retain_periods));
            let k = self.batch.key(self.keys.integrity(period));
            self.batch
                .states
                .push((k, player.to_string(), state.clone(), expire));
        }
    }

    /// Counts a held or rejected submission of `player` in the board's stats (when it keeps
    /// them).
    fn note(&mut self, counter: Counter, player: &PlayerId, at_ms: i64) {
        if self.board.is_some_and(|b| b.stats) {
            let ids = self.stats_keys(at_ms);
            self.batch
                .notes
                .push((ids, counter.as_str().to_string(), player.to_string()));
        }
    }

    fn stats_keys(&mut self, at_ms: i64) -> [usize; 3] {
        let [h, u, c] = self.keys.stats(stats::minute(at_ms));
        [self.batch.key(h), self.batch.key(u), self.batch.key(c)]
    }

    /// Remembers an entry's ingest key as used (a resend is a duplicate).
    fn used_key(&mut self, dedupe_key: Option<&str>) {
        if let Some(k) = dedupe_key {
            let i = self.batch.key(self.keys.ingest_dedupe(k));
            self.batch.dedupe.push(i);
        }
    }

    fn review(&mut self, review: &Review) -> Result<()> {
        self.batch.reviews.push((
            review.id.clone(),
            crate::integrity::encode(review)?,
            review.submitted_at_ms,
        ));
        Ok(())
    }

    /// An applied entry: its period started (once per batch), its record, sorted-set entry and
    /// `score_applied` event, its stats, a flagged submission's review (returned, to announce),
    /// its ingest key.
    fn apply(
        &mut self,
        entry: &RawEntry,
        d: &Decided,
        dedupe_key: Option<&str>,
        band: Option<&str>,
    ) -> Result<Option<Review>> {
        let period = d.period.to_string();
        if !self.batch.starts.iter().any(|(p, _)| *p == period) {
            let started =
                EventEnvelope::period_started(self.tenant, self.board_id, d.period, d.at_ms);
            self.batch.starts.push((period, started.to_json()?));
        }
        let event = EventEnvelope::score_applied(
            self.tenant,
            self.board_id,
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
            self.batch.key(self.keys.records(&d.period)),
            self.batch.key(self.keys.members(&d.period)),
            self.batch.key(self.keys.zset(&d.period)),
        ];
        let stats = if self.board.is_some_and(|b| b.stats) {
            let note = StatsNote {
                minute: stats::minute(d.at_ms),
                counters: stats::applied_counters(
                    true,
                    d.flagged.is_some(),
                    d.outcome.improved,
                    d.outcome.previous.is_none(),
                ),
                count_player: true,
                improved: d.outcome.improved,
            };
            Some((self.stats_keys(d.at_ms), note))
        } else {
            None
        };
        if let Some(review) = &d.flagged {
            self.review(review)?;
        }
        self.batch.puts.push(Put {
            period_keys,
            stats,
            player: d.player.to_string(),
            record,
            member: d.key.member.clone(),
            rank_value: d.key.rank_value,
            expire_at_ms: d.expire_at_ms,
            event,
            period: d.period,
            band: band.map(str::to_owned),
            cohort: None,
        });
        self.used_key(dedupe_key);
        Ok(d.flagged.as_deref().cloned())
    }

    /// A held entry: its review, counted; its ingest key is used up (a resend is a duplicate
    /// of what is under review).
    fn held(&mut self, review: &Review, dedupe_key: Option<&str>) -> Result<()> {
        self.used_key(dedupe_key);
        self.review(review)?;
        self.note(Counter::Held, &review.player, review.submitted_at_ms);
        Ok(())
    }

    /// An entry to the dead letters, with the reason.
    fn dead(&mut self, entry: &RawEntry, reason: String) {
        self.batch.dead.push(DeadLetter {
            id: entry.id.clone(),
            reason,
            deliveries: entry.deliveries,
            entry: entry.fields_json(),
        });
    }
}

/// The core's decision of a batch by the board's integrity rules ([`inbox::Deciding`]), each
/// entry the core would apply judged by [`judge_entry`] in order, after the entries before it
/// were decided. An error of the judge (Redis) fails the batch.
async fn decide_judged(
    repo: &Repo,
    keys: &Keys,
    board: &Board,
    plans: &[Result<Planned>],
    looked: &Looked,
    states: &mut HashMap<Slot, String>,
    tally: &mut Tally,
) -> Result<Vec<Verdict>> {
    let mut deciding = inbox::Deciding::new(board, plans, &looked.records, &looked.seen);
    while let Some(asked) = deciding.next_to_judge() {
        let ruling = judge_entry(
            repo,
            keys,
            board,
            asked.plan,
            asked.before.as_ref(),
            &asked.outcome,
            states,
            tally,
        )
        .await?;
        deciding.rule(ruling);
    }
    Ok(deciding.finish())
}

/// Judges one entry of a batch by the board's integrity rules ([`crate::integrity`]), with the
/// player's state as the batch has it so far, and returns its settled ruling. An applied (or
/// flagged) one moves the state on; a burst it completes flags its earlier members at once (as
/// on a sync board).
#[allow(clippy::too_many_arguments)]
async fn judge_entry(
    repo: &Repo,
    keys: &Keys,
    board: &Board,
    p: &Planned,
    before: Option<&Record>,
    outcome: &leaderboard::Outcome,
    states: &mut HashMap<Slot, String>,
    tally: &mut Tally,
) -> Result<Ruling> {
    let slot = (p.period, p.player.clone());
    let state = states.get(&slot).cloned().unwrap_or_default();
    let judged = Judged {
        board,
        period: p.period,
        player: &p.player,
        submission: &p.submission,
        at_ms: p.at_ms,
        before,
        after: &outcome.record,
    };
    let judgment = crate::integrity::judge(repo, keys, &judged, Some(&state)).await?;
    let settlement = judgment.settlement;
    if !settlement.burst_flagged.is_empty() {
        tally.retro_flagged +=
            crate::integrity::store_new(repo, keys, &settlement.burst_flagged).await?;
        tally.announce.extend(settlement.burst_flagged);
    }
    if matches!(settlement.ruling, Ruling::Apply(_)) {
        states.insert(slot, judgment.state_json);
    }
    Ok(settlement.ruling)
}
