//! `StreamUpdates`: the board's change feed as a Connect server stream (`application/connect+json`
//! or `application/connect+proto`).
//!
//! The request is one enveloped message (flag byte, 4-byte big-endian length, message). The answer
//! is `200` and enveloped messages: the leaderboard (and the requested player's standing) when
//! the stream opens, then again after each change of the board. It ends with the end-of-stream
//! envelope (flag `0x02`, JSON): `{}` when the server's `live_max_secs` are up, or
//! `{"error": {"code", "message"}}` — `deadline_exceeded` at the client's `Connect-Timeout-Ms`,
//! `not_found` when the board is deleted, `unavailable` when Redis fails. An error before the
//! stream opens (a bad request, no access) is an end-of-stream envelope alone.
//!
//! How a change is noticed is `GET …/live`'s ([`edge::live::follow`]: the board's version, read
//! every 250 ms on the request's connection), and the streams an instance holds count against the
//! same `live_max_streams` ([`edge::live::Slot`]). Connect has no heartbeat message: an idle
//! stream sends nothing until a change or its end.

use edge::api::Ctx;
use edge::http::{Call, ResponseBuilder};
use edge::live::{Slot, Wait};
use edge::platform::Platform;
use edge::reads::{self, At};
use edge::repo::Keys;
use edge::stream::{EventSink, Reply};
use leaderboard::board::view::PeriodView;
use leaderboard::http::i18n::{Lang, negotiate};
use leaderboard::http::live::Schedule;
use leaderboard::http::operation::Operation;
use leaderboard::{Board, LeaderboardError};
use prost::Message;

use crate::messages::{StreamUpdatesRequest, StreamUpdatesResponse};
use crate::protocol::{self, Code, Codec};
use crate::{Failure, SERVICE};

/// Whether `call` opens the server stream.
pub fn is_stream(call: &Call<'_>) -> bool {
    call.path.strip_prefix(SERVICE) == Some("StreamUpdates") && codec(call).is_some()
}

fn codec(call: &Call<'_>) -> Option<Codec> {
    match protocol::media_type(call.header("content-type")?).as_str() {
        "application/connect+json" => Some(Codec::Json),
        "application/connect+proto" => Some(Codec::Proto),
        _ => None,
    }
}

fn media(codec: Codec) -> &'static str {
    match codec {
        Codec::Json => "application/connect+json",
        Codec::Proto => "application/connect+proto",
    }
}

/// The end-of-stream envelope.
fn end(failure: Option<&Failure>) -> Vec<u8> {
    let body = match failure {
        None => serde_json::json!({}),
        Some(f) => serde_json::json!({ "error": { "code": f.code.name(), "message": f.message } }),
    };
    protocol::frame(0x02, body.to_string().as_bytes())
}

/// Serves `StreamUpdates` on `platform`.
pub async fn serve(platform: &'static dyn Platform, call: &Call<'_>) -> Reply {
    let codec = codec(call).unwrap_or(Codec::Json);
    let lang = negotiate(call.header("accept-language"));
    match open(platform, call, codec, lang).await {
        Ok(reply) => reply,
        Err(f) => Reply::Whole(
            ResponseBuilder::new(200)
                .header("content-type", media(codec))
                .header("cache-control", "no-store")
                .body(end(Some(&f))),
        ),
    }
}

/// What the stream shows.
struct Feed {
    board: Board,
    limit: u32,
    player: Option<String>,
    period: Option<String>,
    codec: Codec,
    lang: Lang,
}

/// The request's one message, decoded (its size bounded first).
fn request(call: &Call<'_>, codec: Codec) -> Result<StreamUpdatesRequest, Failure> {
    let bad = |e: String| Failure::new(Code::InvalidArgument, e);
    let body = call.req.body();
    if body.len() > crate::MAX_MESSAGE_BYTES {
        return Err(Failure::new(
            Code::ResourceExhausted,
            format!(
                "the request is {} bytes, more than {}",
                body.len(),
                crate::MAX_MESSAGE_BYTES
            ),
        ));
    }
    let message = protocol::unframe(body).map_err(bad)?;
    Ok(match codec {
        Codec::Json => crate::json::read(message)
            .map_err(|e| bad(format!("the request message is not valid JSON for it: {e}")))?,
        Codec::Proto => StreamUpdatesRequest::decode(message)
            .map_err(|e| bad(format!("the request message does not decode: {e}")))?,
    })
}

