//! Tournaments: a board with a window.
//!
//! A tournament is a board created with a `tournament` block ([`TournamentInput`]): a title, a
//! category, a window (`start` and `end`, or `start` and `duration_secs`), and who may play —
//! `join_required` (only players who joined may submit), `max_size` (joins past it refused) and
//! `max_attempts` (submissions per player per run). Each run is a period of the board's own
//! `period` clipped to the window: an `all_time` board has one run, the whole window; a `daily`
//! one a run per UTC day, the first and last cut by the window's ends.
//!
//! The window is half-open, `[start, end)`: a submission at `end` is refused. Once created, the
//! configuration stays as posted except the window's end, which an admin may bring forward to
//! now ([`Window::end_early`]) or move later ([`Window::extend`]); the board is then stored with
//! the window as it is ([`crate::Board::with_window`]).
//!
//! Players may join while the tournament is upcoming or open, never once it has ended.

use serde::{Deserialize, Serialize};

use crate::error::{LeaderboardError, Result};

/// Longest `title`, in characters.
pub const MAX_TITLE_CHARS: usize = 120;
/// Largest `max_size`.
pub const MAX_SIZE: u32 = 1_000_000;
/// Largest `max_attempts` (per player per run).
pub const MAX_ATTEMPTS: u32 = 1_000_000;
/// Most attempts one grant adds.
pub const MAX_GRANT: u32 = 1_000;

/// The `tournament` block of a board's configuration, as an admin posts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TournamentInput {
    /// What players see (1 to 120 characters).
    pub title: String,
    /// A label to list tournaments by (`^[a-z0-9][a-z0-9_-]{0,31}$`); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// When the window opens (RFC 3339).
    pub start: String,
    /// When it closes (RFC 3339, after `start`); exactly one of `end` and `duration_secs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// How long it stays open, in seconds (at least 1); exactly one of `end` and
    /// `duration_secs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u64>,
    /// Only players who joined may submit (default false).
    #[serde(default)]
    pub join_required: bool,
    /// Most players who may join (1..=1,000,000; needs `join_required`); unlimited by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u32>,
    /// Submissions per player per run (1..=1,000,000), before grants; unlimited by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
}

/// A tournament (posted through [`TournamentInput::validate`], read back as stored through
/// [`TournamentInput::build`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tournament {
    /// What players see.
    pub title: String,
    /// The label it is listed by.
    pub category: Option<String>,
    /// The window as it is (ended early or extended since its creation, see the module doc).
    pub window: Window,
    /// Only players who joined may submit.
    pub join_required: bool,
    /// Most players who may join.
    pub max_size: Option<u32>,
    /// Submissions per player per run, before grants.
    pub max_attempts: Option<u32>,
}

impl TournamentInput {
    /// Checks every field and resolves the window: [`TournamentInput::build`], then
    /// [`Tournament::check`].
    pub fn validate(&self) -> Result<Tournament> {
        let tournament = self.build()?;
        tournament.check()?;
        Ok(tournament)
    }

    /// The tournament as posted or stored, its window resolved (a window is a start and an end
    /// within RFC 3339's years, the end after the start), nothing else checked: how a stored
    /// tournament is read.
    pub fn build(&self) -> Result<Tournament> {
        let bad = |m: String| Err(LeaderboardError::InvalidConfig(m));
        let moment = |field: &str, raw: &str| {
            crate::time::parse(raw).ok_or_else(|| {
                LeaderboardError::InvalidConfig(format!(
                    "tournament.{field} '{raw}' is not an RFC 3339 timestamp"
                ))
            })
        };
        let start_ms = moment("start", &self.start)?;
        let end_ms = match (&self.end, self.duration_secs) {
            (Some(end), None) => moment("end", end)?,
            (None, Some(secs)) if secs > 0 => i64::try_from(secs)
                .ok()
                .and_then(|s| s.checked_mul(1000))
                .and_then(|d| start_ms.checked_add(d))
                .ok_or_else(|| {
                    LeaderboardError::InvalidConfig(format!(
                        "tournament.duration_secs {secs} is too long"
                    ))
                })?,
            (None, Some(_)) => return bad("tournament.duration_secs must be at least 1".into()),
            _ => {
                return bad("tournament needs exactly one of end and duration_secs".into());
            }
        };
        if end_ms > crate::time::MAX_MS {
            return bad("tournament.end is past 9999-12-31T23:59:59.999Z".into());
        }
        Ok(Tournament {
            title: self.title.clone(),
            category: self.category.clone(),
            window: Window::new(start_ms, end_ms)?,
            join_required: self.join_required,
            max_size: self.max_size,
            max_attempts: self.max_attempts,
        })
    }
}

