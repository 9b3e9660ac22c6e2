//! How edge-host prepares a component and hands it a request, as Spin does: its context and
//! pre-instantiations, the request's `spin-*` headers, the deadline.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use wasmtime::component::InstancePre;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use super::EPOCH_TICKS_PER_SEC;
use crate::allowed_hosts::AllowedHosts;
use crate::grants::ComponentCtx;
use crate::interfaces::RedisTriggerPre;
use crate::problem::problem_response;
use crate::routing::RouteMatch;
use crate::state::State;
use crate::variables::Variables;

/// The request as Spin hands it to a component: its URI made absolute (`http://<host>…`) and
/// the `spin-*` headers of its route added.
pub(super) fn spin_request<B>(
    req: hyper::Request<B>,
    m: &RouteMatch,
    client: SocketAddr,
) -> hyper::Request<B> {
    let (mut parts, body) = req.into_parts();
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".to_string());
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let full_url = format!("http://{host}{path_and_query}");
    for (name, value) in crate::routing::spin_headers(m, &full_url, client) {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            parts.headers.insert(n, v);
        }
    }
    if let Ok(uri) = full_url.parse() {
        parts.uri = uri;
    }
    hyper::Request::from_parts(parts, body)
}

/// Stops the store's guest at its epoch deadline, unless it has sent its head (`streaming`) and
/// its stream is younger than `stream_timeout`.
pub(super) fn stop_past_deadline<T>(
    store: &mut wasmtime::Store<T>,
    streaming: Arc<std::sync::atomic::AtomicBool>,
    stream_timeout: Duration,
) {
    let started = std::time::Instant::now();
    store.epoch_deadline_callback(move |_| {
        if streaming.load(std::sync::atomic::Ordering::Relaxed)
            && started.elapsed() < stream_timeout
        {
            Ok(wasmtime::UpdateDeadline::Continue(EPOCH_TICKS_PER_SEC))
        } else {
            Err(wasmtime::Trap::Interrupt.into())
        }
    });
}

/// The `504` of a component that sent no response head within its `deadline`.
pub(super) fn timed_out(component: &str, deadline: Duration) -> hyper::Response<HyperOutgoingBody> {
    tracing::error!(component = %component, "no response within the {deadline:?} deadline");
    problem_response(
        504,
        "Gateway Timeout",
        &format!(
            "component '{component}' did not respond within its deadline ({} s)",
            deadline.as_secs()
        ),
    )
}

/// What a component is pre-instantiated as: an HTTP handler, a Redis handler, both or neither.
pub(super) type Exports = (Option<ProxyPre<State>>, Option<RedisTriggerPre<State>>);

/// A component's pre-instantiations for the triggers that name it: an HTTP route needs
/// `wasi:http/incoming-handler`, a Redis channel `fermyon:spin/inbound-redis`.
pub(super) fn exports(
    id: &str,
    pre: InstancePre<State>,
    http: bool,
    redis: bool,
) -> Result<Exports> {
    let proxy = if http {
        Some(ProxyPre::new(pre.clone()).map_err(anyhow::Error::from).with_context(|| {
            format!("component '{id}' is on an HTTP route but does not export wasi:http/incoming-handler")
        })?)
    } else {
        None
    };
    let redis = if redis {
        Some(RedisTriggerPre::new(pre).map_err(anyhow::Error::from).with_context(|| {
            format!("component '{id}' is on a Redis channel but does not export fermyon:spin/inbound-redis")
        })?)
    } else {
        None
    };
    Ok((proxy, redis))
}

/// Where guests' stdout and stderr go besides the host's own output, if anywhere.
pub(super) fn guest_output(path: Option<&Path>) -> Result<Option<wasmtime_wasi::cli::OutputFile>> {
    Ok(match path {
        Some(path) => Some(wasmtime_wasi::cli::OutputFile::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?,
        )),
        None => None,
    })
}

/// What a component's instances may reach: its variables' values, its stores, its outbound
/// hosts (templates expanded) and its environment.
pub(super) fn component_ctx(
    id: &str,
    decl: &crate::manifest::ComponentDecl,
    vars: &Variables,
    variables: std::collections::BTreeMap<String, String>,
) -> Result<ComponentCtx> {
    let hosts = decl
        .allowed_outbound_hosts
        .iter()
        .map(|h| vars.expand(h))
        .collect::<Result<Vec<_>>>()
        .with_context(|| format!("component '{id}' allowed_outbound_hosts"))?;
    Ok(ComponentCtx {
        id: id.to_owned(),
        variables,
        kv_grants: decl.key_value_stores.clone(),
        allowed_hosts: AllowedHosts::parse(&hosts).with_context(|| format!("component '{id}'"))?,
        environment: decl.environment.clone().into_iter().collect(),
    })
}
