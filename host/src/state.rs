//! Per-instance store state: WASI, WASI-HTTP, resource table, limits, and the component's grants.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{HostWallClock, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::grants::ComponentCtx;
use crate::kv::{KvBackend, KvStores};
use crate::outbound::{Chain, OutboundHooks};
use crate::redis_pool::{RedisConn, RedisConnectionMode, RedisConnections};

/// An open KV store (Spin `store` or wasi:keyvalue `bucket`).
pub struct KvHandle {
    /// The backend serving it.
    pub backend: KvBackend,
}

/// An open outbound Redis connection.
pub struct RedisHandle {
    /// Pooled or this instance's own, per the host's connection mode.
    pub conn: RedisConn,
}

/// A wasi:keyvalue CAS handle.
pub struct CasHandle {
    /// The compare-and-swap, with its backend's Spin semantics.
    pub cas: crate::kv::Cas,
}

/// The wall clock the guests see: the host's, shifted by a shared, adjustable offset.
#[derive(Clone)]
pub struct OffsetClock {
    /// Offset in milliseconds (may be negative).
    pub offset_ms: Arc<AtomicI64>,
}

impl HostWallClock for OffsetClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let offset = self.offset_ms.load(Ordering::Relaxed);
        if offset >= 0 {
            real + Duration::from_millis(offset.unsigned_abs())
        } else {
            real.saturating_sub(Duration::from_millis(offset.unsigned_abs()))
        }
    }
}

/// What every instance's host calls share: the stores, the Redis connections, the guests' clock
/// and output, the memory cap. The application holds it and hands it to each instance.
pub struct Shared {
    /// KV stores by label.
    pub kv: KvStores,
    /// Outbound Redis connections.
    pub redis: RedisConnections,
    /// How `connection.open` gets a Redis connection.
    pub redis_mode: RedisConnectionMode,
    /// The guests' wall-clock offset (ms), adjustable at run time.
    pub clock_offset_ms: Arc<AtomicI64>,
    /// The file guest output is appended to, if the host names one.
    pub guest_output: Option<wasmtime_wasi::cli::OutputFile>,
    /// Linear-memory cap per instance.
    pub memory_limit_bytes: usize,
}

/// The `T` of every `Store<T>`.
pub struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHooks,
    /// Memory and instance limits.
    pub limits: StoreLimits,
    /// The component's grants.
    pub component: Arc<ComponentCtx>,
    /// What the host calls share (stores, Redis connections).
    pub shared: Arc<Shared>,
}

impl State {
    /// Fresh state for one instance of `component`; `chain` serves its service-chained requests.
    pub fn new(shared: &Arc<Shared>, chain: Arc<dyn Chain>, component: &Arc<ComponentCtx>) -> Self {
        let mut wasi = WasiCtx::builder();
        match &shared.guest_output {
            Some(file) => wasi.stderr(file.clone()).stdout(file.clone()),
            None => wasi.inherit_stderr().inherit_stdout(),
        };
        wasi.wall_clock(OffsetClock {
            offset_ms: Arc::clone(&shared.clock_offset_ms),
        })
        .envs(&component.environment);
        Self {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks {
                chain,
                component: Arc::clone(component),
            },
            limits: StoreLimitsBuilder::new()
                .memory_size(shared.memory_limit_bytes)
                .trap_on_grow_failure(false)
                .build(),
            component: Arc::clone(component),
            shared: Arc::clone(shared),
        }
    }

    /// The resource table.
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}
