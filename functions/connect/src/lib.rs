//! `functions/connect`: `leaderboard.v1.LeaderboardService` (`proto/leaderboard/v1/leaderboard.proto`)
//! over the Connect protocol (JSON and binary; unary and server-streaming) and gRPC-Web (unary):
//!
//! ```text
//! POST /leaderboard.v1.LeaderboardService/GetLeaderboard
//! POST /leaderboard.v1.LeaderboardService/GetPlayer
//! POST /leaderboard.v1.LeaderboardService/GetAround
//! POST /leaderboard.v1.LeaderboardService/SubmitScore
//! POST /leaderboard.v1.LeaderboardService/GetLeague       (`competitions`)
//! POST /leaderboard.v1.LeaderboardService/GetRewards
//! POST /leaderboard.v1.LeaderboardService/ClaimReward
//! POST /leaderboard.v1.LeaderboardService/ListAwards
//! POST /leaderboard.v1.LeaderboardService/ListTournaments    (`tournaments`)
//! POST /leaderboard.v1.LeaderboardService/ListPlayerTournaments
//! POST /leaderboard.v1.LeaderboardService/JoinTournament
//! POST /leaderboard.v1.LeaderboardService/GetAttempts
//! POST /leaderboard.v1.LeaderboardService/GrantAttempts
//! POST /leaderboard.v1.LeaderboardService/EndTournament
//! POST /leaderboard.v1.LeaderboardService/ExtendTournament
//! POST /leaderboard.v1.LeaderboardService/StreamUpdates   server stream (`streaming`)
//! ```
//! Each method is the REST route's own code (`edge::reads`, `edge::submissions::submit::submit_input`) with
//! the same tokens, tenants, rate limits (a call of its operation on its board, `leaderboard::http::operation`) and problems; a
//! problem becomes a Connect error ([`protocol::Code::of`]) whose message is its detail in the
//! request's language, with the problem type in the `leaderboard-problem-type` header.
//! Its own component, so the REST components link no protobuf code. The wire protocols are
//! [`protocol`], the messages [`messages`] (their JSON reading [`json`]), the board methods
//! [`boards`].

// The p3 build names its spin-sdk (6.0) `spin_sdk`, as the entry point's macro expects.
#[cfg(feature = "p3")]
extern crate spin_sdk_6 as spin_sdk;

pub mod boards;
pub mod competitions;
pub mod json;
pub mod messages;
pub mod protocol;
pub mod streaming;
pub mod tournaments;

use crate::protocol::{Code, Codec, Protocol};
use edge::api::Ctx;
use edge::http::{Call, Method, Response, ResponseBuilder};
use edge::platform::Platform;
use edge::reads;
use edge::stream::{BodyFuture, EventSink, Reply, StreamBody};
use leaderboard::http::i18n::{Lang, negotiate};
use leaderboard::http::operation::Operation;
use leaderboard::http::problem::Problem;
use leaderboard::{Board, LeaderboardError, Result};
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The service's path prefix.
pub const SERVICE: &str = "/leaderboard.v1.LeaderboardService/";

/// The largest request message (as the REST API's largest body).
pub const MAX_MESSAGE_BYTES: usize = edge::http::MAX_BODY_BYTES;

/// The request media types served (`Accept-Post` of a `415`).
const ACCEPTED: &str = "application/json, application/proto, application/grpc-web+proto, \
                        application/grpc+proto, application/connect+json, application/connect+proto";

/// The header that carries an error's problem type (Connect metadata).
const PROBLEM_TYPE: &str = "leaderboard-problem-type";

edge::http_entry!(stream: async |call| {
    Ok(if streaming::is_stream(call) {
        streaming::serve(&edge::platform::Spin, call).await
    } else {
        route(&edge::platform::Spin, call).await
    })
});

/// A failed call: its code and message, and the problem type when it was a problem.
pub(crate) struct Failure {
    pub(crate) code: Code,
    pub(crate) message: String,
    problem_type: Option<String>,
    /// An HTTP status other than the code's.
    http_status: Option<u16>,
}

impl Failure {
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            problem_type: None,
            http_status: None,
        }
    }

    pub(crate) fn of(err: &LeaderboardError, lang: Lang) -> Self {
        let p = Problem::localized(err, lang);
        Self {
            code: Code::of(err),
            message: p.detail,
            problem_type: Some(p.problem_type),
            http_status: None,
        }
    }
}

