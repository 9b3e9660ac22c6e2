#!/usr/bin/env sh
# What the components' code is (docs/benchmarks.md, "Lean components: where the bytes are").
#
# Builds the components twice: as shipped (scripts/build.sh), and as names-kept core modules
# (the same release profile without `strip`, linked without the component wrapper:
# `--skip-wit-component`; RUSTFLAGS replaces .cargo/config.toml's flags, so the stack size is
# repeated; v0 symbol mangling, so generic functions are named with their type arguments) in
# target/sizes/. Then runs twiggy (installed from crates.io into
# target/tools on first use) over the core modules and prints, as Markdown (also written to
# target/sizes/sizes.md): each component's bytes by crate group, the shared base every API
# component carries, each shipped component's one-thread compile time with wasmtime
# (host/examples/compile_time.rs: what a start with an empty compile cache pays), the largest
# functions of one component (SIZES_TOP, default rankings) and its serde code by type.
#
# A tool for the lean-components work, not part of scripts/test.sh. About 3 minutes after the
# first twiggy install on 2 cores.
set -eu
cd "$(dirname "$0")/.."

api="boards scores rankings pipeline flags graphql connect"
# The components of spin.toml (the HTTP API); projector is spin-worker.toml's.
app="$api health tokens"
all="$app projector hello"

twiggy=$(command -v twiggy || true)
if [ -z "$twiggy" ]; then
    twiggy="$(pwd)/target/tools/bin/twiggy"
    if [ ! -x "$twiggy" ]; then
        cargo install twiggy --version 0.8.0 --locked --root target/tools >&2
    fi
fi
PATH="$(dirname "$twiggy"):$PATH"
export PATH

scripts/build.sh >&2
pkgs=""
for c in $all; do pkgs="$pkgs -p $c"; done
# shellcheck disable=SC2086
CARGO_TARGET_DIR=target/sizes CARGO_PROFILE_RELEASE_STRIP=false \
    RUSTFLAGS="-C link-arg=-zstack-size=262144 -C link-arg=--skip-wit-component -C symbol-mangling-version=v0" \
    cargo build --target wasm32-wasip2 --release $pkgs >&2

# The compile times of the shipped components (one thread, best of three).
cargo build --profile host -p edge-host --example compile_time >&2
files=""
for c in $all; do files="$files target/wasm32-wasip2/release/$c.wasm"; done
# shellcheck disable=SC2086
target/host/examples/compile_time $files >target/sizes/compile.jsonl

# shellcheck disable=SC2086
python3 scripts/sizes.py target/wasm32-wasip2/release target/sizes/wasm32-wasip2/release $all \
    --api "$(echo "$api" | tr ' ' ',')" --app "$(echo "$app" | tr ' ' ',')" --compile target/sizes/compile.jsonl --top "${SIZES_TOP:-rankings}" | tee target/sizes/sizes.md
