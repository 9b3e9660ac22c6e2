//! A board and how it ranks: scores, configuration, sort keys, operators, ranks, periods,
//! cursors and the views a read renders.

pub mod build;
mod competition;
pub mod config;
pub mod cursor;
mod decimal;
pub mod operator;
pub mod period;
pub mod rank;
pub mod record;
pub mod refused;
pub mod retention;
pub mod rules;
pub mod runs;
pub mod score;
pub mod sortkey;
pub mod stored;
#[cfg(test)]
pub(crate) mod test_support;
pub mod view;
