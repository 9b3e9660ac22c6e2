//! The crate's single error type and its mapping to HTTP status codes.
//!
//! Every fallible function in the core returns [`LeaderboardError`]. Adapters (HTTP handlers, the
//! Redis-triggered projector) map it to a response through [`LeaderboardError::status`] and
//! [`crate::Problem`]; there is exactly one such mapping, here.

use std::fmt;

pub use crate::conflict::Conflict;

/// Result alias used throughout the crate.
pub type Result<T, E = LeaderboardError> = std::result::Result<T, E>;

/// Which kind of identifier failed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// A tenant id (`tid` claim, key prefix).
    Tenant,
    /// A board id (path segment, key prefix).
    Board,
    /// A player id (path segment, sorted-set member suffix).
    Player,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tenant => "tenant id",
            Self::Board => "board id",
            Self::Player => "player id",
        })
    }
}

/// Every error the leaderboard core can report, each with a precise human message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaderboardError {
    /// A tenant, board or player id is malformed.
    #[error("invalid {kind}: {reason}")]
    InvalidId {
        /// Which id.
        kind: IdKind,
        /// What was wrong with it.
        reason: String,
    },
    /// A score or subscore could not be parsed or is not exact at the board's scale.
    #[error("invalid score: {0}")]
    InvalidScore(String),
    /// A score, subscore or delta lies outside the board's configured bounds.
    #[error("{field} {value} is out of range: allowed {min} ..= {max}")]
    ScoreOutOfRange {
        /// `score`, `subscore`, `increment`, `resulting score`, …
        field: String,
        /// The offending value, formatted for the board.
        value: String,
        /// Lowest allowed value, formatted for the board.
        min: String,
        /// Highest allowed value, formatted for the board.
        max: String,
    },
    /// A timestamp is outside the supported range.
    #[error("invalid timestamp: {0}")]
    InvalidTimestamp(String),
    /// A board configuration is invalid.
    #[error("invalid board configuration: {0}")]
    InvalidConfig(String),
    /// The board's score × subscore range does not fit the exact sort-key encoding.
    #[error(
        "board needs {needed} distinct sort values (score range × subscore range) but the sort-key \
         encoding holds at most {available} (2^53); narrow score_min/score_max or the subscore range"
    )]
    EncodingCapacity {
        /// Distinct values the configuration needs.
        needed: u128,
        /// Distinct values the encoding can hold.
        available: u64,
    },
    /// A pagination cursor is malformed, from another board/period/sort, or of another version.
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
    /// A period id is malformed or does not match the board's period kind.
    #[error("invalid period: {0}")]
    InvalidPeriod(String),
    /// The period exists in principle but is not readable (future, or older than `retain_periods`).
    #[error("period not retained: {0}")]
    PeriodNotRetained(String),
    /// No such board.
    #[error("board not found: {0}")]
    BoardNotFound(String),
    /// A board with this id already exists.
    #[error("board already exists: {0}")]
    BoardExists(String),
    /// No record for this player on the board (in the period).
    #[error("player not found: {0}")]
    PlayerNotFound(String),
    /// A domain event could not be encoded or decoded.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// Stored data (sorted-set member, rank value, record) does not decode.
    #[error("corrupt stored data: {0}")]
    CorruptData(String),
    /// Missing or invalid credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Valid credentials without the required role or tenant.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A body or a part of it (metadata) exceeds its size limit.
    #[error("{what} is {size} bytes, larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// What was too large (`request body`, `metadata`).
        what: String,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A request body is not valid JSON or does not match the expected shape.
    #[error("invalid request body: {0}")]
    InvalidBody(String),
    /// Too many requests; retry later.
    #[error("rate limit '{policy}' exceeded: retry after {retry_after_secs} s")]
    RateLimited {
        /// The policy that denied the request.
        policy: String,
        /// Seconds until a retry may succeed (`Retry-After`).
        retry_after_secs: u64,
    },
    /// The stored state refuses the request: a write that raced others (sent again, it may
    /// pass) or a state that stands until something else changes it ([`Conflict`]).
    #[error("conflict: {0}")]
    Conflict(#[from] Conflict),
    /// A tenant quota would be exceeded.
    #[error("quota exceeded: {detail}")]
    QuotaExceeded {
        /// The quota's name (`max_boards`, `max_players_per_board`).
        quota: String,
        /// What happened.
        detail: String,
    },
    /// A conditional request's precondition (`If-Match`) no longer holds.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// Another attempt of the same request holds its `Idempotency-Key` right now; retry later.
    #[error("idempotency key in use: {0}")]
    IdempotencyInProgress(String),
    /// The `Idempotency-Key` was used with another request (body, player or API version).
    #[error("idempotency key reused: {0}")]
    IdempotencyMismatch(String),
    /// A dependency (Redis, key-value store) is unavailable.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// No such route or resource (other than boards and players).
    #[error("not found: {0}")]
    NotFound(String),
    /// A webhook subscription is invalid (its URL refused, an unknown event type, …).
    #[error("invalid webhook subscription: {0}")]
    InvalidWebhook(String),
    /// A board's integrity rule refused a submission (its action is `reject`).
    #[error("refused by the board's {rule} rule: {detail}")]
    IntegrityRejected {
        /// The rule (`velocity`, `improvement`, `outlier`, `burst`).
        rule: String,
        /// The numbers that made it, in words.
        detail: String,
    },
    /// A tournament's window refused a submission: it has not started, or it has ended.
    #[error(
        "the tournament {}: its window runs from {} until {}",
        if *upcoming { "has not started" } else { "has ended" },
        crate::time::iso(*start_ms).as_str().unwrap_or("?"),
        crate::time::iso(*end_ms).as_str().unwrap_or("?")
    )]
    TournamentClosed {
        /// Whether it has yet to start (else it has ended).
        upcoming: bool,
        /// When its window opens (Unix ms).
        start_ms: i64,
        /// When it closes (Unix ms).
        end_ms: i64,
    },
    /// A tournament has all the players it takes (`max_size`).
    #[error("the tournament is full: it takes {max_size} players")]
    TournamentFull {
        /// Its size.
        max_size: u32,
    },
    /// A player has used every attempt of this run of a tournament (`max_attempts` plus what was
    /// granted).
    #[error("every attempt of this run is used: {allowed} allowed")]
    TournamentAttemptsUsed {
        /// Attempts allowed this run.
        allowed: u64,
    },
    /// A tournament takes submissions from players who joined it only (`join_required`).
    #[error("not joined: {0}")]
    TournamentNotJoined(String),
    /// The route exists but not for this method; `allowed` is what the response's `Allow` header
    /// says (`GET, POST`).
    #[error("method not allowed: {detail}; allowed: {allowed}")]
    MethodNotAllowed {
        /// What was asked (`DELETE is not allowed on /api/v1/boards/x/scores`).
        detail: String,
        /// The methods the route takes, comma-separated.
        allowed: String,
    },
    /// The request body has an unsupported content type.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// A variable of the component is set to a value it does not take (`edge::settings`): the
    /// operator's to fix, never the client's; the text names the variable and what it takes.
    #[error("misconfigured: {0}")]
    Misconfigured(String),
    /// A bug or an unexpected state; never caused by the client.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Reads something stored: `raw` decoded as its input form `I`, then built by `build` (the
