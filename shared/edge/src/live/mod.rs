//! Live updates of a board: the change feed (the board's version in Redis, read at a bounded
//! cadence), the per-instance bound on waiting requests, and the three forms of
//! `GET …/boards/{board}/live` — an event stream, a long-poll and a plain snapshot
//! (`leaderboard::http::live` has the rules and the wire format).
//!
//! One mechanism serves every form: [`follow`] waits for the board to move, following a
//! [`Schedule`], and calls back for heartbeats. A function supplies only how to render the
//! board's current state ([`Render`]).
//!
//! How an instance learns of a change: it reads the board's version (`GET` of one key) every
//! `POLL_MS` (250 ms) on the connection the request already holds — no pub/sub (Spin's outbound
//! Redis cannot subscribe), never a tight loop. One connected client costs one Spin instance (a
//! WASI p2 request holds its instance while it streams), one Redis connection and 4 `GET`s a
//! second, plus a page read per change.

pub mod push;
pub mod routes;

use std::pin::Pin;

use leaderboard::http::live::{self, Due, EndReason, LiveMode, LivePolicy, Schedule, etag};
use leaderboard::{Board, LeaderboardError, Result};

use crate::api::Ctx;
use crate::http::{self, Call, Headers, Response, ResponseBuilder};
use crate::platform::{KvStore, Platform};
use crate::repo::Keys;
use crate::scope::now_ms;
use crate::stream::{EventSink, EventSinkClosed, Reply, StreamBody};

/// What a [`Render`] makes: `page` and `player`.
pub type Rendered = (serde_json::Value, Option<serde_json::Value>);

/// A render under way (it reads the board).
pub type Rendering<'a> = Pin<Box<dyn Future<Output = Result<Rendered>> + 'a>>;

/// Renders the board's current state as every event carries it
/// (`leaderboard::http::live::body`'s `page` and `player`): a closure that answers
/// `Box::pin(async move { … })`.
pub type Render = Box<dyn for<'a> Fn(&'a Call<'a>, &'a Ctx<'static>, &'a Board) -> Rendering<'a>>;

/// The operator's limits, from the component's `live_policy` variable ([`crate::settings::live`]).
pub async fn policy(platform: &dyn Platform) -> Result<LivePolicy> {
    crate::settings::live(platform).await
}

/// What waiting for a change came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// The board's version is now this one.
    Moved(i64),
    /// The board no longer exists.
    Gone,
    /// The schedule's time is up.
    Ended,
    /// The client went away (a heartbeat could not be written).
    Stopped,
}

/// Waits until the board's version differs from `known`, reading it as `schedule` says and
/// calling `beat` when a heartbeat is due (`false` from `beat`: the client has gone).
pub async fn follow(
    ctx: &Ctx<'_>,
    keys: &Keys,
    known: i64,
    schedule: &mut Schedule,
    mut beat: impl AsyncFnMut(i64) -> bool,
) -> Result<Wait> {
    loop {
        let now = now_ms();
        match schedule.due(now) {
            Due::End => return Ok(Wait::Ended),
            Due::Heartbeat => {
                if !beat(now).await {
                    return Ok(Wait::Stopped);
                }
                schedule.sent(now);
            }
            Due::Poll { sleep_ms } => {
                match ctx.repo().await?.board_version(keys).await? {
                    None => return Ok(Wait::Gone),
                    Some(v) if v != known => return Ok(Wait::Moved(v)),
                    Some(_) => {}
                }
                crate::scope::sleep(sleep_ms).await;
            }
        }
    }
}

/// The window of the stream counters (ms): longer than any stream, so a stream counted in window
/// `w` has ended before window `w + 2` starts, and the count of windows `w` and `w - 1` covers
/// every stream still open — also those of an instance that died before it could uncount itself.
fn window_ms(policy: &LivePolicy) -> i64 {
    (i64::from(policy.max_secs) + 5) * 1000
}

fn counter_key(window: i64) -> String {
    format!("live:streams:{window}")
}

/// A place among the instance's open streams and long-polls (the regional KV store counts them);
/// given back by [`Slot::release`].
pub struct Slot {
    kv: Box<dyn KvStore>,
    key: String,
    /// Whether the place is still counted.
    held: bool,
}

