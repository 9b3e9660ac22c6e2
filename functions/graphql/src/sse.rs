//! GraphQL over Server-Sent Events (the `graphql-sse` protocol, distinct connections mode):
//! `POST /graphql` (or `GET`) with `Accept: text/event-stream`.
//!
//! - A **subscription** (`subscription { board(id) { … } }`) is served as `GET …/live` serves a
//!   stream, with the same limits: it takes a place among the instance's `live_max_streams`
//!   (`429` when none is left), follows the board's version ([`edge::live::follow`]: one `GET`
//!   every 250 ms on the request's connection), writes a `next` event with the selection set
//!   resolved at once and after each change, and a comment line as heartbeat while idle. The
//!   root field is the admission (a read call against the rate limits, read access as `entries`).
//!   At `live_max_secs` the stream is closed without `complete`: graphql-sse clients take that as
//!   a dropped connection and subscribe again, getting the state at once. A deleted board ends it
//!   with a `NOT_FOUND` error and `complete`.
//! - A **query or mutation** is executed as over plain HTTP and answered as one `next` event and
//!   `complete`.
//! - The subscription's root field is admitted before the head. A refusal another try cannot
//!   mend (no access, no such board, a bad argument), a document that cannot run, or more than
//!   one root field: a `next` event with the `errors`, then `complete`, on an accepted stream (the
//!   protocol's rule: a `400` would tell an `EventSource` nothing).
//! - An event that fails for the request's own reason: its errors, then `complete`; for the
//!   server's trouble: logged, and the stream closed without `complete`, so that the client
//!   subscribes again ([`graphql_sse::ends_for_good`]).
//!
//! What is refused before the stream opens keeps its HTTP status and problem body, as for every
//! route: a request that is not GraphQL over HTTP (`400`), a bad credential (`401`), a mutation on
//! `GET` (`405`), the root field over the rate limits (`429`) or the server's trouble in its
//! admission (`503`), no place left (`429`).

use std::sync::Arc;

use edge::api::Ctx;
use edge::http::{Call, Headers, Response, ResponseBuilder};
use edge::live::{Slot, Wait};
use edge::platform::Platform;
use edge::repo::Keys;
use edge::scope::now_ms;
use edge::stream::{EventSink, Reply, StreamBody};
use juniper::futures::StreamExt;
use juniper::futures::channel::mpsc;
use juniper::{
    DefaultScalarValue, ExecutionError, Object, OperationType, ScalarValue, ValidatedOperation,
    Value as GValue, ValuesStream, Variables,
};
use leaderboard::http::graphql_sse::{self, COMPLETE};
use leaderboard::http::i18n::Lang;
use leaderboard::http::live::{self, EVENT_STREAM, LivePolicy, Schedule};
use leaderboard::{Board, LeaderboardError, Result};
use serde_json::json;

use crate::schema::Gql;
use crate::{ExecutionResult, GraphqlRequest, errors};

