//! What becomes of a judged submission: one rule for the synchronous write and the drain.
//!
//! [`check::check`](super::check::check) says which rules triggered; [`settle`] turns that
//! verdict into the submission's [`Ruling`] — applied, applied and flagged (a review stored with
//! the write), held (a review stored instead of the write) or rejected (the `422`, or a dead
//! letter on an asynchronous board) — and, when the submission completes a burst, the reviews
//! that flag the burst's earlier members, whatever becomes of the submission itself (they were
//! applied before the burst showed).
//!
//! [`judge`] runs both steps on what is stored (the facts the adapter reads in one round trip).
//!
//! A review's id is derived (board, player, score, time) when the burst rule is among its
//! triggers, so finding the same burst again lists each member once; otherwise it is random,
//! drawn by the caller (`fresh_hex`: this crate has no random source).

use sha2::{Digest, Sha256};

use super::check::{self, Facts, PlayerState, RobustStats, Verdict};
use super::review::Review;
use crate::board::rules::{Action, Rule};
use crate::board::sortkey;
use crate::{Board, LeaderboardError, PeriodId, PlayerId, Record, Result, Submission};

/// A submission as it is judged: where it goes and what it does to the player's record.
#[derive(Debug, Clone, Copy)]
pub struct Judged<'a> {
    /// The board.
    pub board: &'a Board,
    /// The period it is written to.
    pub period: PeriodId,
    /// Who submitted.
    pub player: &'a PlayerId,
    /// What was submitted.
    pub submission: &'a Submission,
    /// When it was accepted (Unix ms).
    pub at_ms: i64,
    /// The player's record before it (none: the player had none).
    pub before: Option<&'a Record>,
    /// The record it makes.
    pub after: &'a Record,
}

/// What becomes of one judged submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Ruling {
    /// Apply it; with the review of a flagged submission, stored by the same write.
    Apply(Option<Box<Review>>),
    /// Hold it for review: the review is stored, nothing applied.
    Hold(Box<Review>),
    /// Refuse it (`422 integrity-rejected`; on an asynchronous board, a dead letter with this
    /// error's text).
    Reject(LeaderboardError),
}

/// A settled submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    /// What becomes of it.
    pub ruling: Ruling,
    /// Flagged reviews of the earlier members of a burst it completes: stored (those not stored
    /// already) whatever its ruling.
    pub burst_flagged: Vec<Review>,
}

/// What is stored that a board's rules judge a submission on ([`judge`]).
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    /// The player's integrity state (JSON; empty: none yet).
    pub state: &'a str,
    /// Rank values sampled from the period (the outlier rule's crowd).
    pub sample: &'a [u64],
    /// Players in the period.
    pub players: u64,
    /// Other players who submitted the same score within the burst window.
    pub same_score_players: u64,
    /// The earlier members (player, Unix ms) of a burst the submission completes.
    pub burst_members: &'a [(String, i64)],
}

/// A judged and settled submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgment {
    /// What becomes of it, and of the earlier members of a burst it completes.
    pub settlement: Settlement,
    /// The player's state once the submission is accepted (JSON), stored with its write.
    pub state_json: String,
}

/// Judges `judged` by its board's rules on what is `stored` ([`check::check`]), moves the
/// player's state on ([`check::admit`]) and settles it ([`settle`]). A stored state or sample
/// that does not decode is corrupt data.
pub fn judge(
    judged: &Judged<'_>,
    stored: &Stored<'_>,
    fresh_hex: impl FnOnce() -> Result<String>,
) -> Result<Judgment> {
    let board = judged.board;
    let rules = &board.integrity;
    let state: PlayerState = if stored.state.is_empty() {
        PlayerState::default()
    } else {
        serde_json::from_str(stored.state).map_err(|e| {
            LeaderboardError::CorruptData(format!(
                "stored integrity state of {}: {e}",
                judged.player
            ))
        })?
    };
    let scores = stored
        .sample
        .iter()
        .map(|&rv| sortkey::decode_rank_value(board, rv).map(|(score, _)| score))
        .collect::<Result<Vec<i64>>>()?;
    let facts = Facts {
        sort: board.sort,
        player: &state,
        before: judged.before.map(|r| r.score),
        after: judged.after.score,
        players: stored.players,
        stats: RobustStats::of(&scores),
        same_score_players: stored.same_score_players,
    };
    let verdict = check::check(rules, &facts, judged.at_ms);
    let next = check::admit(
        rules,
        &state,
        facts.before,
        judged.after.score,
        judged.at_ms,
    );
    let state_json =
        serde_json::to_string(&next).map_err(|e| LeaderboardError::Internal(e.to_string()))?;
    Ok(Judgment {
        settlement: settle(judged, &verdict, stored.burst_members, fresh_hex)?,
        state_json,
    })
}