/// Serves one request on `platform`: every answer, success or error, in the protocol the
/// request speaks.
pub async fn route(platform: &dyn Platform, call: &Call<'_>) -> Reply {
    let lang = negotiate(call.header("accept-language"));
    let protocol = protocol::protocol_of(call.header("content-type"));
    if *call.method() != Method::POST {
        // Connect calls are POSTs (the GET form is not served): 405, like every route here.
        let err = call.method_not_allowed("POST");
        return Reply::Whole(edge::http::problem(
            &err,
            &call.path,
            call.header("accept-language"),
        ));
    }
    let answer = match protocol {
        None => {
            // Not a codec we speak: 415, as Connect asks, naming the ones we do.
            let body = serde_json::json!({
                "code": Code::InvalidArgument.name(),
                "message": format!(
                    "Content-Type {:?} is not one of {ACCEPTED}",
                    call.header("content-type").unwrap_or_default()
                ),
            });
            return Reply::Whole(
                ResponseBuilder::new(415)
                    .header("accept-post", ACCEPTED)
                    .header("content-type", "application/json")
                    .body(body.to_string()),
            );
        }
        Some(p) => call_method(platform, call, p, lang).await,
    };
    let protocol = protocol.unwrap_or(Protocol::Connect(Codec::Json));
    match (answer, protocol) {
        (Ok(bytes), Protocol::Grpc) => grpc_success(bytes),
        (Ok(bytes), _) => Reply::Whole(success(protocol, bytes)),
        (Err(f), _) => Reply::Whole(failure(protocol, &f)),
    }
}

/// A streamed body that runs `body`.
pub(crate) fn stream_body(
    body: impl for<'a> FnOnce(&'a Call<'a>, &'a mut EventSink) -> BodyFuture<'a> + 'static,
) -> StreamBody {
    Box::new(body)
}

/// A gRPC answer: the head, the message's frame, then the status in the trailers.
fn grpc_success(bytes: Vec<u8>) -> Reply {
    let head = ResponseBuilder::new(200)
        .header("content-type", "application/grpc+proto")
        .empty();
    Reply::Stream(
        head,
        stream_body(move |_call, sink| {
            Box::pin(async move {
                if sink.send_bytes(&protocol::frame(0, &bytes)).await.is_err() {
                    eprintln!("connect: the gRPC client left before its answer");
                    return;
                }
                sink.set_trailers(vec![
                    ("grpc-status".into(), b"0".to_vec()),
                    ("grpc-message".into(), Vec::new()),
                ]);
            })
        }),
    )
}

fn success(protocol: Protocol, bytes: Vec<u8>) -> Response {
    let (media, body) = match protocol {
        Protocol::Connect(Codec::Json) => ("application/json", bytes),
        Protocol::Connect(Codec::Proto) => ("application/proto", bytes),
        Protocol::GrpcWeb => (
            "application/grpc-web+proto",
            protocol::grpc_web_body(Some(&bytes), 0, ""),
        ),
        // Answered by `grpc_success` (trailers).
        Protocol::Grpc => ("application/grpc+proto", bytes),
    };
    ResponseBuilder::new(200)
        .header("content-type", media)
        .header("cache-control", "no-store")
        .body(body)
}

fn failure(protocol: Protocol, f: &Failure) -> Response {
    let status = match protocol {
        Protocol::Connect(_) => f.http_status.unwrap_or_else(|| f.code.http_status()),
        Protocol::GrpcWeb | Protocol::Grpc => 200,
    };
    let mut b = ResponseBuilder::new(status);
    if let Some(t) = &f.problem_type {
        b = b.header(PROBLEM_TYPE, t);
    }
    let b = b.header("cache-control", "no-store");
    match protocol {
        Protocol::Connect(_) => {
            let body = serde_json::json!({ "code": f.code.name(), "message": f.message });
            b.header("content-type", "application/json")
                .body(body.to_string())
        }
        Protocol::GrpcWeb => b
            .header("content-type", "application/grpc-web+proto")
            .body(protocol::grpc_web_body(None, f.code.grpc(), &f.message)),
        // Trailers-only: the status in the head, no body.
        Protocol::Grpc => b
            .header("content-type", "application/grpc+proto")
            .header("grpc-status", f.code.grpc().to_string())
            .header("grpc-message", protocol::grpc_message(&f.message))
            .empty(),
    }
}

/// The request's message in `protocol`.
fn decode<M: Message + Default + DeserializeOwned>(
    call: &Call<'_>,
    protocol: Protocol,
) -> std::result::Result<M, Failure> {
    let body = call.req.body().as_slice();
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(Failure::new(
            Code::ResourceExhausted,
            format!(
                "the request message is {} bytes, more than {MAX_MESSAGE_BYTES}",
                body.len()
            ),
        ));
    }
    let bad = |e: String| Failure::new(Code::InvalidArgument, e);
    match protocol {
        Protocol::Connect(Codec::Json) => json::read(body)
            .map_err(|e| bad(format!("the request message is not valid JSON for it: {e}"))),
        Protocol::Connect(Codec::Proto) => {
            M::decode(body).map_err(|e| bad(format!("the request message does not decode: {e}")))
        }
        Protocol::GrpcWeb | Protocol::Grpc => M::decode(protocol::unframe(body).map_err(bad)?)
            .map_err(|e| bad(format!("the request message does not decode: {e}"))),
    }
}

fn encode<M: Message + Serialize>(
    m: &M,
    protocol: Protocol,
) -> std::result::Result<Vec<u8>, Failure> {
    match protocol {
        Protocol::Connect(Codec::Json) => serde_json::to_vec(m)
            .map_err(|e| Failure::new(Code::Internal, format!("encoding the answer: {e}"))),
        _ => Ok(m.encode_to_vec()),
    }
}

