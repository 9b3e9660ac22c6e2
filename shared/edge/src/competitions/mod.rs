//! Competitions over a board: [`tournaments`] (windows, joins, attempts, the listing),
//! [`cohorts`] (which cohort a player is placed in and a read shows), [`leagues`] (placements and
//! a period's close), [`rewards`] (a run's awards, read and claimed) and [`closes`] (what the
//! worker runs when a competition's edge is due). Each part keeps its Redis methods in its
//! `store` and its scripts in `lua/`.

pub mod closes;
pub mod cohorts;
pub mod leagues;
pub mod rewards;
pub mod tournaments;
