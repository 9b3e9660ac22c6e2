//! Per-instance store state: WASI, WASI-HTTP, resource table, limits, and the component's grants.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{HostWallClock, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::allowed_hosts::AllowedHosts;
use crate::app::Runtime;
use crate::kv::KvBackend;
use crate::outbound::OutboundHooks;

/// What a component is granted, resolved at start-up.
#[derive(Debug)]
pub struct ComponentCtx {
    /// The component id.
    pub id: String,
    /// Resolved component variables.
    pub variables: BTreeMap<String, String>,
    /// KV store labels it may open.
    pub kv_grants: Vec<String>,
    /// Outbound allow-list.
    pub allowed_hosts: AllowedHosts,
    /// Environment variables.
    pub environment: Vec<(String, String)>,
}

/// An open KV store (Spin `store` or wasi:keyvalue `bucket`).
pub struct KvHandle {
    /// The backend serving it.
    pub backend: KvBackend,
}

/// An open outbound Redis connection.
pub struct RedisHandle {
    /// Pooled or this instance's own, per the host's connection mode.
    pub conn: crate::interfaces::RedisConn,
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
    /// The running application (stores, Redis connections, router).
    pub runtime: Arc<Runtime>,
}

impl State {
    /// Fresh state for one instance of `component`.
    pub fn new(runtime: &Arc<Runtime>, component: &Arc<ComponentCtx>) -> Self {
        let mut wasi = WasiCtx::builder();
        match &runtime.guest_output {
            Some(file) => wasi.stderr(file.clone()).stdout(file.clone()),
            None => wasi.inherit_stderr().inherit_stdout(),
        };
        wasi.wall_clock(OffsetClock {
            offset_ms: Arc::clone(&runtime.clock_offset_ms),
        })
        .envs(&component.environment);
        Self {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks {
                runtime: Arc::clone(runtime),
                component: Arc::clone(component),
            },
            limits: StoreLimitsBuilder::new()
                .memory_size(runtime.config.memory_limit_bytes)
                .trap_on_grow_failure(false)
                .build(),
            component: Arc::clone(component),
            runtime: Arc::clone(runtime),
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
