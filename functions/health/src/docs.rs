//! The API description: `GET /openapi.json` serves `api/openapi.json` (OpenAPI 3.1, compiled into
//! the component), `GET /docs` a human page rendered from it on the server — plain HTML and CSS,
//! no script and nothing fetched from anywhere, under a `Content-Security-Policy` that allows
//! neither.

use edge::http::Call;
use serde_json::Value;
use spin_sdk::http::Response;

/// The document, as committed, gzip-compressed at build time (`build.rs`).
pub const OPENAPI_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json.gz"));

/// The document's ETag (the first 128 bits of its SHA-256), computed at build time.
const ETAG: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.etag"));

/// The `Content-Security-Policy` of the HTML page: nothing but its own inline style.
pub const DOCS_CSP: &str = leaderboard::dashboard::CSP;

/// The document's text, inflated from [`OPENAPI_GZ`].
pub fn openapi_text() -> String {
    let mut text = String::with_capacity(OPENAPI_GZ.len() * 10);
    match std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(OPENAPI_GZ), &mut text) {
        Ok(_) => text,
        Err(e) => {
            eprintln!("openapi: the compiled-in document does not inflate: {e}");
            String::new()
        }
    }
}

/// Whether the client holds `tag` (either form: `Call::if_none_match` strips the gzip suffix).
fn not_modified(call: &Call<'_>, tag: &str) -> bool {
    call.if_none_match()
        .is_some_and(|h| h.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
}

/// `GET /openapi.json`: the compiled-in gzip form as it is to a client that accepts gzip (with
/// the gzip form's ETag, as `edge::compress` gives every compressed answer), else the text. A
/// `304` carries the validator the client holds (`edge::compress::apply` echoes the gzip form).
pub fn openapi(call: &Call<'_>) -> Response {
    let tag = ETAG.to_string();
    let mut b = Response::builder();
    b.header("cache-control", "public, max-age=300")
        .header("vary", "Accept-Encoding");
    if not_modified(call, &tag) {
        return b.header("etag", tag.as_str()).status(304).build();
    }
    b.status(200).header("content-type", "application/json");
    let gzip = call
        .header("accept-encoding")
        .is_some_and(edge::compress::accepts_gzip);
    match edge::compress::gzip_etag(&tag) {
        Some(gz_tag) if gzip => b
            .header("etag", gz_tag.as_str())
            .header("content-encoding", "gzip")
            .body(OPENAPI_GZ.to_vec())
            .build(),
        _ => b.header("etag", tag.as_str()).body(openapi_text()).build(),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const METHODS: [&str; 7] = ["get", "head", "post", "put", "patch", "delete", "options"];

/// The HTML page listing every operation: method, path, summary, parameters and responses.
pub fn render(doc: &Value) -> String {
    let mut html = String::with_capacity(64 * 1024);
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    let version = doc["info"]["version"].as_str().unwrap_or("");
    html.push_str(&format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>\
         body{{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}\
         code,.path{{font-family:ui-monospace,monospace}}section{{border-top:1px solid #ddd;padding:.6rem 0}}\
         .m{{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}}\
         .path{{font-weight:600}}table{{border-collapse:collapse;margin:.3rem 0}}\
         td,th{{border:1px solid #ddd;padding:.15rem .5rem;text-align:left;vertical-align:top}}\
         </style></head><body><h1>{t} <small>{v}</small></h1>\
         <p>The machine-readable document: <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI {o}).</p>",
        t = esc(title),
        v = esc(version),
        o = esc(doc["openapi"].as_str().unwrap_or("")),
    ));
    if let Some(d) = doc["info"]["description"].as_str() {
        html.push_str(&format!("<p>{}</p>", esc(d)));
    }
    let Some(paths) = doc["paths"].as_object() else {
        html.push_str("</body></html>");
        return html;
    };
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else {
                continue;
            };
            html.push_str(&format!(
                "<section><div><span class=\"m\">{}</span> <span class=\"path\">{}</span></div>",
                method,
                esc(path)
            ));
            if let Some(s) = op["summary"].as_str() {
                html.push_str(&format!("<p>{}</p>", esc(s)));
            }
            let params: Vec<&Value> = item["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(op["parameters"].as_array().into_iter().flatten())
                .collect();
            if !params.is_empty() {
                html.push_str("<table><tr><th>parameter</th><th>in</th><th>description</th></tr>");
                for p in params {
                    let p = resolve(doc, p);
                    html.push_str(&format!(
                        "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(p["name"].as_str().unwrap_or("")),
                        if p["required"] == true { " *" } else { "" },
                        esc(p["in"].as_str().unwrap_or("")),
                        esc(p["description"].as_str().unwrap_or(""))
                    ));
                }
                html.push_str("</table>");
            }
            if let Some(responses) = op["responses"].as_object() {
                html.push_str("<table><tr><th>status</th><th>meaning</th></tr>");
                for (status, r) in responses {
                    let r = resolve(doc, r);
                    html.push_str(&format!(
                        "<tr><td>{}</td><td>{}</td></tr>",
                        esc(status),
                        esc(r["description"].as_str().unwrap_or(""))
                    ));
                }
                html.push_str("</table>");
            }
            html.push_str("</section>");
        }
    }
    html.push_str("</body></html>");
    html
}

/// Follows a local `$ref` (`#/components/...`) once.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(v),
        None => v,
    }
}

/// `GET /docs`.
pub fn page(call: &Call<'_>) -> Response {
    let tag = format!("\"docs-{}", &ETAG[1..]);
    let mut b = Response::builder();
    b.header("etag", tag.as_str())
        .header("cache-control", "public, max-age=300")
        .header("content-security-policy", DOCS_CSP);
    if not_modified(call, &tag) {
        return b.status(304).build();
    }
    let doc: Value = serde_json::from_slice(openapi_text().as_bytes()).unwrap_or(Value::Null);
    b.status(200)
        .header("content-type", "text/html; charset=utf-8")
        .body(render(&doc))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_document_is_openapi_3_1_and_renders() {
        let doc: Value = serde_json::from_str(&openapi_text()).unwrap_or(Value::Null);
        let committed = std::fs::read_to_string("../../api/openapi.json").unwrap_or_default();
        assert_eq!(
            openapi_text(),
            committed,
            "the compiled-in document is the committed one"
        );
        assert!(
            doc["openapi"].as_str().unwrap_or("").starts_with("3.1"),
            "{}",
            doc["openapi"]
        );
        let html = render(&doc);
        assert!(html.contains("/api/{v}/boards") || html.contains("/api/v1/boards"));
        assert!(!html.contains("<script"), "no script on the page");
    }
}
