#!/usr/bin/env sh
# The project's test command: format, lints, the Wasm build, then every native, property and
# integration test (integration tests run the built .wasm on the local host against a real
# redis-server that each test starts on a free port). When a Spin CLI is available (SPIN_BIN, else
# `spin` on PATH), the HTTP-level suites and the runtime-parity tests run again on real Spin.
set -eu
cd "$(dirname "$0")/.."

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "==> wasm build (wasm32-wasip2, release)"
scripts/build.sh

echo "==> cargo test (edge-host)"
cargo test --workspace

spin="${SPIN_BIN:-$(command -v spin || true)}"
if [ -n "$spin" ] && [ -x "$spin" ]; then
    echo "==> HTTP-level and parity tests on real Spin ($("$spin" --version))"
    # The same test binary, already built: only the runtime changes.
    EDGE_TEST_RUNTIME=spin SPIN_BIN="$spin" \
        cargo test -p edge-host --test all -- api_ app_ host_kv host_redis parity
else
    echo "==> skipped: the HTTP-level tests on real Spin (no Spin CLI: set SPIN_BIN or put spin on PATH)"
fi
