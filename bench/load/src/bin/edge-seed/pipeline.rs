//! The event pipeline's benchmark fixtures.
//!
//! `backlog` appends entries to a board's inbox in the documented ingest layout (`player`,
//! `score`), pipelined, without ringing the doorbell: the bench then rings it once and times the
//! drain. `loglag` reads the board's log and, for every `score_applied` event of an inbox entry
//! after a given stream id, takes the time from acceptance (the event's `at_ms`: the `202`'s
//! moment, or the entry's stream id for the ingest layout) to application (the event's own stream
//! id, Redis's clock): the submit→applied lag of every submission of a run, at 1 ms resolution.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use leaderboard::{Event, EventEnvelope};
use serde::Serialize;

use crate::lag::percentile_ms;

/// Entries per pipelined round trip.
const CHUNK: u64 = 5_000;

/// Appends `entries` ingest-layout entries for `players` distinct players (scores 1..=100).
pub fn backlog(
    con: &mut redis::Connection,
    inbox: &str,
    entries: u64,
    players: u64,
) -> Result<Duration> {
    let started = Instant::now();
    let mut i = 0;
    while i < entries {
        let mut pipe = redis::pipe();
        for n in i..entries.min(i + CHUNK) {
            pipe.cmd("XADD")
                .arg(inbox)
                .arg("*")
                .arg("player")
                .arg(format!("b{:06}", n % players.max(1)))
                .arg("score")
                .arg(n % 100 + 1)
                .ignore();
        }
        pipe.exec(con).context("appending to the inbox")?;
        i += CHUNK;
    }
    Ok(started.elapsed())
}

/// The lags of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogLag {
    /// `score_applied` events of inbox entries seen.
    pub events: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// Lags of the `score_applied` events of inbox entries in `log` after `after` (exclusive).
pub fn loglag(con: &mut redis::Connection, log: &str, after: &str) -> Result<LogLag> {
    let mut lags = Vec::new();
    let mut start = format!("({after}");
    loop {
        let page: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
            .arg(log)
            .arg(&start)
            .arg("+")
            .arg("COUNT")
            .arg(10_000)
            .query(con)
            .context("reading the log")?;
        let Some((last, _)) = page.last() else { break };
        start = format!("({last}");
        for (id, fields) in &page {
            let Some((_, json)) = fields.iter().find(|(k, _)| k == "event") else {
                continue;
            };
            let envelope = EventEnvelope::from_json(json)?;
            // Drained events carry their inbox entry's id (`<ms>-<seq>`); synchronous ones do not.
            let from_inbox = envelope
                .id
                .split_once('-')
                .is_some_and(|(ms, seq)| ms.parse::<u64>().is_ok() && seq.parse::<u64>().is_ok());
            if let (Event::ScoreApplied(_), true) = (&envelope.event, from_inbox) {
                let applied = leaderboard::events::inbox::stream_id_ms(id)?;
                let ms = u64::try_from(applied - envelope.at_ms).unwrap_or(0);
                lags.push(Duration::from_millis(ms));
            }
        }
    }
    lags.sort_unstable();
    Ok(LogLag {
        events: lags.len() as u64,
        p50_ms: percentile_ms(&lags, 50.0),
        p99_ms: percentile_ms(&lags, 99.0),
        max_ms: percentile_ms(&lags, 100.0),
    })
}
