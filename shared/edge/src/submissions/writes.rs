//! The compare-and-set write of a decided record (with its event, in one script) and the removal
//! of an entry.

use leaderboard::{LeaderboardError, PeriodId, PlayerId, Record, Result};

use leaderboard::events::idempotency::applied_prefix;

use crate::repo::script::{Arg, answer, script, unexpected};
use crate::repo::{Keys, Repo, bin, board_deleted, int, parse_record, text, uint};
use crate::submissions::idempotency::store::KeyLock;

script! {
    /// The compare-and-set write of a decided record (`lua/submit_cas.lua`).
    mod submit_cas = crate::integrity::stats::with_stats_note!(include_str!("lua/submit_cas.lua"));
    keys {
        /// The period's records (hash: player → record JSON).
        records,
        /// The period's members (hash: player → sorted-set member).
        members,
        /// The period's sorted set.
        ranked,
        /// The board's event log.
        events,
        /// The periods with data (set).
        periods,
        /// The board's version.
        version,
        /// The `Idempotency-Key`'s record (or the unused key).
        idempotency,
        /// Set when a webhook subscription wants the board.
        hooks_wanted,
        /// The webhook deliverer's bell (rung at most once a second).
        hooks_bell,
        /// The period's integrity states (hash: player → state JSON).
        integrity,
        /// Reviews (hash: id → JSON).
        reviews,
        /// Reviews by submission time (sorted set).
        reviews_by_time,
        /// The stats minute's counters, players and climbers (`stats_note`; or the unused key).
        stats_counters,
        /// See `stats_counters`.
        stats_players,
        /// See `stats_counters`.
        stats_climbers,
        /// The board's config: the write lands only while it exists.
        config,
        /// The tournament's announcements (hash: `ended`, `end`).
        announced,
        /// The player's cohort's sorted set of the period (or the unused key).
        cohort_ranked,
        /// A closing board's closes (hash; or the unused key).
        closes,
    }
    args {
        /// The player.
        player,
        /// The record as read (`''`: none): the write lands only if it is unchanged.
        expected,
        /// The new record (JSON).
        record,
        /// Its sorted-set member.
        member,
        /// Its rank value (sorted-set score).
        rank_value,
        /// The `score_applied` event.
        event,
        /// When the period's keys expire (Unix ms; `'0'`: never).
        expire_at_ms,
        /// The period written.
        period,
        /// The `period_started` event (appended first when this is the period's first write).
        period_started,
        /// `'1'` with an `Idempotency-Key`.
        keyed,
        /// This attempt's reservation of the key.
        reservation,
        /// The stored outcome's prefix.
        outcome_prefix,
        /// The outcome JSON (after `better:total:`).
        outcome,
        /// The outcome's TTL (ms).
        outcome_ttl_ms,
        /// The webhook ring's payload (`wh:tenant/board`).
        hooks_ring,
        /// The player's integrity state (`''`: the board has no rules).
        integrity_state,
        /// A flagged submission's review id (`''`: none).
        review_id,
        /// Its JSON.
        review,
        /// Now (Unix ms).
        now_ms,
        /// The stats' TTL in seconds (`'0'`: the board keeps no stats).
        stats_ttl_s,
        /// The counters to increment (comma-separated).
        counters,
        /// `'1'` when the player counts among the minute's players.
        count_player,
        /// `'1'` when the write improved the player's standing.
        improved,
        /// Climbers kept per minute.
        climbers_kept,
        /// The tournament's end as the decision saw it (Unix ms; `''`: no tournament).
        tournament_end_ms,
        /// `'1'` on a board with cohorts: the entry goes to `cohort_ranked` too, and `better`
        /// and `total` are the cohort's.
        in_cohort,
        /// On a board that closes its periods, the field of `closes` marking this period's
        /// close under way (`''`: none).
        closing_field,
    }
}
/// The write's script as an integration test runs it itself (feature `testing`).
#[cfg(feature = "testing")]
pub fn submit_cas_for_tests() -> crate::repo::script::Named {
    submit_cas::named()
}

script! {
    /// The removal of a player's entry (`lua/delete_player.lua`).
    mod delete_player = include_str!("lua/delete_player.lua");
    keys {
        /// The period's records.
        records,
        /// The period's members.
        members,
        /// The period's sorted set.
        ranked,
        /// The board's event log.
        events,
        /// The board's version.
        version,
        /// The board's config: nothing is removed once it is gone.
        config,
        /// The player's cohort's sorted set of the period (or the unused key).
        cohort_ranked,
    }
    args {
        /// The player.
        player,
        /// The `record_deleted` event.
        event,
        /// `'1'` on a board with cohorts: the entry leaves `cohort_ranked` too (the placement
        /// stays for the period).
        in_cohort,
    }
}

/// What a compare-and-set write did.
#[derive(Debug, Clone)]
pub enum ApplyResult {
    /// Written.
    Applied(Applied),
    /// The record changed since it was read: read again and retry.
    Conflict,
    /// Refused: nothing written, and reading and deciding again in this request would not help
    /// (the client sends it again, or it is final).
    Refused(Refused),
}

