#!/usr/bin/env sh
# Leaderboard benchmark: every endpoint class against 1,000,000-player boards, on the project's
# host (`edge-host`) and — when a Spin CLI is available (SPIN_BIN, else `spin` on PATH) — on real
# Spin, each next to its own hello-world floor, plus raw Redis and a native baseline, all measured
# in this one run and printed as ONE Markdown table (also bench-results/bench.{md,json}).
#
# This script builds the guests (scripts/build.sh, and scripts/build.sh p3 for spin-p3 on a
# Spin 4.0.x CLI) and, with --profile
# host, edge-host, edge-native and the edge-load crate's tools, then runs `edge-bench` (bench/load/src/bin/edge-bench; its
# rows.rs defines every row once), which:
#  1. starts its own redis-server on a free loopback port, its own Redis Cluster (three primaries
#     and no replicas, as the single Redis has none: redis-cli --cluster create) and, per
#     runtime, the app exactly as shipped
#     (spin.toml, spin-worker.toml, runtime-config.toml: KV on SQLite in a scratch .spin/), two
#     copies with the access log and metrics on, a copy in cluster mode against the cluster (with
#     its own worker and KV store), and a floors app (hello: no I/O; one KV get at /kv; one
#     outbound Redis open + GET at /redis); edge-host in its Spin-faithful mode, Spin with every
#     app variable given as --variable;
#  2. measures the cold start of the app and of hello with an empty compile cache, per runtime;
#  3. creates the boards through the API and seeds the big ones with BENCH_PLAYERS players straight
#     into Redis (edge-seed), and the cluster rows' board on the primary that owns its slot;
#  4. loads each route with edge-load (a discarded warm-up, then at most BENCH_REQUESTS requests
#     within BENCH_SECS seconds) at concurrency 1 and 32 (submits also 8), one server at a time,
#     and gives req/s as a ratio to the same runtime's hello floor and to the floor that bounds the
#     row (a cluster row: the same row on one Redis); the floors and the target rows run in
#     BENCH_ROUNDS rounds, side by side, the order swapped every round, and their ratios are the
#     median of the rounds' paired ratios;
#  5. measures redis-benchmark, the native baseline (edge-native), the async submit→visible and
#     submit→applied lags, the projector's drains, live updates (edge-live), webhooks
#     (edge-hooks) and a league's close (edge-seed league: BENCH_LEAGUE_PLAYERS players in
#     cohorts of 100 seeded into a daily league's previous day, closed by one request and
#     awarded by another; the time of each and Redis memory).
# Everything stays on 127.0.0.1, is bounded in time and count, and is stopped on exit.
#
# Knobs: BENCH_PLAYERS (1000000), BENCH_WARMUP_SECS (2), BENCH_SECS (6), BENCH_REQUESTS (100000),
# BENCH_ROUNDS (3), BENCH_LAG_SAMPLES (50), BENCH_DRAIN_SECS (60, per async row),
# BENCH_DRAIN_ENTRIES (50000: the projector throughput backlog), BENCH_LIVE_CLIENTS
# ("100 400 800"), BENCH_LIVE_MAX_STREAMS (900), BENCH_HOOKS (2000), BENCH_LEAGUE_PLAYERS
# (100000), BENCH_OUT (bench-results),
# BENCH_RUNTIMES ("spin spin-p3 edge-host": which to measure, in order; spin-p3 is Spin with the
# WASIp3 build, spin-p3.toml, whose Redis rows are bounded by a GET on a kept connection), BENCH_PAUSE_SECS (60: between
# runtimes, so the TIME_WAIT sockets of one runtime's per-request Redis connections are gone),
# BENCH_REQUEST_LOG and BENCH_METRICS (off: the endpoint rows' access log and metrics),
# BENCH_BUILD_TIMEOUT (3600 s per cargo command), SPIN_BIN.
set -eu
cd "$(dirname "$0")/.."

started=$(date +%s)
for tool in redis-server redis-cli redis-benchmark curl python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench: $tool is required (scripts/setup.sh installs redis-server)" >&2
        exit 1
    fi
done
build_timeout="${BENCH_BUILD_TIMEOUT:-3600}"

echo "==> building guests, edge-host, edge-native, edge-load, edge-seed and edge-bench (profile host)" >&2
timeout "$build_timeout" scripts/build.sh
# The p3 build, when the spin-p3 runtime is to be measured and can be: a Spin 4.0.x CLI (edge-bench
# drops spin-p3 otherwise, with a line saying why).
spin="${SPIN_BIN:-$(command -v spin || true)}"
case " ${BENCH_RUNTIMES:-spin spin-p3 edge-host} " in
*" spin-p3 "*)
    if [ -n "$spin" ] && "$spin" --version | grep -q '^spin 4\.0\.'; then
        timeout "$build_timeout" scripts/build.sh p3
    fi
    ;;
esac
timeout "$build_timeout" cargo build --profile host -p edge-host -p edge-load -p edge-native
exec "${CARGO_TARGET_DIR:-target}/host/edge-bench" --started "$started" \
    --build-secs "$(($(date +%s) - started))"
