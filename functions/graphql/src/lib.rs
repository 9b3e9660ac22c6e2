//! `functions/graphql`: the leaderboard over GraphQL (GraphQL over HTTP), its own component so
//! the REST components never link the engine (juniper, its async executor: the resolvers wait on
//! Redis and the KV store).
//!
//! ```text
//! POST /graphql   {"query", "variables"?, "operationName"?}   queries and the mutation
//! GET  /graphql?query&variables&operationName                  queries only (405 for a mutation)
//! POST|GET /graphql  with Accept: text/event-stream            subscriptions (GraphQL over SSE)
//! ```
//! The schema is [`schema`] (printed: `api/schema.graphql`); what each field does is the REST
//! API's code (`edge::reads`, `edge::submissions::submit`), with the same auth, tenants, limits and problems.
//!
//! The answer is `application/graphql-response+json` when the client accepts it (then a document
//! that cannot run is a `400`), else `application/json` (always `200`, errors in the body). A
//! GET answer whose boards are all public and cached carries `ETag` and
//! `Cache-Control: public, …, s-maxage=<the shortest TTL>` like `GET …/entries`, so a CDN can keep it;
//! `If-None-Match` gives `304`. Everything else is `no-store`.
//!
//! Limits, refused before anything executes: selections nest at most [`MAX_DEPTH`] levels
//! (fragments count), an operation expands to at most [`MAX_FIELDS`] fields, a document has at
//! most [`MAX_TOKENS`] tokens. Each root field is a call of its own against the rate limits
//! (a read, or a write for `submitScore`), on its board; at most [`MAX_BOARD_FIELDS`] root
//! fields of one request touch a board (the rest answer an error).
//!
//! Subscriptions (`subscription { board(id) { version top(limit) { … } player(id) { … } } }`) are
//! served over the `graphql-sse` protocol's distinct connections mode, with `GET …/live`'s limits
//! and access rules: [`sse`].

// The p3 build names its spin-sdk (6.0) `spin_sdk`, as the entry point's macro expects.
#[cfg(feature = "p3")]
extern crate spin_sdk_6 as spin_sdk;

pub mod errors;
mod schema;
mod sse;

use crate::schema::{Gql, Mutation, Query, Subscription};
use edge::http::{Call, Method, Response, ResponseBuilder};
use edge::platform::Platform;
use edge::stream::Reply;
use juniper::{
    DefaultScalarValue, InputValue, OperationType, RootNode, ValidatedOperation, Variables,
};
use leaderboard::http::cache::{cache_control_for, etag_for, if_none_match};
use leaderboard::http::graphql_sse::{self, GRAPHQL_RESPONSE};
use leaderboard::http::i18n::{Lang, negotiate};
use leaderboard::{LeaderboardError, Result};
use serde_json::Value;

/// Deepest nesting of selections (fragments count as a level). The introspection query of
/// graphql-core (what `gql` and many clients send) needs more than 15 levels; the leaderboard's own
/// queries at most 4.
pub const MAX_DEPTH: usize = 20;
/// Most fields an operation may expand to (a fragment's fields count once per spread).
pub const MAX_FIELDS: usize = 500;
/// Most tokens in a document.
pub const MAX_TOKENS: usize = 5_000;
/// Most root fields of one request that read or write a board.
pub const MAX_BOARD_FIELDS: u32 = 10;

/// The schema, with its limits.
pub type Schema<'r> = RootNode<Query<'r>, Mutation<'r>, Subscription<'r>>;

/// The schema, built for one request (a Spin instance serves one request).
pub fn schema<'r>() -> Schema<'r> {
    RootNode::new(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(MAX_DEPTH)
    .limit_fields(MAX_FIELDS)
    .limit_tokens(MAX_TOKENS)
}

edge::http_entry!(stream: async |call| route(&edge::platform::Spin, call).await);

/// A GraphQL request (GraphQL over HTTP: the POST body, or the GET query parameters).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphqlRequest {
    /// The document.
    pub query: String,
    /// The operation to run, when the document has several.
    pub operation_name: Option<String>,
    /// The variables (a JSON object).
    pub variables: serde_json::Map<String, Value>,
}

