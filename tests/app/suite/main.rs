//! The app suite: the whole app (`spin.toml`, `spin-worker.toml`, the built components) over HTTP
//! against a real `redis-server` that each test starts on a free port, on edge-host in-process or,
//! with `EDGE_TEST_RUNTIME=spin SPIN_BIN=…`, on real Spin (what `scripts/test.sh` does when a Spin
//! CLI is available). `parity` compares the two runtimes' stored formats and behaviour directly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod api_async;
mod api_boards;
mod api_breaker;
mod api_cache_auth;
mod api_cluster;
mod api_cohort_placement;
mod api_cohorts;
mod api_competitions;
mod api_connect;
mod api_deep;
mod api_encoding;
mod api_experiments;
mod api_fault;
mod api_flags;
mod api_graphql;
mod api_graphql_live;
mod api_host_calls;
mod api_integrity;
mod api_isolation;
mod api_keys;
mod api_league_close;
mod api_leagues;
mod api_live;
mod api_log;
mod api_metrics;
mod api_outage;
mod api_period_rewards;
mod api_pipeline;
mod api_ratelimit;
mod api_recovery;
mod api_regions;
mod api_rewards;
mod api_scores;
mod api_stall;
mod api_stats;
mod api_tenants;
mod api_tournament_attempts;
mod api_tournament_doors;
mod api_tournament_runs;
mod api_tournament_window;
mod api_webhooks;
mod app_health;
mod browser;
mod parity;
mod push_tier;
mod receiver;
mod schedule;
mod scripts;
mod up_script;
