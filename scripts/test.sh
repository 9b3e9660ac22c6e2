#!/usr/bin/env sh
# The project's test command: format, lints, the Wasm build, then every native, property and
# integration test (integration tests run the built .wasm on the local host against a real
# redis-server that each test starts on a free port). When a Spin CLI is available (SPIN_BIN, else
# `spin` on PATH), the HTTP-level suites and the runtime-parity tests run again on real Spin.
set -eu
cd "$(dirname "$0")/.."

py=target/pytools/bin/python
if [ ! -x "$py" ]; then
    echo "test: $py is missing: run scripts/setup.sh" >&2
    exit 1
fi
spin="${SPIN_BIN:-$(command -v spin || true)}"
# A Spin CLI asked for and missing fails the run (CI sets EDGE_REQUIRE_SPIN=1): a skipped Spin
# suite must never pass for a tested one.
if [ -n "${SPIN_BIN:-}" ] && [ ! -x "$SPIN_BIN" ]; then
    echo "test: SPIN_BIN=$SPIN_BIN is not an executable file" >&2
    exit 1
fi
if [ "${EDGE_REQUIRE_SPIN:-}" = "1" ] && [ -z "$spin" ]; then
    echo "test: EDGE_REQUIRE_SPIN=1 but no Spin CLI (set SPIN_BIN or put spin on PATH)" >&2
    exit 1
fi

echo "==> OpenAPI: api/openapi.json is valid 3.1 and covers spin.toml's routes and every error status"
"$py" scripts/openapi_check.py spec

echo "==> shared/leaderboard, shared/edge, host: imports go only down each crate's layers, never round a circle"
"$py" scripts/layers.py --quiet

echo "==> docs: every relative link and anchor in the Markdown files resolves"
"$py" scripts/check_links.py
echo "==> README: one page (at most 250 lines; details belong in docs/)"
"$py" scripts/readme_check.py length

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "==> wasm build (wasm32-wasip2, release)"
scripts/build.sh

# What the suites record for the format checks at the end: every API response (validated against
# the OpenAPI document) and the /metrics scrapes (parsed by the Prometheus client's parser).
records="$(pwd)/target/test-records"
rm -rf "$records"
mkdir -p "$records/metrics"
export EDGE_METRICS_DUMP="$records/metrics"

echo "==> cargo test (edge-host)"
EDGE_RECORD_RESPONSES="$records/responses-edge-host.jsonl" cargo test --workspace

if [ -n "$spin" ]; then
    echo "==> the app suite and the runtime tests on real Spin ($("$spin" --version))"
    # The same test binaries, already built (`--workspace` keeps the workspace's feature set, so
    # nothing is rebuilt): only the runtime changes.
    EDGE_TEST_RUNTIME=spin SPIN_BIN="$spin" EDGE_RECORD_RESPONSES="$records/responses-spin.jsonl" \
        cargo test --workspace --test app
    EDGE_TEST_RUNTIME=spin SPIN_BIN="$spin" cargo test --workspace --test host -- host_kv host_redis
else
    echo "==> skipped: the HTTP-level tests on real Spin (no Spin CLI: set SPIN_BIN or put spin on PATH)"
fi

echo "==> README: the walk-through as pasted (scripts/up.sh --background) on edge-host"
"$py" scripts/readme_check.py edge-host
if [ -n "$spin" ]; then
    echo "==> README: the same on real Spin"
    SPIN_BIN="$spin" "$py" scripts/readme_check.py spin
fi

echo "==> Schemathesis and every documented limit: the served OpenAPI document against the app on edge-host (seeded, bounded)"
"$py" scripts/api_fuzz.py edge-host
if [ -n "$spin" ]; then
    echo "==> Schemathesis: the same on real Spin"
    SPIN_BIN="$spin" "$py" scripts/api_fuzz.py spin
fi

echo "==> /metrics scrapes with the Prometheus text parser"
"$py" scripts/check_metrics.py "$records"/metrics/*.prom
echo "==> OpenAPI: every API response the suites recorded validates against the document"
"$py" scripts/openapi_check.py responses "$records"/responses-*.jsonl
