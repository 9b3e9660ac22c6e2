//! Boards: a board's config in Redis ([`store`]: create, load, list), its REST routes
//! ([`routes`]), its delete ([`deletion`]: the config and every key it names, one script) and
//! the sweep of what is left under its prefix ([`sweep`]), the two as one request
//! ([`lifecycle`]), its log read in order ([`events`]), its
//! projections rebuilt from the log ([`rebuild`]) and the snapshots a replay starts from
//! ([`snapshots`]). Its scripts are in `lua/` beside each part.

pub mod deletion;
pub mod events;
pub mod lifecycle;
pub mod rebuild;
pub mod routes;
pub mod snapshots;
pub mod store;
pub mod sweep;
