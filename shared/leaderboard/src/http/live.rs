//! Live updates of a board (`GET /api/{v}/boards/{board}/live`): what a request asks for, the
//! operator's limits, when a stream polls, beats or ends, and the Server-Sent Events wire format.
//!
//! Three forms share one route:
//! - **stream** (`Accept: text/event-stream`): a `snapshot` event, then an `update` event each time
//!   the board's version moves, a comment line as heartbeat while idle, and at `max_secs` an `end`
//!   event carrying a `retry:` hint; the `id:` of every event is the board version. A reconnect
//!   with `Last-Event-ID` equal to the current version gets no snapshot (nothing was missed); an
//!   older one gets the snapshot at once.
//! - **long-poll** (`since=<version>`, optional `wait=<secs>`): the snapshot at once when the board
//!   is newer than `since`, else as soon as it moves, else `304` after `wait` seconds.
//! - **snapshot** (neither): the snapshot as JSON, at once.
//!
//! Every event (and the JSON answers) carries the same object: `{"version", "page", "player"}` —
//! the top-N page as `entries` renders it and the player's own standing (`null` when the request
//! names no player or the player has no entry). Sans I/O: time is an argument.

use crate::{LeaderboardError, Result};

/// The media type of an event stream.
pub const EVENT_STREAM: &str = "text/event-stream";

/// Whether an `Accept` header names `text/event-stream` itself with a weight above 0
/// ([`crate::negotiate::names_media_type`]: a wildcard does not ask for a stream, and
/// `q=0` refuses one).
pub fn accepts_event_stream(accept: Option<&str>) -> bool {
    crate::negotiate::names_media_type(accept, EVENT_STREAM)
}

/// The operator's limits (the component's `live_policy` variable:
/// `<live_max_secs>|<live_heartbeat_secs>|<live_max_streams>`, read by `edge::settings::live`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LivePolicy {
    /// How long a stream (or a long-poll) lasts at most (default 55 s: below common CDN and
    /// platform idle timeouts, 60 s and up).
    pub max_secs: u32,
    /// Heartbeat interval on an idle stream (default 15 s).
    pub heartbeat_secs: u32,
    /// How many streams and long-polls one instance holds at once (default 500).
    pub max_streams: u32,
    /// How often a waiting request reads the board's version (ms).
    pub poll_ms: u32,
}

impl Default for LivePolicy {
    fn default() -> Self {
        Self {
            max_secs: 55,
            heartbeat_secs: 15,
            max_streams: 500,
            poll_ms: POLL_MS,
        }
    }
}

impl LivePolicy {
    /// The limits as the operator's variables give them; a heartbeat longer than a stream is the
    /// stream's length (a stream ends before it would be due).
    pub fn new(max_secs: u32, heartbeat_secs: u32, max_streams: u32) -> Self {
        Self {
            max_secs,
            heartbeat_secs: heartbeat_secs.min(max_secs),
            max_streams,
            poll_ms: POLL_MS,
        }
    }
}

/// How often a waiting request reads the board's version: one Redis `GET` per 250 ms per client.
pub const POLL_MS: u32 = 250;
/// The longest a stream may be configured to last (an hour).
pub const MAX_STREAM_SECS: u32 = 3600;
/// The reconnection delay a stream's `end` event suggests (`retry:`, ms).
pub const RETRY_MS: u32 = 1000;

/// Which form the request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveMode {
    /// Server-Sent Events; `last_seen` is the version of `Last-Event-ID`, if any.
    Stream {
        /// The last version the client received.
        last_seen: Option<i64>,
    },
    /// Long-poll: answer when the board is newer than `since`, or after `wait_secs`.
    LongPoll {
        /// The version the client has.
        since: i64,
        /// How long to wait for a change.
        wait_secs: u32,
    },
    /// The current snapshot as JSON.
    Snapshot,
}

/// How long a long-poll waits when `wait` is not given.
pub const DEFAULT_WAIT_SECS: u32 = 30;

fn version_param(name: &str, raw: &str) -> Result<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .ok_or_else(|| {
            LeaderboardError::InvalidBody(format!(
                "{name} must be a board version (a non-negative integer), got {raw:?}"
            ))
        })
}

