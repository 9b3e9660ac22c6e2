//! The loaded application: engine, pre-instantiated components, router, stores; and the HTTP
//! dispatch that gives every request a fresh instance with a deadline, as Spin does for p2.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;

use wasmtime::component::{InstancePre, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::grants::ComponentCtx;
use crate::interfaces::RedisTriggerPre;
use crate::manifest::Manifest;
use crate::outbound::Chain;
use crate::problem::{full_body, problem_response};
use crate::redis_pool::RedisConnections;
use crate::routing::{RouteMatch, Router};
use crate::runtime_config::RuntimeConfig;
use crate::state::{Shared, State};
use crate::variables::Variables;

mod guest;
use guest::{component_ctx, exports, guest_output, spin_request, stop_past_deadline, timed_out};

/// How often the epoch ticks; deadlines are counted in ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Epoch ticks in a second (how far a streaming guest's deadline moves at a time).
const EPOCH_TICKS_PER_SEC: u64 = 100;

pub use crate::config::{HostConfig, SHUTDOWN_GRACE_WITHOUT_DEADLINE, TriggerFailure};

struct Loaded {
    ctx: Arc<ComponentCtx>,
    proxy: Option<ProxyPre<State>>,
    redis: Option<RedisTriggerPre<State>>,
}

/// The running application.
pub struct Runtime {
    /// Settings.
    pub config: HostConfig,
    /// The manifest it was loaded from.
    pub manifest: Manifest,
    /// The HTTP router (public routes only).
    pub router: Router,
    /// What every instance's host calls share: the KV stores, the Redis connections, the guests'
    /// clock and output.
    pub shared: Arc<Shared>,
    engine: Engine,
    components: HashMap<String, Loaded>,
}

/// The process-wide engine: pooling allocator, epoch interruption, async. One per process so the
/// pooling allocator's address-space reservation is made once even with many hosts (tests).
pub fn engine() -> Result<Engine> {
    static ENGINE: OnceLock<std::result::Result<Engine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let mut pool = PoolingAllocationConfig::default();
            // Spin 4.0.2's defaults (SPIN_MAX_INSTANCE_COUNT = 1000): as many requests in flight
            // at once, service-chained ones counting twice.
            pool.total_component_instances(1000)
                .total_core_instances(4000)
                .total_memories(1000)
                .total_tables(2000)
                .max_memory_size(1 << 30)
                // Every request frees an instance. Resetting slots with `madvise` made the kernel
                // send TLB-shootdown IPIs to every core on each request (~22% of all cycles in a
                // `perf` profile of cached reads); keeping the first pages resident (reset with
                // memset / PAGEMAP_SCAN) and batching the remaining decommits avoids most of that.
                .linear_memory_keep_resident(2 << 20)
                .table_keep_resident(64 << 10)
                .pagemap_scan(wasmtime::Enabled::Auto)
                .decommit_batch_size(32);
            let mut config = Config::new();
            config
                .epoch_interruption(true)
                .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
            // `EDGE_HOST_PERFMAP=1`: write /tmp/perf-<pid>.map so `perf report` names guest
            // functions (profiling only).
            if std::env::var_os("EDGE_HOST_PERFMAP").is_some() {
                config.profiler(wasmtime::ProfilingStrategy::PerfMap);
            }
            let engine = Engine::new(&config).map_err(|e| format!("{e:#}"))?;
            let weak = engine.weak();
            std::thread::Builder::new()
                .name("epoch-ticker".into())
                .spawn(move || {
                    while let Some(engine) = weak.upgrade() {
                        engine.increment_epoch();
                        drop(engine);
                        std::thread::sleep(EPOCH_TICK);
                    }
                })
                .map_err(|e| e.to_string())?;
            Ok(engine)
        })
        .clone()
        .map_err(|e| anyhow!("creating the wasmtime engine: {e}"))
}

