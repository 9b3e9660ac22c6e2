//! What happened to a board, in order: the event log, its projections, the asynchronous inbox,
//! idempotent answers and a submission's outcome.

pub mod event;
pub mod idempotency;
pub mod inbox;
pub mod log;
pub mod outcome;
