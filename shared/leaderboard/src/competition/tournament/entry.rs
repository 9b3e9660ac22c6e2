//! Who may enter a tournament and how often: a join's outcome, the refusals a join or a
//! submission meets (each a typed error), and a player's attempts in a run.

use crate::Conflict;
use crate::error::{LeaderboardError, Result};

use super::{MAX_GRANT, Phase, Window};

/// A join that went through, with the players joined after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    /// The player joined now (the adapter counts it): `201`.
    Now {
        /// Players joined, this one included.
        players: u64,
    },
    /// The player had joined before (nothing changes: a join is idempotent): `200`.
    Already {
        /// Players joined.
        players: u64,
    },
}

/// What a write refused because the tournament's end was announced after it was decided
/// answers: `409` `tournament-closed` with `window` (the board's as it is now); a board that is
/// no tournament any more (deleted and made again meanwhile) `409` `conflict`, to be sent again.
pub fn ended_meanwhile(window: Option<Window>, board: &crate::BoardId) -> LeaderboardError {
    match window {
        Some(window) => Refusal::Closed {
            phase: Phase::Ended,
            window,
        }
        .into(),
        None => Conflict::BoardRemade {
            board: board.to_string(),
        }
        .into(),
    }
}

/// Why a tournament refused a submission, a join or a change of its window (each a `409`
/// problem, the window in its body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Outside the window: not started, or ended.
    Closed {
        /// Where it stands.
        phase: Phase,
        /// Its window.
        window: Window,
    },
    /// `join_required`, and the player has not joined.
    NotJoined,
    /// `max_size` players have joined.
    Full {
        /// The size.
        max_size: u32,
    },
    /// The player has used every attempt of this run.
    AttemptsUsed {
        /// Attempts allowed this run (`max_attempts` plus grants).
        allowed: u64,
    },
    /// An extension that would not end later than the window does now (or than now).
    NotLater {
        /// The window as it is.
        window: Window,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed {
                phase: Phase::Upcoming,
                ..
            } => f.write_str("the tournament has not started"),
            Self::Closed { .. } => f.write_str("the tournament has ended"),
            Self::NotJoined => {
                f.write_str("the tournament takes submissions from joined players only")
            }
            Self::Full { max_size } => write!(f, "the tournament is full ({max_size} players)"),
            Self::AttemptsUsed { allowed } => {
                write!(f, "every attempt of this run is used ({allowed} allowed)")
            }
            Self::NotLater { .. } => Conflict::NotLater.fmt(f),
        }
    }
}

impl From<Refusal> for LeaderboardError {
    /// A submission outside the window is the `tournament-closed` problem (with the window), one
    /// from a player who has not joined `tournament-not-joined` (`403`), a join past `max_size`
    /// `tournament-full`, a submission past the run's attempts `tournament-attempts-used` (with
    /// what is allowed); an extension that is not later is a `409` conflict that says so.
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Closed { phase, window } => Self::TournamentClosed {
                upcoming: phase == Phase::Upcoming,
                start_ms: window.start_ms,
                end_ms: window.end_ms,
            },
            Refusal::NotJoined => Self::TournamentNotJoined(r.to_string()),
            Refusal::Full { max_size } => Self::TournamentFull { max_size },
            Refusal::AttemptsUsed { allowed } => Self::TournamentAttemptsUsed { allowed },
            Refusal::NotLater { .. } => Conflict::NotLater.into(),
        }
    }
}

/// Attempts a player has had this run, and what was granted beyond `max_attempts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attempts {
    /// Submissions counted this run, before the one being decided.
    pub used: u64,
    /// Extra attempts granted this run.
    pub granted: u64,
}

/// Attempts allowed this run under `max_attempts` (`None`: unlimited): `max_attempts` plus
/// what was granted.
pub fn allowed(max_attempts: Option<u32>, granted: u64) -> Option<u64> {
    max_attempts.map(|max| u64::from(max).saturating_add(granted))
}

/// Attempts left this run under `max_attempts` (`None`: unlimited); never below 0 (an approved
/// review is applied whatever the count, so `used` may pass what is allowed).
pub fn left(max_attempts: Option<u32>, attempts: Attempts) -> Option<u64> {
    allowed(max_attempts, attempts.granted).map(|a| a.saturating_sub(attempts.used))
}

/// Whether one more submission is allowed under `max_attempts` (`None`: unlimited). On success,
/// the attempts left after it (`None`: unlimited).
pub fn attempt(
    max_attempts: Option<u32>,
    attempts: Attempts,
) -> std::result::Result<Option<u64>, Refusal> {
    let Some(allowed) = allowed(max_attempts, attempts.granted) else {
        return Ok(None);
    };
    if attempts.used < allowed {
        Ok(Some(allowed - attempts.used - 1))
    } else {
        Err(Refusal::AttemptsUsed { allowed })
    }
}

/// Checks a grant of extra attempts (1..=[`MAX_GRANT`]).
pub fn grant(extra: u64) -> Result<u64> {
    if extra == 0 || extra > u64::from(MAX_GRANT) {
        return Err(LeaderboardError::InvalidBody(format!(
            "attempts {extra} must be within 1..={MAX_GRANT}"
        )));
    }
    Ok(extra)
}
