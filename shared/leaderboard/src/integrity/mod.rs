//! Score integrity and what a board's life looks like: the checks, what becomes of a judged
//! submission, the reviews, the analytics.

pub mod check;
pub mod review;
pub mod settle;
pub mod stats;