impl LiveMode {
    /// Decides the form from the `Accept` header, `Last-Event-ID`, and the `since` and `wait`
    /// query parameters. `wait` may not exceed the policy's `max_secs`; `since` and `wait` do not
    /// go with an event stream (it has `Last-Event-ID`).
    pub fn from_request(
        accept: Option<&str>,
        last_event_id: Option<&str>,
        since: Option<&str>,
        wait: Option<&str>,
        policy: &LivePolicy,
    ) -> Result<Self> {
        let streaming = accepts_event_stream(accept);
        let wait_secs = wait
            .map(|w| {
                w.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|s| *s <= policy.max_secs)
                    .ok_or_else(|| {
                        LeaderboardError::InvalidBody(format!(
                            "wait must be a number of seconds from 0 to {}, got {w:?}",
                            policy.max_secs
                        ))
                    })
            })
            .transpose()?;
        if streaming {
            if since.is_some() || wait.is_some() {
                return Err(LeaderboardError::InvalidBody(
                    "since and wait are for long-polling; an event stream resumes with \
                     Last-Event-ID"
                        .into(),
                ));
            }
            let last_seen = last_event_id
                .filter(|v| !v.trim().is_empty())
                .map(|v| version_param("Last-Event-ID", v))
                .transpose()?;
            return Ok(Self::Stream { last_seen });
        }
        match (since, wait_secs) {
            (Some(s), w) => Ok(Self::LongPoll {
                since: version_param("since", s)?,
                wait_secs: w.unwrap_or(DEFAULT_WAIT_SECS.min(policy.max_secs)),
            }),
            (None, Some(_)) => Err(LeaderboardError::InvalidBody(
                "wait needs since=<version> (the version the client has)".into(),
            )),
            (None, None) => Ok(Self::Snapshot),
        }
    }
}

/// What a waiting request does next, at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Its time is up.
    End,
    /// Write a heartbeat (a stream idle for `heartbeat_secs`).
    Heartbeat,
    /// Read the board's version, then sleep this many ms.
    Poll {
        /// Until the next step.
        sleep_ms: u64,
    },
}

/// The clock of one waiting request: its deadline, its heartbeats and its polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    deadline_ms: i64,
    heartbeat_ms: Option<i64>,
    poll_ms: i64,
    last_sent_ms: i64,
}

impl Schedule {
    /// A stream started at `now_ms`: beats every `heartbeat_secs` of silence, ends after
    /// `max_secs`.
    pub fn stream(policy: &LivePolicy, now_ms: i64) -> Self {
        Self {
            deadline_ms: now_ms + i64::from(policy.max_secs) * 1000,
            heartbeat_ms: Some(i64::from(policy.heartbeat_secs) * 1000),
            poll_ms: i64::from(policy.poll_ms),
            last_sent_ms: now_ms,
        }
    }

    /// [`Schedule::stream`] that ends by `deadline_ms` when that comes first (a client's own
    /// timeout, e.g. Connect's `Connect-Timeout-Ms`).
    pub fn stream_until(policy: &LivePolicy, now_ms: i64, deadline_ms: Option<i64>) -> Self {
        let mut s = Self::stream(policy, now_ms);
        if let Some(d) = deadline_ms {
            s.deadline_ms = s.deadline_ms.min(d);
        }
        s
    }

    /// When the schedule ends (Unix ms).
    pub fn deadline_ms(&self) -> i64 {
        self.deadline_ms
    }

    /// A long-poll started at `now_ms` that waits `wait_secs` (no heartbeats: nothing is sent
    /// before the answer).
    pub fn long_poll(policy: &LivePolicy, wait_secs: u32, now_ms: i64) -> Self {
        Self {
            deadline_ms: now_ms + i64::from(wait_secs.min(policy.max_secs)) * 1000,
            heartbeat_ms: None,
            poll_ms: i64::from(policy.poll_ms),
            last_sent_ms: now_ms,
        }
    }

    /// Something was written to the client at `now_ms` (the heartbeat clock restarts).
    pub fn sent(&mut self, now_ms: i64) {
        self.last_sent_ms = now_ms;
    }

    /// The next step at `now_ms`. A poll never sleeps past the deadline or the next heartbeat.
    pub fn due(&self, now_ms: i64) -> Due {
        if now_ms >= self.deadline_ms {
            return Due::End;
        }
        let beat_at = self.heartbeat_ms.map(|h| self.last_sent_ms + h);
        if beat_at.is_some_and(|at| now_ms >= at) {
            return Due::Heartbeat;
        }
        let next = beat_at
            .unwrap_or(i64::MAX)
            .min(self.deadline_ms)
            .min(now_ms + self.poll_ms);
        Due::Poll {
            sleep_ms: u64::try_from(next - now_ms).unwrap_or(0),
        }
    }
}

/// One event of the stream: `event:`, `id:` (the board version) and the JSON object on one
/// `data:` line (serialized JSON has no line breaks), then the blank line that dispatches it.
pub fn sse_event(kind: &str, version: i64, data: &serde_json::Value) -> String {
    format!("event: {kind}\nid: {version}\ndata: {data}\n\n")
}

/// A heartbeat: a comment line, which clients ignore but proxies see as traffic.
pub fn sse_heartbeat(now_ms: i64) -> String {
    format!(": heartbeat {now_ms}\n\n")
}

