//! `shared/edge`: guest-side adapters shared by the functions.
//!
//! The functions are thin: [`serve`] runs a function's handler, [`admission::admit`] tells who is
//! calling, the handler reads state ([`repo`] for Redis, the source of truth; [`cache`] for the
//! regional KV edge cache), calls the pure core (`shared/leaderboard`) with plain values, and
//! writes back the effects it returns. [`kv`] is a small typed wrapper over
//! `wasi:keyvalue@0.2.0-draft2` (store, atomics, batch) whose raw bindings are generated once,
//! here, from `/wit` and kept private.
//!
//! The crate is a small base and one folder per capability. Each capability owns its REST
//! handlers (its `routes` modules: a function's router calls them), its Redis methods (`impl
//! Repo` blocks in its own files, mostly a `store` module), its Lua scripts (in `lua/` beside the
//! file that runs them) and its keys' names (`impl Keys` beside them). The modules stand in six
//! layers, bottom to top; a module imports only from its own layer or a lower one, never in a
//! circle, and a capability imports another only along an arrow `scripts/layers.py` declares (it
//! checks all three, in CI, from the paths the code names and the `Repo` and `Keys` methods it
//! calls). A script's keys, arguments and answers are named, not counted: it is declared with
//! `repo::script::script!` beside the Rust that runs it, and answers a word that Rust turns
//! into a typed answer in one `match` (every script):
//!
//! 1. **platform** — [`platform`] (the async host-call traits and the Spin bindings),
//!    [`message`] (the `http` request and response types handlers see), [`redis_error`] (a Redis
//!    failure: the store unreachable, or this command refused), [`cluster`] (Redis Cluster's
//!    slots, slot map and redirections), [`kv`], [`scope`] (the clock, nonces, and what a request
//!    notes for its lower layers, its own under concurrency), [`secrets`] (random ids and
//!    secrets, digests), [`settings`] (the table of variables and their one rule), [`outbound`] (HTTP to the outside).
//! 2. **link** — [`breaker`] (admission to Redis, its state in the KV store), [`stall`] (servers
//!    that stop answering), [`repo`] (the Redis link: one server or a cluster, the script
//!    runner, replica acknowledgements, the board's key names, the board at a moment that a
//!    board's operations take, `repo::BoardAt`, the event log), [`cache`] (the
//!    edge cache), [`schedule`] (due work: its register of items by kind, a push tier's, and
//!    the one alarm).
//! 3. **stores** the request's context reads ahead — [`tenants`] (tenant settings, API keys),
//!    [`flags::doc`] and [`flags::store`] (a tenant's flag document).
//! 4. **request** — [`compress`], [`http`] (the parsed request and its answers), [`stream`]
//!    (answers written over time), [`auth`] (tokens), [`api`] (the request's context: caller,
//!    tenant, handles), [`metrics`], [`audit`], [`ratelimit`].
//! 5. **capabilities** — [`boards`] (configs, deletion, replays, snapshots), [`submissions`]
//!    (a score's way in: sync writes, the inbox and its drain, idempotency), [`reads`] (the
//!    ranked reads REST and GraphQL share), [`competitions`] (tournaments, cohorts, leagues,
//!    rewards and their closes), [`webhooks`] (subscriptions, what is owed, delivery),
//!    [`flags`] (flags and experiments), [`live`] (the change feed, live updates, the push
//!    tier), [`integrity`] (the facts a board's rules judge, reviews, stats); and the routes of
//!    tenants and API keys ([`tenants::routes`], [`tenants::apikeys::routes`]).
//! 6. **entry** — [`admission`] (context + rate limits + version flag), [`serve`] (CORS,
//!    response headers, compression, access log, metrics, sending), and [`live::routes`] (a
//!    stream admits its request itself).
//!
//! The capabilities' arrows (who may import or call whom) are declared in `scripts/layers.py`,
//! which prints them. Most capabilities read a board's config (`boards::store`),
//! and a board's deletion (`boards::lifecycle`) reaches competitions, submissions and webhooks,
//! so boards goes both ways with those three; so do competitions with integrity, reads,
//! submissions and webhooks, and integrity with submissions. Making every arrow one-way (the
//! board's read in the base, say) is left for a later step.
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
pub mod audit;
pub mod auth;
pub mod boards;
pub mod breaker;
pub mod cache;
pub mod cluster;
pub mod competitions;
pub mod compress;
pub mod flags;
pub mod http;
pub mod integrity;
pub mod kv;
pub mod live;
pub mod message;
pub mod metrics;
pub mod outbound;
pub mod platform;
pub mod ratelimit;
pub mod reads;
pub mod redis_error;
pub mod repo;
pub mod schedule;
pub mod scope;
pub mod secrets;
pub mod serve;
pub mod settings;
pub mod stall;
pub mod stream;
pub mod submissions;
pub mod tenants;
pub mod webhooks;

/// Declares a component's HTTP entry point (`handle`) for the build its features select: a
/// WASIp2 `#[http_component]` (spin-sdk 5.2) with the `p2` feature, a WASIp3 `#[http_service]`
/// (spin-sdk 6.0) with `p3`, both serving through [`serve::serve_streaming`]. The crate names its
/// p3 spin-sdk `spin_sdk` at its root (`extern crate spin_sdk_6 as spin_sdk;`).
///
/// `http_entry!(route)` serves `route(&Spin, call)`, a whole answer; `http_entry!(stream: f)`
/// serves `f(call)`, an answer that may stream ([`stream::Reply`]). Either first checks that the
/// app's route table gives the request to this component (its package's name,
/// [`http::Call::served_by`]): the manifest's triggers are broader than the table.
#[macro_export]
macro_rules! http_entry {
    (stream: $handler:expr) => {
        #[cfg(all(target_arch = "wasm32", feature = "p2"))]
        #[::spin_sdk::http_component]
        async fn handle(req: ::spin_sdk::http::Request, out: ::spin_sdk::http::ResponseOutparam) {
            $crate::serve::serve_streaming(req, out, async |call: &$crate::http::Call<'_>| {
                call.served_by(env!("CARGO_PKG_NAME"))?;
                ($handler)(call).await
            })
            .await
        }

        #[cfg(all(target_arch = "wasm32", feature = "p3"))]
        #[::spin_sdk::http_service]
        async fn handle(req: ::spin_sdk::http::Request) -> $crate::serve::P3Response {
            $crate::serve::serve_streaming(req, async |call: &$crate::http::Call<'_>| {
                call.served_by(env!("CARGO_PKG_NAME"))?;
                ($handler)(call).await
            })
            .await
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
