//! The API description: `GET /openapi.json` serves `api/openapi.json` (OpenAPI 3.1, compiled into
//! the component), `GET /docs` the reference page rendered from it at build time
//! ([`crate::docs_page`], by `build.rs`) — plain HTML and CSS, no script and nothing fetched from
//! anywhere, under a `Content-Security-Policy` that allows neither. Both are kept gzip-compressed
//! and sent so to a client that accepts gzip.

use edge::http::{Call, Response, ResponseBuilder};
#[cfg(test)]
use serde_json::Value;

/// The document, as committed, gzip-compressed at build time (`build.rs`).
pub const OPENAPI_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json.gz"));

/// The document's ETag (the first 128 bits of its SHA-256), computed at build time.
const ETAG: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.etag"));

/// The `/docs` page, rendered and gzip-compressed at build time, and its ETag.
const DOCS_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/docs.html.gz"));
const DOCS_ETAG: &str = include_str!(concat!(env!("OUT_DIR"), "/docs.etag"));

/// The `Content-Security-Policy` of the HTML page: nothing but its own inline style.
pub const DOCS_CSP: &str = leaderboard::http::dashboard::CSP;

/// The document's text, inflated from [`OPENAPI_GZ`].
pub fn openapi_text() -> String {
    inflate("openapi", OPENAPI_GZ)
}

/// The `/docs` page's HTML, inflated from its compiled-in gzip form.
pub fn docs_html() -> String {
    inflate("docs", DOCS_GZ)
}

fn inflate(what: &str, gz: &[u8]) -> String {
    let mut text = String::with_capacity(gz.len() * 10);
    match std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut text) {
        Ok(_) => text,
        Err(e) => {
            eprintln!("{what}: the compiled-in text does not inflate: {e}");
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
    compiled_in(
        call,
        &[("content-type", "application/json")],
        "openapi",
        ETAG,
        OPENAPI_GZ,
    )
}

/// `GET /docs`: the page, as [`openapi`] serves the document, under [`DOCS_CSP`].
pub fn page(call: &Call<'_>) -> Response {
    compiled_in(
        call,
        &[
            ("content-type", "text/html; charset=utf-8"),
            ("content-security-policy", DOCS_CSP),
        ],
        "docs",
        DOCS_ETAG,
        DOCS_GZ,
    )
}

/// A compiled-in text (`what`, for the log): its gzip form to a client that accepts gzip, else
/// the text; `304` when the client holds its validator. `headers`: the text's own (its type).
fn compiled_in(
    call: &Call<'_>,
    headers: &[(&str, &str)],
    what: &str,
    tag: &str,
    gz: &[u8],
) -> Response {
    let builder = |status: u16| {
        ResponseBuilder::new(status)
            .headers(headers.iter().map(|(name, value)| (name, value)))
            .header("cache-control", "public, max-age=300")
            .header("vary", "Accept-Encoding")
    };
    if not_modified(call, tag) {
        return builder(304).header("etag", tag).empty();
    }
    let gzip = call
        .header("accept-encoding")
        .is_some_and(edge::compress::accepts_gzip);
    match edge::compress::gzip_etag(tag) {
        Some(gz_tag) if gzip => builder(200)
            .header("etag", gz_tag)
            .header("content-encoding", "gzip")
            .body(gz.to_vec()),
        _ => builder(200).header("etag", tag).body(inflate(what, gz)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_document_is_openapi_3_1_and_the_page_is_rendered_from_it() {
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
        assert_eq!(docs_html(), crate::docs_page::render(&doc));
    }
}
