#!/usr/bin/env sh
# Builds every Wasm component (functions/* and the probe guests under tests/guests/*) for
# wasm32-wasip2 in one cargo invocation with the release profile (opt-level 3, LTO, strip).
# The target lives here and in spin.toml, never in .cargo/config.toml (it would break native tests);
# the guests' own linker settings (the stack size) are in .cargo/config.toml under [target.wasm32-wasip2].
set -eu
cd "$(dirname "$0")/.."

pkgs=""
for manifest in functions/*/Cargo.toml tests/guests/*/Cargo.toml; do
    [ -f "$manifest" ] || continue
    name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n 1)
    pkgs="$pkgs -p $name"
done

# The revision /health/detailed reports (only the health component reads it).
EDGE_GIT_REVISION=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
export EDGE_GIT_REVISION

# shellcheck disable=SC2086
cargo build --target wasm32-wasip2 --release $pkgs "$@"
