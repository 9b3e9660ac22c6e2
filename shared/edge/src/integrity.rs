//! Score integrity at the write (`leaderboard::integrity::check`): the facts a board's rules need are
//! read in one round trip (`repo::integrity`), the core judges, and the outcome travels with the
//! write — the player's new state, a flagged submission's review and the burst set are stored by
//! the compare-and-set script that applies the score, so a check and its write cannot part: a
//! concurrent submission of the same player changes the record, fails the compare-and-set, and
//! is judged again on fresh facts.
//!
//! The burst set takes the submission as it is judged (in the facts script), so concurrent
//! submissions of one score each count once and exactly one completes a burst. What stays
//! approximate, by design: the outlier rule's sample is the board as read (a write in flight
//! may be missing from it).

use leaderboard::board::rules::{Action, Rule};
use leaderboard::integrity::check::{self, Facts, PlayerState, RobustStats, Verdict};
use leaderboard::integrity::review::Review;
use leaderboard::{
    Board, LeaderboardError, PeriodId, PlayerId, Record, Result, Submission, board::sortkey,
};

use crate::repo::{Keys, Repo};

/// A judged submission.
#[derive(Debug, Clone)]
pub struct Judged {
    /// What the rules say.
    pub verdict: Verdict,
    /// The player's state once this submission is accepted (JSON).
    pub state_json: String,
    /// The earlier members of a burst this submission completes (player, Unix ms).
    pub burst_members: Vec<(String, i64)>,
}

/// Judges `submission` of `player`, whose record goes from `before` to `after`, at `now_ms`.
/// `state` is the player's integrity state when the caller knows it better than Redis (a drain's
/// batch, where earlier entries of the player changed it); `None`: as stored.
#[allow(clippy::too_many_arguments)]
pub fn judge(
    repo: &Repo,
    keys: &Keys,
    board: &Board,
    period: &PeriodId,
    player: &PlayerId,
    submission: &Submission,
    before: Option<&Record>,
    after: &Record,
    now_ms: i64,
    state: Option<&str>,
) -> Result<Judged> {
    let rules = &board.integrity;
    let raw = repo.integrity_facts(
        keys,
        period,
        player,
        submission.score,
        now_ms,
        rules.burst.map(|b| (b.window_ms, b.players)),
        rules.outlier.is_some(),
    )?;
    let stored = state.unwrap_or(&raw.state);
    let state: PlayerState = if stored.is_empty() {
        PlayerState::default()
    } else {
        serde_json::from_slice(stored.as_bytes()).map_err(|e| {
            LeaderboardError::CorruptData(format!("stored integrity state of {player}: {e}"))
        })?
    };
    let scores = raw
        .sample
        .iter()
        .map(|&rv| sortkey::decode_rank_value(board, rv).map(|(score, _)| score))
        .collect::<Result<Vec<i64>>>()?;
    let facts = Facts {
        sort: board.sort,
        player: &state,
        before: before.map(|r| r.score),
        after: after.score,
        players: raw.players,
        stats: RobustStats::of(&scores),
        same_score_players: raw.same_score_players,
    };
    let verdict = check::check(rules, &facts, now_ms);
    let next = check::admit(rules, &state, facts.before, after.score, now_ms);
    let state_json =
        serde_json::to_string(&next).map_err(|e| LeaderboardError::Internal(e.to_string()))?;
    Ok(Judged {
        verdict,
        state_json,
        burst_members: raw.burst_members,
    })
}

/// Flagged reviews of the earlier members of a burst that `verdict`'s submission completed (they
/// were applied before the burst showed). Their ids derive from board, player, score and time, so
/// finding the same burst again stores nothing new ([`Repo::put_new_reviews`]).
pub fn burst_reviews(
    board: &Board,
    period: &PeriodId,
    verdict: &Verdict,
    members: &[(String, i64)],
    score: i64,
) -> Vec<Review> {
    let Some(trigger) = verdict.triggers.iter().find(|t| t.rule == Rule::Burst) else {
        return Vec::new();
    };
    let mut trigger = trigger.clone();
    trigger.action = Action::Flag;
    trigger.detail = format!("{} (flagged when the burst completed)", trigger.detail);
    members
        .iter()
        .filter_map(|(player, at_ms)| {
            let player = PlayerId::new(player).ok()?;
            Some(Review::open(
                burst_review_id(board, &player, score, *at_ms),
                false,
                player,
                *period,
                Submission {
                    score,
                    subscore: None,
                    metadata: None,
                },
                *at_ms,
                vec![trigger.clone()],
            ))
        })
        .collect()
}

/// Stores those of `reviews` whose ids are new (a stored review keeps its decision): how many.
pub fn store_new(repo: &Repo, keys: &Keys, reviews: &[Review]) -> Result<u64> {
    let rows = reviews
        .iter()
        .map(|r| Ok((r.id.clone(), encode(r)?, r.submitted_at_ms)))
        .collect::<Result<Vec<_>>>()?;
    repo.put_new_reviews(keys, &rows)
}

/// The id of the review of `player`'s submission of `score` at `at_ms` in a burst: derived, so
/// the burst's completer and its earlier members are each listed once however many times a
/// burst of their score is found.
fn burst_review_id(board: &Board, player: &PlayerId, score: i64, at_ms: i64) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{}\n{player}\n{score}\n{at_ms}", board.id));
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("rv_{hex}")
}

