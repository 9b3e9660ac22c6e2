//! Pure core of the edge leaderboard service: no I/O, no clock (time is always an argument,
//! `now_ms`: Unix milliseconds UTC), fully testable natively.
//!
//! # Design
//!
//! - **Scores** ([`score`]) are `i64` minor units: integers, or fixed-scale decimals (`scale`
//!   0..=6) parsed exactly from JSON numbers or strings, never through `f64` arithmetic.
//! - **Boards** ([`config`]) are validated once ([`BoardConfigInput::validate`] → [`Board`]):
//!   direction, operator, bounds, optional integer subscore, period, retention, caching.
//! - **Sort keys** ([`sortkey`]) map a standing to a Redis sorted-set entry. The score is an integer
//!   `rank_value < 2^53` (exact as a double) where ascending always means better, for either
//!   direction: `primary × sub_width + secondary`, each an offset from the better end of its range.
//!   The member is `{achieved_at_ms:013x}{player}`, so ties list the earliest achievement first, then
//!   by player id. Boards whose `score range × subscore range` exceeds 2^53 are rejected.
//! - **Operators** ([`operator`]): `best` (never worsens), `set`, `incr` (rejects overflow past
//!   `score_max`), `decr` (floors at `score_min`).
//! - **Ranking** ([`rank`]) is competition ranking (1, 1, 3): rank = strictly-better count + 1;
//!   equal rank values share a rank.
//! - **Periods** ([`period`]): `all_time`, daily, ISO-weekly, monthly, all UTC; the current period
//!   plus `retain_periods` before it are readable.
//! - **Cursors** ([`cursor`]) are opaque keyset positions bound to tenant/board/period/sort.
//! - **Events** ([`events`]) are versioned JSON with upcasting of older versions.
//! - **Errors** ([`error`], [`problem`]): one [`LeaderboardError`], one mapping to HTTP status and
//!   RFC 9457 problem details.
#![deny(missing_docs)]

pub mod access;
pub mod apikey;
pub mod breaker;
pub mod cache;
pub mod config;
pub mod cursor;
pub mod dashboard;
mod decimal;
pub mod error;
pub mod events;
pub mod experiment;
pub mod flags;
pub mod i18n;
pub mod idempotency;
pub mod ids;
pub mod inbox;
pub mod integrity;
pub mod jsonlogic;
pub mod live;
pub mod log;
pub mod metrics;
pub mod operator;
pub mod outcome;
pub mod period;
pub mod problem;
pub mod rank;
pub mod ratelimit;
pub mod record;
pub mod review;
pub mod score;
pub mod sortkey;
pub mod stats;
pub mod tenant;
#[cfg(test)]
mod test_support;
pub mod trace;
pub mod view;
pub mod webhook;
pub mod webhook_delivery;
pub mod webhook_target;

pub use access::{Principal, Role};
pub use config::{
    Board, BoardConfigInput, CacheTtl, Operator, ScoreKind, SortOrder, SubscoreConfig,
    SubscoreConfigInput, WriteMode,
};
pub use cursor::{Cursor, CursorBinding};
pub use error::{IdKind, LeaderboardError, Result};
pub use events::{Event, EventEnvelope};
pub use ids::{BoardId, PlayerId, TenantId};
pub use operator::{Outcome, apply};
pub use period::{PeriodId, PeriodKind};
pub use problem::{PROBLEM_CONTENT_TYPE, Problem};
pub use rank::RankedEntry;
pub use record::{Record, Submission, SubmissionInput};
pub use score::ScoreType;
pub use sortkey::{SortKey, Standing};