impl Tournament {
    /// What a posted tournament must hold: a title of 1 to [`MAX_TITLE_CHARS`] characters
    /// without control characters, a category that is a label, `max_size` only with
    /// `join_required`, `max_size` and `max_attempts` within their bounds.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(LeaderboardError::InvalidConfig(m));
        let title_chars = self.title.trim().chars().count();
        if title_chars == 0 || self.title.chars().count() > MAX_TITLE_CHARS {
            return bad(format!(
                "tournament.title must have 1 to {MAX_TITLE_CHARS} characters"
            ));
        }
        if self.title.chars().any(char::is_control) {
            return bad("tournament.title must not hold control characters".into());
        }
        if let Some(c) = &self.category {
            super::label("tournament.category", c)?;
        }
        if self.max_size.is_some() && !self.join_required {
            return bad(
                "tournament.max_size needs join_required: only players who join are counted".into(),
            );
        }
        for (field, v, max) in [
            ("max_size", self.max_size, MAX_SIZE),
            ("max_attempts", self.max_attempts, MAX_ATTEMPTS),
        ] {
            if let Some(n) = v
                && (n == 0 || n > max)
            {
                return bad(format!("tournament.{field} {n} must be within 1..={max}"));
            }
        }
        Ok(())
    }
}

impl Tournament {
    /// The canonical configuration: the window as `start` and `end`, never a duration.
    pub fn to_input(&self) -> TournamentInput {
        let iso = |ms: i64| {
            crate::time::iso(ms)
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        TournamentInput {
            title: self.title.clone(),
            category: self.category.clone(),
            start: iso(self.window.start_ms),
            end: Some(iso(self.window.end_ms)),
            duration_secs: None,
            join_required: self.join_required,
            max_size: self.max_size,
            max_attempts: self.max_attempts,
        }
    }

    /// Whether `player` may submit at `now_ms` to a tournament whose window is now `window`,
    /// given whether it joined.
    pub fn admits(
        &self,
        window: Window,
        joined: bool,
        now_ms: i64,
    ) -> std::result::Result<(), Refusal> {
        window.admits(now_ms)?;
        if self.join_required && !joined {
            return Err(Refusal::NotJoined);
        }
        Ok(())
    }

    /// Whether a player who has made `used` submissions this run, and was granted `granted`
    /// extra attempts, may make one more ([`attempt`] under this tournament's `max_attempts`).
    pub fn attempt(&self, used: u64, granted: u64) -> std::result::Result<Option<u64>, Refusal> {
        attempt(self.max_attempts, Attempts { used, granted })
    }

    /// Whether a listing of the tournaments in `state` (of `category`, when one is asked) shows
    /// this one at `now_ms`.
    pub fn listed(&self, state: Phase, category: Option<&str>, now_ms: i64) -> bool {
        self.window.phase(now_ms) == state
            && category.is_none_or(|c| self.category.as_deref() == Some(c))
    }

    /// The moment whose run a player's standing is shown for at `now_ms`: now, or once the
    /// tournament ended its last moment (the final standings of its last run).
    pub fn standing_at(&self, now_ms: i64) -> i64 {
        match self.window.phase(now_ms) {
            Phase::Ended => self.window.end_ms.saturating_sub(1),
            Phase::Upcoming | Phase::Open => now_ms,
        }
    }

    /// Whether a join at `now_ms` may be tried: while upcoming or open, never once ended.
    pub fn joinable(&self, window: Window, now_ms: i64) -> std::result::Result<(), Refusal> {
        match window.phase(now_ms) {
            Phase::Ended => Err(Refusal::Closed {
                phase: Phase::Ended,
                window,
            }),
            Phase::Upcoming | Phase::Open => Ok(()),
        }
    }

    /// A player's join at `now_ms`, as its atomic step found and did it ([`JoinStep`]: the
    /// count, the check against `max_size` and the add are one script, edge's
    /// `tournament_join.lua`): the players joined, or the refusal the step made.
    pub fn join(
        &self,
        window: Window,
        step: JoinStep,
        now_ms: i64,
    ) -> std::result::Result<Joined, Refusal> {
        self.joinable(window, now_ms)?;
        match step {
            JoinStep::Added { before } => Ok(Joined::Now {
                players: before.saturating_add(1),
            }),
            JoinStep::Already { players } => Ok(Joined::Already { players }),
            JoinStep::Full => Err(Refusal::Full {
                max_size: self.max_size.unwrap_or(0),
            }),
        }
    }
}

/// What a join's atomic step found and did: it counts the players joined, refuses a join past
/// `max_size` and adds the player, in one script (edge's `tournament_join.lua`), so two joins
/// at once never pass `max_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinStep {
    /// The player was added; `before` had joined before it.
    Added {
        /// Players joined before this join.
        before: u64,
    },
    /// The player had joined before: no new join.
    Already {
        /// Players joined, it included.
        players: u64,
    },
    /// Not added: `max_size` players had joined already.
    Full,
}