/// A unary method's call: the request decoded from the wire (its message type is the
/// handler's), the handler run with the call's context, its answer encoded back; a handler's
/// error becomes the call's [`Failure`].
macro_rules! unary {
    ($handler:path, $ctx:expr, $call:expr, $protocol:expr, $lang:expr) => {{
        let req = decode($call, $protocol)?;
        let answer = $handler($ctx, $call, &req).await;
        encode(&answer.map_err(|e| Failure::of(&e, $lang))?, $protocol)
    }};
}

/// What a unary call's headers ask that the service refuses (another Connect protocol version,
/// a compressed request), and the deadline they give (`Connect-Timeout-Ms`).
fn call_headers(call: &Call<'_>, protocol: Protocol) -> std::result::Result<Option<u64>, Failure> {
    if let Protocol::Connect(_) = protocol
        && let Some(v) = call.header("connect-protocol-version")
        && v != "1"
    {
        return Err(Failure::new(
            Code::InvalidArgument,
            format!("Connect-Protocol-Version must be 1, got '{v}'"),
        ));
    }
    if call
        .header("content-encoding")
        .or_else(|| call.header("grpc-encoding"))
        .is_some_and(|e| e != "identity")
    {
        return Err(Failure::new(
            Code::Unimplemented,
            "compressed requests are not supported; send them uncompressed",
        ));
    }
    protocol::timeout_ms(call.header("connect-timeout-ms"))
        .map_err(|e| Failure::new(Code::InvalidArgument, e))
}

async fn call_method(
    platform: &dyn Platform,
    call: &Call<'_>,
    protocol: Protocol,
    lang: Lang,
) -> std::result::Result<Vec<u8>, Failure> {
    let timeout = call_headers(call, protocol)?;
    let method = call.path.strip_prefix(SERVICE).unwrap_or_default();
    let ctx = edge::admission::admit_per_call(platform, call)
        .await
        .map_err(|e| Failure::of(&e, lang))?;
    let answer = unary_method(method, &ctx, call, protocol, lang).await?;
    // The deadline the client gave: an answer later than that is not wanted.
    if let Some(ms) = timeout
        && edge::scope::now_ms().saturating_sub(call.now_ms) > i64::try_from(ms).unwrap_or(i64::MAX)
    {
        return Err(Failure::new(
            Code::DeadlineExceeded,
            format!("the call took longer than its Connect-Timeout-Ms of {ms}"),
        ));
    }
    Ok(answer)
}

/// The unary method `method`, one line each: its handler (whose request type is the message
/// decoded).
async fn unary_method(
    method: &str,
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    protocol: Protocol,
    lang: Lang,
) -> std::result::Result<Vec<u8>, Failure> {
    use competitions as comp;
    use tournaments as tour;
    match method {
        "GetLeaderboard" => unary!(boards::get_leaderboard, ctx, call, protocol, lang),
        "GetPlayer" => unary!(boards::get_player, ctx, call, protocol, lang),
        "GetAround" => unary!(boards::get_around, ctx, call, protocol, lang),
        "SubmitScore" => unary!(boards::submit_score, ctx, call, protocol, lang),
        "GetLeague" => unary!(comp::get_league, ctx, call, protocol, lang),
        "GetRewards" => unary!(comp::get_rewards, ctx, call, protocol, lang),
        "ClaimReward" => unary!(comp::claim_reward, ctx, call, protocol, lang),
        "ListAwards" => unary!(comp::list_awards, ctx, call, protocol, lang),
        "ListTournaments" => unary!(tour::list, ctx, call, protocol, lang),
        "ListPlayerTournaments" => unary!(tour::list_joined, ctx, call, protocol, lang),
        "JoinTournament" => unary!(tour::join, ctx, call, protocol, lang),
        "GetAttempts" => unary!(tour::attempts, ctx, call, protocol, lang),
        "GrantAttempts" => unary!(tour::grant, ctx, call, protocol, lang),
        "EndTournament" => unary!(tour::end, ctx, call, protocol, lang),
        "ExtendTournament" => unary!(tour::extend, ctx, call, protocol, lang),
        "StreamUpdates" => Err(Failure {
            http_status: Some(415),
            ..Failure::new(
                Code::InvalidArgument,
                "StreamUpdates is a server stream: send application/connect+json or application/connect+proto",
            )
        }),
        other => Err(Failure {
            // `unimplemented`, with the 404 a Connect server's router gives an unknown path.
            http_status: Some(404),
            ..Failure::new(
                Code::Unimplemented,
                format!("leaderboard.v1.LeaderboardService has no method '{other}'"),
            )
        }),
    }
}

/// The board a method reads or writes ([`edge::reads::board_for_call`]).
pub(crate) async fn board(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    operation: Operation,
    id: &str,
) -> Result<Board> {
    reads::board_for_call(ctx, call, operation, id).await
}
