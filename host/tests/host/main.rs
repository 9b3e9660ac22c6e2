//! edge-host's own tests: real `.wasm` probe guests (built by `scripts/build.sh`, sources in
//! `tests/guests`) run by the host against a real `redis-server` that each test starts on a free
//! port, with the harness of the app suite (`tests/app`).
//!
//! The tests of behaviour a runtime provides (`host_kv`, parts of `host_redis`) also run on real
//! Spin: `EDGE_TEST_RUNTIME=spin SPIN_BIN=… cargo test --workspace --test host -- host_kv host_redis`
//! (what `scripts/test.sh` does when a Spin CLI is available).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod host_http;
mod host_kv;
mod host_limits;
mod host_redis;