async fn open(
    platform: &'static dyn Platform,
    call: &Call<'_>,
    codec: Codec,
    lang: Lang,
) -> Result<Reply, Failure> {
    let fail = |e: LeaderboardError| Failure::of(&e, lang);
    let bad = |e: String| Failure::new(Code::InvalidArgument, e);
    let timeout = protocol::timeout_ms(call.header("connect-timeout-ms")).map_err(bad)?;
    let req = request(call, codec)?;
    let ctx = edge::admission::admit_per_call(platform, call)
        .await
        .map_err(fail)?;
    let board = crate::board(&ctx, call, Operation::StreamUpdates, &req.board)
        .await
        .map_err(fail)?;
    let limit = if req.limit == 0 { 10 } else { req.limit };
    if limit > reads::MAX_LIMIT {
        return Err(bad(format!(
            "'limit' must be in 1..={}, got {limit}",
            reads::MAX_LIMIT
        )));
    }
    let period = Some(req.period).filter(|p| !p.is_empty());
    let resolved = PeriodView::resolve(&board, period.as_deref(), call.now_ms).map_err(fail)?;
    // The cohort a board with cohorts shows this caller, checked before the stream's head.
    edge::competitions::cohorts::scope(&ctx, &board, &resolved.id, None)
        .await
        .map_err(fail)?;
    let policy = edge::live::policy(platform).await.map_err(fail)?;
    let slot = Slot::take(platform, &policy, call.now_ms)
        .await
        .map_err(fail)?;
    let keys = Keys::new(&ctx.tenant, &board.id);
    let version = match edge::live::current(&ctx, &keys, &board).await {
        Ok(version) => version,
        Err(e) => {
            slot.release().await;
            return Err(fail(e));
        }
    };
    let deadline = timeout.map(|ms| {
        call.now_ms
            .saturating_add(i64::try_from(ms).unwrap_or(i64::MAX))
    });
    let feed = Feed {
        board,
        limit,
        player: Some(req.player).filter(|p| !p.is_empty()),
        period,
        codec,
        lang,
    };
    let head = ResponseBuilder::new(200)
        .header("content-type", media(codec))
        .header("cache-control", "no-store")
        .header("x-accel-buffering", "no")
        .empty();
    let stream = crate::stream_body(move |_call, sink| {
        Box::pin(async move {
            run(&ctx, &feed, &keys, &policy, version, deadline, sink).await;
            slot.release().await;
        })
    });
    Ok(Reply::Stream(head, stream))
}

/// One message of the stream: the board at `version`.
async fn message(
    ctx: &Ctx<'_>,
    feed: &Feed,
    version: i64,
    snapshot: bool,
) -> Result<Vec<u8>, Failure> {
    let fail = |e: LeaderboardError| Failure::of(&e, feed.lang);
    let at = At {
        now_ms: edge::scope::now_ms(),
        period: feed.period.as_deref(),
        as_of: None,
        cohort: None,
    };
    let page = reads::top(ctx, &feed.board, &at, feed.limit, None)
        .await
        .map_err(fail)?;
    let player = match &feed.player {
        None => None,
        Some(p) => match reads::standing(ctx, &feed.board, &at, p).await {
            Ok(s) => Some(crate::boards::standing_message(&feed.board, &s)),
            Err(LeaderboardError::PlayerNotFound(_)) => None,
            Err(e) => return Err(fail(e)),
        },
    };
    let m = StreamUpdatesResponse {
        version: u64::try_from(version).unwrap_or_default(),
        snapshot,
        leaderboard: Some(crate::boards::page_message(&feed.board, page)),
        player,
    };
    let bytes = match feed.codec {
        Codec::Json => serde_json::to_vec(&m)
            .map_err(|e| Failure::new(Code::Internal, format!("encoding an update: {e}")))?,
        Codec::Proto => m.encode_to_vec(),
    };
    Ok(protocol::frame(0, &bytes))
}

/// Ends the stream with its end-of-stream envelope.
async fn close(sink: &mut EventSink, failure: Option<&Failure>) {
    if sink.send_bytes(&end(failure)).await.is_err() {
        eprintln!("connect: the client left before the end of its stream");
    }
}

/// The stream's body: the board now, then after each change, then its end.
#[allow(clippy::too_many_arguments)]
async fn run(
    ctx: &Ctx<'static>,
    feed: &Feed,
    keys: &Keys,
    policy: &leaderboard::http::live::LivePolicy,
    version: i64,
    deadline: Option<i64>,
    sink: &mut EventSink,
) {
    let mut schedule = Schedule::stream_until(policy, edge::scope::now_ms(), deadline);
    // Whose time ends the stream: the client's timeout is an error, the server's limit is not.
    let clients_deadline = deadline.is_some_and(|d| d <= schedule.deadline_ms());
    let mut known = version;
    let mut outcome = message(ctx, feed, version, true).await;
    loop {
        let bytes = match outcome {
            Ok(bytes) => bytes,
            Err(f) => {
                close(sink, Some(&f)).await;
                return;
            }
        };
        if sink.send_bytes(&bytes).await.is_err() {
            return;
        }
        outcome = match edge::live::follow(ctx, keys, known, &mut schedule, async |_| true).await {
            Ok(Wait::Moved(v)) => {
                known = v;
                message(ctx, feed, v, false).await
            }
            Ok(Wait::Gone) => Err(Failure::of(
                &LeaderboardError::BoardNotFound(format!("board '{}' was deleted", feed.board.id)),
                feed.lang,
            )),
            Ok(Wait::Ended) if clients_deadline => Err(Failure::new(
                Code::DeadlineExceeded,
                "the stream lasted its Connect-Timeout-Ms",
            )),
            Ok(Wait::Ended) => {
                close(sink, None).await;
                return;
            }
            Ok(Wait::Stopped) => return,
            Err(e) => Err(Failure::of(&e, feed.lang)),
        };
    }
}