impl Runtime {
    /// Loads a manifest: resolves variables, opens stores, compiles and pre-instantiates components.
    pub async fn load(manifest_path: &Path, config: HostConfig) -> Result<Arc<Self>> {
        let manifest = Manifest::from_file(manifest_path)?;
        let engine = engine()?;
        let vars = Variables::resolve(&manifest.variables, &config.variables, |k| {
            std::env::var(k).ok()
        })?;
        let component_vars = vars.component_values(&manifest)?;
        let runtime_config = match &config.runtime_config {
            Some(p) => RuntimeConfig::from_file(p)?,
            None => RuntimeConfig::default(),
        };
        let kv = runtime_config.open_stores(&manifest.base_dir).await?;

        let mut linker: Linker<State> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        crate::interfaces::add_to_linker(&mut linker)?;

        let http_components: Vec<&str> = manifest
            .http_triggers
            .iter()
            .map(|t| t.component.as_str())
            .collect();
        let redis_components: Vec<&str> = manifest
            .redis_triggers
            .iter()
            .map(|t| t.component.as_str())
            .collect();
        let mut components = HashMap::new();
        for (id, decl) in &manifest.components {
            kv.check_labels(id, decl.key_value_stores.iter())?;
            let variables = component_vars.get(id).cloned().unwrap_or_default();
            let ctx = Arc::new(component_ctx(id, decl, &vars, variables)?);
            let component = crate::compiled::component(&engine, &decl.source)?;
            let pre: InstancePre<State> = linker
                .instantiate_pre(&component)
                .map_err(anyhow::Error::from)
                .with_context(|| {
                    format!("component '{id}' imports something this host does not provide")
                })?;
            let (proxy, redis) = exports(
                id,
                pre,
                http_components.contains(&id.as_str()),
                redis_components.contains(&id.as_str()),
            )?;
            components.insert(id.clone(), Loaded { ctx, proxy, redis });
        }
        let router = Router::build(
            manifest
                .http_triggers
                .iter()
                .filter_map(|t| t.route.as_deref().map(|r| (r, t.component.as_str()))),
        )?;
        let guest_output = guest_output(config.guest_output.as_deref())?;
        let shared = Arc::new(Shared {
            kv,
            redis: RedisConnections::new(config.redis_timeouts),
            redis_mode: config.redis_connections,
            clock_offset_ms: Arc::new(AtomicI64::new(config.clock_offset_ms)),
            guest_output,
            memory_limit_bytes: config.memory_limit_bytes,
        });
        Ok(Arc::new(Self {
            shared,
            config,
            manifest,
            router,
            engine,
            components,
        }))
    }

    /// Shifts the guests' wall clock (test clock).
    pub fn set_clock_offset(&self, offset: Duration, forward: bool) {
        let ms = i64::try_from(offset.as_millis()).unwrap_or(i64::MAX);
        self.shared.clock_offset_ms.store(
            if forward { ms } else { -ms },
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    fn new_store(self: &Arc<Self>, ctx: &Arc<ComponentCtx>) -> Store<State> {
        let chain: Arc<dyn Chain> = Arc::clone(self) as Arc<dyn Chain>;
        let mut store = Store::new(&self.engine, State::new(&self.shared, chain, ctx));
        store.limiter(|s| &mut s.limits);
        // Without a deadline (as on Spin), one that never comes: the epoch counter would take
        // millennia to get there.
        let ticks = self.config.request_timeout.map_or(u64::MAX / 4, |t| {
            u64::try_from((t.as_millis() / EPOCH_TICK.as_millis()).max(1)).unwrap_or(u64::MAX / 4)
        });
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        store
    }

    /// Instantiates an HTTP component exactly as a request would — a fresh [`Store`] with the
    /// deadline and memory limits, an instance from the pooling allocator via its pre-instantiated
    /// form — then drops it without calling the handler. For benchmarks: the per-request
    /// instantiation cost on its own.
    pub async fn instantiate_only(self: &Arc<Self>, component: &str) -> Result<()> {
        let loaded = self
            .components
            .get(component)
            .ok_or_else(|| anyhow!("no component '{component}'"))?;
        let proxy = loaded
            .proxy
            .as_ref()
            .ok_or_else(|| anyhow!("component '{component}' is not an HTTP component"))?;
        let mut store = self.new_store(&loaded.ctx);
        proxy.instantiate_async(&mut store).await?;
        Ok(())
    }

    /// Serves one external HTTP request.
    pub async fn handle<B>(
        self: &Arc<Self>,
        req: hyper::Request<B>,
        client: SocketAddr,
    ) -> hyper::Response<HyperOutgoingBody>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let path = req.uri().path().to_string();
        let Some(m) = self.router.route(&path) else {
            // As Spin: a bare 404 (an app that wants a body adds a catch-all `/...` route).
            return empty_response(404);
        };
        // Spin hands header values to components as text and fails the request (500, before any
        // component runs) when one is not UTF-8.
        if req
            .headers()
            .values()
            .any(|v| std::str::from_utf8(v.as_bytes()).is_err())
        {
            tracing::warn!("request to {path}: a header value is not UTF-8");
            return empty_response(500);
        }
        self.dispatch(req, m, client).await
    }

    /// Serves a service-chaining request (`http://<component>.spin.internal/…`).
    pub async fn handle_chained<B>(
        self: &Arc<Self>,
        component: &str,
        req: hyper::Request<B>,
    ) -> Result<hyper::Response<HyperOutgoingBody>>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        if !self.components.contains_key(component) {
            return Err(anyhow!("no component '{component}' for service chaining"));
        }
        let path = req.uri().path().to_string();
        let m = RouteMatch::at_root(component, &path);
        // As Spin does (CHAINED_CLIENT_ADDR): a chained request has no client.
        let client: SocketAddr = ([0, 0, 0, 0], 0).into();
        Ok(Box::pin(self.dispatch(req, m, client)).await)
    }

