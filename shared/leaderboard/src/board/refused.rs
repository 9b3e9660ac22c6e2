//! Why a decided write was refused when it was written ([`Refused`]: the write script's named
//! answers), and the error each one is.

use crate::Conflict;
use crate::competition::tournament::{self, Window};
use crate::error::LeaderboardError;
use crate::{BoardId, PeriodId};

/// A write refused where it was written: nothing was written, and reading and deciding again
/// in the same request would not help (or the caller must say so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The `Idempotency-Key` is held by another attempt of the request.
    KeyLocked,
    /// The board's tournament's end was announced since the decision read it (its standings
    /// are final).
    TournamentEnded,
    /// The board's tournament's end moved since the decision read it (ended early or
    /// extended): decide again.
    WindowMoved,
    /// The league's period written is closing or closed: its standings are final.
    PeriodClosed,
}

impl Refused {
    /// The error the caller gets for a write of `period` on `board`; `window` is the tournament's
    /// window as the board holds it now (read again after [`Refused::TournamentEnded`]), which
    /// the `409` shows.
    pub fn error(
        self,
        board: &BoardId,
        period: &PeriodId,
        window: Option<Window>,
    ) -> LeaderboardError {
        match self {
            // Refused as closed, with the window as it is now.
            Self::TournamentEnded => tournament::ended_meanwhile(window, board),
            Self::WindowMoved => Conflict::WindowMoved.into(),
            // A write made as the period ended: its standings are final, and this one belongs
            // to the next period.
            Self::PeriodClosed => Conflict::PeriodClosed {
                period: period.to_string(),
                board: board.to_string(),
            }
            .into(),
            Self::KeyLocked => LeaderboardError::IdempotencyInProgress(
                "another attempt of this request holds its Idempotency-Key; retry shortly".into(),
            ),
        }
    }
}
