//! Score integrity and what a board's life looks like: the checks, the reviews, the analytics.

pub mod check;
pub mod review;
pub mod stats;
