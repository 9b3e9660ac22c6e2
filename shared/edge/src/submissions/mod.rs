//! Submissions: a score's way in. [`submit`] runs one (sync: decided and written at once; async:
//! accepted into the board's inbox, [`inbox`]); [`writes`] is the compare-and-set write of a
//! decided record; [`pipeline`] is the drain that applies the inbox (and its sweep);
//! [`idempotency`] keeps an `Idempotency-Key`'s outcome. Their scripts are in `lua/` beside each
//! part.

pub mod idempotency;
pub mod inbox;
pub mod pipeline;
pub mod submit;
pub mod writes;
