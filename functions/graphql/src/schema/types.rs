//! The schema's object and input types: entries and pages, players' standings, a board's
//! configuration, a submission and its outcome.

use edge::reads::{self, Ranked};
use juniper::{GraphQLInputObject, GraphQLObject, ID};
use leaderboard::board::view::{EntryView, PeriodView};
use leaderboard::events::outcome::Fate;
use leaderboard::{Board, LeaderboardError, PlayerId, Result};
use serde_json::Value;

pub(super) fn count(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub(super) fn arg_u32(name: &str, v: i32) -> Result<u32> {
    u32::try_from(v).map_err(|_| {
        LeaderboardError::InvalidBody(format!("'{name}' must not be negative, got {v}"))
    })
}

/// One ranked row.
#[derive(GraphQLObject)]
#[graphql(description = "One ranked row of a board.")]
pub struct Entry {
    /// Competition rank (ties share a rank).
    rank: i32,
    /// The player.
    player: ID,
    /// The score, a decimal in the board's scale.
    score: String,
    /// The subscore (a 64-bit integer as text), when the board has one.
    subscore: Option<String>,
    /// When the standing was reached (RFC 3339).
    achieved_at: String,
    /// The entry's metadata object as JSON text.
    metadata: Option<String>,
}

impl Entry {
    pub(super) fn of(board: &Board, e: &EntryView) -> Self {
        Self {
            rank: count(e.rank),
            player: ID::new(e.player.as_str()),
            score: board.format_score(e.score),
            subscore: e.subscore.map(|s| s.to_string()),
            achieved_at: iso_text(e.achieved_at_ms),
            metadata: e.metadata.as_ref().map(Value::to_string),
        }
    }
}

pub(super) fn iso_text(ms: i64) -> String {
    leaderboard::time::iso_text(ms)
}

/// A page of entries.
#[derive(GraphQLObject)]
#[graphql(description = "A page of ranked entries of one period.")]
pub struct LeaderboardPage {
    /// The board.
    board: ID,
    /// The rows, best first.
    entries: Vec<Entry>,
    /// Entries in the period.
    total_count: i32,
    /// The cursor of the next page (`leaderboard` only), null on the last page.
    next_cursor: Option<String>,
    /// The period read.
    period: String,
    /// The current period.
    current_period: String,
    /// When the current period ends (RFC 3339), null for an all-time board.
    next_reset: Option<String>,
    /// On a board with cohorts, the cohort read (null: the whole board, or a board without
    /// cohorts); the ranks and `totalCount` are its.
    cohort: Option<String>,
}

impl LeaderboardPage {
    pub(super) fn of(board: &Board, r: &Ranked) -> Self {
        Self {
            board: ID::new(board.id.as_str()),
            entries: r.entries.iter().map(|e| Entry::of(board, e)).collect(),
            total_count: count(r.total),
            next_cursor: r.next_cursor.clone(),
            period: r.period.id.to_string(),
            current_period: r.period.current.to_string(),
            next_reset: r.period.next_reset_ms.map(iso_text),
            cohort: r.cohort.as_ref().map(ToString::to_string),
        }
    }
}

/// Several players' standings.
#[derive(GraphQLObject)]
#[graphql(description = "The standings of several players, in the order asked.")]
pub struct PlayerList {
    /// The board.
    pub(super) board: ID,
    /// The players found, in the order asked.
    pub(super) entries: Vec<Entry>,
    /// The players asked for that have no entry in the period.
    pub(super) missing: Vec<ID>,
    /// Entries in the period.
    pub(super) total_count: i32,
    /// The period read.
    pub(super) period: String,
    /// When the current period ends (RFC 3339), null for an all-time board.
    pub(super) next_reset: Option<String>,
    /// On a board with cohorts, the cohort read (null: the whole board, or a board without
    /// cohorts); the ranks and `totalCount` are its.
    pub(super) cohort: Option<String>,
}

/// One player's standing.
#[derive(GraphQLObject)]
#[graphql(description = "One player's standing.")]
pub struct Standing {
    /// The player's row.
    entry: Entry,
    /// The share of entries ranked below the player, in percent.
    percentile: f64,
    /// Entries in the period.
    total_count: i32,
    /// The period read.
    period: String,
    /// When the current period ends (RFC 3339), null for an all-time board.
    next_reset: Option<String>,
    /// On a board with cohorts, the cohort read (null: the whole board, or a board without
    /// cohorts); the ranks and `totalCount` are its.
    cohort: Option<String>,
}

impl Standing {
    pub(super) fn of(board: &Board, s: &reads::Standing) -> Self {
        Self {
            entry: Entry::of(board, &s.entry),
            percentile: leaderboard::board::rank::percentile(s.entry.rank, s.total),
            total_count: count(s.total),
            period: s.period.id.to_string(),
            next_reset: s.period.next_reset_ms.map(iso_text),
            cohort: s.cohort.as_ref().map(ToString::to_string),
        }
    }
}

/// A board.
#[derive(GraphQLObject)]
#[graphql(
    name = "Board",
    description = "A board's configuration and its current period."
)]
pub struct BoardInfo {
    /// The board's id.
    id: ID,
    /// `desc` (higher is better) or `asc`.
    sort: String,
    /// How a submission combines with the entry: `best`, `latest`, `sum`, …
    operator: String,
    /// `integer` or `decimal`.
    score_type: String,
    /// `all_time`, `daily`, `weekly` or `monthly`.
    period_kind: String,
    /// `sync` (applied before the answer) or `async` (accepted into the inbox).
    write_mode: String,
    /// Whether anyone may read the rankings.
    public_read: bool,
    /// The current period.
    current_period: String,
    /// When the current period ends (RFC 3339), null for an all-time board.
    next_reset: Option<String>,
    /// The whole configuration as JSON text (the body `GET /api/v1/boards/{board}` answers).
    config: String,
}

