//! The `/docs` page: a reference a developer can learn the API from, rendered from the OpenAPI
//! document once, at build time (`build.rs` includes this file), so the component serves a
//! finished page and never parses the document per request.
//!
//! The page is plain HTML and CSS, no script (the page's `Content-Security-Policy` allows none):
//! a table of contents by tag with an anchor per operation (its `operationId`), and for each
//! operation its parameters, its request body's fields (type, whether required, limits, default,
//! description) and example, a `curl` line to try it, its answers with their fields, and the error
//! statuses it may answer, linked to the one section that describes the shared error answers and
//! the problem body. Descriptions are Markdown (CommonMark, by `pulldown-cmark`), raw HTML in them
//! shown as text.

use serde_json::{Map, Value};

mod schema;
#[cfg(test)]
mod tests;

use schema::{deref, fields_table, limits_of, type_of};

/// The order of methods within a path.
const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];
/// How deep nested fields are listed (`a.b.c`).
const MAX_FIELD_DEPTH: usize = 4;
/// Values the `curl` lines put in for path parameters (others stay as `{name}`).
const PATH_EXAMPLES: [(&str, &str); 4] = [
    ("{v}", "v1"),
    ("{board}", "arena"),
    ("{player}", "ann"),
    ("{tenant}", "default"),
];

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1f2328}\
main{max-width:62rem;margin:0 auto;padding:1rem 1.2rem 4rem}\
code,pre,.path{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em}\
code{background:#f2f4f7;padding:0 .25em;border-radius:3px}\
pre{background:#f6f8fa;border:1px solid #d8dee4;border-radius:6px;padding:.6rem .8rem;overflow-x:auto}\
pre code{background:none;padding:0}\
h1{margin:.4rem 0}h2{margin-top:2.4rem;border-bottom:2px solid #d8dee4;padding-bottom:.2rem}\
h3{margin:0;font-size:1.05rem}h4{margin:1rem 0 .3rem;font-size:.95rem;color:#444}\
section.op{border:1px solid #d8dee4;border-radius:8px;padding:.8rem 1rem;margin:1.1rem 0}\
.m{display:inline-block;min-width:4.2rem;font-weight:700;color:#fff;border-radius:4px;\
text-align:center;padding:0 .3rem;margin-right:.4rem;font-size:.85rem}\
.get{background:#1f6feb}.post{background:#1a7f37}.put,.patch{background:#9a6700}\
.delete{background:#cf222e}.head,.options{background:#57606a}\
table{border-collapse:collapse;margin:.3rem 0;width:100%}\
td,th{border:1px solid #d8dee4;padding:.2rem .5rem;text-align:left;vertical-align:top}\
th{background:#f6f8fa}td.f,td.bf{white-space:nowrap}td.f code{color:#6e2bd9;background:none;font-weight:600}\
td.bf code{color:#0f766e;background:none;font-weight:600}\
.req{color:#cf222e;font-size:.8em}.lim{color:#57606a;font-size:.9em}\
nav ul{padding-left:1.2rem;margin:.2rem 0}nav li{margin:.1rem 0}\
nav .m{min-width:3.6rem;font-size:.75rem}a.anchor{color:#8c959f;text-decoration:none;margin-left:.3rem}\
.errors a{margin-right:.35rem}";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Names as escaped `<code>` items, comma-separated.
fn code_list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names
        .map(|n| format!("<code>{}</code>", esc(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Markdown to HTML; raw HTML in the source is shown as text.
pub fn markdown(text: &str) -> String {
    use pulldown_cmark::{Event, Parser};
    let events = Parser::new(text).map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        other => other,
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

/// Markdown of one line, without the paragraph around it (for table cells and headings).
fn inline(text: &str) -> String {
    let html = markdown(text);
    let trimmed = html.trim_end();
    match trimmed
        .strip_prefix("<p>")
        .and_then(|s| s.strip_suffix("</p>"))
    {
        Some(inner) if !inner.contains("<p>") => inner.to_string(),
        _ => html,
    }
}

/// An anchor id from free text.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// The example of a media type or of its schema, pretty-printed.
fn example_of(doc: &Value, media: &Value) -> Option<String> {
    serde_json::to_string_pretty(example(doc, media)?).ok()
}

/// The example of a media type, else of its schema.
fn example<'a>(doc: &'a Value, media: &'a Value) -> Option<&'a Value> {
    media
        .get("example")
        .or_else(|| deref(doc, &media["schema"]).get("example"))
}

/// An operation's anchor on the page (escaped): its `operationId`, else a slug of method and path.
fn anchor(method: &str, path: &str, op: &Value) -> String {
    esc(&op["operationId"]
        .as_str()
        .map_or_else(|| slug(&format!("{method} {path}")), str::to_string))
}

fn parameters_table(doc: &Value, params: &[&Value]) -> String {
    let mut html = String::from(
        "<table><tr><th>parameter</th><th>in</th><th>type</th><th>limits</th><th>description</th></tr>",
    );
    for p in params {
        let p = deref(doc, p);
        let schema = deref(doc, &p["schema"]);
        html.push_str(&format!("<tr><td class=\"f\"><code>{}</code>{}</td><td>{}</td><td>{}</td><td class=\"lim\">{}</td><td>{}</td></tr>",
            esc(p["name"].as_str().unwrap_or("")),
            if p["required"] == true {
                " <span class=\"req\">required</span>"
            } else {
                ""
            },
            esc(p["in"].as_str().unwrap_or("")),
            type_of(doc, &p["schema"]),
            limits_of(schema),
            p["description"].as_str().map(inline).unwrap_or_default(),
        ));
    }
    html.push_str("</table>");
    html
}

/// A `curl` line for the operation, with the request body's example when it has one.
fn curl(doc: &Value, method: &str, path: &str, op: &Value) -> String {
    let mut url = path.to_string();
    for (from, to) in PATH_EXAMPLES {
        url = url.replace(from, to);
    }
    let mut line = String::from("curl -sS");
    if method != "get" {
        line.push_str(&format!(" -X {}", method.to_uppercase()));
    }
    line.push_str(&format!(" \"$LB{url}\""));
    let security = op
        .get("security")
        .or_else(|| doc.get("security"))
        .and_then(Value::as_array);
    if security.is_some_and(|s| !s.is_empty()) {
        line.push_str(" \\\n  -H \"Authorization: Bearer $TOKEN\"");
    }
    if let Some(example) = example(doc, &op["requestBody"]["content"]["application/json"]) {
        line.push_str(&format!(
            " \\\n  -H 'Content-Type: application/json' -d '{}'",
            example.to_string().replace('\'', "'\\''")
        ));
    }
    line
}

fn operation(doc: &Value, path: &str, item: &Value, method: &str, op: &Value, out: &mut String) {
    let id = anchor(method, path, op);
    out.push_str(&format!("<section class=\"op\" id=\"{id}\"><h3><span class=\"m {method}\">{}</span><span class=\"path\">{}</span><a class=\"anchor\" href=\"#{id}\">#</a></h3>",
        method.to_uppercase(),
        esc(path),
    ));
    if let Some(s) = op["summary"].as_str() {
        out.push_str(&format!("<p><b>{}</b></p>", inline(s)));
    }
    if let Some(d) = op["description"].as_str() {
        out.push_str(&markdown(d));
    }
    let params: Vec<&Value> = item["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(op["parameters"].as_array().into_iter().flatten())
        .collect();
    if !params.is_empty() {
        out.push_str("<h4>Parameters</h4>");
        out.push_str(&parameters_table(doc, &params));
    }
    if let Some(content) = op["requestBody"]["content"].as_object() {
        out.push_str(&format!(
            "<h4>Request body</h4><p>{}{}</p>",
            code_list(content.keys()),
            if op["requestBody"]["required"] == true {
                " (required)"
            } else {
                ""
            }
        ));
        if let Some(d) = op["requestBody"]["description"].as_str() {
            out.push_str(&markdown(d));
        }
        if let Some(media) = content
            .get("application/json")
            .or_else(|| content.values().next())
        {
            if let Some(d) = deref(doc, &media["schema"])["description"].as_str() {
                out.push_str(&markdown(d));
            }
            out.push_str(&fields_table(doc, &media["schema"], "bf"));
            if let Some(example) = example_of(doc, media) {
                out.push_str(&format!(
                    "<p>Example:</p><pre><code>{}</code></pre>",
                    esc(&example)
                ));
            }
        }
    }
    out.push_str(&format!(
        "<h4>Try it</h4><pre><code>{}</code></pre>",
        esc(&curl(doc, method, path, op))
    ));
    let Some(responses) = op["responses"].as_object() else {
        out.push_str("</section>");
        return;
    };
    out.push_str("<h4>Answers</h4>");
    let mut shared_errors = Vec::new();
    // An operation's own error answers, the statuses of one answer together.
    let mut own_errors: Vec<(Vec<&str>, &Value)> = Vec::new();
    for (status, r) in responses {
        if !is_error(status) {
            answer(doc, status, r, out);
        } else if shared_response(r) {
            shared_errors.push(esc(status));
        } else if let Some(same) = own_errors.iter_mut().find(|(_, other)| *other == r) {
            same.0.push(status);
        } else {
            own_errors.push((vec![status], r));
        }
    }
    for (statuses, r) in own_errors {
        answer(doc, &statuses.join(", "), r, out);
    }
    if !shared_errors.is_empty() {
        let links: Vec<String> = shared_errors
            .iter()
            .map(|s| format!("<a href=\"#error-{s}\">{s}</a>"))
            .collect();
        out.push_str(&format!(
            "<p class=\"errors\">Errors (a <a href=\"#errors\">problem</a>): {}</p>",
            links.join(" ")
        ));
    }
    out.push_str("</section>");
}

fn is_error(status: &str) -> bool {
    status.starts_with('4') || status.starts_with('5')
}

/// Whether a response is one of the shared answers (`#/components/responses/…`), described once
/// in the errors section; an operation's own answers (a Connect or OFREP error body) are not.
fn shared_response(r: &Value) -> bool {
    r["$ref"]
        .as_str()
        .is_some_and(|r| r.starts_with("#/components/responses/"))
}

/// One answer: its status and meaning, its body's fields (folded), example and headers.
fn answer(doc: &Value, status: &str, r: &Value, out: &mut String) {
    let r = deref(doc, r);
    out.push_str(&format!(
        "<p><b>{}</b> {}</p>",
        esc(status),
        r["description"].as_str().map(inline).unwrap_or_default()
    ));
    if let Some(content) = r["content"].as_object()
        && let Some((media_type, media)) = content.iter().next()
    {
        let table = fields_table(doc, &media["schema"], "f");
        if !table.is_empty() {
            out.push_str(&format!(
                "<details><summary>fields of the <code>{}</code> body</summary>{table}</details>",
                esc(media_type)
            ));
        }
        if let Some(example) = example_of(doc, media) {
            out.push_str(&format!("<pre><code>{}</code></pre>", esc(&example)));
        }
    }
    if let Some(headers) = r["headers"].as_object()
        && !headers.is_empty()
    {
        out.push_str(&format!(
            "<p class=\"lim\">headers: {}</p>",
            code_list(headers.keys())
        ));
    }
}

/// The shared error answers, once: each status with its meaning, and the problem body's fields.
fn errors_section(doc: &Value, out: &mut String) {
    out.push_str("<h2 id=\"errors\">Errors</h2>");
    out.push_str(
        "<p>Every error is an RFC 9457 problem (<code>application/problem+json</code>), in the \
         language <code>Accept-Language</code> asks for. Each operation lists the statuses it may \
         answer; they mean:</p><table><tr><th>status</th><th>meaning</th></tr>",
    );
    // Each status with the first description an operation gives it, in status order.
    let mut rows: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for item in doc["paths"].as_object().into_iter().flat_map(Map::values) {
        for method in METHODS {
            for (status, r) in item[method]["responses"].as_object().into_iter().flatten() {
                if is_error(status) && shared_response(r) {
                    rows.entry(status)
                        .or_insert_with(|| deref(doc, r)["description"].as_str().unwrap_or(""));
                }
            }
        }
    }
    for (status, text) in rows {
        out.push_str(&format!(
            "<tr><td id=\"error-{s}\"><b>{s}</b></td><td>{}</td></tr>",
            inline(text),
            s = esc(status)
        ));
    }
    out.push_str("</table><h4>The problem body</h4>");
    out.push_str(&fields_table(
        doc,
        &doc["components"]["schemas"]["Problem"],
        "f",
    ));
}

/// A tag of the document and its operations (path, method).
struct Tag<'a> {
    name: &'a str,
    description: &'a str,
    operations: Vec<(&'a str, &'a str)>,
}

/// The operations of each tag, in the document's tag order (untagged ones last).
fn by_tag(doc: &Value) -> Vec<Tag<'_>> {
    let mut tags: Vec<Tag<'_>> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| Tag {
            name: t["name"].as_str().unwrap_or(""),
            description: t["description"].as_str().unwrap_or(""),
            operations: Vec::new(),
        })
        .collect();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if item.get(method).is_none() {
                continue;
            }
            let tag = item[method]["tags"][0].as_str().unwrap_or("other");
            match tags.iter_mut().find(|t| t.name == tag) {
                Some(t) => t.operations.push((path.as_str(), method)),
                None => tags.push(Tag {
                    name: tag,
                    description: "",
                    operations: vec![(path.as_str(), method)],
                }),
            }
        }
    }
    tags.retain(|t| !t.operations.is_empty());
    tags
}

/// The whole page.
pub fn render(doc: &Value) -> String {
    let mut html = String::with_capacity(512 * 1024);
    let title = esc(doc["info"]["title"].as_str().unwrap_or("API"));
    html.push_str(&format!("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} — API reference</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head>\
         <body><main><h1>{title} <small>{}</small></h1>",
        esc(doc["info"]["version"].as_str().unwrap_or("")),
    ));
    if let Some(d) = doc["info"]["description"].as_str() {
        html.push_str(&markdown(d));
    }
    html.push_str(&format!("<p>The machine-readable document: <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI {}). \
         In the <code>curl</code> lines, <code>$LB</code> is this server's address and \
         <code>$TOKEN</code> a bearer token (a JWT or an API key).</p>",
        esc(doc["openapi"].as_str().unwrap_or(""))
    ));
    if let Some(schemes) = doc["components"]["securitySchemes"].as_object() {
        html.push_str("<h2 id=\"authentication\">Authentication</h2><ul>");
        for (name, s) in schemes {
            html.push_str(&format!(
                "<li><b>{}</b>: {}</li>",
                esc(name),
                s["description"].as_str().map(inline).unwrap_or_default()
            ));
        }
        html.push_str("</ul>");
    }
    let tags = by_tag(doc);
    html.push_str("<h2 id=\"contents\">Contents</h2><nav><ul>");
    for tag in &tags {
        html.push_str(&format!(
            "<li><a href=\"#tag-{}\"><b>{}</b></a>{}<ul>",
            slug(tag.name),
            esc(tag.name),
            if tag.description.is_empty() {
                String::new()
            } else {
                format!(": {}", inline(tag.description))
            }
        ));
        for (path, method) in &tag.operations {
            let op = &doc["paths"][*path][*method];
            let id = anchor(method, path, op);
            html.push_str(&format!("<li><a href=\"#{}\"><span class=\"m {method}\">{}</span><span class=\"path\">{}</span></a> {}</li>",
                id,
                method.to_uppercase(),
                esc(path),
                op["summary"].as_str().map(inline).unwrap_or_default()
            ));
        }
        html.push_str("</ul></li>");
    }
    html.push_str("<li><a href=\"#errors\"><b>Errors</b></a>: the statuses and the problem body</li></ul></nav>");
    for tag in &tags {
        html.push_str(&format!(
            "<h2 id=\"tag-{}\">{}</h2>",
            slug(tag.name),
            esc(tag.name)
        ));
        if !tag.description.is_empty() {
            html.push_str(&markdown(tag.description));
        }
        for (path, method) in &tag.operations {
            let item = &doc["paths"][*path];
            operation(doc, path, item, method, &item[*method], &mut html);
        }
    }
    errors_section(doc, &mut html);
    html.push_str("</main></body></html>");
    html
}
