//! The `/docs` renderer on the committed document.

use serde_json::Value;

use super::*;

fn committed() -> Value {
    let text = std::fs::read_to_string("../../api/openapi.json").unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The HTML of one operation's section.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section class=\"op\" id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    let len = html[start..].find("</section>").unwrap_or(0);
    &html[start..start + len]
}

#[test]
fn a_submission_shows_its_body_fields_limits_example_and_a_curl_line() {
    let html = render(&committed());
    let submit = section(&html, "submitScore");
    for field in ["player", "score", "subscore", "metadata"] {
        assert!(
            submit.contains(&format!("<td class=\"bf\"><code>{field}</code>")),
            "{field} is not a field of the submission"
        );
    }
    assert!(
        submit.contains("1..=128 visible ASCII"),
        "Idempotency-Key's length"
    );
    assert!(submit.contains("<h4>Request body</h4>"));
    assert!(
        submit.contains("&quot;player&quot;: &quot;ann&quot;"),
        "the example"
    );
    assert!(submit.contains("curl -sS -X POST &quot;$LB/api/v1/boards/arena/scores&quot;"));
    let create = section(&html, "createBoard");
    assert!(
        create.contains("<code>cache.ttl_secs</code>"),
        "nested fields"
    );
    assert!(create.contains("0..=3600"), "the TTL's limit");
}

#[test]
fn every_link_has_its_anchor_and_errors_are_described_once() {
    let html = render(&committed());
    for part in html.split("href=\"#").skip(1) {
        let id = part.split('"').next().unwrap_or("");
        assert!(
            html.contains(&format!("id=\"{id}\"")),
            "#{id} has no anchor"
        );
    }
    assert_eq!(html.matches("<th>status</th>").count(), 1);
    assert!(html.contains("id=\"error-404\""));
    // Markdown is rendered: no backtick is left outside code.
    let outside_pre: String = html
        .split("<pre>")
        .map(|p| p.split("</pre>").last().unwrap_or(""))
        .collect();
    assert_eq!(outside_pre.matches('`').count(), 0);
    assert!(!html.contains("<script"));
    // The contents start with the scores, not with an admin route.
    let contents = &html[html.find("id=\"contents\"").unwrap_or(0)..];
    let first = contents.find("href=\"#submitScore\"").unwrap_or(usize::MAX);
    assert!(first < contents.find("href=\"#drain\"").unwrap_or(usize::MAX));
}

#[test]
fn an_operations_own_error_answer_is_shown_not_linked_to_the_problems() {
    let html = render(&committed());
    let rpc = section(&html, "connectCall");
    // The Connect door answers its own error body, described in place (once for the statuses
    // that share it), not as a problem.
    assert_eq!(rpc.matches("A Connect error").count(), 1, "{rpc}");
    assert!(rpc.contains("<b>400, 401, 403, 404"), "{rpc}");
    assert!(!rpc.contains("href=\"#error-400\""), "{rpc}");
    // The shared answers are linked from an operation, described once.
    assert!(section(&html, "submitScore").contains("href=\"#error-409\""));
}

#[test]
fn a_named_object_shows_its_name_and_everything_is_escaped() {
    let doc = serde_json::json!({
        "components": {"schemas": {
            "Thing": {"type": "object", "properties": {"a": {"type": "string"}}},
            "List": {"type": "array", "items": {"type": "object"}},
        }},
    });
    assert_eq!(
        type_of(
            &doc,
            &serde_json::json!({"$ref": "#/components/schemas/Thing"})
        ),
        "Thing"
    );
    assert_eq!(
        type_of(
            &doc,
            &serde_json::json!({"$ref": "#/components/schemas/List"})
        ),
        "array of object"
    );
    assert_eq!(
        type_of(&doc, &serde_json::json!({"type": "<b>"})),
        "&lt;b&gt;"
    );
    assert_eq!(
        limits_of(&serde_json::json!({"exclusiveMinimum": 0, "maximum": 1.5})),
        "more than 0; ≤ 1.5"
    );
}

#[test]
fn markdown_renders_and_raw_html_stays_text() {
    assert_eq!(inline("a `b` **c**"), "a <code>b</code> <strong>c</strong>");
    assert_eq!(
        inline("x <script>y</script>"),
        "x &lt;script&gt;y&lt;/script&gt;"
    );
}