impl BoardInfo {
    /// The board as it is at `now_ms`.
    pub(super) fn of(board: &Board, now_ms: i64) -> Result<Self> {
        let period = PeriodView::resolve(board, None, now_ms)?;
        Ok(Self {
            id: ID::new(board.id.as_str()),
            sort: enum_text(&board.sort),
            operator: enum_text(&board.to_input().operator),
            score_type: enum_text(&board.to_input().score_type),
            period_kind: enum_text(&board.period),
            write_mode: enum_text(&board.write_mode),
            public_read: board.public_read,
            current_period: period.current.to_string(),
            next_reset: period.next_reset_ms.map(iso_text),
            config: serde_json::to_string(&board.to_input())
                .map_err(|e| LeaderboardError::Internal(e.to_string()))?,
        })
    }
}

pub(super) fn enum_text<T: juniper::serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A score to submit.
#[derive(GraphQLInputObject)]
#[graphql(description = "A score to submit.")]
pub struct ScoreInput {
    /// Who scored.
    pub(super) player: ID,
    /// The score, a decimal (e.g. "1234" or "98.25") in the board's scale.
    pub(super) score: String,
    /// The subscore, a 64-bit integer as text, on boards with a subscore.
    pub(super) subscore: Option<String>,
    /// A metadata object as JSON text.
    pub(super) metadata: Option<String>,
}

/// What became of a submission.
#[derive(GraphQLObject)]
#[graphql(description = "What became of a submission.")]
pub struct SubmitResult {
    /// `APPLIED` (sync boards), `ACCEPTED` (async boards: in the inbox) or `HELD` (for review).
    status: String,
    /// The HTTP status the REST API answers for the same submission (201, 200 or 202).
    http_status: i32,
    /// Whether this is the stored outcome of an earlier request with the same idempotency key.
    replayed: bool,
    /// The player.
    player: ID,
    /// The player's row after the write (`APPLIED` only).
    entry: Option<Entry>,
    /// Entries in the period after the write (`APPLIED` only).
    total_count: Option<i32>,
    /// The score before, if the player had an entry (`APPLIED` only).
    previous_score: Option<String>,
    /// Whether the standing improved (`APPLIED` only).
    improved: Option<bool>,
    /// The inbox event id (`ACCEPTED` only).
    event_id: Option<String>,
    /// The review holding the submission (`HELD` only).
    review: Option<String>,
}

impl SubmitResult {
    /// The submission's answer as every door shows it (`leaderboard::events::outcome::SubmitSummary`).
    pub(super) fn of(
        board: &Board,
        player: &PlayerId,
        done: &edge::submissions::submit::Submitted,
    ) -> Result<Self> {
        let summary = done.outcome.summary(board, player);
        let player = player.as_str();
        Ok(Self {
            status: match summary.fate {
                Fate::Applied => "APPLIED",
                Fate::Accepted => "ACCEPTED",
                Fate::Held => "HELD",
            }
            .to_string(),
            http_status: i32::from(done.status),
            replayed: done.replayed,
            player: ID::new(player),
            entry: summary.entry.map(|e| Entry {
                rank: count(e.rank),
                player: ID::new(player),
                score: e.score,
                subscore: e.subscore.map(|s| s.to_string()),
                achieved_at: e.achieved_at,
                metadata: e.metadata.as_ref().map(Value::to_string),
            }),
            total_count: summary.total.map(count),
            previous_score: summary.previous_score,
            improved: summary.improved,
            event_id: summary.event_id,
            review: summary.review,
        })
    }
}
