//! Outbound `wasi:http`: only to `allowed_outbound_hosts`; `http://<component>.spin.internal/…`
//! is service chaining — the request is handled in-process by that component (private routes
//! are reachable this way only), as Spin does.

use std::pin::Pin;
use std::sync::Arc;

use http_body_util::BodyExt;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::grants::ComponentCtx;

/// What serves a service-chained request: the application (`crate::Runtime`), which gives it to
/// the named component.
pub trait Chain: Send + Sync {
    /// Serves `request` with `component` (no client address: a chained request has none).
    fn serve_chained(
        self: Arc<Self>,
        component: String,
        request: http::Request<WasiBody>,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<hyper::Response<HyperOutgoingBody>>> + Send>>;
}

/// Outbound hooks of one instance.
pub struct OutboundHooks {
    /// Serves service-chained requests.
    pub chain: Arc<dyn Chain>,
    /// The calling component.
    pub component: Arc<ComponentCtx>,
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> SendFuture {
        drop(fut);
        let uri = request.uri().clone();
        let url = uri.to_string();
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        let allowed = self.component.allowed_hosts.allows_url(&url);
        let chain = Arc::clone(&self.chain);
        let caller = self.component.id.clone();
        Box::new(async move {
            if !allowed {
                tracing::warn!(component = %caller, "outbound HTTP to {url} denied: not in allowed_outbound_hosts");
                return Err(Error::HttpRequestDenied);
            }
            if let Some(target) = host.strip_suffix(".spin.internal") {
                let target = if target == "self" {
                    caller.clone()
                } else {
                    target.to_string()
                };
                let resp = chain
                    .serve_chained(target, request)
                    .await
                    .map_err(|e| Error::InternalError(Some(format!("{e:#}"))))?;
                let done: Box<dyn Future<Output = Result<(), Error>> + Send> =
                    Box::new(async { Ok(()) });
                return Ok((resp, done));
            }
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}
