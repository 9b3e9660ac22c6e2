//! Domain events as versioned JSON, appended to a board's stream and replayed by projections.
//!
//! Envelope: `{"type":"score_submitted","version":2,"id":…,"tenant":…,"board":…,"at_ms":…,
//! "data":{…}}`. Writers always emit the current version of each type; [`EventEnvelope::from_json`]
//! reads every older version and upcasts it:
//!
//! | type             | current | history                                                     |
//! |------------------|---------|-------------------------------------------------------------|
//! | `board_created`  | 1       |                                                             |
//! | `board_deleted`  | 1       |                                                             |
//! | `score_submitted`| 2       | v1 `{player, score, metadata?}`; v2 adds `subscore`, `idempotency_key` |
//! | `score_applied`  | 1       |                                                             |
//! | `record_deleted` | 1       |                                                             |
//! | `period_started` | 1       |                                                             |
//! | `tournament_started` | 1   |                                                             |
//! | `tournament_ended` | 1     |                                                             |
//! | `rewards_awarded` | 1      |                                                             |
//! | `league_closed`  | 1       |                                                             |
//!
//! An unknown type or a version newer than supported is an error (never silently skipped).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::board::config::Board;
use crate::board::period::PeriodId;
use crate::board::record::Record;
use crate::competition::tournament::Window;
use crate::error::{LeaderboardError, Result};
use crate::ids::{BoardId, PlayerId, TenantId};

/// `board_created` v1: the full validated configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardCreated {
    /// The board as created.
    pub board: Board,
}

/// `board_deleted` v1.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardDeleted {}

/// `score_submitted` v2: an accepted submission (minor units), before application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreSubmitted {
    /// Who submitted.
    pub player: PlayerId,
    /// Score or delta in minor units.
    pub score: i64,
    /// Subscore (v2+).
    #[serde(default)]
    pub subscore: Option<i64>,
    /// Metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// The request's `Idempotency-Key` (v2+).
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// The skill band the submission places its player by on a board with cohorts (absent:
    /// none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<String>,
}

/// `score_submitted` v1 (read only).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreSubmittedV1 {
    player: PlayerId,
    score: i64,
    #[serde(default)]
    metadata: Option<Value>,
}

impl From<ScoreSubmittedV1> for ScoreSubmitted {
    fn from(v1: ScoreSubmittedV1) -> Self {
        Self {
            player: v1.player,
            score: v1.score,
            subscore: None,
            metadata: v1.metadata,
            idempotency_key: None,
            band: None,
        }
    }
}

/// `score_applied` v1: the result of applying a submission to a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreApplied {
    /// The player.
    pub player: PlayerId,
    /// The period written.
    pub period: PeriodId,
    /// Record after.
    pub record: Record,
    /// Record before.
    #[serde(default)]
    pub previous: Option<Record>,
    /// The standing got better.
    pub improved: bool,
    /// A visible change happened.
    pub changed: bool,
}

/// `record_deleted` v1: an admin removed a player's record (from one period, or all when `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordDeleted {
    /// The player.
    pub player: PlayerId,
    /// The period, or every period when absent.
    #[serde(default)]
    pub period: Option<PeriodId>,
}

/// `period_started` v1: the first write of a period (a board with periods rolled over).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodStarted {
    /// The new period.
    pub period: PeriodId,
}

/// `tournament_started` v1: a tournament's window opened (announced once, by the worker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TournamentStarted {
    /// When the window opened (Unix ms).
    pub start_ms: i64,
    /// When it closes, as it stood when announced (Unix ms).
    pub end_ms: i64,
}

/// `tournament_ended` v1: a tournament's window closed (announced once: by the worker at its
/// end, or by the admin's request that ended it early).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TournamentEnded {
    /// When the window opened (Unix ms).
    pub start_ms: i64,
    /// When it closed (Unix ms).
    pub end_ms: i64,
    /// An admin ended it before the end it had.
    pub early: bool,
}

