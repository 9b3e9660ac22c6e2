//! What a sync write does with what the board's integrity rules made of a submission: acted on
//! before the write ([`settle_before_write`]), stored with it ([`integrity_write`]), counted
//! ([`stats_note`], [`note_stats`]) and announced ([`announce_flagged`]).

use leaderboard::Result;
use leaderboard::integrity::review::Review;
use leaderboard::integrity::settle::{Judged, Ruling, Settlement};
use leaderboard::integrity::stats::{self, Counter};

use crate::repo::BoardAt;
use crate::submissions::writes::IntegrityWrite;

/// Announces held and flagged submissions to the webhook subscriptions that want
/// `score.flagged` (after the write: a failure here is logged, the review stays listed).
pub(super) async fn announce_flagged(at: &BoardAt<'_>, reviews: &[Review]) {
    if reviews.is_empty() {
        return;
    }
    if let Err(e) = crate::webhooks::delivery::score_flagged(at, reviews).await {
        eprintln!("scores: could not announce flagged submissions: {e}");
    }
}

/// Counts `n` submissions outside the write in the board's stats: a held or rejected one of
/// `player`, or (`player` empty) a burst's earlier members. A failure is logged: a submission's
/// fate does not depend on its count.
pub(super) async fn note_stats(at: &BoardAt<'_>, counter: Counter, n: u64, player: &str) {
    if !at.board().stats || n == 0 {
        return;
    }
    if let Err(e) = at
        .repo
        .note_stats(at.keys(), stats::minute(at.now_ms), counter, n, player)
        .await
    {
        eprintln!(
            "scores: could not count a {} submission: {e}",
            counter.as_str()
        );
    }
}

/// What the write still does once a settlement was acted on ([`settle_before_write`]).
pub(super) enum Settled {
    /// Write, with the review of a flagged submission (stored by the same script).
    Write(Option<Box<Review>>),
    /// Not written: held for review.
    Held(Box<Review>),
}

/// Acts on what the board's integrity rules made of a submission, before the write: a burst's
/// earlier members are flagged (stored if new, counted, announced) whatever becomes of the
/// submission; a rejection is counted and is the answer (`422`); a hold's review is stored and
/// counted instead of the write. Announcements not made here (a flagged write's) are left in
/// `announce` for after the write. `at` is the board at the submission's time (`judged`'s).
pub(super) async fn settle_before_write(
    at: &BoardAt<'_>,
    judged: &Judged<'_>,
    settlement: Settlement,
    announce: &mut Vec<Review>,
) -> Result<Settled> {
    let (repo, _, board, keys, _) = at.parts();
    let (player, now_ms) = (judged.player.as_str(), judged.at_ms);
    if !settlement.burst_flagged.is_empty() {
        let stored = crate::integrity::store_new(repo, keys, &settlement.burst_flagged).await?;
        note_stats(at, Counter::Flagged, stored, "").await;
        announce.extend(settlement.burst_flagged);
    }
    match settlement.ruling {
        Ruling::Apply(flagged) => Ok(Settled::Write(flagged)),
        Ruling::Reject(refusal) => {
            note_stats(at, Counter::Rejected, 1, player).await;
            announce_flagged(at, announce).await;
            Err(refusal)
        }
        Ruling::Hold(review) => {
            let held = repo
                .put_hold(
                    keys,
                    &review.id,
                    &crate::integrity::encode(&review)?,
                    now_ms,
                )
                .await?;
            if !held {
                // Decided before the tournament's end and held after its announcement: refused
                // as closed, as a write after it is (`submit_cas.lua`), so that no approval
                // changes the final standings after them.
                announce_flagged(at, announce).await;
                return Err(leaderboard::competition::tournament::ended_meanwhile(
                    board.tournament.as_ref().map(|t| t.window),
                    &board.id,
                ));
            }
            announce.push((*review).clone());
            note_stats(at, Counter::Held, 1, player).await;
            announce_flagged(at, announce).await;
            Ok(Settled::Held(review))
        }
    }
}

/// What an applied submission adds to the board's stats. An approval was counted as held when
/// it arrived: now only what it does to the board.
pub(super) fn stats_note(
    now_ms: i64,
    approval: bool,
    flagged: bool,
    improved: bool,
    first: bool,
) -> crate::integrity::stats::StatsNote {
    crate::integrity::stats::StatsNote {
        minute: stats::minute(now_ms),
        counters: stats::applied_counters(!approval, flagged, improved, first),
        count_player: !approval,
        improved,
    }
}

/// What the write stores for the board's integrity rules: the player's new state (`state_json`,
/// when the submission was judged) with a flagged submission's review (id, JSON), or an
/// approval's decided review (id, JSON); nothing for a board without rules.
pub(super) fn integrity_write<'a>(
    state_json: Option<&'a str>,
    flagged: Option<(&'a str, &'a str)>,
    approved: Option<(&'a str, &'a str)>,
    now_ms: i64,
) -> Option<IntegrityWrite<'a>> {
    match (state_json, approved) {
        (Some(state_json), _) => Some(IntegrityWrite {
            state_json,
            review: flagged,
            now_ms,
        }),
        (None, Some(review)) => Some(IntegrityWrite {
            state_json: "",
            review: Some(review),
            now_ms,
        }),
        (None, None) => None,
    }
}
