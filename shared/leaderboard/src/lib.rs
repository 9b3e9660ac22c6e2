//! Pure core of the edge leaderboard service: no I/O, no clock (time is always an argument,
//! `now_ms`: Unix milliseconds UTC), fully testable natively.
//!
//! # The map
//!
//! The crate is seven rooms over three shared modules. A module may use what is in its own room or
//! a room below it, never one above (`scripts/layers.py` checks it in CI, with no circle between
//! any two modules), bottom first:
//!
//! 1. [`error`] (one [`LeaderboardError`]; a `409` conflict by what it is about:
//!    [`conflict`]), [`ids`] (tenant, board and player ids), [`time`]
//!    (moments as the API shows them), [`negotiate`] (the `Accept`-style lists every
//!    negotiator reads).
//! 2. [`competition`]: the rules a competition adds to a board — tournaments' windows, joins
//!    and attempts ([`competition::tournament`]), cohorts ([`competition::cohort`]), leagues'
//!    promotion and demotion ([`competition::league`]) and rewards by rank
//!    ([`competition::rewards`]). They take plain values and know nothing of boards, so a
//!    board's configuration can hold them.
//! 3. [`board`]: a board and how it ranks. Scores ([`board::score`]) are `i64` minor units
//!    parsed exactly; a board's configuration ([`board::config`], with its integrity rules
//!    [`board::rules`] and log retention [`board::retention`]) is validated once
//!    ([`BoardConfigInput::validate`] → [`Board`]: built and checked, [`board::build`]) and
//!    read back as stored, built without the input's checks ([`board::stored`]); sort keys ([`board::sortkey`]) map a standing
//!    to a Redis sorted-set entry (`rank_value < 2^53`, ascending = better; member
//!    `{achieved_at_ms:013x}{player}`, so ties list the earliest achievement first); operators
//!    ([`board::operator`]: `best`, `set`, `incr`, `decr`); competition ranking
//!    ([`board::rank`]: 1, 1, 3); periods ([`board::period`]: all-time, daily, ISO-weekly,
//!    monthly, UTC); keyset cursors ([`board::cursor`]); the views a read renders
//!    ([`board::view`]).
//! 4. [`integrity`]: a submission judged against its board's rules ([`integrity::check`]),
//!    what becomes of it — applied, flagged, held or rejected, and a burst's earlier members
//!    flagged — for the synchronous write and the drain alike ([`integrity::settle`]), the
//!    reviews of held and flagged ones ([`integrity::review`]), a board's analytics
//!    ([`integrity::stats`]).
//! 5. [`events`]: the versioned event log ([`events::event`]), its fold into projections, replay
//!    and time travel ([`events::log`]), the asynchronous inbox ([`events::inbox`]), idempotent
//!    answers ([`events::idempotency`]) and a submission's typed outcome ([`events::outcome`]).
//! 6. [`policy`]: who may do what ([`policy::access`], [`policy::apikey`], the address lists
//!    an operator writes: [`policy::addresses`]), rate limits
//!    ([`policy::ratelimit`]), flags and their JsonLogic ([`policy::flags`],
//!    [`policy::jsonlogic`]), A/B experiments ([`policy::experiment`]), tenant settings
//!    ([`policy::tenant`]) and the Redis circuit breaker ([`policy::breaker`]).
//! 7. [`outbound`]: webhook subscriptions, their targets and deliveries.
//! 8. [`http`]: what the HTTP surface shares: the operation table every door names its
//!    operations from ([`http::operation`]: REST form and rate-limit class), the app's route
//!    table and Spin's matching rules ([`http::routes`]: which component and route a path
//!    takes, for the components and edge-host alike), problem details
//!    ([`http::problem`]) in six
//!    languages ([`http::i18n`]), trace context and the access log ([`http::trace`]), metrics
//!    ([`http::metrics`]), the edge cache's layout ([`http::cache`]), live updates
//!    ([`http::live`]) and the dashboard page ([`http::dashboard`]).
#![deny(missing_docs)]

pub mod board;
pub mod competition;
pub mod conflict;
pub mod error;
pub mod events;
pub mod http;
pub mod ids;
pub mod integrity;
pub mod negotiate;
pub mod outbound;
pub mod policy;
pub mod time;

pub use board::config::{
    Board, BoardConfigInput, CacheTtl, Operator, ScoreKind, SortOrder, SubscoreConfig,
    SubscoreConfigInput, WriteMode,
};
pub use board::cursor::{Cursor, CursorBinding};
pub use board::operator::{Outcome, apply};
pub use board::period::{PeriodId, PeriodKind};
pub use board::rank::RankedEntry;
pub use board::record::{Record, Submission, SubmissionInput};
pub use board::score::ScoreType;
pub use board::sortkey::{SortKey, Standing};
pub use conflict::ConflictKind;
pub use error::{Conflict, IdKind, LeaderboardError, Result};
pub use events::event::{Event, EventEnvelope};
pub use http::problem::{PROBLEM_CONTENT_TYPE, Problem};
pub use ids::{BoardId, PlayerId, TenantId};
pub use policy::access::{Principal, Role};
