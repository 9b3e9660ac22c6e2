//! One webhook message and its delivery attempts: what was sent, what each attempt got, and
//! whether it is still pending, delivered, or failed (dead-lettered).
//!
//! A message keeps at most [`MAX_ATTEMPTS_KEPT`] attempts (the newest). A failed message can be
//! redriven: it is pending again and gets a new round of attempts on the same schedule, with the
//! same id (receivers deduplicate on it).

use crate::Conflict;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{LeaderboardError, Result};
use crate::outbound::webhook::{AttemptOutcome, NextStep, next_step};
use crate::time::iso;

/// Attempts a message keeps.
pub const MAX_ATTEMPTS_KEPT: usize = 50;
/// Most messages one page of `GET …/deliveries` lists.
pub const MAX_PAGE: u32 = 1000;

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answer.
    Delivered,
    /// No attempt left, `410 Gone`, or the subscription is gone: dead-lettered.
    Failed,
}

impl DeliveryState {
    /// Its name as the API writes it (`?status=`, a message's `state`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// Parses `?status=`.
    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            other => Err(LeaderboardError::InvalidBody(format!(
                "status: '{other}' is not pending, delivered or failed"
            ))),
        }
    }
}

/// One attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When it started (Unix ms).
    pub at_ms: i64,
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// How long it took (ms).
    pub latency_ms: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// A message to one subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `webhook-id`: `msg_…`, the same for every attempt.
    pub id: String,
    /// The subscription it goes to.
    pub subscription: String,
    /// The event type.
    pub event_type: String,
    /// The exact body signed and sent (empty until its first attempt for a message whose body
    /// is made then: `rank.top_changed` carries the top-N of the moment it is sent).
    pub body: String,
    /// The board it is about, when it is about one.
    #[serde(default)]
    pub board: Option<String>,
    /// Made (Unix ms).
    pub created_ms: i64,
    /// Where it stands.
    pub state: DeliveryState,
    /// The next attempt (Unix ms), while pending.
    pub next_attempt_ms: Option<i64>,
    /// Attempts, oldest first (at most [`MAX_ATTEMPTS_KEPT`]).
    pub attempts: Vec<Attempt>,
    /// Attempts made in the current round (since creation or the last redrive).
    pub round_attempts: usize,
    /// Why it failed.
    pub failure: Option<String>,
}

impl Message {
    /// A new message, due now.
    pub fn new(
        id: String,
        subscription: &str,
        event_type: &str,
        body: String,
        now_ms: i64,
    ) -> Self {
        Self {
            id,
            subscription: subscription.to_string(),
            event_type: event_type.to_string(),
            body,
            board: None,
            created_ms: now_ms,
            state: DeliveryState::Pending,
            next_attempt_ms: Some(now_ms),
            attempts: Vec::new(),
            round_attempts: 0,
            failure: None,
        }
    }

    /// Records an attempt that started at `at_ms` and decides what follows (`schedule`: delays
    /// before each retry; `jitter` in `[0, 1)`).
    pub fn record(
        &mut self,
        outcome: &AttemptOutcome,
        at_ms: i64,
        latency_ms: u64,
        schedule: &[u64],
        jitter: f64,
    ) -> NextStep {
        self.round_attempts += 1;
        let status = match outcome {
            AttemptOutcome::Status { code, .. } => Some(*code),
            _ => None,
        };
        let error = match outcome {
            AttemptOutcome::Status {
                code: 200..=299, ..
            } => None,
            other => Some(other.describe()),
        };
        self.attempts.push(Attempt {
            at_ms,
            status,
            latency_ms,
            error: error.clone(),
        });
        if self.attempts.len() > MAX_ATTEMPTS_KEPT {
            self.attempts.remove(0);
        }
        let now = at_ms.saturating_add(i64::try_from(latency_ms).unwrap_or(i64::MAX));
        let step = next_step(outcome, self.round_attempts, schedule, now, jitter);
        match &step {
            NextStep::Delivered => {
                self.state = DeliveryState::Delivered;
                self.next_attempt_ms = None;
                self.failure = None;
            }
            NextStep::Retry { at_ms } => self.next_attempt_ms = Some(*at_ms),
            NextStep::DeadLetter => self.fail(&format!(
                "{} attempts failed; the last: {}",
                self.round_attempts,
                error.unwrap_or_default()
            )),
            NextStep::Disable => {
                self.fail("the receiver answered 410 Gone: the subscription is disabled")
            }
        }
        step
    }