/// Settles `judged` by `verdict`. `burst_members` are the earlier members (player, Unix ms) of a
/// burst the submission completes; `fresh_hex` draws a random hex id, asked only when a review
/// needs one. Its failure fails the settlement before anything is stored; the burst's reviews,
/// whose ids are derived, are then stored by the retry.
pub fn settle(
    judged: &Judged<'_>,
    verdict: &Verdict,
    burst_members: &[(String, i64)],
    fresh_hex: impl FnOnce() -> Result<String>,
) -> Result<Settlement> {
    let burst_flagged = burst_reviews(judged, verdict, burst_members);
    let ruling = match verdict.action() {
        None => Ruling::Apply(None),
        Some(Action::Flag) => Ruling::Apply(Some(Box::new(review(
            judged,
            verdict,
            Some((judged.before, judged.after)),
            fresh_hex,
        )?))),
        Some(Action::Hold) => Ruling::Hold(Box::new(review(judged, verdict, None, fresh_hex)?)),
        Some(Action::Reject) => Ruling::Reject(rejected(verdict)),
    };
    Ok(Settlement {
        ruling,
        burst_flagged,
    })
}

/// The `422` of a rejected submission.
fn rejected(verdict: &Verdict) -> LeaderboardError {
    match verdict.decisive() {
        Some(t) => LeaderboardError::IntegrityRejected {
            rule: t.rule.as_str().to_string(),
            detail: t.detail.clone(),
        },
        None => LeaderboardError::Internal("a rejection without a rule".into()),
    }
}

/// The review of a held (`applied` none) or flagged submission.
fn review(
    judged: &Judged<'_>,
    verdict: &Verdict,
    applied: Option<(Option<&Record>, &Record)>,
    fresh_hex: impl FnOnce() -> Result<String>,
) -> Result<Review> {
    let held = applied.is_none();
    let burst = verdict.triggers.iter().any(|t| t.rule == Rule::Burst);
    let id = if burst {
        burst_review_id(
            judged.board,
            judged.player,
            judged.submission.score,
            judged.at_ms,
        )
    } else {
        format!("rv_{}", fresh_hex()?)
    };
    Ok(Review {
        previous: applied.and_then(|(before, _)| before.cloned()),
        applied: applied.map(|(_, after)| after.clone()),
        ..Review::open(
            id,
            held,
            judged.player.clone(),
            judged.period,
            judged.submission.clone(),
            judged.at_ms,
            verdict.triggers.clone(),
        )
    })
}

/// Flagged reviews of the earlier members of a burst that `verdict`'s submission completed. A
/// member whose stored id is not a valid player id is skipped (nothing to review).
fn burst_reviews(judged: &Judged<'_>, verdict: &Verdict, members: &[(String, i64)]) -> Vec<Review> {
    let Some(trigger) = verdict.triggers.iter().find(|t| t.rule == Rule::Burst) else {
        return Vec::new();
    };
    let mut trigger = trigger.clone();
    trigger.action = Action::Flag;
    trigger.detail = format!("{} (flagged when the burst completed)", trigger.detail);
    let score = judged.submission.score;
    members
        .iter()
        .filter_map(|(player, at_ms)| {
            let player = PlayerId::new(player).ok()?;
            Some(Review::open(
                burst_review_id(judged.board, &player, score, *at_ms),
                false,
                player,
                judged.period,
                Submission {
                    score,
                    subscore: None,
                    metadata: None,
                    band: None,
                },
                *at_ms,
                vec![trigger.clone()],
            ))
        })
        .collect()
}

/// The id of the review of `player`'s submission of `score` at `at_ms` in a burst: derived, so
/// the burst's completer and its earlier members are each listed once however many times a
/// burst of their score is found.
fn burst_review_id(board: &Board, player: &PlayerId, score: i64, at_ms: i64) -> String {
    let digest = Sha256::digest(format!("{}\n{player}\n{score}\n{at_ms}", board.id));
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("rv_{hex}")
}

#[cfg(test)]
#[path = "settle_tests.rs"]
mod tests;