/// Answers a GraphQL request as an event stream ([`graphql_sse::streams`] chose it), for the
/// admitted caller `ctx`.
pub async fn answer(
    platform: &'static dyn Platform,
    call: &Call<'_>,
    ctx: Ctx<'static>,
    mut request: GraphqlRequest,
    lang: Lang,
) -> Result<Reply> {
    let variables = crate::variables(std::mem::take(&mut request.variables))?;
    let schema = crate::schema();
    let operation =
        match ValidatedOperation::new(&request.query, request.operation_name.as_deref(), &schema) {
            Ok(op) => op,
            Err(e) => return Ok(Reply::Whole(last(&errors::document_result(&e), lang))),
        };
    crate::refuse_mutation_on_get(call, operation.operation_type())?;
    if operation.operation_type() != OperationType::Subscription {
        let gql = Gql::new(&ctx, call, lang);
        let result = match operation.execute(&variables, &gql).await {
            Ok((data, field_errors)) => result(&data, &field_errors)?,
            Err(e) => errors::document_result(&e),
        };
        return Ok(Reply::Whole(last(&result, lang)));
    }
    // The root field's admission before the head, so that a rate limit or the server's trouble
    // keeps its HTTP status (a client backs off on it) and a refusal costs no place.
    let board = {
        let (_, feed) = mpsc::unbounded();
        let gql = Gql::new(&ctx, call, lang).subscribing(feed);
        let resolved = operation.resolve_into_stream(&variables, &gql).await;
        match resolved {
            Err(e) => return Ok(Reply::Whole(last(&errors::document_result(&e), lang))),
            Ok((_, errs)) if !errs.is_empty() => {
                if let Some(refused) = gql.refusal()
                    && !graphql_sse::ends_for_good([Some(refused.status())])
                {
                    return Err(refused);
                }
                return Ok(Reply::Whole(last(&result(&GValue::Null, &errs)?, lang)));
            }
            Ok((value, _)) => match (root_stream(value), gql.followed()) {
                (Some(_), Some(board)) => board,
                _ => return Ok(Reply::Whole(last(&one_root_field(lang), lang))),
            },
        }
    };
    // On a board with cohorts, the caller's cohort of the current period, before the head (a
    // player before its first submission of the period is refused, not streamed errors).
    let period = leaderboard::board::view::PeriodView::resolve(&board, None, call.now_ms)?;
    edge::competitions::cohorts::scope(&ctx, &board, &period.id, None).await?;
    let policy = edge::live::policy(platform).await?;
    let slot = Slot::take(platform, &policy, call.now_ms).await?;
    let mut head = edge::live::stream_head();
    head.set_header("content-language", lang.tag());
    let body: StreamBody = Box::new(move |call, sink| {
        Box::pin(async move {
            let subscribed = Subscribed {
                request: &request,
                variables: &variables,
                lang,
                board,
            };
            subscription(call, &ctx, &subscribed, &policy, sink).await;
            slot.release().await;
        })
    });
    Ok(Reply::Stream(head, body))
}

/// What a subscription's body runs: the request, and the board admitted before the head.
struct Subscribed<'a> {
    request: &'a GraphqlRequest,
    variables: &'a Variables,
    lang: Lang,
    board: Arc<Board>,
}

/// The error of a subscription that selects more than one root field (or none that streams).
fn one_root_field(lang: Lang) -> String {
    failed(
        &LeaderboardError::InvalidBody("a subscription selects exactly one root field".into()),
        lang,
    )
}

/// A whole event stream: `result` as the one `next` event, then `complete`.
fn last(result: &str, lang: Lang) -> Response {
    ResponseBuilder::new(200)
        .header("content-type", EVENT_STREAM)
        .header("cache-control", "no-store")
        .header("content-language", lang.tag())
        .body(format!("{}{COMPLETE}", graphql_sse::next(result)))
}

/// The execution result of `data` and `field_errors`, as one line of JSON.
fn result(data: &GValue, field_errors: &[ExecutionError<DefaultScalarValue>]) -> Result<String> {
    serde_json::to_string(&ExecutionResult {
        data,
        errors: field_errors,
    })
    .map_err(|e| LeaderboardError::Internal(format!("encoding a GraphQL result: {e}")))
}

/// An execution result with `err` as its only error and no data.
fn failed(err: &LeaderboardError, lang: Lang) -> String {
    let (message, extensions) = errors::extensions(err, lang);
    json!({ "data": null, "errors": [{ "message": message, "extensions": extensions }] })
        .to_string()
}

/// How a subscription's stream ends.
enum End {
    /// With a last `next` (errors that end it for good), then `complete`.
    Complete(String),
    /// Closed without `complete` (the server's time is up, or its trouble, logged): the client
    /// subscribes again.
    Close,
    /// The client has gone.
    Gone,
}

/// How the stream ends after an event that failed with `errs`: for good when they are the
/// request's own, else closed (logged) for the client to subscribe again.
fn event_failed(errs: &[ExecutionError<DefaultScalarValue>]) -> End {
    let statuses = errs.iter().map(|e| {
        e.error()
            .extensions()
            .as_object_value()
            .and_then(|o| o.get_field_value("status"))
            .and_then(GValue::as_scalar)
            .and_then(ScalarValue::try_to_int)
            .and_then(|s| u16::try_from(s).ok())
    });
    if graphql_sse::ends_for_good(statuses) {
        return match result(&GValue::Null, errs) {
            Ok(text) => End::Complete(text),
            Err(e) => {
                eprintln!("graphql: {e}");
                End::Close
            }
        };
    }
    for e in errs {
        eprintln!(
            "graphql: a subscription event failed: {}",
            e.error().message()
        );
    }
    End::Close
}

