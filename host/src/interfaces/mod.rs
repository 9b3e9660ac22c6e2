//! Host implementations of the interfaces components import beyond WASI: Spin 2.0 key-value,
//! redis and variables (what spin-sdk 5.2 emits), and `wasi:keyvalue` store/atomics/batch.
//!
//! Bindings are generated once here from the project's WIT (`wit/`), the same files the guests'
//! bindings come from, and re-exported narrowly.

mod key_value;
mod redis;
mod variables;

wasmtime::component::bindgen!({
    path: "../wit",
    world: "edge:leaderboards/redis-trigger",
    // Where Spin's key-value host panics (see `crate::kv::SpinPanics`) the guest is trapped, so
    // key-value calls may trap.
    imports: {
        default: async,
        "fermyon:spin/key-value": async | trappable,
        "wasi:keyvalue/store": async | trappable,
        "wasi:keyvalue/atomics": async | trappable,
        "wasi:keyvalue/batch": async | trappable,
    },
    exports: { default: async },
    with: {
        "fermyon:spin/key-value.store": crate::state::KvHandle,
        "fermyon:spin/redis.connection": crate::state::RedisHandle,
        "wasi:keyvalue/store.bucket": crate::state::KvHandle,
        "wasi:keyvalue/atomics.cas": crate::state::CasHandle,
    },
});

/// Adds every Spin/keyvalue import to a linker.
pub fn add_to_linker(
    linker: &mut wasmtime::component::Linker<crate::state::State>,
) -> anyhow::Result<()> {
    RedisTrigger::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |s| s)?;
    Ok(())
}