/// Why a decided write was refused where it was written (the core's, with the error each is).
pub use leaderboard::board::refused::Refused;

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
    /// script. With `lock`, only if the `Idempotency-Key` is still this attempt's (or free), and
    /// the outcome (`outcome_json`, completed with the script's `better`/`total`) is stored in the
    /// same step.
    pub async fn apply(
        &self,
        keys: &Keys,
        write: &Write<'_>,
        lock: Option<(&KeyLock, &str)>,
    ) -> Result<ApplyResult> {
        let new_raw = serde_json::to_string(write.new)
            .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
        let args = cas_args(keys, write, lock, new_raw);
        let reply = submit_cas::run(self, cas_keys(keys, write, lock), args).await?;
        let (word, rest) = answer(&reply)?;
        match (word.as_str(), rest) {
            ("applied", [better, total, id, version, rang]) => {
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
            ("conflict", []) => Ok(ApplyResult::Conflict),
            ("key_locked", []) => Ok(ApplyResult::Refused(Refused::KeyLocked)),
            ("board_deleted", []) => Err(board_deleted(keys)),
            ("tournament_ended", []) => Ok(ApplyResult::Refused(Refused::TournamentEnded)),
            ("window_moved", []) => Ok(ApplyResult::Refused(Refused::WindowMoved)),
            ("period_closed", []) => Ok(ApplyResult::Refused(Refused::PeriodClosed)),
            (word, rest) => Err(unexpected(submit_cas::NAME, word, rest)),
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
        let named_keys = delete_player::Keys {
            records: keys.records(period),
            members: keys.members(period),
            ranked: keys.zset(period),
            events: keys.events(),
            version: keys.version(),
            config: keys.config(),
            cohort_ranked: cohort.map_or_else(|| keys.unused(), |c| keys.cohort(period, c)),
        };
        let args = delete_player::Args {
            player: player.as_str().into(),
            event: event_json.into(),
            in_cohort: Arg::flag(cohort.is_some()),
        };
        let reply = delete_player::run(self, named_keys, args).await?;
        let (word, rest) = answer(&reply)?;
        match (word.as_str(), rest) {
            ("deleted", [version]) => Ok(Some(int(version)?)),
            ("absent", []) => Ok(None),
            ("board_deleted", []) => Err(board_deleted(keys)),
            (word, rest) => Err(unexpected(delete_player::NAME, word, rest)),
        }
    }
}

/// The write script's keys for `write` (a key it does not use this time is [`Keys::unused`]).
fn cas_keys(keys: &Keys, write: &Write<'_>, lock: Option<(&KeyLock, &str)>) -> submit_cas::Keys {
    let period = write.period;
    let [stats_counters, stats_players, stats_climbers] = write.stats.as_ref().map_or_else(
        || [keys.unused(), keys.unused(), keys.unused()],
        |s| keys.stats(s.minute),
    );
    submit_cas::Keys {
        records: keys.records(period),
        members: keys.members(period),
        ranked: keys.zset(period),
        events: keys.events(),
        periods: keys.periods(),
        version: keys.version(),
        idempotency: lock.map_or_else(|| keys.unused(), |(l, _)| keys.idem(&l.key)),
        hooks_wanted: keys.hooks(),
        hooks_bell: keys.hooks_bell(),
        integrity: keys.integrity(period),
        reviews: keys.reviews(),
        reviews_by_time: keys.reviews_index(),
        stats_counters,
        stats_players,
        stats_climbers,
        config: keys.config(),
        announced: keys.announced(),
        cohort_ranked: write
            .cohort
            .map_or_else(|| keys.unused(), |c| keys.cohort(period, c)),
        closes: if write.closes {
            keys.league()
        } else {
            keys.unused()
        },
    }
}

/// The write script's arguments for `write` (`new_raw`: its record's JSON).
fn cas_args(
    keys: &Keys,
    write: &Write<'_>,
    lock: Option<(&KeyLock, &str)>,
    new_raw: String,
) -> submit_cas::Args {
    let period = write.period;
    let stats = write.stats.as_ref();
    let ig = write.integrity.as_ref();
    let (review_id, review) = ig.and_then(|i| i.review).unwrap_or_default();
    let (reservation, outcome_prefix, outcome) = match lock {
        Some((c, outcome)) => (
            c.reservation.clone(),
            applied_prefix(&c.fingerprint),
            outcome.to_string(),
        ),
        None => Default::default(),
    };
    submit_cas::Args {
        player: write.player.as_str().into(),
        expected: write.expected_raw.into(),
        record: new_raw.into(),
        member: write.member.into(),
        rank_value: write.rank_value.into(),
        event: write.event_json.into(),
        expire_at_ms: write.expire_at_ms.unwrap_or(0).into(),
        period: period.to_string().into(),
        period_started: write.period_started_json.into(),
        keyed: Arg::flag(lock.is_some()),
        reservation: reservation.into(),
        outcome_prefix: outcome_prefix.into(),
        outcome: outcome.into(),
        outcome_ttl_ms: leaderboard::events::idempotency::OUTCOME_TTL_MS.into(),
        hooks_ring: keys.hooks_ring().into(),
        integrity_state: ig.map_or("", |i| i.state_json).into(),
        review_id: review_id.into(),
        review: review.into(),
        now_ms: ig.map_or(0, |i| i.now_ms).into(),
        stats_ttl_s: stats
            .map_or(0, |_| leaderboard::integrity::stats::RETAIN_SECS)
            .into(),
        counters: stats.map(|s| s.fields()).unwrap_or_default().into(),
        count_player: Arg::flag(stats.is_some_and(|s| s.count_player)),
        improved: Arg::flag(stats.is_some_and(|s| s.improved)),
        climbers_kept: leaderboard::integrity::stats::CLIMBERS_KEPT.into(),
        tournament_end_ms: write
            .tournament_end_ms
            .map(|end| end.to_string())
            .unwrap_or_default()
            .into(),
        in_cohort: Arg::flag(write.cohort.is_some()),
        closing_field: if write.closes {
            crate::competitions::leagues::store::closing_field(period)
        } else {
            String::new()
        }
        .into(),
    }
}