impl Slot {
    /// Takes a place, or answers `429` when `max_streams` are open.
    pub async fn take(platform: &dyn Platform, policy: &LivePolicy, now_ms: i64) -> Result<Self> {
        let kv = platform.kv(crate::kv::STORE).await.ok_or_else(|| {
            LeaderboardError::Unavailable("the key-value store is unavailable".into())
        })?;
        let w = now_ms / window_ms(policy);
        let key = counter_key(w);
        // The store's own error text (a SQLite or Redis message) is for the log, not the client.
        let mine = crate::kv::retry_busy(async || kv.increment(&key, 1).await)
            .await
            .map_err(|e| {
                eprintln!("live: counting the stream in the key-value store: {e}");
                LeaderboardError::Unavailable("the key-value store is unavailable".into())
            })?;
        let slot = Self {
            kv,
            key,
            held: true,
        };
        if mine == 1 {
            // The first stream of a window: the counter from two windows ago is over.
            if let Err(e) = slot.kv.delete_many(&[counter_key(w - 2)]).await {
                // Harmless but for the space: a window's counter is not read once it is over.
                eprintln!("live: cannot delete an old window's stream count: {e}");
            }
        }
        // The last window's streams still open count too; unread, the limit holds for this one.
        let last = counter_key(w - 1);
        let before = match crate::kv::retry_busy(async || slot.kv.increment(&last, 0).await).await {
            Ok(n) => n,
            Err(e) => {
                eprintln!("live: cannot read the last window's stream count: {e}");
                0
            }
        };
        if mine + before.max(0) > i64::from(policy.max_streams) {
            slot.release().await;
            return Err(LeaderboardError::RateLimited {
                policy: format!("live_max_streams ({} per instance)", policy.max_streams),
                retry_after_secs: 1,
            });
        }
        Ok(slot)
    }

    /// Gives the place back.
    pub async fn release(mut self) {
        self.held = false;
        // A place not given back stays counted for this window and the next.
        let kv = &self.kv;
        let key = &self.key;
        if let Err(e) = crate::kv::retry_busy(async || kv.increment(key, -1).await).await {
            eprintln!("live: cannot uncount a stream: {e}");
        }
    }
}

impl Drop for Slot {
    /// Every path gives its place back with [`Slot::release`] (a stream whose head cannot be sent
    /// runs its body on a closed sink, which ends at once and releases it). One that was not (a
    /// panic, a body that never ran) cannot be given back here, since a drop cannot wait on the store: it is logged, and
    /// its count lapses with its window, as a crashed instance's does.
    fn drop(&mut self) {
        if self.held {
            eprintln!(
                "live: a stream's place ({}) was not given back; it lapses with its window",
                self.key
            );
        }
    }
}

/// What `GET …/live` answers: the snapshot (JSON), a long-poll, or an event stream, for a board
/// the caller may read (the function checked access).
pub async fn answer(
    call: &Call<'_>,
    ctx: Ctx<'static>,
    board: Board,
    mode: LiveMode,
    policy: LivePolicy,
    render: Render,
) -> Result<Reply> {
    let keys = Keys::new(&ctx.tenant, &board.id);
    match mode {
        LiveMode::Snapshot => {
            let version = current(&ctx, &keys, &board).await?;
            json(call, &ctx, &board, &render, version)
                .await
                .map(Reply::Whole)
        }
        LiveMode::LongPoll { since, wait_secs } => {
            let slot = Slot::take(ctx.platform(), &policy, call.now_ms).await?;
            let answered = async {
                let version = current(&ctx, &keys, &board).await?;
                if version != since {
                    return json(call, &ctx, &board, &render, version)
                        .await
                        .map(Reply::Whole);
                }
                let mut schedule = Schedule::long_poll(&policy, wait_secs, call.now_ms);
                match follow(&ctx, &keys, since, &mut schedule, async |_| true).await? {
                    Wait::Moved(v) => json(call, &ctx, &board, &render, v).await.map(Reply::Whole),
                    Wait::Gone => Err(LeaderboardError::BoardNotFound(format!(
                        "board '{}' was deleted",
                        board.id
                    ))),
                    Wait::Ended | Wait::Stopped => Ok(Reply::Whole(not_modified(since))),
                }
            }
            .await;
            slot.release().await;
            answered
        }
        LiveMode::Stream { last_seen } => {
            let slot = Slot::take(ctx.platform(), &policy, call.now_ms).await?;
            let version = match current(&ctx, &keys, &board).await {
                Ok(version) => version,
                Err(e) => {
                    slot.release().await;
                    return Err(e);
                }
            };
            let head = stream_head();
            let body: StreamBody = Box::new(move |call, sink| {
                Box::pin(async move {
                    stream(
                        call, &ctx, &board, &keys, &render, &policy, version, last_seen, sink,
                    )
                    .await;
                    slot.release().await;
                })
            });
            Ok(Reply::Stream(head, body))
        }
    }
}

