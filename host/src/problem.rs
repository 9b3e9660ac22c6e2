//! Host-made error responses: RFC 9457 `application/problem+json`, never a bare 5xx.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// A problem response with the given status, title and detail.
pub fn problem_response(
    status: u16,
    title: &str,
    detail: &str,
) -> hyper::Response<HyperOutgoingBody> {
    let slug = title.to_ascii_lowercase().replace(' ', "-");
    let body = serde_json::json!({
        "type": format!("https://leaderboard.dev/problems/host/{slug}"),
        "title": title,
        "status": status,
        "detail": detail,
    })
    .to_string();
    let mut resp = hyper::Response::new(full_body(body));
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/problem+json"),
    );
    resp
}

/// A fixed body for host-made responses.
pub fn full_body(bytes: impl Into<Bytes>) -> HyperOutgoingBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}
