//! Response builders and query-string parsing shared by the routes.

use edge::http::{Response, ResponseBuilder};
use percent_encoding::percent_decode_str;

/// `status` with a JSON body.
pub fn json(status: u16, value: &serde_json::Value) -> Response {
    ResponseBuilder::new(status)
        .header("content-type", "application/json")
        .body(value.to_string())
}

/// `status` with `{"error": message}`.
pub fn error(status: u16, message: impl Into<String>) -> Response {
    json(status, &serde_json::json!({ "error": message.into() }))
}

/// `204 No Content`.
pub fn no_content() -> Response {
    edge::http::response(204, Vec::new())
}

/// `200` with raw bytes.
pub fn bytes(body: Vec<u8>) -> Response {
    ResponseBuilder::new(200)
        .header("content-type", "application/octet-stream")
        .body(body)
}

/// Percent-decodes one path segment or query component (invalid UTF-8 is replaced).
pub fn decode(raw: &str) -> String {
    percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// A decoded query string; a bare `?flag` has an empty value.
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `a=1&b&c=x%20y`.
    pub fn parse(raw: &str) -> Self {
        Self(
            raw.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(pair), String::new()),
                })
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` occurs at all.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The comma-separated list in `name` (`keys=a,b`), empty items dropped.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decodes_pairs_and_flags() {
        let q = Query::parse("exists&url=http%3A%2F%2Fa%2Fb&keys=a,,b");
        assert!(q.has("exists"));
        assert_eq!(q.get("url"), Some("http://a/b"));
        assert_eq!(q.list("keys"), Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(q.get("missing"), None);
    }
}
