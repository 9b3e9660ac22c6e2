#!/usr/bin/env sh
# The project's test command: format, lints, the Wasm build, then every native, property and
# integration test (integration tests run the built .wasm on the local host against a real
# redis-server that each test starts on a free port).
set -eu
cd "$(dirname "$0")/.."

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "==> wasm build (wasm32-wasip2, release)"
scripts/build.sh

echo "==> cargo test"
cargo test --workspace
