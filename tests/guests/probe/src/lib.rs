//! `tests/guests/probe`: the local host's test guest.
//!
//! Mounted at route `/...`; one handler matches method + path and hands off to one plain function
//! per capability. Every answer is JSON unless the route says otherwise; see each module for its
//! routes. Anything unknown is `404 {"error":"no such probe route"}`.

mod kv;
mod redis;
mod reply;
mod runtime;
mod wasi_kv;

use edge::http::Response;
use spin_sdk::http::{Method, Request};
use spin_sdk::http_component;

use crate::reply::Query;

/// The response goes out the way the app's components send theirs (`edge::serve::send`: whole
/// body first), so measurements with the probe are not skewed by Spin's Nagle stall.
#[http_component]
async fn handle(req: Request, out: spin_sdk::http::ResponseOutparam) {
    let path = probe_path(&req);
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(reply::decode)
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let query = Query::parse(req.query());
    edge::serve::send(route(&req, &segs, &query).await, out);
}

/// The path the probe routes on: Spin's `spin-path-info` (the part after the route), else the URI path.
fn probe_path(req: &Request) -> String {
    match req.header("spin-path-info").and_then(|v| v.as_str()) {
        Some(info) if !info.is_empty() => info.to_owned(),
        _ => req.path().to_owned(),
    }
}

async fn route(req: &Request, segs: &[&str], query: &Query) -> Response {
    let body = req.body();
    match (req.method(), segs) {
        (Method::Get, ["headers"]) => runtime::headers(req),
        (Method::Get, ["kv", store]) => kv::list_keys(store),
        (Method::Get, ["kv", store, key @ ..]) if !key.is_empty() => {
            let key = key.join("/");
            if query.has("exists") {
                kv::exists(store, &key)
            } else {
                let times = query.get("times").and_then(|t| t.parse().ok());
                kv::get(store, &key, times.unwrap_or(1))
            }
        }
        (Method::Put, ["kv", store, key @ ..]) if !key.is_empty() => {
            kv::set(store, &key.join("/"), body)
        }
        (Method::Delete, ["kv", store, key @ ..]) if !key.is_empty() => {
            kv::delete(store, &key.join("/"))
        }
        (Method::Post, ["atomic", store, key, "incr"]) => wasi_kv::incr(store, key, query),
        (Method::Post, ["atomic", store, key, "cas-incr"]) => wasi_kv::cas_incr(store, key),
        (Method::Post, ["atomic", store, key, "cas-race"]) => wasi_kv::cas_race(store, key),
        (Method::Put, ["batch", store]) => wasi_kv::set_many(store, body),
        (Method::Get, ["batch", store]) => wasi_kv::get_many(store, query),
        (Method::Delete, ["batch", store]) => wasi_kv::delete_many(store, query),
        (Method::Get, ["var", name]) => runtime::variable(name),
        (Method::Post, ["redis", "execute"]) => redis::execute(body),
        (Method::Put, ["redis", "kv", key]) => redis::set(key, body),
        (Method::Get, ["redis", "kv", key]) => redis::get(
            key,
            query.get("times").and_then(|t| t.parse().ok()).unwrap_or(1),
        ),
        (Method::Post, ["redis", "incr", key]) => redis::incr(key),
        (Method::Post, ["redis", "publish", channel]) => redis::publish(channel, body),
        (Method::Get, ["outbound"]) => runtime::outbound(query).await,
        (Method::Get, ["trap"]) => runtime::trap(),
        (Method::Get, ["loop"]) => runtime::spin_forever(),
        (Method::Get, ["alloc"]) => runtime::alloc(query),
        (Method::Get, ["clock"]) => runtime::clock(),
        _ => reply::error(404, "no such probe route"),
    }
}