    /// Fails it without an attempt (its subscription is gone or disabled).
    pub fn fail(&mut self, reason: &str) {
        self.state = DeliveryState::Failed;
        self.next_attempt_ms = None;
        self.failure = Some(reason.to_string());
    }

    /// Makes a failed message pending again, due now, for a new round of attempts.
    pub fn redrive(&mut self, now_ms: i64) -> Result<()> {
        if self.state != DeliveryState::Failed {
            return Err(Conflict::NotFailed {
                id: self.id.to_string(),
                state: self.state.name(),
            }
            .into());
        }
        self.state = DeliveryState::Pending;
        self.next_attempt_ms = Some(now_ms);
        self.round_attempts = 0;
        self.failure = None;
        Ok(())
    }

    /// The message as an admin sees it (`GET …/deliveries`).
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.event_type,
            "created_at": iso(self.created_ms),
            "status": self.state,
            "next_attempt_at": self.next_attempt_ms.map(iso),
            "failure": self.failure,
            "attempts": self.attempts.iter().map(|a| json!({
                "at": iso(a.at_ms),
                "status": a.status,
                "latency_ms": a.latency_ms,
                "error": a.error,
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_named_as_serde_writes_it() {
        for state in [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
        ] {
            assert_eq!(serde_json::to_value(state).unwrap(), state.name());
            assert_eq!(DeliveryState::parse(state.name()).unwrap(), state);
        }
    }

    fn status(code: u16) -> AttemptOutcome {
        AttemptOutcome::Status {
            code,
            retry_after_secs: None,
        }
    }

    #[test]
    fn a_message_retries_on_the_schedule_then_fails_and_a_redrive_starts_a_new_round() {
        let schedule = [1_000, 2_000];
        let mut m = Message::new("msg_1".into(), "wh_1", "webhook.test", "{}".into(), 0);
        assert_eq!(m.next_attempt_ms, Some(0));
        assert_eq!(
            m.record(&status(500), 0, 10, &schedule, 0.0),
            NextStep::Retry { at_ms: 1_010 }
        );
        assert_eq!(
            m.record(&AttemptOutcome::Timeout, 1_010, 15_000, &schedule, 0.0),
            NextStep::Retry { at_ms: 18_010 }
        );
        assert_eq!(
            m.record(&status(503), 18_010, 5, &schedule, 0.0),
            NextStep::DeadLetter
        );
        assert_eq!(m.state, DeliveryState::Failed);
        assert!(
            m.failure
                .as_deref()
                .unwrap()
                .contains("3 attempts failed; the last: receiver answered 503")
        );
        let v = m.view();
        assert_eq!(v["status"], "failed");
        assert_eq!(v["attempts"].as_array().unwrap().len(), 3);
        assert_eq!(v["attempts"][1]["error"], "timed out");
        assert!(m.redrive(20_000).is_ok());
        assert_eq!(
            (m.state, m.next_attempt_ms, m.round_attempts),
            (DeliveryState::Pending, Some(20_000), 0)
        );
        assert_eq!(
            m.record(&status(200), 20_000, 3, &schedule, 0.0),
            NextStep::Delivered
        );
        assert_eq!((m.state, m.attempts.len()), (DeliveryState::Delivered, 4));
        assert_eq!(m.redrive(30_000).unwrap_err().status(), 409);
    }

    #[test]
    fn gone_fails_at_once_and_attempts_are_bounded() {
        let mut m = Message::new("msg_1".into(), "wh_1", "webhook.test", "{}".into(), 0);
        assert_eq!(
            m.record(&status(410), 0, 1, &[1_000], 0.0),
            NextStep::Disable
        );
        assert!(m.failure.as_deref().unwrap().contains("410"));
        let mut m = Message::new("msg_2".into(), "wh_1", "webhook.test", "{}".into(), 0);
        let schedule = vec![0; 20];
        for round in 0..3 {
            for i in 0..21 {
                m.record(&status(500), i, 1, &schedule, 0.0);
            }
            assert_eq!(m.state, DeliveryState::Failed, "round {round}");
            m.redrive(0).unwrap();
        }
        assert_eq!(m.attempts.len(), MAX_ATTEMPTS_KEPT);
        assert_eq!(
            DeliveryState::parse("failed").unwrap(),
            DeliveryState::Failed
        );
        assert_eq!(DeliveryState::parse("dead").unwrap_err().status(), 400);
    }
}