fn bad(detail: impl Into<String>) -> LeaderboardError {
    LeaderboardError::InvalidBody(detail.into())
}

fn variables_of(v: Option<Value>) -> Result<serde_json::Map<String, Value>> {
    match v {
        None | Some(Value::Null) => Ok(serde_json::Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(bad("'variables' must be a JSON object")),
    }
}

/// Reads the request's GraphQL request: a JSON body on POST, the query string on GET.
pub fn parse_request(call: &Call<'_>) -> Result<GraphqlRequest> {
    match *call.method() {
        Method::GET => {
            let query = call
                .query
                .get("query")
                .filter(|q| !q.is_empty())
                .ok_or_else(|| bad("query parameter 'query' (the GraphQL document) is required"))?
                .clone();
            let variables = call
                .query
                .get("variables")
                .filter(|v| !v.is_empty())
                .map(|v| serde_json::from_slice::<Value>(v.as_bytes()))
                .transpose()
                .map_err(|e| bad(format!("query parameter 'variables' is not JSON: {e}")))?;
            Ok(GraphqlRequest {
                query,
                operation_name: call
                    .query
                    .get("operationName")
                    .filter(|o| !o.is_empty())
                    .cloned(),
                variables: variables_of(variables)?,
            })
        }
        Method::POST => {
            let body: Value = call.json()?;
            let Value::Object(mut body) = body else {
                return Err(bad("the body must be a JSON object with 'query'"));
            };
            let query = match body.remove("query") {
                Some(Value::String(q)) if !q.is_empty() => q,
                _ => return Err(bad("'query' (the GraphQL document, a string) is required")),
            };
            let operation_name = match body.remove("operationName") {
                None | Some(Value::Null) => None,
                Some(Value::String(o)) => Some(o),
                Some(_) => return Err(bad("'operationName' must be a string")),
            };
            Ok(GraphqlRequest {
                query,
                operation_name,
                variables: variables_of(body.remove("variables"))?,
            })
        }
        _ => Err(call.method_not_allowed("GET, POST")),
    }
}

/// Whether the client names `application/graphql-response+json` with a weight above 0.
fn wants_graphql_response(call: &Call<'_>) -> bool {
    leaderboard::negotiate::names_media_type(call.header("accept"), GRAPHQL_RESPONSE)
}

/// A result of an operation that ran: its data, in the selection set's order, and the field
/// errors (left out when there are none).
#[derive(serde::Serialize)]
struct ExecutionResult<'a> {
    data: &'a juniper::Value,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [juniper::ExecutionError<DefaultScalarValue>],
}

fn answer(call: &Call<'_>, status: u16, body: String, headers: &[(&str, String)]) -> Response {
    let media = if wants_graphql_response(call) {
        GRAPHQL_RESPONSE
    } else {
        "application/json"
    };
    ResponseBuilder::new(status)
        .header("content-type", media)
        .headers(headers.iter().map(|(k, v)| (k, v)))
        .body(body)
}

/// The answer to a document that cannot run (syntax, validation, limits, unknown operation).
fn document_failed(call: &Call<'_>, err: &juniper::GraphQLError) -> Response {
    let status = if wants_graphql_response(call) {
        400
    } else {
        200
    };
    answer(
        call,
        status,
        errors::document_result(err),
        &[("cache-control", "no-store".into())],
    )
}

/// GraphQL over HTTP: a GET must not change anything (`405`, `Allow: POST`).
fn refuse_mutation_on_get(call: &Call<'_>, kind: OperationType) -> Result<()> {
    if *call.method() == Method::GET && kind == OperationType::Mutation {
        return Err(call.method_not_allowed("POST"));
    }
    Ok(())
}