    async fn dispatch<B>(
        self: &Arc<Self>,
        req: hyper::Request<B>,
        m: RouteMatch,
        client: SocketAddr,
    ) -> hyper::Response<HyperOutgoingBody>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let Some(loaded) = self.components.get(&m.component) else {
            return problem_response(
                500,
                "Internal Server Error",
                "route names a missing component",
            );
        };
        let Some(proxy) = loaded.proxy.clone() else {
            return problem_response(
                500,
                "Internal Server Error",
                "component is not an HTTP component",
            );
        };
        let req = spin_request(req, &m, client);

        let mut store = self.new_store(&loaded.ctx);
        // Past the request's deadline, a guest that has sent its head (it streams its body) goes
        // on until the stream timeout; one that has not is stopped.
        let streaming = Arc::new(std::sync::atomic::AtomicBool::new(false));
        stop_past_deadline(
            &mut store,
            Arc::clone(&streaming),
            self.config.stream_timeout,
        );
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let prepared = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)
            .and_then(|r| Ok((r, store.data_mut().http().new_response_outparam(sender)?)));
        let (req, out) = match prepared {
            Ok(v) => v,
            Err(e) => return problem_response(400, "Bad Request", &format!("{e:#}")),
        };
        let component = m.component.clone();
        let task = tokio::task::spawn(async move {
            let proxy = proxy.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
        });
        let answered = match self.config.request_timeout {
            Some(t) => tokio::time::timeout(t + Duration::from_secs(1), receiver).await,
            None => Ok(receiver.await),
        };
        match answered {
            Ok(Ok(Ok(resp))) => {
                streaming.store(true, std::sync::atomic::Ordering::Relaxed);
                resp
            }
            Ok(Ok(Err(code))) => {
                tracing::error!(component = %component, "component error: {code:?}");
                empty_response(500)
            }
            Ok(Err(_)) => {
                let err = match task.await {
                    Ok(Ok(())) => anyhow!("component never set a response"),
                    Ok(Err(e)) => anyhow::Error::from(e),
                    Err(e) => anyhow!("component task failed: {e}"),
                };
                guest_failure(&component, &err)
            }
            Err(_) => {
                task.abort();
                timed_out(&component, self.config.request_timeout.unwrap_or_default())
            }
        }
    }

    /// Delivers one Redis message to a component's inbound-redis export.
    pub async fn handle_message(self: &Arc<Self>, component: &str, payload: Vec<u8>) -> Result<()> {
        let loaded = self
            .components
            .get(component)
            .ok_or_else(|| anyhow!("no component '{component}'"))?;
        let pre = loaded
            .redis
            .clone()
            .ok_or_else(|| anyhow!("component '{component}' is not a Redis component"))?;
        let mut store = self.new_store(&loaded.ctx);
        let instance = pre.instantiate_async(&mut store).await?;
        let result = instance
            .fermyon_spin_inbound_redis()
            .call_handle_message(&mut store, &payload)
            .await?;
        result.map_err(|e| anyhow!("component '{component}' returned {e:?}"))
    }
}

fn guest_failure(component: &str, err: &anyhow::Error) -> hyper::Response<HyperOutgoingBody> {
    if let Some(wasmtime::Trap::Interrupt) = err.downcast_ref::<wasmtime::Trap>() {
        tracing::error!(component = %component, "deadline exceeded: {err:#}");
        return problem_response(
            504,
            "Gateway Timeout",
            &format!("component '{component}' exceeded its execution deadline"),
        );
    }
    // As Spin: a bare 500 (the component's own error handling is what gives a problem body).
    tracing::error!(component = %component, "component trapped: {err:?}");
    empty_response(500)
}

impl Chain for Runtime {
    fn serve_chained(
        self: Arc<Self>,
        component: String,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<hyper::Response<HyperOutgoingBody>>> + Send>>
    {
        Box::pin(async move { self.handle_chained(&component, request).await })
    }
}

/// A response without a body, as Spin makes for unmatched routes and failed components.
fn empty_response(status: u16) -> hyper::Response<HyperOutgoingBody> {
    let mut resp = hyper::Response::new(full_body(Bytes::new()));
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    resp
}
