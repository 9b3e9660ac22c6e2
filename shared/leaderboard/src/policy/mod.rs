//! The policies a request passes: access, API keys, rate limits, flags, experiments, tenant
//! settings and the Redis circuit breaker.

pub mod access;
pub mod addresses;
pub mod apikey;
pub mod breaker;
pub mod experiment;
pub mod flags;
pub mod jsonlogic;
pub mod ratelimit;
pub mod stall;
pub mod tenant;