/// `rewards_awarded` v1: a run's rewards were awarded from its final standings (once, by
/// whichever of the worker, a read, a claim or a review decision found them due first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardsAwarded {
    /// The run.
    pub period: PeriodId,
    /// How many players were awarded.
    pub awarded: u64,
}

/// `league_closed` v1: a league's period closed, its players moved between tiers (once, in the
/// script that stores the moves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeagueClosed {
    /// The period that closed.
    pub period: PeriodId,
    /// How many players moved up a tier.
    pub promoted: u64,
    /// How many moved down.
    pub demoted: u64,
    /// How many kept their tier.
    pub stayed: u64,
}

/// A domain event (the envelope's `type` + `data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A board was created.
    BoardCreated(BoardCreated),
    /// A board was deleted.
    BoardDeleted(BoardDeleted),
    /// A score was accepted.
    ScoreSubmitted(ScoreSubmitted),
    /// A score was applied to a record.
    ScoreApplied(ScoreApplied),
    /// A record was deleted.
    RecordDeleted(RecordDeleted),
    /// A period received its first write.
    PeriodStarted(PeriodStarted),
    /// A tournament's window opened.
    TournamentStarted(TournamentStarted),
    /// A tournament's window closed.
    TournamentEnded(TournamentEnded),
    /// A run's rewards were awarded.
    RewardsAwarded(RewardsAwarded),
    /// A league's period closed.
    LeagueClosed(LeagueClosed),
}

impl Event {
    /// The envelope `type` string.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::BoardCreated(_) => "board_created",
            Self::BoardDeleted(_) => "board_deleted",
            Self::ScoreSubmitted(_) => "score_submitted",
            Self::ScoreApplied(_) => "score_applied",
            Self::RecordDeleted(_) => "record_deleted",
            Self::PeriodStarted(_) => "period_started",
            Self::TournamentStarted(_) => "tournament_started",
            Self::TournamentEnded(_) => "tournament_ended",
            Self::RewardsAwarded(_) => "rewards_awarded",
            Self::LeagueClosed(_) => "league_closed",
        }
    }

    /// The version written for this type.
    pub fn version(&self) -> u32 {
        current_version(self.type_name()).unwrap_or(1)
    }

    fn data(&self) -> serde_json::Result<Value> {
        match self {
            Self::BoardCreated(d) => serde_json::to_value(d),
            Self::BoardDeleted(d) => serde_json::to_value(d),
            Self::ScoreSubmitted(d) => serde_json::to_value(d),
            Self::ScoreApplied(d) => serde_json::to_value(d),
            Self::RecordDeleted(d) => serde_json::to_value(d),
            Self::PeriodStarted(d) => serde_json::to_value(d),
            Self::TournamentStarted(d) => serde_json::to_value(d),
            Self::TournamentEnded(d) => serde_json::to_value(d),
            Self::RewardsAwarded(d) => serde_json::to_value(d),
            Self::LeagueClosed(d) => serde_json::to_value(d),
        }
    }
}

/// Current (highest supported) version of an event type, or None if the type is unknown.
pub fn current_version(type_name: &str) -> Option<u32> {
    match type_name {
        "board_created" | "board_deleted" | "score_applied" | "record_deleted"
        | "period_started" | "tournament_started" | "tournament_ended" | "rewards_awarded"
        | "league_closed" => Some(1),
        "score_submitted" => Some(2),
        _ => None,
    }
}

/// An event with its envelope fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEnvelope {
    /// Unique event id (e.g. a ULID or the stream entry id); used for idempotent projection.
    pub id: String,
    /// Tenant.
    pub tenant: TenantId,
    /// Board.
    pub board: BoardId,
    /// When the event happened (Unix ms).
    pub at_ms: i64,
    /// The event.
    pub event: Event,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    #[serde(rename = "type")]
    kind: String,
    version: u32,
    id: String,
    tenant: TenantId,
    board: BoardId,
    at_ms: i64,
    data: Value,
}

