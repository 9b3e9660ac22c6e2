//! Errors as GraphQL errors: a field's failure is the same problem the REST API answers
//! (`leaderboard::http::problem`), as a GraphQL error whose `message` is the problem's detail in the
//! request's language and whose `extensions` carry what does not change with the language:
//! `code` (one of a few well-known GraphQL codes, by HTTP status), `type` (the problem type URI),
//! `status`, `title` (localized) and, when the message is translated, `detailEn`.
//!
//! A document that cannot run (a syntax error, a validation error, a limit) is answered with
//! errors only: `code` `GRAPHQL_PARSE_FAILED`, `GRAPHQL_VALIDATION_FAILED` or
//! `QUERY_TOO_COMPLEX` (depth, token or field limit: refused before anything executes).

use juniper::{FieldError, GraphQLError, Object, ParseError, Value as GValue};
use leaderboard::LeaderboardError;
use leaderboard::http::i18n::Lang;
use leaderboard::http::problem::Problem;
use serde_json::{Value, json};

/// The GraphQL `extensions.code` of an HTTP status.
pub fn code_for_status(status: u16) -> &'static str {
    match status {
        400 | 413 | 415 | 422 => "BAD_USER_INPUT",
        401 => "UNAUTHENTICATED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        409 => "CONFLICT",
        429 => "RATE_LIMITED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL_SERVER_ERROR",
    }
}

/// The extension members of `err` in `lang`.
pub fn extensions(err: &LeaderboardError, lang: Lang) -> (String, Value) {
    let p = Problem::localized(err, lang);
    let mut ext = json!({
        "code": code_for_status(p.status),
        "type": p.problem_type,
        "status": p.status,
        "title": p.title,
    });
    if let (Some(map), Some(en)) = (ext.as_object_mut(), p.extensions.get("detail_en")) {
        map.insert("detailEn".into(), en.clone());
    }
    if let LeaderboardError::RateLimited {
        retry_after_secs, ..
    } = err
    {
        ext["retryAfter"] = json!(retry_after_secs);
    }
    (p.detail, ext)
}

fn to_graphql(v: &Value) -> GValue {
    match v {
        Value::Null => GValue::null(),
        Value::Bool(b) => GValue::scalar(*b),
        Value::Number(n) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
            Some(i) => GValue::scalar(i),
            None => GValue::scalar(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => GValue::scalar(s.clone()),
        Value::Array(items) => GValue::list(items.iter().map(to_graphql).collect()),
        Value::Object(map) => {
            let mut o = Object::with_capacity(map.len());
            for (k, v) in map {
                o.add_field(k.as_str(), to_graphql(v));
            }
            GValue::Object(o)
        }
    }
}

/// A field's failure as a GraphQL error.
pub fn field_error(err: &LeaderboardError, lang: Lang) -> FieldError {
    let (message, ext) = extensions(err, lang);
    FieldError::new(message, to_graphql(&ext))
}

/// The `extensions.code` of a document that cannot run.
pub fn document_code(err: &GraphQLError) -> &'static str {
    match err {
        GraphQLError::ParseError(p) => match p.item {
            ParseError::DepthLimitExceeded(_)
            | ParseError::TokenLimitExceeded(_)
            | ParseError::FieldLimitExceeded(_) => "QUERY_TOO_COMPLEX",
            _ => "GRAPHQL_PARSE_FAILED",
        },
        GraphQLError::ValidationError(_) => "GRAPHQL_VALIDATION_FAILED",
        GraphQLError::UnknownOperationName => "OPERATION_RESOLUTION_FAILURE",
        _ => "BAD_REQUEST",
    }
}

/// The `errors` of a document that cannot run: juniper's rendering (message, locations) with
/// `extensions.code` added to each.
pub fn document_errors(err: &GraphQLError) -> Value {
    let code = document_code(err);
    let mut errors = match serde_json::to_value(err) {
        Ok(Value::Array(items)) => items,
        Ok(one @ Value::Object(_)) => vec![one],
        _ => vec![json!({ "message": err.to_string() })],
    };
    for e in &mut errors {
        if let Some(map) = e.as_object_mut() {
            map.insert("extensions".into(), json!({ "code": code }));
        }
    }
    Value::Array(errors)
}

/// The execution result of a document that cannot run: its errors only, as one line of JSON.
pub fn document_result(err: &GraphQLError) -> String {
    json!({ "errors": document_errors(err) }).to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_field_error_keeps_its_machine_readable_members_in_every_language() {
        let err = LeaderboardError::BoardNotFound("no board 'x'".into());
        let (en_message, en) = extensions(&err, Lang::En);
        let (de_message, de) = extensions(&err, Lang::De);
        assert_eq!(en["code"], "NOT_FOUND");
        assert_eq!(en["status"], 404);
        assert_eq!(en["type"], de["type"]);
        assert_eq!(en["code"], de["code"]);
        assert_ne!(en["title"], de["title"]);
        assert!(en_message.contains("no board 'x'"), "{en_message}");
        assert_ne!(de_message, en_message);
        assert_eq!(de["detailEn"], en_message.as_str());
        assert!(en.get("detailEn").is_none());
    }

    #[test]
    fn statuses_map_to_the_usual_codes() {
        assert_eq!(code_for_status(401), "UNAUTHENTICATED");
        assert_eq!(code_for_status(403), "FORBIDDEN");
        assert_eq!(code_for_status(422), "BAD_USER_INPUT");
        assert_eq!(code_for_status(429), "RATE_LIMITED");
        assert_eq!(code_for_status(500), "INTERNAL_SERVER_ERROR");
    }
}