/// The head of an event stream: `200`, never stored, never buffered by a proxy (nginx's
/// `X-Accel-Buffering`).
pub fn stream_head() -> Response {
    ResponseBuilder::new(200)
        .header("content-type", live::EVENT_STREAM)
        .header("cache-control", "no-store")
        .header("x-accel-buffering", "no")
        .empty()
}

/// The board's version (`404` when the board does not exist).
pub async fn current(ctx: &Ctx<'_>, keys: &Keys, board: &Board) -> Result<i64> {
    let version = ctx.repo().await?.board_version(keys).await?;
    version.ok_or_else(|| {
        LeaderboardError::BoardNotFound(format!("board '{}' does not exist", board.id))
    })
}

async fn json(
    call: &Call<'_>,
    ctx: &Ctx<'static>,
    board: &Board,
    render: &Render,
    version: i64,
) -> Result<Response> {
    let (page, player) = render(call, ctx, board).await?;
    let mut r = http::json(200, call.version, &live::body(version, page, player));
    r.set_header("etag", etag(version));
    r.set_header("cache-control", "no-store");
    Ok(r)
}

fn not_modified(version: i64) -> Response {
    ResponseBuilder::new(304)
        .header("etag", etag(version))
        .header("cache-control", "no-store")
        .empty()
}

/// The body of an event stream: the snapshot unless the client already has this version, then
/// an update per change, heartbeats while idle, and the `end` event.
#[allow(clippy::too_many_arguments)]
async fn stream(
    call: &Call<'_>,
    ctx: &Ctx<'static>,
    board: &Board,
    keys: &Keys,
    render: &Render,
    policy: &LivePolicy,
    version: i64,
    last_seen: Option<i64>,
    sink: &mut EventSink,
) {
    let mut schedule = Schedule::stream(policy, now_ms());
    let event = async |kind: &str, v: i64, sink: &mut EventSink| -> Step {
        let (page, player) = render(call, ctx, board).await.map_err(|e| {
            eprintln!("live: cannot render {}: {e}", board.id);
            Ended::Because(EndReason::Unavailable)
        })?;
        sink.send(&live::sse_event(kind, v, &live::body(v, page, player)))
            .await
            .map_err(|EventSinkClosed| Ended::Gone)
    };
    let mut known = version;
    let mut outcome = if last_seen == Some(version) {
        sink.begin().map_err(|EventSinkClosed| Ended::Gone)
    } else {
        event("snapshot", version, sink).await
    };
    while outcome.is_ok() {
        schedule.sent(now_ms());
        let followed = follow(ctx, keys, known, &mut schedule, async |now| {
            sink.send(&live::sse_heartbeat(now)).await.is_ok()
        })
        .await;
        outcome = match followed {
            Ok(Wait::Moved(v)) => {
                known = v;
                event("update", v, sink).await
            }
            Ok(Wait::Gone) => Err(Ended::Because(EndReason::BoardDeleted)),
            Ok(Wait::Ended) => Err(Ended::Because(EndReason::MaxDuration)),
            Ok(Wait::Stopped) => Err(Ended::Gone),
            Err(e) => {
                eprintln!("live: cannot follow {}: {e}", board.id);
                Err(Ended::Because(EndReason::Unavailable))
            }
        };
    }
    if let Err(Ended::Because(reason)) = outcome {
        let _ = sink.send(&live::sse_end(reason, Some(known))).await;
    }
}

/// What writing an event came to.
type Step = std::result::Result<(), Ended>;

/// Why a stream stops.
enum Ended {
    /// The client has gone: nothing more to write.
    Gone,
    /// The server ends it, with a last `end` event.
    Because(EndReason),
}
