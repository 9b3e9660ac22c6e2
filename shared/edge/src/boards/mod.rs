//! Boards: a board's config in Redis ([`store`]: create, load, list, delete), its REST routes
//! ([`routes`]), its whole deletion ([`lifecycle`]), its log read in order ([`events`]), its
//! projections rebuilt from the log ([`rebuild`]) and the snapshots a replay starts from
//! ([`snapshots`]). Its scripts are in `lua/` beside each part.

pub mod events;
pub mod lifecycle;
pub mod rebuild;
pub mod routes;
pub mod snapshots;
pub mod store;