/// structural checks only, never the input's); what does not decode or build is `corrupt-data`
/// naming `what` (say, `board 'b'`: [`LeaderboardError::as_stored`]). Boards, tenant settings and
/// reward tables are read through it.
pub fn from_stored<I: serde::de::DeserializeOwned, T>(
    what: &str,
    raw: &[u8],
    build: impl FnOnce(I) -> Result<T>,
) -> Result<T> {
    let input: I = serde_json::from_slice(raw)
        .map_err(|e| LeaderboardError::CorruptData(format!("stored {what}: {e}")))?;
    build(input).map_err(|e| e.as_stored(what))
}

impl LeaderboardError {
    /// This error, met reading something stored (`what`: say, `board 'b'`): a refusal of what
    /// was stored (`InvalidConfig`, `EncodingCapacity`: the build of a stored configuration) is
    /// `CorruptData` naming it, never a `4xx` the caller could mend; any other stays as it is.
    pub fn as_stored(self, what: &str) -> Self {
        match self {
            Self::InvalidConfig(m) => Self::CorruptData(format!("stored {what}: {m}")),
            e @ Self::EncodingCapacity { .. } => Self::CorruptData(format!("stored {what}: {e}")),
            other => other,
        }
    }

    /// Whether it is an outage of a dependency (Redis, the KV store), which passes: worth
    /// retrying, where any other error would fail the same way again.
    pub fn is_outage(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// HTTP status code for this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidId { .. }
            | Self::InvalidScore(_)
            | Self::InvalidTimestamp(_)
            | Self::InvalidCursor(_)
            | Self::InvalidPeriod(_)
            | Self::InvalidBody(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) | Self::TournamentNotJoined(_) => 403,
            Self::PeriodNotRetained(_)
            | Self::BoardNotFound(_)
            | Self::PlayerNotFound(_)
            | Self::NotFound(_) => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::BoardExists(_)
            | Self::Conflict(_)
            | Self::IdempotencyInProgress(_)
            | Self::TournamentClosed { .. }
            | Self::TournamentFull { .. }
            | Self::TournamentAttemptsUsed { .. } => 409,
            Self::PayloadTooLarge { .. } => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::ScoreOutOfRange { .. }
            | Self::InvalidConfig(_)
            | Self::EncodingCapacity { .. }
            | Self::InvalidEvent(_)
            | Self::InvalidWebhook(_)
            | Self::IntegrityRejected { .. }
            | Self::IdempotencyMismatch(_) => 422,
            Self::RateLimited { .. } => 429,
            Self::PreconditionFailed(_) => 412,
            Self::QuotaExceeded { .. } => 403,
            Self::CorruptData(_) | Self::Misconfigured(_) | Self::Internal(_) => 500,
            Self::Unavailable(_) => 503,
        }
    }

    /// Stable kebab-case slug naming the problem type (last segment of [`Self::problem_type`]).
    pub fn slug(&self) -> &'static str {
        match self {
            Self::InvalidId { .. } => "invalid-id",
            Self::InvalidScore(_) => "invalid-score",
            Self::ScoreOutOfRange { .. } => "score-out-of-range",
            Self::InvalidTimestamp(_) => "invalid-timestamp",
            Self::InvalidConfig(_) => "invalid-config",
            Self::EncodingCapacity { .. } => "encoding-capacity",
            Self::InvalidCursor(_) => "invalid-cursor",
            Self::InvalidPeriod(_) => "invalid-period",
            Self::PeriodNotRetained(_) => "period-not-retained",
            Self::BoardNotFound(_) => "board-not-found",
            Self::BoardExists(_) => "board-exists",
            Self::PlayerNotFound(_) => "player-not-found",
            Self::InvalidEvent(_) => "invalid-event",
            Self::CorruptData(_) => "corrupt-data",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::InvalidBody(_) => "invalid-body",
            Self::RateLimited { .. } => "rate-limited",
            Self::Conflict(_) => "conflict",
            Self::PreconditionFailed(_) => "precondition-failed",
            Self::QuotaExceeded { .. } => "quota-exceeded",
            Self::IdempotencyInProgress(_) => "idempotency-in-progress",
            Self::IdempotencyMismatch(_) => "idempotency-mismatch",
            Self::Unavailable(_) => "unavailable",
            Self::InvalidWebhook(_) => "invalid-webhook",
            Self::IntegrityRejected { .. } => "integrity-rejected",
            Self::TournamentClosed { .. } => "tournament-closed",
            Self::TournamentFull { .. } => "tournament-full",
            Self::TournamentAttemptsUsed { .. } => "tournament-attempts-used",
            Self::TournamentNotJoined(_) => "tournament-not-joined",
            Self::NotFound(_) => "not-found",
            Self::MethodNotAllowed { .. } => "method-not-allowed",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::Misconfigured(_) => "misconfigured",
            Self::Internal(_) => "internal",
        }
    }

    /// The `Allow` header a `405` answers with (the methods the route takes); none otherwise.
    pub fn allow(&self) -> Option<&str> {
        match self {
            Self::MethodNotAllowed { allowed, .. } => Some(allowed),
            _ => None,
        }
    }

    /// Whether the client caused the error (4xx) rather than the service (5xx).
    pub fn is_client_error(&self) -> bool {
        self.status() < 500
    }
}

