//! What the HTTP surface shares: problem details and their translations, trace context and the
//! access log, metrics, the edge cache's layout, live updates (and their GraphQL form) and the
//! dashboard page.

pub mod cache;
pub mod dashboard;
pub mod graphql_sse;
pub mod i18n;
pub mod live;
pub mod metrics;
pub mod operation;
pub mod problem;
pub mod push;
pub mod routes;
pub mod trace;
