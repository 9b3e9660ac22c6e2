//! GraphQL over Server-Sent Events (the `graphql-sse` protocol, distinct connections mode): the
//! wire format of `POST /graphql` (or `GET`) with `Accept: text/event-stream`.
//!
//! The answer is one event stream per operation: a `next` event per execution result (a query or
//! a mutation has one; a subscription one when it opens and one per change), then a `complete`
//! event when the operation is over. Only those two events exist (the protocol's clients refuse
//! any other); a heartbeat is `live`'s comment line, which they skip. A document that cannot run
//! is a `next` carrying its `errors`, then `complete`, on an accepted stream (the protocol's rule:
//! a `400` would tell an `EventSource` nothing).
//!
//! Sans I/O: the caller serialises the execution result (one line of JSON).

/// A `next` event carrying `result`, an execution result serialised as one line of JSON
/// (`{"data": …, "errors": […]}`).
pub fn next(result: &str) -> String {
    format!("event: next\ndata: {result}\n\n")
}

/// The `complete` event: the operation is over (an empty `data:` line, as the protocol's own
/// server writes it).
pub const COMPLETE: &str = "event: complete\ndata:\n\n";

/// Whether an operation is answered as an event stream: a subscription whenever the client
/// accepts one (it cannot be served otherwise); a query or a mutation only when the client accepts
/// no JSON answer. A client that lists both, as urql does for every operation, gets JSON for a
/// query: one answer, with `ETag` and a shared cache's `Cache-Control`.
pub fn streams(accept: Option<&str>, subscription: bool) -> bool {
    crate::http::live::accepts_event_stream(accept) && (subscription || !accepts_json(accept))
}

/// The GraphQL over HTTP response media type, sent to a client that names it.
pub const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// Whether an `Accept` header takes a JSON answer: `application/json` with a weight above 0,
/// named or through a wildcard ([`crate::negotiate::media_weight`]: `application/json;q=0`
/// refuses it), or `application/graphql-response+json` named with one (the answer then carries
/// that type, which a wildcard does not ask for).
fn accepts_json(accept: Option<&str>) -> bool {
    crate::negotiate::media_weight(accept, "application/json").is_some_and(|w| w > 0)
        || crate::negotiate::names_media_type(accept, GRAPHQL_RESPONSE)
}

/// Whether a subscription whose event failed with errors of these HTTP statuses (each error's
/// `extensions.status`; `None` for the engine's own errors, which are about the document) ends
/// for good, with the errors and `complete`: every failure is the request's own (a `4xx` other
/// than `429`), so subscribing again would fail the same. Otherwise (a rate limit, the server's
/// trouble) the stream is closed without `complete`, which graphql-sse clients take as a dropped
/// connection: they subscribe again. No errors at all: `true` (nothing to try again for); the
/// callers ask only about a failure.
pub fn ends_for_good(statuses: impl IntoIterator<Item = Option<u16>>) -> bool {
    statuses
        .into_iter()
        .all(|s| s.is_none_or(|s| (400..500).contains(&s) && s != 429))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a stream into its events as the WHATWG rules do (blank line ends an event; a line
    /// starting with `:` is a comment), as (event, data) pairs.
    fn events(stream: &str) -> Vec<(String, String)> {
        stream
            .split("\n\n")
            .filter(|e| !e.is_empty())
            .filter_map(|e| {
                let mut event = String::new();
                let mut data: Option<String> = None;
                for line in e.lines().filter(|l| !l.starts_with(':')) {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "event" => event = value.to_string(),
                        "data" => data = Some(data.map_or(value.to_string(), |d| d + "\n" + value)),
                        _ => {}
                    }
                }
                (!event.is_empty()).then(|| (event, data.unwrap_or_default()))
            })
            .collect()
    }

    #[test]
    fn a_stream_is_next_events_then_complete_and_heartbeats_are_comments() {
        let stream = [
            next(r#"{"data":{"board":{"version":"3"}}}"#),
            crate::http::live::sse_heartbeat(1_700_000_000_000),
            next(r#"{"data":{"board":{"version":"4"}}}"#),
            COMPLETE.to_string(),
        ]
        .concat();
        assert_eq!(
            events(&stream),
            [
                (
                    "next".to_string(),
                    r#"{"data":{"board":{"version":"3"}}}"#.to_string()
                ),
                (
                    "next".to_string(),
                    r#"{"data":{"board":{"version":"4"}}}"#.to_string()
                ),
                ("complete".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn only_the_requests_own_failures_end_a_subscription_for_good() {
        assert!(ends_for_good([Some(403)]));
        assert!(ends_for_good([Some(404), Some(400)]));
        assert!(!ends_for_good([Some(429)]));
        assert!(!ends_for_good([Some(503)]));
        assert!(!ends_for_good([Some(404), Some(500)]));
        assert!(ends_for_good([None, Some(400)]));
    }

    #[test]
    fn a_subscription_streams_and_a_query_only_for_a_client_that_takes_nothing_else() {
        let graphql_sse = Some("text/event-stream");
        let urql = Some(
            "application/graphql-response+json, application/graphql+json, application/json, \
             text/event-stream, multipart/mixed",
        );
        assert!(streams(graphql_sse, true));
        assert!(streams(graphql_sse, false));
        assert!(streams(urql, true));
        assert!(!streams(urql, false));
        assert!(!streams(Some("*/*"), false));
        assert!(!streams(Some("*/*"), true));
        assert!(!streams(None, true));
        assert!(!streams(Some("text/event-stream;q=0.5, */*;q=0.1"), false));
        // q=0 refuses: a stream refused is never sent, and JSON refused leaves the stream.
        assert!(!streams(
            Some("text/event-stream;q=0, application/json"),
            true
        ));
        assert!(streams(
            Some("text/event-stream, application/json;q=0, */*;q=0"),
            false
        ));
        // JSON refused by name: the wildcard's graphql-response is not asked for either.
        assert!(streams(
            Some("text/event-stream, application/json;q=0, */*"),
            false
        ));
        assert!(!streams(
            Some("text/event-stream, application/json;q=0, application/graphql-response+json"),
            false
        ));
    }
}