/// The request's variables, as juniper takes them.
fn variables(variables: serde_json::Map<String, Value>) -> Result<Variables<DefaultScalarValue>> {
    variables
        .into_iter()
        .map(|(k, v)| {
            serde_json::from_value::<InputValue>(v)
                .map(|v| (k, v))
                .map_err(|e| bad(format!("variables: {e}")))
        })
        .collect()
}

/// Serves one request on `platform`: over an event stream when the client accepts one
/// ([`sse`]), else as one answer.
pub async fn route(platform: &'static dyn Platform, call: &Call<'_>) -> Result<Reply> {
    let request = parse_request(call)?;
    let ctx = edge::admission::admit_per_call(platform, call).await?;
    let lang: Lang = negotiate(call.header("accept-language"));
    let accept = call.header("accept");
    // A request that accepts an event stream: the operation's kind chooses the transport (found
    // by validating the document here, and again by the transport: a stream's body owns what it
    // reads, so it cannot borrow this one's). Every other request is validated once.
    let streams = leaderboard::http::live::accepts_event_stream(accept) && {
        let schema = schema();
        let subscription =
            ValidatedOperation::new(&request.query, request.operation_name.as_deref(), &schema)
                .is_ok_and(|op| op.operation_type() == OperationType::Subscription);
        graphql_sse::streams(accept, subscription)
    };
    if streams {
        return sse::answer(platform, call, ctx, request, lang).await;
    }
    whole(call, &ctx, request, lang).await.map(Reply::Whole)
}

/// The answer to a request that does not accept an event stream (a subscription is refused: it
/// needs one).
async fn whole(
    call: &Call<'_>,
    ctx: &edge::api::Ctx<'_>,
    request: GraphqlRequest,
    lang: Lang,
) -> Result<Response> {
    let gql = Gql::new(ctx, call, lang);
    let schema = schema();
    let operation =
        match ValidatedOperation::new(&request.query, request.operation_name.as_deref(), &schema) {
            Ok(op) => op,
            Err(e) => return Ok(document_failed(call, &e)),
        };
    let is_get = *call.method() == Method::GET;
    if operation.operation_type() == OperationType::Subscription {
        return Err(LeaderboardError::InvalidBody(
            "a subscription is served as an event stream: send Accept: text/event-stream \
             (GraphQL over SSE, the graphql-sse protocol)"
                .into(),
        ));
    }
    refuse_mutation_on_get(call, operation.operation_type())?;
    let variables = variables(request.variables)?;
    let (data, field_errors) = match operation.execute(&variables, &gql).await {
        Ok(done) => done,
        Err(e) => return Ok(document_failed(call, &e)),
    };
    // Serialised from juniper's own value, whose objects keep the selection set's order (the
    // GraphQL spec orders a result map so); a `serde_json::Value` would sort the keys.
    let body = serde_json::to_string(&ExecutionResult {
        data: &data,
        errors: &field_errors,
    })
    .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
    let mut headers = vec![
        ("content-language", lang.tag().to_string()),
        (
            "vary",
            "Accept, Accept-Language, Authorization, X-Tenant".to_string(),
        ),
    ];
    let caching = gql.caching();
    let cacheable = is_get && field_errors.is_empty() && caching.public && ctx.principal.is_none();
    if !cacheable {
        headers.push(("cache-control", "no-store".into()));
        return Ok(answer(call, 200, body, &headers));
    }
    let etag = etag_for(&body);
    headers.push(("etag", etag.clone()));
    headers.push((
        "cache-control",
        cache_control_for(
            true,
            caching.ttl_secs.unwrap_or(0),
            caching.stale_secs.unwrap_or(0),
        ),
    ));
    if call
        .if_none_match()
        .is_some_and(|h| if_none_match(&h, &etag))
    {
        return Ok(ResponseBuilder::new(304)
            .headers(headers.iter().map(|(k, v)| (k, v)))
            .empty());
    }
    Ok(answer(call, 200, body, &headers))
}