fn data<T: DeserializeOwned>(kind: &str, version: u32, value: Value) -> Result<T> {
    serde_json::from_value(value)
        .map_err(|e| LeaderboardError::InvalidEvent(format!("{kind} v{version} data: {e}")))
}

impl EventEnvelope {
    /// The `score_applied` event of a decided submission (`id`: what produced it — the request's
    /// time, player and submission count, or the inbox entry id).
    pub fn score_applied(
        tenant: &TenantId,
        board: &BoardId,
        id: String,
        at_ms: i64,
        player: &PlayerId,
        period: PeriodId,
        outcome: &crate::board::operator::Outcome,
    ) -> Self {
        Self {
            id,
            tenant: tenant.clone(),
            board: board.clone(),
            at_ms,
            event: Event::ScoreApplied(ScoreApplied {
                player: player.clone(),
                period,
                record: outcome.record.clone(),
                previous: outcome.previous.clone(),
                improved: outcome.improved,
                changed: outcome.changed,
            }),
        }
    }

    /// The `period_started` event written before a period's first record.
    pub fn period_started(
        tenant: &TenantId,
        board: &BoardId,
        period: PeriodId,
        at_ms: i64,
    ) -> Self {
        Self {
            id: format!("period-{period}"),
            tenant: tenant.clone(),
            board: board.clone(),
            at_ms,
            event: Event::PeriodStarted(PeriodStarted { period }),
        }
    }

    /// The `tournament_started` event of a tournament whose window is `window`.
    pub fn tournament_started(tenant: &TenantId, board: &BoardId, window: Window) -> Self {
        Self {
            id: "tournament-started".into(),
            tenant: tenant.clone(),
            board: board.clone(),
            at_ms: window.start_ms,
            event: Event::TournamentStarted(TournamentStarted {
                start_ms: window.start_ms,
                end_ms: window.end_ms,
            }),
        }
    }

    /// The `tournament_ended` event of a tournament whose window closed as `window` (`early`:
    /// an admin ended it).
    pub fn tournament_ended(
        tenant: &TenantId,
        board: &BoardId,
        window: Window,
        early: bool,
    ) -> Self {
        Self {
            id: "tournament-ended".into(),
            tenant: tenant.clone(),
            board: board.clone(),
            at_ms: window.end_ms,
            event: Event::TournamentEnded(TournamentEnded {
                start_ms: window.start_ms,
                end_ms: window.end_ms,
                early,
            }),
        }
    }

    /// The `rewards_awarded` event of the run `period`, awarded at `at_ms` to `awarded` players.
    pub fn rewards_awarded(
        tenant: &TenantId,
        board: &BoardId,
        period: PeriodId,
        awarded: u64,
        at_ms: i64,
    ) -> Self {
        Self {
            id: format!("rewards-{period}"),
            tenant: tenant.clone(),
            board: board.clone(),
            at_ms,
            event: Event::RewardsAwarded(RewardsAwarded { period, awarded }),
        }
    }

    /// The `league_closed` event of `period`, closed at `at_ms` with these moves.
    pub fn league_closed(
        tenant: &TenantId,
        board: &BoardId,
        period: PeriodId,
        (promoted, demoted, stayed): (u64, u64, u64),
        at_ms: i64,
    ) -> Self {
        Self {
            id: format!("league-{period}"),
            tenant: tenant.clone(),
            board: board.clone(),
            at_ms,
            event: Event::LeagueClosed(LeagueClosed {
                period,
                promoted,
                demoted,
                stayed,
            }),
        }
    }