/// The review of a held (`applied` none) or flagged submission. Its id is random, or derived
/// when the burst rule is among its triggers (then a later burst that counts this submission
/// among its earlier members finds the review already stored).
pub fn review(
    board: &Board,
    verdict: &Verdict,
    player: &PlayerId,
    period: &PeriodId,
    submission: &Submission,
    now_ms: i64,
    applied: Option<(Option<&Record>, &Record)>,
) -> Result<Review> {
    let held = applied.is_none();
    let burst = verdict.triggers.iter().any(|t| t.rule == Rule::Burst);
    let id = if burst {
        burst_review_id(board, player, submission.score, now_ms)
    } else {
        format!("rv_{}", crate::apikeys::unique_hex(16)?)
    };
    Ok(Review {
        previous: applied.and_then(|(before, _)| before.cloned()),
        applied: applied.map(|(_, after)| after.clone()),
        ..Review::open(
            id,
            held,
            player.clone(),
            *period,
            submission.clone(),
            now_ms,
            verdict.triggers.clone(),
        )
    })
}

/// The `422` of a rejected submission.
pub fn rejected(verdict: &Verdict) -> LeaderboardError {
    match verdict.decisive() {
        Some(t) => LeaderboardError::IntegrityRejected {
            rule: t.rule.as_str().to_string(),
            detail: t.detail.clone(),
        },
        None => LeaderboardError::Internal("a rejection without a rule".into()),
    }
}

/// Encodes a review for storage.
pub fn encode(review: &Review) -> Result<String> {
    serde_json::to_string(review).map_err(|e| LeaderboardError::Internal(e.to_string()))
}

/// Takes back a burst's earlier member (flagged when the burst completed, after it was applied,
/// so what the player had before is not known): the player's entry for the period goes, provided
/// it still holds the flagged score; gone already, nothing to do; another score since, `409`.
fn revert_burst_member(
    repo: &Repo,
    tenant: &leaderboard::TenantId,
    board: &Board,
    review: &Review,
    current: Option<leaderboard::Record>,
    now_ms: i64,
) -> Result<()> {
    let player = &review.player;
    match current {
        None => Ok(()),
        Some(record) if record.score == review.submission.score => {
            let keys = Keys::new(tenant, &board.id);
            let event = leaderboard::EventEnvelope::record_deleted(
                tenant,
                &board.id,
                player,
                review.period,
                now_ms,
            )
            .to_json()?;
            repo.delete_player(&keys, &review.period, player, &event)?;
            Ok(())
        }
        Some(_) => Err(LeaderboardError::Conflict(format!(
            "the record of '{player}' changed after the flagged submission; delete the \
             player's record instead"
        ))),
    }
}

/// Decodes a stored review.
pub fn decode(raw: &str) -> Result<Review> {
    serde_json::from_slice(raw.as_bytes())
        .map_err(|e| LeaderboardError::CorruptData(format!("stored review: {e}")))
}

/// Takes back a flagged submission that was rejected: the player's record returns to what it
/// was before it (or goes, if there was none), with the log entry saying so — provided the record
/// is still the one the submission made; `409` otherwise (a later submission changed it: delete
/// the player's record instead).
pub fn revert(
    repo: &Repo,
    tenant: &leaderboard::TenantId,
    board: &Board,
    review: &Review,
    now_ms: i64,
) -> Result<()> {
    use leaderboard::EventEnvelope;

    let keys = Keys::new(tenant, &board.id);
    let player = &review.player;
    let (raw, current) = repo.record(&keys, &review.period, player)?;
    if review.applied.is_none() {
        return revert_burst_member(repo, tenant, board, review, current, now_ms);
    }
    if current == review.previous {
        // Already taken back (a rejection retried after the write, before its decision was
        // recorded).
        return Ok(());
    }
    if current.is_none() || current != review.applied {
        return Err(LeaderboardError::Conflict(format!(
            "the record of '{player}' changed after the flagged submission; delete the \
             player's record instead"
        )));
    }
    match &review.previous {
        None => {
            let event =
                EventEnvelope::record_deleted(tenant, &board.id, player, review.period, now_ms)
                    .to_json()?;
            repo.delete_player(&keys, &review.period, player, &event)?;
        }
        Some(previous) => {
            let outcome = leaderboard::Outcome {
                record: previous.clone(),
                previous: current,
                improved: false,
                changed: true,
            };
            let key = previous.sort_key(board, player)?;
            let event = EventEnvelope::score_applied(
                tenant,
                &board.id,
                format!("{now_ms}-{player}-reverted"),
                now_ms,
                player,
                review.period,
                &outcome,
            )
            .to_json()?;
            let started = EventEnvelope::period_started(tenant, &board.id, review.period, now_ms)
                .to_json()?;
            let write = crate::repo::Write {
                period: &review.period,
                player,
                expected_raw: &raw,
                new: previous,
                member: &key.member,
                rank_value: key.rank_value,
                event_json: &event,
                period_started_json: &started,
                expire_at_ms: leaderboard::board::period::expire_at_ms(
                    &review.period,
                    board.retain_periods,
                ),
                integrity: None,
                // Taking a score back is not a submission.
                stats: None,
            };
            match repo.apply(&keys, &write, None)? {
                crate::repo::ApplyResult::Applied(_) => {}
                _ => {
                    return Err(LeaderboardError::Conflict(format!(
                        "the record of '{player}' changed while the flagged submission was \
                         taken back; retry"
                    )));
                }
            }
        }
    }
    Ok(())
}
