//! The compare-and-set write of a decided record (with its event, in one script) and the removal
//! of an entry.

use leaderboard::{LeaderboardError, PeriodId, PlayerId, Record, Result};

use leaderboard::events::idempotency::applied_prefix;

use crate::repo::{Keys, Repo, bin, board_deleted, int, parse_record, text, uint};
use crate::submissions::idempotency::store::Claim;

const SUBMIT_CAS: &str =
    crate::integrity::stats::with_stats_note!(include_str!("lua/submit_cas.lua"));
const DELETE_PLAYER: &str = include_str!("lua/delete_player.lua");

/// What a compare-and-set write did.
#[derive(Debug, Clone)]
pub enum ApplyResult {
    /// Written.
    Applied(Applied),
    /// The record changed since it was read: read again and retry.
    Conflict,
    /// The `Idempotency-Key` is held by another attempt of the request: nothing written.
    ClaimLost,
    /// The board's tournament's end was announced since the decision read it: nothing written
    /// (its standings are final).
    TournamentEnded,
    /// The board's tournament's end moved since the decision read it (ended early or
    /// extended): nothing written; decide again.
    WindowMoved,
    /// The league's period written is closing or closed (`crate::competitions::leagues`): nothing written (its
    /// standings are final).
    PeriodClosed,
}

/// A decided write: the record the core decided, where it goes, and its event.
#[derive(Debug, Clone)]
pub struct Write<'a> {
    /// The period written.
    pub period: &'a PeriodId,
    /// The player.
    pub player: &'a PlayerId,
    /// The record as read (raw JSON, `""` when absent): the write applies only if it is unchanged.
    pub expected_raw: &'a str,
    /// The new record.
    pub new: &'a Record,
    /// Its sorted-set member.
    pub member: &'a str,
    /// Its rank value (sorted-set score).
    pub rank_value: u64,
    /// The `score_applied` event appended with it.
    pub event_json: &'a str,
    /// The `period_started` event, appended before it if this is the period's first write.
    pub period_started_json: &'a str,
    /// When the period's keys expire (`None`: never).
    pub expire_at_ms: Option<i64>,
    /// What the board's integrity rules store with the write (`None`: the board has none).
    pub integrity: Option<IntegrityWrite<'a>>,
    /// How the write counts in the board's stats (`None`: not at all).
    pub stats: Option<crate::integrity::stats::StatsNote>,
    /// A tournament's end as the decision saw it (Unix ms; `None`: no tournament): the write
    /// lands only while the end was not announced nor moved since (`crate::competitions::tournaments`).
    pub tournament_end_ms: Option<i64>,
    /// The player's cohort on a board with cohorts: the entry is kept in the cohort's sorted
    /// set too, and the standing answered is the cohort's.
    pub cohort: Option<&'a leaderboard::competition::cohort::CohortId>,
    /// Whether the board closes its periods (`Board::closes_periods`: a league, or a periodic
    /// board with rewards): the write lands only while its period's close has not begun
    /// (`crate::competitions::leagues`, `crate::competitions::rewards`).
    pub closes: bool,
}

/// The integrity part of a write (`crate::integrity`).
#[derive(Debug, Clone)]
pub struct IntegrityWrite<'a> {
    /// The player's state after the submission (JSON).
    pub state_json: &'a str,
    /// A flagged submission's review: id and JSON.
    pub review: Option<(&'a str, &'a str)>,
    /// Now (Unix ms).
    pub now_ms: i64,
}

/// The result of a successful compare-and-set write.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Entries strictly better than the new standing.
    pub better: u64,
    /// Entries in the period.
    pub total: u64,
    /// Stream id of the appended event.
    pub event_id: String,
    /// The board's version after this write.
    pub version: i64,
}

impl Repo {
    /// A player's record as raw JSON (for compare-and-set) and decoded.
    pub async fn record(
        &self,
        keys: &Keys,
        period: &PeriodId,
        player: &PlayerId,
    ) -> Result<(String, Option<Record>)> {
        let r = self
            .exec(
                "HGET",
                vec![bin(keys.records(period)), bin(player.as_str())],
            )
            .await?;
        let raw = r.first().map(text).transpose()?.unwrap_or_default();
        let rec = parse_record(&raw)?;
        Ok((raw, rec))
    }

