//! `edge-native --manifest spin.toml [--listen ADDR]`: the benchmark's native baseline.
//!
//! It serves the routes of `spin.toml` by calling the very same handler functions the components
//! run (`boards::route`, `scores::route`, `rankings::route`), with the same core and the same
//! Redis commands and Lua scripts, but natively: a plain hyper server, synchronous pooled Redis
//! connections, an in-process KV map. Routing and the `spin-*` headers come from the local host's
//! router, so handlers see exactly what they see under Spin. The difference between this and the
//! host is the cost of Wasm (instantiation, host calls) — what the Wasm/native ratio reports.
//! Variables: `SPIN_VARIABLE_<NAME>`, then the manifest's defaults. Loopback use only.

mod platform;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use edge::http::Headers;
use edge_host::manifest::Manifest;
use edge_host::routing::Router;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use leaderboard::LeaderboardError;

use crate::platform::Native;

struct App {
    router: Router,
    platform: Native,
}

fn handle(
    app: &App,
    parts: &hyper::http::request::Parts,
    body: Bytes,
    client: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let path = parts.uri.path();
    let Some(m) = app.router.route(path) else {
        return text(404, "no route");
    };
    let host = parts
        .headers
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let pq = parts.uri.path_and_query().map_or(path, |p| p.as_str());
    // The request as the handlers see it: one value per header (the last), text only, the
    // router's `spin-*` headers replacing any the client sent.
    let mut req = edge::http::Request::new(body.to_vec());
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    for (k, v) in &parts.headers {
        if let Ok(v) = v.to_str() {
            req.set_header(k.as_str(), v);
        }
    }
    for (k, v) in edge_host::routing::spin_headers(&m, &format!("http://{host}{pq}"), client) {
        req.set_header(&k, v);
    }
    let responding = edge::serve::respond(&req, async |call| {
        // As the components do (`edge::http_entry!`): the manifest's triggers are broad.
        call.served_by(&m.component)?;
        match m.component.as_str() {
            "boards" => boards::route(&app.platform, call).await,
            "scores" => scores::route(&app.platform, call).await,
            "rankings" => rankings::route(&app.platform, call).await,
            other => Err(LeaderboardError::NotFound(format!(
                "component '{other}' is not served natively"
            ))),
        }
    });
    // The platform's calls complete before they return (synchronous Redis and KV underneath);
    // the request's notes are its own, as in a component (`edge::serve::serve_streaming`).
    let resp = futures::executor::block_on(edge::scope::scoped(responding));
    // The same `http` response type: status and headers as they are, the body wrapped.
    resp.map(|body| Full::new(Bytes::from(body)))
}

fn text(status: u16, body: &'static str) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut manifest = PathBuf::from("spin.toml");
    let mut listen: SocketAddr = ([127, 0, 0, 1], 0).into();
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--manifest" => manifest = PathBuf::from(value),
            "--listen" => listen = value.parse().context("--listen takes HOST:PORT")?,
            other => {
                bail!("unknown flag {other}; usage: edge-native [--manifest FILE] [--listen ADDR]")
            }
        }
    }
    if !listen.ip().is_loopback() {
        bail!("edge-native is a benchmark baseline: listen on loopback only");
    }
    let m = Manifest::from_file(&manifest)?;
    let mut variables = BTreeMap::new();
    for (name, decl) in &m.variables {
        let env = std::env::var(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())).ok();
        if let Some(v) = env.or_else(|| decl.default.clone()) {
            variables.insert(name.clone(), v);
        }
    }
    let router = Router::build(
        m.http_triggers
            .iter()
            .filter_map(|t| t.route.as_deref().map(|r| (r, t.component.as_str()))),
    )?;
    let app = Arc::new(App {
        router,
        platform: Native::new(variables),
    });
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("edge-native: serving on http://{}", listener.local_addr()?);
    loop {
        let (stream, client) = listener.accept().await?;
        // Latency matters more than packet count here; failure only costs Nagle delays.
        stream.set_nodelay(true).ok();
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let app = Arc::clone(&app);
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        // Handlers block on their Redis calls: run them off the reactor.
                        let resp =
                            tokio::task::spawn_blocking(move || handle(&app, &parts, body, client))
                                .await
                                .unwrap_or_else(|_| text(500, "handler panicked"));
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
            // A client closing its connection mid-request is not an error worth reporting.
            http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await
                .ok();
        });
    }
}
