//! `tests/guests/floors`: the I/O floors for benchmarks. A route of the app can be no faster than
//! the unavoidable host calls it makes, so `scripts/bench.sh` serves these beside the app on the
//! same runtime and prints each route as a ratio to the floor that bounds it:
//!
//! - `GET /kv`: one `get` of the key `floor` from the `default` KV store (what a cached read
//!   needs at the least), answered `200` with the value;
//! - `GET /redis`: one outbound Redis `open` of the variable `redis_url` and one `GET floor`
//!   (what a read that goes to Redis needs at the least), answered the same way.
//!
//! `PUT /kv` stores the request's body as `floor` (the benchmark seeds a value of a cached page's
//! size). Anything else is a `404`; a failing host call a `503` with the error as text.

use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    let value = match req.path() {
        "/kv" if *req.method() == Method::Put => spin_sdk::key_value::Store::open_default()
            .and_then(|store| store.set("floor", req.body()))
            .map(|()| Some(req.body().to_vec()))
            .map_err(|e| format!("{e:?}")),
        "/kv" => spin_sdk::key_value::Store::open_default()
            .and_then(|store| store.get("floor"))
            .map_err(|e| format!("{e:?}")),
        "/redis" => spin_sdk::variables::get("redis_url")
            .map_err(|e| format!("{e:?}"))
            .and_then(|url| spin_sdk::redis::Connection::open(&url).map_err(|e| format!("{e:?}")))
            .and_then(|conn| conn.get("floor").map_err(|e| format!("{e:?}"))),
        _ => return reply(404, b"not found".to_vec()),
    };
    match value {
        Ok(v) => reply(200, v.unwrap_or_default()),
        Err(e) => reply(503, e.into_bytes()),
    }
}

fn reply(status: u16, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/octet-stream")
        .body(body)
        .build()
}
