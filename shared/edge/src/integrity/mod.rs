//! Score integrity at the write (`leaderboard::integrity::check`): the facts a board's rules need are
//! read in one round trip (`store`), the core judges and settles them
//! (`leaderboard::integrity::settle::judge`: apply, flag, hold or reject, and a burst's earlier
//! members flagged), and the outcome travels with the write — the player's new state, a flagged submission's review and the burst set are stored by
//! the compare-and-set script that applies the score, so a check and its write cannot part: a
//! concurrent submission of the same player changes the record, fails the compare-and-set, and
//! is judged again on fresh facts.
//!
//! The burst set takes the submission as it is judged (in the facts script), so concurrent
//! submissions of one score each count once and exactly one completes a burst. What stays
//! approximate, by design: the outlier rule's sample is the board as read (a write in flight
//! may be missing from it).

pub mod routes;
pub mod stats;
pub mod store;

use leaderboard::Conflict;
use leaderboard::integrity::review::Review;
use leaderboard::integrity::settle::{self, Judged, Judgment, Stored};
use leaderboard::{LeaderboardError, Result};

use crate::repo::{BoardAt, Keys, Repo};

/// Judges and settles `judged` by its board's integrity rules (`leaderboard::integrity::settle`)
/// on the facts read from Redis in one round trip. `state` is the player's integrity state when
/// the caller knows it better than Redis (a drain's batch, where earlier entries of the player
/// changed it); `None`: as stored.
pub async fn judge(
    repo: &Repo,
    keys: &Keys,
    judged: &Judged<'_>,
    state: Option<&str>,
) -> Result<Judgment> {
    let rules = &judged.board.integrity;
    let raw = repo
        .integrity_facts(
            keys,
            &judged.period,
            judged.player,
            judged.submission.score,
            judged.at_ms,
            rules.burst.map(|b| (b.window_ms, b.players)),
            rules.outlier.is_some(),
        )
        .await?;
    let stored = Stored {
        state: state.unwrap_or(&raw.state),
        sample: &raw.sample,
        players: raw.players,
        same_score_players: raw.same_score_players,
        burst_members: &raw.burst_members,
    };
    settle::judge(judged, &stored, || crate::secrets::unique_hex(16))
}

/// Stores those of `reviews` whose ids are new (a stored review keeps its decision): how many.
pub async fn store_new(repo: &Repo, keys: &Keys, reviews: &[Review]) -> Result<u64> {
    let rows = reviews
        .iter()
        .map(|r| Ok((r.id.clone(), encode(r)?, r.submitted_at_ms)))
        .collect::<Result<Vec<_>>>()?;
    repo.put_new_reviews(keys, &rows).await
}

/// Encodes a review for storage.
pub fn encode(review: &Review) -> Result<String> {
    serde_json::to_string(review).map_err(|e| LeaderboardError::Internal(e.to_string()))
}

/// Takes back a burst's earlier member (flagged when the burst completed, after it was applied,
/// so what the player had before is not known): the player's entry for the period goes, provided
/// it still holds the flagged score; gone already, nothing to do; another score since, `409`.
async fn revert_burst_member(
    at: &BoardAt<'_>,
    review: &Review,
    current: Option<leaderboard::Record>,
) -> Result<()> {
    let (repo, tenant, board, keys, now_ms) = at.parts();
    let player = &review.player;
    match current {
        None => Ok(()),
        Some(record) if record.score == review.submission.score => {
            let event = leaderboard::EventEnvelope::record_deleted(
                tenant,
                &board.id,
                player,
                review.period,
                now_ms,
            )
            .to_json()?;
            repo.delete_player(keys, board, &review.period, player, &event)
                .await?;
            Ok(())
        }
        Some(_) => Err(Conflict::FlaggedRecordChanged {
            player: player.to_string(),
        }
        .into()),
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
pub async fn revert(at: &BoardAt<'_>, review: &Review) -> Result<()> {
    use leaderboard::EventEnvelope;

    let (repo, tenant, board, keys, now_ms) = at.parts();
    let player = &review.player;
    let (raw, current) = repo.record(keys, &review.period, player).await?;
    if review.applied.is_none() {
        return revert_burst_member(at, review, current).await;
    }
    if current == review.previous {
        // Already taken back (a rejection retried after the write, before its decision was
        // recorded).
        return Ok(());
    }
    if current.is_none() || current != review.applied {
        return Err(Conflict::FlaggedRecordChanged {
            player: player.to_string(),
        }
        .into());
    }
    match &review.previous {
        None => {
            let event =
                EventEnvelope::record_deleted(tenant, &board.id, player, review.period, now_ms)
                    .to_json()?;
            repo.delete_player(keys, board, &review.period, player, &event)
                .await?;
        }
        Some(previous) => {
            restore(at, review, (&raw, current), previous).await?;
        }
    }
    Ok(())
}

/// The player's record back to `previous`, the one before the flagged submission, if the
/// stored one is still `read` (its raw JSON and decoded): a `score_applied` entry says so.
async fn restore(
    at: &BoardAt<'_>,
    review: &Review,
    read: (&str, Option<leaderboard::Record>),
    previous: &leaderboard::Record,
) -> Result<()> {
    use leaderboard::EventEnvelope;

    let (repo, tenant, board, keys, now_ms) = at.parts();
    let (raw, current) = read;
    let player = &review.player;
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
    let started =
        EventEnvelope::period_started(tenant, &board.id, review.period, now_ms).to_json()?;
    let cohort = repo.cohort_of(keys, board, &review.period, player).await?;
    let write = crate::submissions::writes::Write {
        period: &review.period,
        player,
        expected_raw: raw,
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
        // Nor is it held to a tournament's window: a rejected score leaves the
        // standings even after the end.
        tournament_end_ms: None,
        // The player keeps its cohort: its entry there returns to the earlier score.
        cohort: cohort.as_ref(),
        // A rejected score leaves a closed period's standings too: a league's moves
        // stand, and a periodic board's awards wait for the period's open reviews.
        closes: false,
    };
    match repo.apply(keys, &write, None).await? {
        crate::submissions::writes::ApplyResult::Applied(_) => {}
        _ => {
            return Err(Conflict::RevertRaced {
                player: player.to_string(),
            }
            .into());
        }
    }
    Ok(())
}
