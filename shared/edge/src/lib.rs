//! `shared/edge`: guest-side adapters shared by the functions.
//!
//! The functions are thin: they parse a request ([`http`]), read state ([`repo`] for Redis, the
//! source of truth; [`cache`] for the regional KV edge cache), call the pure core
//! (`shared/leaderboard`) with plain values, and write back the effects it returns. [`kv`] is a
//! small typed wrapper over `wasi:keyvalue@0.2.0-draft2` (store, atomics, batch) whose raw
//! bindings are generated once, here, from `/wit` and kept private.
#![deny(missing_docs)]

mod bindings {
    #![allow(missing_docs, clippy::all, clippy::unwrap_used, clippy::expect_used)]
    wit_bindgen::generate!({
        path: "../../wit",
        world: "edge:leaderboards/keyvalue-guest",
        generate_all,
    });
}

pub mod api;
pub mod apikeys;
pub mod audit;
pub mod auth;
pub mod breaker;
pub mod cache;
pub mod compress;
pub mod experiments;
pub mod flags;
pub mod http;
pub mod idempotency;
pub mod kv;
pub mod metrics;
pub mod pipeline;
pub mod platform;
pub mod ratelimit;
pub mod rebuild;
pub mod repo;
pub mod settings;
pub mod submit;
pub mod tenants;
