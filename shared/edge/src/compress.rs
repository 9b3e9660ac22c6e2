//! Response compression: `gzip` (flate2 on its pure-Rust miniz_oxide backend) for successful
//! JSON/text responses of at least [`MIN_BYTES`] when the client's `Accept-Encoding` allows it.
//!
//! - Every response that *could* be compressed says `Vary: Accept-Encoding` (also when this client
//!   got it uncompressed), so shared caches keep the two representations apart.
//! - A compressed representation's strong ETag gets a `-gzip` suffix inside the quotes (`"v7-…"`
//!   → `"v7-…-gzip"`): strong validators must differ between encodings (RFC 9110 §8.8.3). A
//!   conditional request is matched against either form ([`strip_gzip_suffix`]), and a `304` echoes
//!   the form the client sent. Weak ETags stay as they are.
//! - `br` is not offered: no pure-Rust Brotli encoder is small enough for the components.
//!
//! Compression runs after the handler, on the finished body; the edge cache keeps pages
//! uncompressed (what the KV store holds is independent of any client's encoding).

use std::io::Write;

use crate::message::{Headers, Response};

/// Smallest body worth compressing (1 KiB).
pub const MIN_BYTES: usize = 1024;

/// The suffix a compressed representation's ETag gets.
const GZIP_SUFFIX: &str = "-gzip";

/// Whether an `Accept-Encoding` value allows `gzip` (`gzip`, `x-gzip` or `*` with a weight above
/// 0, and no `gzip;q=0`: `leaderboard::negotiate::coding_weight`).
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    leaderboard::negotiate::coding_weight(accept_encoding, "gzip", &["x-gzip"])
        .is_some_and(|w| w > 0)
}

/// An `If-None-Match` value with the compressed forms of the ETags turned back into the
/// representation-independent ones the handlers compute.
pub fn strip_gzip_suffix(if_none_match: &str) -> String {
    if_none_match
        .split(',')
        .map(|t| {
            let t = t.trim();
            match t.strip_suffix(&format!("{GZIP_SUFFIX}\"")) {
                Some(base) if !t.starts_with("W/") => format!("{base}\""),
                _ => t.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ETag of an answer's gzip form: a strong `"<tag>"` becomes `"<tag>-gzip"` (a weak one has
/// none: `None`).
pub fn gzip_etag(etag: &str) -> Option<String> {
    if etag.starts_with("W/") {
        return None;
    }
    let inner = etag.strip_prefix('"')?.strip_suffix('"')?;
    Some(format!("\"{inner}{GZIP_SUFFIX}\""))
}

fn compressible(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ct.starts_with("application/json")
        || ct.starts_with("application/problem+json")
        || ct.starts_with("application/vnd.")
        || ct.starts_with("text/")
        || ct.contains("+json")
}

fn header(response: &Response, name: &str) -> Option<String> {
    Headers::header(response, name).map(str::to_string)
}

fn add_vary(response: &mut Response) {
    let vary = match header(response, "vary") {
        Some(v) if v.to_ascii_lowercase().contains("accept-encoding") => return,
        Some(v) if !v.trim().is_empty() => format!("{v}, Accept-Encoding"),
        _ => "Accept-Encoding".to_string(),
    };
    response.set_header("vary", vary);
}

/// gzip at the fastest level: the bodies are small JSON, where level 1 already gets most of the
/// gain and costs least per request.
pub fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::fast(),
    );
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

/// Compresses `response` for a client that sent `accept_encoding` / `if_none_match`, or leaves
/// it as it is.
pub fn apply(
    mut response: Response,
    head: bool,
    accept_encoding: Option<&str>,
    if_none_match: Option<&str>,
) -> Response {
    let status = response.status().as_u16();
    if status == 304 {
        // Echo the form of the validator the client holds.
        if let (Some(etag), Some(inm)) = (header(&response, "etag"), if_none_match)
            && let Some(gz) = gzip_etag(&etag)
            && inm.split(',').any(|t| t.trim() == gz)
        {
            response.set_header("etag", gz);
            add_vary(&mut response);
        }
        return response;
    }
    if !(200..300).contains(&status)
        || header(&response, "content-encoding").is_some()
        || !header(&response, "content-type").is_some_and(|ct| compressible(&ct))
        || (!head && response.body().len() < MIN_BYTES)
    {
        return response;
    }
    add_vary(&mut response);
    if head || !accept_encoding.is_some_and(accepts_gzip) {
        return response;
    }
    let Some(compressed) = gzip(response.body()) else {
        return response;
    };
    if let Some(gz) = header(&response, "etag").and_then(|e| gzip_etag(&e)) {
        response.set_header("etag", gz);
    }
    response.set_header("content-encoding", "gzip");
    *response.body_mut() = compressed;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_is_read_with_q_values() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("br, gzip;q=0.5"));
        assert!(accepts_gzip("deflate, *"));
        assert!(accepts_gzip("X-GZIP"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("gzip; q=0.0, *"));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip("*;q=0"));
        assert!(!accepts_gzip(""));
    }

    #[test]
    fn compressed_etags_match_their_uncompressed_form() {
        assert_eq!(gzip_etag("\"v7-abc\"").as_deref(), Some("\"v7-abc-gzip\""));
        assert_eq!(gzip_etag("W/\"v7\""), None);
        assert_eq!(
            strip_gzip_suffix("\"a-gzip\", \"b\", W/\"c-gzip\""),
            "\"a\", \"b\", W/\"c-gzip\""
        );
    }
}