/// Where a tournament stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Before `start`.
    Upcoming,
    /// From `start` until `end`.
    Open,
    /// From `end` on.
    Ended,
}

impl Phase {
    /// `"upcoming"`, `"open"` or `"ended"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upcoming => "upcoming",
            Self::Open => "open",
            Self::Ended => "ended",
        }
    }

    /// The phase a listing asks for (`?state=`).
    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "upcoming" => Ok(Self::Upcoming),
            "open" => Ok(Self::Open),
            "ended" => Ok(Self::Ended),
            other => Err(LeaderboardError::InvalidBody(format!(
                "state '{other}' must be upcoming, open or ended"
            ))),
        }
    }
}

/// A tournament's window, `[start_ms, end_ms)` in Unix ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// When it opens.
    pub start_ms: i64,
    /// When it closes (after `start_ms`).
    pub end_ms: i64,
}

impl Window {
    /// A window that ends after it starts.
    pub fn new(start_ms: i64, end_ms: i64) -> Result<Self> {
        if end_ms <= start_ms {
            return Err(LeaderboardError::InvalidConfig(
                "tournament.end must be after tournament.start".into(),
            ));
        }
        Ok(Self { start_ms, end_ms })
    }

    /// Where the tournament stands at `now_ms`.
    pub fn phase(&self, now_ms: i64) -> Phase {
        if now_ms < self.start_ms {
            Phase::Upcoming
        } else if now_ms < self.end_ms {
            Phase::Open
        } else {
            Phase::Ended
        }
    }

    /// Whether a submission at `now_ms` falls inside the window.
    pub fn admits(&self, now_ms: i64) -> std::result::Result<(), Refusal> {
        match self.phase(now_ms) {
            Phase::Open => Ok(()),
            phase => Err(Refusal::Closed {
                phase,
                window: *self,
            }),
        }
    }

    /// The window ended at `now_ms` (an open tournament only: an upcoming one is deleted
    /// instead, an ended one stays as it ended). At its very first millisecond it ends one
    /// millisecond later, so a window is never empty.
    pub fn end_early(&self, now_ms: i64) -> std::result::Result<Self, Refusal> {
        match self.phase(now_ms) {
            Phase::Open => Ok(Self {
                start_ms: self.start_ms,
                end_ms: now_ms.max(self.start_ms + 1),
            }),
            phase => Err(Refusal::Closed {
                phase,
                window: *self,
            }),
        }
    }

    /// The window ending at `end_ms` instead, which must be later than both its end and now (an
    /// ended tournament's standings are final).
    pub fn extend(&self, end_ms: i64, now_ms: i64) -> std::result::Result<Self, Refusal> {
        if self.phase(now_ms) == Phase::Ended {
            return Err(Refusal::Closed {
                phase: Phase::Ended,
                window: *self,
            });
        }
        if end_ms <= self.end_ms || end_ms <= now_ms || end_ms > crate::time::MAX_MS {
            return Err(Refusal::NotLater { window: *self });
        }
        Ok(Self {
            start_ms: self.start_ms,
            end_ms,
        })
    }
}

/// What a tournament owes its announcements (`tournament.started`, `tournament.ended`) at a
/// moment, given which were made, and when to look again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owed {
    /// `tournament_started` is due (its window has opened and it was not announced).
    pub started: bool,
    /// `tournament_ended` is due (its window has closed and it was not announced); always after
    /// `started` (a window that opened and closed while nobody looked announces both, in order).
    pub ended: bool,
    /// When the next announcement falls due (`None`: both are made or due now, nothing later).
    pub next_ms: Option<i64>,
}

impl Window {
    /// What is owed at `now_ms` when `started` and `ended` say which were announced.
    pub fn owed(&self, started: bool, ended: bool, now_ms: i64) -> Owed {
        match self.phase(now_ms) {
            Phase::Upcoming => Owed {
                started: false,
                ended: false,
                next_ms: Some(self.start_ms),
            },
            Phase::Open => Owed {
                started: !started,
                ended: false,
                next_ms: Some(self.end_ms),
            },
            Phase::Ended => Owed {
                started: !started,
                ended: !ended,
                next_ms: None,
            },
        }
    }

    /// When the worker should next look at this tournament, given which announcements were
    /// made: now when one is owed, else when the next falls due (`None`: nothing more).
    pub fn next_due(&self, started: bool, ended: bool, now_ms: i64) -> Option<i64> {
        let owed = self.owed(started, ended, now_ms);
        if owed.started || owed.ended {
            Some(now_ms)
        } else {
            owed.next_ms
        }
    }
}

mod entry;

pub use entry::{Attempts, Joined, Refusal, allowed, attempt, ended_meanwhile, grant, left};

#[cfg(test)]
mod tests;