/// Why a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// It lasted `max_secs`.
    MaxDuration,
    /// The board was deleted.
    BoardDeleted,
    /// Redis could not be read; the client should reconnect.
    Unavailable,
}

impl EndReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::MaxDuration => "max_duration",
            Self::BoardDeleted => "board_deleted",
            Self::Unavailable => "unavailable",
        }
    }
}

/// The last event of a stream: `end` with the reason, and `retry:` telling the client when to
/// reconnect (`EventSource` reconnects by itself, with `Last-Event-ID`).
pub fn sse_end(reason: EndReason, version: Option<i64>) -> String {
    let data = serde_json::json!({ "reason": reason.as_str(), "version": version });
    let id = version.map(|v| format!("id: {v}\n")).unwrap_or_default();
    format!("event: end\n{id}retry: {RETRY_MS}\ndata: {data}\n\n")
}

/// The object every event and JSON answer carries.
pub fn body(
    version: i64,
    page: serde_json::Value,
    player: Option<serde_json::Value>,
) -> serde_json::Value {
    serde_json::json!({ "version": version, "page": page, "player": player })
}

/// The `ETag` of a long-poll answer: the board version it shows.
pub fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LivePolicy {
        LivePolicy {
            max_secs: 10,
            heartbeat_secs: 2,
            max_streams: 3,
            poll_ms: POLL_MS,
        }
    }

    #[test]
    fn the_form_follows_accept_and_the_parameters() {
        let p = policy();
        let mode =
            |accept, last, since, wait| LiveMode::from_request(accept, last, since, wait, &p);
        assert_eq!(
            mode(Some("text/event-stream"), None, None, None),
            Ok(LiveMode::Stream { last_seen: None })
        );
        assert_eq!(
            mode(
                Some("application/json, text/event-stream;q=0.9"),
                Some("42"),
                None,
                None
            ),
            Ok(LiveMode::Stream {
                last_seen: Some(42)
            })
        );
        assert_eq!(mode(None, None, None, None), Ok(LiveMode::Snapshot));
        assert_eq!(
            mode(Some("text/event-stream;q=0, */*"), None, None, None),
            Ok(LiveMode::Snapshot)
        );
        assert_eq!(
            mode(None, None, Some("7"), None),
            Ok(LiveMode::LongPoll {
                since: 7,
                wait_secs: 10
            })
        );
        assert_eq!(
            mode(Some("application/json"), None, Some("7"), Some("3")),
            Ok(LiveMode::LongPoll {
                since: 7,
                wait_secs: 3
            })
        );
        for bad in [
            mode(None, None, Some("-1"), None),
            mode(None, None, Some("x"), None),
            mode(None, None, Some("1"), Some("11")),
            mode(None, None, None, Some("3")),
            mode(Some("text/event-stream"), None, Some("1"), None),
            mode(Some("text/event-stream"), Some("abc"), None, None),
        ] {
            assert_eq!(bad.map_err(|e| e.status()), Err(400));
        }
    }

    #[test]
    fn a_stream_polls_beats_when_idle_and_ends_on_time() {
        let mut s = Schedule::stream(&policy(), 0);
        assert_eq!(s.due(0), Due::Poll { sleep_ms: 250 });
        assert_eq!(s.due(1900), Due::Poll { sleep_ms: 100 });
        assert_eq!(s.due(2000), Due::Heartbeat);
        s.sent(2000);
        assert_eq!(s.due(2100), Due::Poll { sleep_ms: 250 });
        s.sent(9000);
        assert_eq!(s.due(9900), Due::Poll { sleep_ms: 100 });
        assert_eq!(s.due(10_000), Due::End);
    }

    #[test]
    fn a_long_poll_never_beats_and_ends_after_its_wait() {
        let s = Schedule::long_poll(&policy(), 3, 1000);
        assert_eq!(s.due(3000), Due::Poll { sleep_ms: 250 });
        assert_eq!(s.due(3900), Due::Poll { sleep_ms: 100 });
        assert_eq!(s.due(4000), Due::End);
        assert_eq!(Schedule::long_poll(&policy(), 0, 5).due(5), Due::End);
    }

    #[test]
    fn events_are_framed_as_the_sse_format_says() {
        let data = body(3, serde_json::json!({"entries": []}), None);
        assert_eq!(
            sse_event("update", 3, &data),
            "event: update\nid: 3\ndata: {\"page\":{\"entries\":[]},\"player\":null,\"version\":3}\n\n"
        );
        assert_eq!(sse_heartbeat(5), ": heartbeat 5\n\n");
        assert_eq!(
            sse_end(EndReason::MaxDuration, Some(9)),
            "event: end\nid: 9\nretry: 1000\ndata: {\"reason\":\"max_duration\",\"version\":9}\n\n"
        );
        assert_eq!(etag(12), "\"v12\"");
    }
}
