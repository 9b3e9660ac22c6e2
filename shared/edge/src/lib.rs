//! `shared/edge`: guest-side adapters shared by the functions.
//!
//! The functions are thin: [`serve`] runs a function's handler, [`admission::admit`] tells who is
//! calling, the handler reads state ([`repo`] for Redis, the source of truth; [`cache`] for the
//! regional KV edge cache), calls the pure core (`shared/leaderboard`) with plain values, and
//! writes back the effects it returns. [`kv`] is a small typed wrapper over
//! `wasi:keyvalue@0.2.0-draft2` (store, atomics, batch) whose raw bindings are generated once,
//! here, from `/wit` and kept private.
//!
//! The modules stand in five layers, bottom to top; a module imports only from its own layer or
//! a lower one, never in a circle (`scripts/layers.py` checks both, in CI):
//!
//! 1. **platform** — [`platform`] (the async host-call traits and the Spin bindings),
//!    [`message`] (the `http` request and response types handlers see), [`redis_error`] (a Redis
//!    failure: the store unreachable, or this command refused), [`cluster`] (Redis Cluster's
//!    slots, slot map and redirections), [`kv`], [`scope`] (the clock,
//!    nonces, and what a request notes for its lower layers, its own under concurrency),
//!    [`settings`] (variables), [`outbound`] (HTTP to the outside).
//! 2. **stores** — [`breaker`] (admission to Redis, its state in the KV store), [`stall`]
//!    (servers that stop answering), [`repo`] (Redis), [`cache`] (the edge cache), and what is
//!    read through it: [`flagdoc`], [`tenants`], [`apikeys`], [`webhooks`] (subscriptions and
//!    their signatures), [`integrity`] (the facts a board's integrity rules judge, and their
//!    reviews).
//! 3. **request** — [`compress`], [`http`] (the parsed request and its answers), [`stream`]
//!    (answers written over time), [`auth`] (tokens), [`api`] (the request's context: caller,
//!    tenant, handles).
//! 4. **policies** — what a request passes or does with its context: [`metrics`], [`ratelimit`],
//!    [`flags`], [`idempotency`], [`experiments`], [`audit`], [`rebuild`], [`pipeline`],
//!    [`submit`], [`lifecycle`] (a board's deletion, whole), [`live`] (the change feed and live
//!    updates), [`webhook_delivery`], [`webhook_top`], [`reads`] (the ranked reads REST and
//!    GraphQL share), [`cohorts`] (which cohort a read shows), [`leagues`] (a league's
//!    placements and closes), [`tournaments`] (joining one; what a submission to one must
//!    pass), [`rewards`] (a run's awards, read and claimed), [`closes`] (a periodic board's
//!    closes when the worker's register rings), [`push`] (the worker's publishing to the push
//!    tier).
//! 5. **entry** — [`admission`] (context + rate limits + version flag) and [`serve`] (CORS,
//!    response headers, compression, access log, metrics, sending).
//!
//! The request's context and its parsed form sit below the policies because every policy takes
//! them; what runs a request through the policies sits on top.
#![deny(missing_docs)]

#[cfg(all(feature = "p2", feature = "p3"))]
compile_error!("edge: the `p2` and `p3` features select one build each: enable one of them");
#[cfg(not(any(feature = "p2", feature = "p3")))]
compile_error!("edge: enable the `p2` (spin-sdk 5.2, WASIp2) or the `p3` (spin-sdk 6.0) feature");

// The p3 build's spin-sdk (6.0) under the name the code, and its macros' expansions, use.
#[cfg(feature = "p3")]
extern crate spin_sdk_6 as spin_sdk;

mod bindings {
    #![allow(missing_docs, clippy::all, clippy::unwrap_used, clippy::expect_used)]
    wit_bindgen::generate!({
        path: "../../wit",
        world: "edge:leaderboards/keyvalue-guest",
        generate_all,
    });
}

pub mod admission;
pub mod api;
pub mod apikeys;
pub mod audit;
pub mod auth;
pub mod breaker;
pub mod cache;
pub mod closes;
pub mod cluster;
pub mod cohorts;
pub mod compress;
pub mod experiments;
pub mod flagdoc;
pub mod flags;
pub mod http;
pub mod idempotency;
pub mod integrity;
pub mod kv;
pub mod leagues;
pub mod lifecycle;
pub mod live;
pub mod message;
pub mod metrics;
pub mod outbound;
pub mod pipeline;
pub mod platform;
pub mod push;
pub mod ratelimit;
pub mod reads;
pub mod rebuild;
pub mod redis_error;
pub mod repo;
pub mod rewards;
pub mod scope;
pub mod serve;
pub mod settings;
pub mod stall;
pub mod stream;
pub mod submit;
pub mod tenants;
pub mod tournaments;
pub mod webhook_delivery;
pub mod webhook_top;
pub mod webhooks;

/// Declares a component's HTTP entry point (`handle`) for the build its features select: a
/// WASIp2 `#[http_component]` (spin-sdk 5.2) with the `p2` feature, a WASIp3 `#[http_service]`
/// (spin-sdk 6.0) with `p3`, both serving through [`serve::serve_streaming`]. The crate names its
/// p3 spin-sdk `spin_sdk` at its root (`extern crate spin_sdk_6 as spin_sdk;`).
///
/// `http_entry!(route)` serves `route(&Spin, call)`, a whole answer; `http_entry!(stream: f)`
/// serves `f(call)`, an answer that may stream ([`stream::Reply`]).
#[macro_export]
macro_rules! http_entry {
    (stream: $handler:expr) => {
        #[cfg(all(target_arch = "wasm32", feature = "p2"))]
        #[::spin_sdk::http_component]
        async fn handle(req: ::spin_sdk::http::Request, out: ::spin_sdk::http::ResponseOutparam) {
            $crate::serve::serve_streaming(req, out, $handler).await
        }

        #[cfg(all(target_arch = "wasm32", feature = "p3"))]
        #[::spin_sdk::http_service]
        async fn handle(req: ::spin_sdk::http::Request) -> $crate::serve::P3Response {
            $crate::serve::serve_streaming(req, $handler).await
        }
    };
    ($route:path) => {
        $crate::http_entry!(stream: async |call| {
            $route(&$crate::platform::Spin, call)
                .await
                .map($crate::stream::Reply::Whole)
        });
    };
}