    /// Applies a decided record if the stored one is still the one read, with its events, in one
    /// script. With `claim`, only if the `Idempotency-Key` is still this attempt's (or free), and
    /// the outcome (`outcome_json`, completed with the script's `better`/`total`) is stored in the
    /// same step.
    pub async fn apply(
        &self,
        keys: &Keys,
        write: &Write<'_>,
        claim: Option<(&Claim, &str)>,
    ) -> Result<ApplyResult> {
        let new_raw = serde_json::to_string(write.new)
            .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
        let period = write.period;
        let cas_keys = [
            keys.records(period),
            keys.members(period),
            keys.zset(period),
            keys.events(),
            keys.periods(),
            keys.version(),
            claim.map_or_else(|| keys.unused(), |(c, _)| keys.idem(&c.key)),
            keys.hooks(),
            keys.hooks_bell(),
            keys.integrity(period),
            keys.reviews(),
            keys.reviews_index(),
        ];
        let stats = write.stats.as_ref();
        let stats_keys = stats.map_or_else(
            || [keys.unused(), keys.unused(), keys.unused()],
            |s| keys.stats(s.minute),
        );
        let cas_keys: Vec<String> = cas_keys
            .into_iter()
            .chain(stats_keys)
            .chain([
                keys.config(),
                keys.announced(),
                write
                    .cohort
                    .map_or_else(|| keys.unused(), |c| keys.cohort(period, c)),
                if write.closes {
                    keys.league()
                } else {
                    keys.unused()
                },
            ])
            .collect();
        let ig = write.integrity.as_ref();
        let (review_id, review_json) = ig.and_then(|i| i.review).unwrap_or_default();
        let flag = |on: bool| bin(if on { "1" } else { "0" });
        let (reservation, prefix, outcome) = match claim {
            Some((c, outcome)) => (
                c.reservation.clone(),
                applied_prefix(&c.fingerprint),
                outcome.to_string(),
            ),
            None => Default::default(),
        };
        let r = self
            .eval(
                SUBMIT_CAS,
                &cas_keys,
                vec![
                    bin(write.player.as_str()),
                    bin(write.expected_raw),
                    bin(new_raw),
                    bin(write.member),
                    bin(write.rank_value.to_string()),
                    bin(write.event_json),
                    bin(write.expire_at_ms.unwrap_or(0).to_string()),
                    bin(period.to_string()),
                    bin(write.period_started_json),
                    flag(claim.is_some()),
                    bin(reservation),
                    bin(prefix),
                    bin(outcome),
                    Claim::ttl_arg(),
                    bin(keys.hooks_ring()),
                    bin(ig.map_or("", |i| i.state_json)),
                    bin(review_id),
                    bin(review_json),
                    bin(ig.map_or(0, |i| i.now_ms).to_string()),
                    bin(stats
                        .map_or(0, |_| leaderboard::integrity::stats::RETAIN_SECS)
                        .to_string()),
                    bin(stats.map(|s| s.fields()).unwrap_or_default()),
                    flag(stats.is_some_and(|s| s.count_player)),
                    flag(stats.is_some_and(|s| s.improved)),
                    bin(leaderboard::integrity::stats::CLIMBERS_KEPT.to_string()),
                    bin(write
                        .tournament_end_ms
                        .map(|end| end.to_string())
                        .unwrap_or_default()),
                    flag(write.cohort.is_some()),
                    bin(if write.closes {
                        crate::competitions::leagues::store::closing_field(period)
                    } else {
                        String::new()
                    }),
                ],
            )
            .await?;
        match r.as_slice() {
            [ok] if int(ok)? == 0 => Ok(ApplyResult::Conflict),
            [ok] if int(ok)? == 3 => Ok(ApplyResult::ClaimLost),
            [ok] if int(ok)? == 4 => Err(board_deleted(keys)),
            [ok] if int(ok)? == 5 => Ok(ApplyResult::TournamentEnded),
            [ok] if int(ok)? == 6 => Ok(ApplyResult::WindowMoved),
            [ok] if int(ok)? == 7 => Ok(ApplyResult::PeriodClosed),
            [_, better, total, id, version, rang] => {
                self.note_if_rang(keys, Some(rang), crate::scope::now_ms())
                    .await;
                let applied = Applied {
                    better: uint(better)?,
                    total: uint(total)?,
                    event_id: text(id)?,
                    version: int(version)?,
                };
                // With `redis_min_replica_acks`: on its replicas before it is answered.
                self.await_replicas(&[&keys.config()]).await?;
                Ok(ApplyResult::Applied(applied))
            }
            other => Err(LeaderboardError::CorruptData(format!(
                "unexpected reply {other:?}"
            ))),
        }
    }

    /// Removes a player's entry from a period of `board` (and from its cohort's, on a board
    /// with cohorts; the placement stays for the period): the board's new version, or `None` if
    /// the player had no entry.
    pub async fn delete_player(
        &self,
        keys: &Keys,
        board: &leaderboard::Board,
        period: &PeriodId,
        player: &PlayerId,
        event_json: &str,
    ) -> Result<Option<i64>> {
        let cohort = self.cohort_of(keys, board, period, player).await?;
        let cohort = cohort.as_ref();
        let r = self
            .eval(
                DELETE_PLAYER,
                &[
                    keys.records(period),
                    keys.members(period),
                    keys.zset(period),
                    keys.events(),
                    keys.version(),
                    keys.config(),
                    cohort.map_or_else(|| keys.unused(), |c| keys.cohort(period, c)),
                ],
                vec![
                    bin(player.as_str()),
                    bin(event_json),
                    bin(if cohort.is_some() { "1" } else { "0" }),
                ],
            )
            .await?;
        match r.first().map(int).transpose()? {
            Some(-1) => Err(board_deleted(keys)),
            Some(0) => Ok(None),
            Some(version) if version > 0 => Ok(Some(version)),
            other => Err(LeaderboardError::CorruptData(format!(
                "deleting a player answered {other:?}"
            ))),
        }
    }
}
