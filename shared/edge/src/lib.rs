//! `shared/edge`: guest-side adapters shared by the functions.
//!
//! For now only [`kv`], a small typed wrapper over `wasi:keyvalue@0.2.0-draft2` (store, atomics,
//! batch). The raw bindings are generated once, here, from `/wit` and kept private.
#![deny(missing_docs)]

mod bindings {
    #![allow(missing_docs, clippy::all, clippy::unwrap_used, clippy::expect_used)]
    wit_bindgen::generate!({
        path: "../../wit",
        world: "edge:leaderboards/keyvalue-guest",
        generate_all,
    });
}

pub mod kv;