/// The body of a subscription's stream: the operation validated again and its root field's stream
/// resolved (the body owns what it reads; the head's run admitted the board), then a `next` event
/// per version, until the stream ends.
async fn subscription(
    call: &Call<'_>,
    ctx: &Ctx<'static>,
    subscribed: &Subscribed<'_>,
    policy: &LivePolicy,
    sink: &mut EventSink,
) {
    let Subscribed {
        request,
        variables,
        lang,
        board,
    } = subscribed;
    let (versions, feed) = mpsc::unbounded();
    let gql = Gql::new(ctx, call, *lang)
        .subscribing(feed)
        .admitted(Arc::clone(board));
    let schema = crate::schema();
    let end =
        match ValidatedOperation::new(&request.query, request.operation_name.as_deref(), &schema) {
            Ok(operation) => match operation.resolve_into_stream(variables, &gql).await {
                Ok((_, errs)) if !errs.is_empty() => event_failed(&errs),
                Ok((value, _)) => match root_stream(value) {
                    Some(root) => follow(ctx, subscribed, &versions, root, policy, sink).await,
                    None => End::Complete(one_root_field(*lang)),
                },
                Err(e) => End::Complete(errors::document_result(&e)),
            },
            Err(e) => End::Complete(errors::document_result(&e)),
        };
    if let End::Complete(text) = end
        && sink
            .send(&format!("{}{COMPLETE}", graphql_sse::next(&text)))
            .await
            .is_err()
    {
        eprintln!("graphql: the client left before its subscription's last event");
    }
}

/// The subscription's root field and its stream, when the operation selected exactly one.
fn root_stream(value: GValue<ValuesStream<'_>>) -> Option<(String, ValuesStream<'_>)> {
    let GValue::Object(fields) = value else {
        return None;
    };
    if fields.field_count() != 1 {
        return None;
    }
    match fields.into_iter().next()? {
        (name, GValue::Scalar(stream)) => Some((name, stream)),
        _ => None,
    }
}

/// Follows `board`: hands each version to the root field's stream and sends what it resolves,
/// until the stream must end.
async fn follow(
    ctx: &Ctx<'static>,
    subscribed: &Subscribed<'_>,
    versions: &mpsc::UnboundedSender<i64>,
    (name, mut stream): (String, ValuesStream<'_>),
    policy: &LivePolicy,
    sink: &mut EventSink,
) -> End {
    let (board, lang) = (&subscribed.board, subscribed.lang);
    let keys = Keys::new(&ctx.tenant, &board.id);
    let mut known = match edge::live::current(ctx, &keys, board).await {
        Ok(version) => version,
        Err(LeaderboardError::BoardNotFound(_)) => return deleted(&board.id, lang),
        Err(e) => {
            eprintln!("graphql: cannot read the version of {}: {e}", board.id);
            return End::Close;
        }
    };
    let mut schedule = Schedule::stream(policy, now_ms());
    loop {
        if versions.unbounded_send(known).is_err() {
            eprintln!("graphql: a subscription's stream stopped taking versions");
            return End::Close;
        }
        let event = match stream.next().await {
            Some(Ok(data)) => {
                let mut root = Object::with_capacity(1);
                root.add_field(name.as_str(), data);
                match result(&GValue::Object(root), &[]) {
                    Ok(text) => text,
                    Err(e) => {
                        eprintln!("graphql: {e}");
                        return End::Close;
                    }
                }
            }
            Some(Err(errs)) => return event_failed(&errs),
            None => {
                eprintln!("graphql: a subscription's stream ended");
                return End::Close;
            }
        };
        if sink.send(&graphql_sse::next(&event)).await.is_err() {
            return End::Gone;
        }
        schedule.sent(now_ms());
        let waited = edge::live::follow(ctx, &keys, known, &mut schedule, async |now| {
            sink.send(&live::sse_heartbeat(now)).await.is_ok()
        })
        .await;
        match waited {
            Ok(Wait::Moved(v)) => known = v,
            Ok(Wait::Gone) => return deleted(&board.id, lang),
            Ok(Wait::Ended) => return End::Close,
            Ok(Wait::Stopped) => return End::Gone,
            Err(e) => {
                eprintln!("graphql: cannot follow {}: {e}", board.id);
                return End::Close;
            }
        }
    }
}

/// The end of a subscription whose board was deleted.
fn deleted(board: &leaderboard::BoardId, lang: Lang) -> End {
    End::Complete(failed(
        &LeaderboardError::BoardNotFound(format!("board '{board}' was deleted")),
        lang,
    ))
}