/// The problem types: every slug [`LeaderboardError::slug`] gives, and its URI.
macro_rules! problem_types {
    ($($slug:literal),* $(,)?) => {
        impl LeaderboardError {
            /// Every problem type's slug (what the message catalogue must cover).
            pub const SLUGS: &'static [&'static str] = &[$($slug),*];

            /// Problem type URI (RFC 9457 `type`), e.g.
            /// `https://leaderboard.dev/problems/invalid-score`.
            pub fn problem_type(&self) -> &'static str {
                match self.slug() {
                    $($slug => concat!("https://leaderboard.dev/problems/", $slug),)*
                    _ => "about:blank",
                }
            }
        }
    };
}

problem_types!(
    "invalid-id",
    "invalid-score",
    "score-out-of-range",
    "invalid-timestamp",
    "invalid-config",
    "encoding-capacity",
    "invalid-cursor",
    "invalid-period",
    "period-not-retained",
    "board-not-found",
    "board-exists",
    "player-not-found",
    "invalid-event",
    "corrupt-data",
    "unauthorized",
    "forbidden",
    "payload-too-large",
    "invalid-body",
    "rate-limited",
    "conflict",
    "precondition-failed",
    "quota-exceeded",
    "idempotency-in-progress",
    "idempotency-mismatch",
    "unavailable",
    "invalid-webhook",
    "integrity-rejected",
    "tournament-closed",
    "tournament-full",
    "tournament-attempts-used",
    "tournament-not-joined",
    "not-found",
    "method-not-allowed",
    "unsupported-media-type",
    "misconfigured",
    "internal",
);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn samples() -> Vec<LeaderboardError> {
        use LeaderboardError as E;
        vec![
            E::InvalidId {
                kind: IdKind::Player,
                reason: "empty".into(),
            },
            E::InvalidScore("x".into()),
            E::ScoreOutOfRange {
                field: "score".into(),
                value: "5".into(),
                min: "0".into(),
                max: "3".into(),
            },
            E::InvalidTimestamp("x".into()),
            E::InvalidConfig("x".into()),
            E::EncodingCapacity {
                needed: 1 << 54,
                available: 1 << 53,
            },
            E::InvalidCursor("x".into()),
            E::InvalidPeriod("x".into()),
            E::PeriodNotRetained("x".into()),
            E::BoardNotFound("x".into()),
            E::BoardExists("x".into()),
            E::PlayerNotFound("x".into()),
            E::InvalidEvent("x".into()),
            E::CorruptData("x".into()),
            E::Unauthorized("x".into()),
            E::Forbidden("x".into()),
            E::PayloadTooLarge {
                what: "metadata".into(),
                size: 5000,
                limit: 4096,
            },
            E::InvalidBody("x".into()),
            E::RateLimited {
                policy: "p".into(),
                retry_after_secs: 3,
            },
            E::Conflict(crate::Conflict::ReplayRaced),
            E::PreconditionFailed("x".into()),
            E::QuotaExceeded {
                quota: "q".into(),
                detail: "x".into(),
            },
            E::IdempotencyInProgress("x".into()),
            E::IdempotencyMismatch("x".into()),
            E::Unavailable("x".into()),
            E::InvalidWebhook("x".into()),
            E::IntegrityRejected {
                rule: "velocity".into(),
                detail: "x".into(),
            },
            E::TournamentClosed {
                upcoming: true,
                start_ms: 0,
                end_ms: 1,
            },
            E::TournamentFull { max_size: 2 },
            E::TournamentAttemptsUsed { allowed: 3 },
            E::TournamentNotJoined("x".into()),
            E::NotFound("x".into()),
            E::MethodNotAllowed {
                detail: "x".into(),
                allowed: "GET".into(),
            },
            E::UnsupportedMediaType("x".into()),
            E::Misconfigured("x".into()),
            E::Internal("x".into()),
        ]
    }

    #[test]
    fn every_variant_has_a_distinct_problem_uri() {
        let mut seen = std::collections::HashSet::new();
        for e in samples() {
            let uri = e.problem_type();
            assert!(
                uri.starts_with("https://leaderboard.dev/problems/"),
                "{uri}"
            );
            assert!(uri.ends_with(e.slug()));
            assert!(seen.insert(uri), "duplicate {uri}");
            assert!((400..600).contains(&e.status()));
        }
    }

    #[test]
    fn statuses_and_messages() {
        let e = LeaderboardError::ScoreOutOfRange {
            field: "score".into(),
            value: "12.5".into(),
            min: "0.0".into(),
            max: "10.0".into(),
        };
        assert_eq!(e.status(), 422);
        assert_eq!(
            e.to_string(),
            "score 12.5 is out of range: allowed 0.0 ..= 10.0"
        );
        assert_eq!(
            LeaderboardError::RateLimited {
                policy: "p".into(),
                retry_after_secs: 2
            }
            .status(),
            429
        );
        assert_eq!(LeaderboardError::Unavailable("redis".into()).status(), 503);
        assert!(!LeaderboardError::Internal("x".into()).is_client_error());
        let e = LeaderboardError::InvalidId {
            kind: IdKind::Board,
            reason: "is empty".into(),
        };
        assert_eq!(e.to_string(), "invalid board id: is empty");
    }
}
