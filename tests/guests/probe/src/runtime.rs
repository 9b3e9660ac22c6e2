//! Host behaviour the guest can observe or provoke: `GET /headers`, `GET /var/{name}`,
//! `GET /outbound?url=`, `GET /trap`, `GET /loop`, `GET /alloc?mb=N`, `GET /clock`.

use std::time::{SystemTime, UNIX_EPOCH};

use edge::http::Response;
use spin_sdk::http::Request;
use spin_sdk::variables;

use crate::reply::{self, Query};

/// Every `spin-*` header (lowercased name → value), plus `x-method` and `x-path`.
pub fn headers(req: &Request) -> Response {
    let mut seen = serde_json::Map::new();
    for (name, value) in req.headers() {
        let name = name.to_ascii_lowercase();
        if name.starts_with("spin-") {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            seen.insert(name, value.into());
        }
    }
    seen.insert(
        "x-method".into(),
        format!("{:?}", req.method()).to_uppercase().into(),
    );
    let path = req.path_and_query().unwrap_or_else(|| req.uri());
    seen.insert("x-path".into(), path.into());
    reply::json(200, &seen.into())
}

pub fn variable(name: &str) -> Response {
    match variables::get(name) {
        Ok(value) => reply::json(200, &serde_json::json!({ "value": value })),
        Err(e) => {
            let status = match e {
                variables::Error::Undefined(_) => 404,
                variables::Error::InvalidName(_) => 400,
                _ => 500,
            };
            reply::error(status, format!("{e:?}"))
        }
    }
}

/// `GET`s the (percent-decoded) `url` and reports the upstream status and body.
pub async fn outbound(query: &Query) -> Response {
    let Some(url) = query.get("url") else {
        return reply::error(400, "missing ?url=");
    };
    let request = Request::get(url).build();
    match spin_sdk::http::send::<_, spin_sdk::http::Response>(request).await {
        Ok(upstream) => reply::json(
            200,
            &serde_json::json!({
                "status": *upstream.status(),
                "body": String::from_utf8_lossy(upstream.body()),
            }),
        ),
        Err(e) => reply::error(502, e.to_string()),
    }
}

/// Traps the instance on purpose.
pub fn trap() -> Response {
    panic!("probe: deliberate trap");
}

/// Never returns: a counter the optimiser has to keep incrementing.
pub fn spin_forever() -> Response {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Allocates `mb` MiB and writes to every page of it.
pub fn alloc(query: &Query) -> Response {
    let Some(mb) = query.get("mb").and_then(|v| v.parse::<usize>().ok()) else {
        return reply::error(400, "missing or invalid ?mb=N");
    };
    let Some(len) = mb.checked_mul(1024 * 1024) else {
        return reply::error(400, "mb too large");
    };
    let mut block = std::hint::black_box(vec![0u8; len]);
    for page in block.chunks_mut(4096) {
        page[0] = 1;
    }
    std::hint::black_box(&block);
    reply::json(200, &serde_json::json!({ "allocated_mb": mb }))
}

pub fn clock() -> Response {
    match SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()))
    {
        Ok(Ok(now_ms)) => reply::json(200, &serde_json::json!({ "now_ms": now_ms })),
        _ => reply::error(500, "system clock is before 1970 or past u64 ms"),
    }
}