    /// The `record_deleted` event of `player`'s entry in `period` (an admin's deletion, or a
    /// rejected flagged score taken back).
    pub fn record_deleted(
        tenant: &TenantId,
        board: &BoardId,
        player: &PlayerId,
        period: PeriodId,
        at_ms: i64,
    ) -> Self {
        Self {
            id: format!("{at_ms}-{player}-deleted"),
            tenant: tenant.clone(),
            board: board.clone(),
            at_ms,
            event: Event::RecordDeleted(RecordDeleted {
                player: player.clone(),
                period: Some(period),
            }),
        }
    }

    /// Serialises at the current version of the event's type.
    pub fn to_json(&self) -> Result<String> {
        let data = self.event.data().map_err(|e| {
            LeaderboardError::InvalidEvent(format!("{}: {e}", self.event.type_name()))
        })?;
        let wire = Wire {
            kind: self.event.type_name().to_owned(),
            version: self.event.version(),
            id: self.id.clone(),
            tenant: self.tenant.clone(),
            board: self.board.clone(),
            at_ms: self.at_ms,
            data,
        };
        serde_json::to_string(&wire).map_err(|e| LeaderboardError::InvalidEvent(e.to_string()))
    }

    /// Parses any supported version, upcasting to the current one.
    pub fn from_json(json: &str) -> Result<Self> {
        let wire: Wire = serde_json::from_slice(json.as_bytes())
            .map_err(|e| LeaderboardError::InvalidEvent(format!("envelope: {e}")))?;
        let (kind, version) = (wire.kind.as_str(), wire.version);
        let current = current_version(kind).ok_or_else(|| {
            LeaderboardError::InvalidEvent(format!("unknown event type {kind:?}"))
        })?;
        if version == 0 || version > current {
            return Err(LeaderboardError::InvalidEvent(format!(
                "{kind} version {version} is not supported (this service reads 1..={current})"
            )));
        }
        let d = wire.data;
        let event = match (kind, version) {
            ("board_created", _) => Event::BoardCreated(data(kind, version, d)?),
            ("board_deleted", _) => Event::BoardDeleted(data(kind, version, d)?),
            ("score_submitted", 1) => {
                Event::ScoreSubmitted(data::<ScoreSubmittedV1>(kind, version, d)?.into())
            }
            ("score_submitted", _) => Event::ScoreSubmitted(data(kind, version, d)?),
            ("score_applied", _) => Event::ScoreApplied(data(kind, version, d)?),
            ("period_started", _) => Event::PeriodStarted(data(kind, version, d)?),
            ("tournament_started", _) => Event::TournamentStarted(data(kind, version, d)?),
            ("tournament_ended", _) => Event::TournamentEnded(data(kind, version, d)?),
            ("rewards_awarded", _) => Event::RewardsAwarded(data(kind, version, d)?),
            ("league_closed", _) => Event::LeagueClosed(data(kind, version, d)?),
            _ => Event::RecordDeleted(data(kind, version, d)?),
        };
        Ok(Self {
            id: wire.id,
            tenant: wire.tenant,
            board: wire.board,
            at_ms: wire.at_ms,
            event,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::board::config::BoardConfigInput;
    use serde_json::json;

    fn envelope(event: Event) -> EventEnvelope {
        EventEnvelope {
            id: "1700000000000-0".into(),
            tenant: TenantId::default(),
            board: BoardId::new("race").unwrap(),
            at_ms: 1_700_000_000_000,
            event,
        }
    }

    fn player() -> PlayerId {
        PlayerId::new("alice").unwrap()
    }

    #[test]
    fn every_type_round_trips() {
        let board =
            serde_json::from_value::<BoardConfigInput>(json!({"id": "race", "period": "weekly"}))
                .unwrap()
                .validate()
                .unwrap();
        let record = Record {
            score: 5,
            subscore: None,
            achieved_at_ms: 1,
            updated_at_ms: 1,
            metadata: None,
            submissions: 1,
        };
        let events = [
            Event::BoardCreated(BoardCreated { board }),
            Event::BoardDeleted(BoardDeleted {}),
            Event::ScoreSubmitted(ScoreSubmitted {
                player: player(),
                score: 12,
                subscore: Some(3),
                metadata: Some(json!({"a": 1})),
                idempotency_key: Some("k1".into()),
                band: None,
            }),
            Event::ScoreApplied(ScoreApplied {
                player: player(),
                period: "2026-W47".parse().unwrap(),
                record: record.clone(),
                previous: None,
                improved: true,
                changed: true,
            }),
            Event::RecordDeleted(RecordDeleted {
                player: player(),
                period: None,
            }),
            Event::PeriodStarted(PeriodStarted {
                period: "2026-W48".parse().unwrap(),
            }),
            Event::TournamentStarted(TournamentStarted {
                start_ms: 1,
                end_ms: 2,
            }),
            Event::TournamentEnded(TournamentEnded {
                start_ms: 1,
                end_ms: 2,
                early: true,
            }),
            Event::RewardsAwarded(RewardsAwarded {
                period: "all".parse().unwrap(),
                awarded: 3,
            }),
            Event::LeagueClosed(LeagueClosed {
                period: "2026-11-26".parse().unwrap(),
                promoted: 2,
                demoted: 1,
                stayed: 7,
            }),
        ];
        for e in events {
            let env = envelope(e);
            let json = env.to_json().unwrap();
            let v: Value = serde_json::from_str(&json).unwrap();
            assert_eq!(v["type"], env.event.type_name());
            assert_eq!(v["version"], env.event.version());
            assert_eq!(EventEnvelope::from_json(&json).unwrap(), env);
        }
    }

    #[test]
    fn score_submitted_v1_is_upcast() {
        let v1 = json!({
            "type": "score_submitted", "version": 1, "id": "e1", "tenant": "default",
            "board": "race", "at_ms": 5, "data": {"player": "alice", "score": 42}
        });
        let env = EventEnvelope::from_json(&v1.to_string()).unwrap();
        assert_eq!(
            env.event,
            Event::ScoreSubmitted(ScoreSubmitted {
                player: player(),
                score: 42,
                subscore: None,
                metadata: None,
                idempotency_key: None,
                band: None,
            })
        );
        let v2: Value = serde_json::from_str(&env.to_json().unwrap()).unwrap();
        assert_eq!(v2["version"], 2);
        assert_eq!(
            v2["data"],
            json!({"player": "alice", "score": 42, "subscore": null, "idempotency_key": null})
        );
        // v1 data never had a subscore: unknown fields are rejected, not dropped.
        let bad = json!({
            "type": "score_submitted", "version": 1, "id": "e1", "tenant": "default",
            "board": "race", "at_ms": 5, "data": {"player": "alice", "score": 42, "subscore": 1}
        });
        assert!(EventEnvelope::from_json(&bad.to_string()).is_err());
    }

    #[test]
    fn unknown_and_future_rejected() {
        let mk = |t: &str, v: u32| {
            json!({"type": t, "version": v, "id": "e", "tenant": "default", "board": "race",
                   "at_ms": 0, "data": {}})
            .to_string()
        };
        assert_eq!(
            EventEnvelope::from_json(&mk("score_submitted", 3)).unwrap_err(),
            LeaderboardError::InvalidEvent(
                "score_submitted version 3 is not supported (this service reads 1..=2)".into()
            )
        );
        assert_eq!(
            EventEnvelope::from_json(&mk("board_renamed", 1)).unwrap_err(),
            LeaderboardError::InvalidEvent("unknown event type \"board_renamed\"".into())
        );
        assert!(EventEnvelope::from_json(&mk("board_deleted", 0)).is_err());
        assert!(EventEnvelope::from_json(&mk("board_deleted", 1)).is_ok());
        assert!(EventEnvelope::from_json("{}").is_err());
        assert!(EventEnvelope::from_json("not json").is_err());
    }
}
