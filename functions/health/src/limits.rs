//! The limits `api/openapi.json` states, each read from the one constant the server enforces it
//! with: a test fails when the document says something else, so neither can move alone. (What
//! the server enforces is also checked from the outside: `scripts/limits_check.py` sends every
//! documented limit's boundary values to the running app on both runtimes.)

use serde_json::Value;

/// Where the document states a limit.
enum At {
    /// A parameter of an operation, found by name: (path, method, parameter).
    Param(&'static str, &'static str, &'static str),
    /// A JSON pointer into the document.
    Pointer(String),
}

/// A place, the bound's keyword there (`pattern`: the length in its `{min,max}`), and the value
/// of the server's constant.
type Stated = (At, &'static str, u64);

const BOARD: &str = "/components/schemas/BoardInput/properties";

fn at(pointer: &str) -> At {
    At::Pointer(pointer.to_string())
}

/// Every limit the document states that a constant of the server names.
fn stated() -> Vec<Stated> {
    use leaderboard::{
        board::config, board::retention, board::rules, board::score, events::idempotency,
        events::inbox, events::log, ids, integrity::review, outbound::webhook,
        outbound::webhook_delivery, policy::apikey,
    };
    let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
    let log_page = u64::from(log::MAX_PAGE);
    let mut out: Vec<Stated> = vec![
        (
            At::Param("/api/{v}/boards/{board}/scores", "post", "Idempotency-Key"),
            "pattern",
            n(idempotency::MAX_KEY_LEN),
        ),
        (
            At::Param("/api/{v}/boards/{board}/entries", "get", "limit"),
            "maximum",
            u64::from(edge::reads::MAX_LIMIT),
        ),
        (
            At::Param("/api/{v}/boards/{board}/live", "get", "limit"),
            "maximum",
            u64::from(edge::reads::MAX_LIMIT),
        ),
        (
            At::Param(
                "/api/{v}/boards/{board}/players/{player}/around",
                "get",
                "radius",
            ),
            "maximum",
            u64::from(edge::reads::MAX_RADIUS),
        ),
        (
            At::Param("/api/{v}/boards/{board}/events", "get", "limit"),
            "maximum",
            log_page,
        ),
        (
            At::Param("/api/{v}/audit", "get", "limit"),
            "maximum",
            log_page,
        ),
        (
            At::Param("/api/{v}/boards/{board}/dead-letters", "get", "limit"),
            "maximum",
            log_page,
        ),
        (
            At::Param("/api/{v}/webhooks/{id}/deliveries", "get", "limit"),
            "maximum",
            u64::from(webhook_delivery::MAX_PAGE),
        ),
        (
            At::Param("/api/{v}/boards/{board}/reviews", "get", "limit"),
            "maximum",
            u64::from(review::MAX_PAGE),
        ),
        (
            At::Param("/api/{v}/admin/drain", "post", "max_events"),
            "maximum",
            u64::from(inbox::MAX_DRAIN_EVENTS),
        ),
        (
            at(
                "/paths/~1api~1{v}~1api-keys/post/requestBody/content/application~1json/schema/properties/name",
            ),
            "maxLength",
            n(apikey::MAX_NAME_CHARS),
        ),
        (
            at("/components/schemas/SubmissionInput/properties/player"),
            "pattern",
            n(ids::MAX_ID_LEN),
        ),
        // A board id's first character, then at most MAX_ID_LEN - 1 more.
        (
            at(&format!("{BOARD}/id")),
            "pattern",
            n(ids::MAX_ID_LEN - 1),
        ),
    ];
    for (field, keyword, value) in [
        ("scale", "maximum", u64::from(score::MAX_SCALE)),
        (
            "retain_periods",
            "maximum",
            u64::from(config::MAX_RETAIN_PERIODS),
        ),
        (
            "cache/properties/ttl_secs",
            "maximum",
            u64::from(config::MAX_TTL_SECS),
        ),
        (
            "cache/properties/stale_secs",
            "maximum",
            u64::from(config::MAX_STALE_SECS),
        ),
        (
            "metadata_max_bytes",
            "maximum",
            u64::from(config::MAX_METADATA_MAX_BYTES),
        ),
        (
            "log/properties/snapshot_every",
            "minimum",
            u64::from(*retention::SNAPSHOT_EVERY.start()),
        ),
        (
            "log/properties/snapshot_every",
            "maximum",
            u64::from(*retention::SNAPSHOT_EVERY.end()),
        ),
        (
            "log/properties/keep_snapshots",
            "minimum",
            u64::from(*retention::KEEP_SNAPSHOTS.start()),
        ),
        (
            "log/properties/keep_snapshots",
            "maximum",
            u64::from(*retention::KEEP_SNAPSHOTS.end()),
        ),
    ] {
        out.push((at(&format!("{BOARD}/{field}")), keyword, value));
    }
    for schema in ["WebhookInput", "WebhookPatch"] {
        let props = format!("/components/schemas/{schema}/properties");
        out.push((
            at(&format!("{props}/top_n")),
            "maximum",
            u64::from(webhook::MAX_TOP_N),
        ));
        out.push((
            at(&format!("{props}/description")),
            "maxLength",
            n(webhook::MAX_DESCRIPTION),
        ));
    }
    let rules = "/components/schemas/Integrity/properties";
    for (field, keyword, value) in [
        (
            "velocity/properties/max",
            "maximum",
            u64::from(rules::MAX_VELOCITY),
        ),
        (
            "velocity/properties/window_secs",
            "maximum",
            u64::from(rules::MAX_WINDOW_SECS),
        ),
        (
            "improvement/properties/window_secs",
            "maximum",
            u64::from(rules::MAX_WINDOW_SECS),
        ),
        (
            "burst/properties/window_secs",
            "maximum",
            u64::from(rules::MAX_WINDOW_SECS),
        ),
        (
            "burst/properties/players",
            "maximum",
            u64::from(rules::MAX_BURST_PLAYERS),
        ),
        (
            "outlier/properties/min_players",
            "minimum",
            u64::from(rules::MIN_OUTLIER_PLAYERS),
        ),
    ] {
        out.push((at(&format!("{rules}/{field}")), keyword, value));
    }
    out
}

/// The schema the document gives at `place`, if any.
fn schema_at<'a>(doc: &'a Value, place: &At) -> Option<&'a Value> {
    match place {
        At::Pointer(p) => doc.pointer(p),
        At::Param(path, method, name) => doc["paths"][*path][*method]["parameters"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == *name)
            .map(|p| &p["schema"]),
    }
}

fn describe(place: &At) -> String {
    match place {
        At::Pointer(p) => p.clone(),
        At::Param(path, method, name) => {
            format!("{} {path} parameter {name}", method.to_uppercase())
        }
    }
}

#[test]
fn the_document_states_each_limit_as_the_server_enforces_it() {
    let doc: Value = serde_json::from_str(&crate::docs::openapi_text()).unwrap_or(Value::Null);
    let mut wrong = Vec::new();
    for (place, keyword, value) in stated() {
        let at = schema_at(&doc, &place).map(|s| &s[keyword]);
        // A pattern states a length as the whole string's `{min,max}`.
        let states = match at {
            Some(Value::String(pattern)) => pattern.ends_with(&format!(",{value}}}$")),
            other => other.and_then(Value::as_u64) == Some(value),
        };
        if !states {
            wrong.push(format!(
                "{}: {keyword} is {}, the server's is {value}",
                describe(&place),
                at.map_or("absent".to_string(), Value::to_string)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "api/openapi.json disagrees:\n{}",
        wrong.join("\n")
    );
}
