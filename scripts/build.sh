#!/usr/bin/env sh
# Builds every Wasm component (functions/* and the probe guests under tests/guests/*) for
# wasm32-wasip2 in one cargo invocation with the release profile (opt-level 3, LTO, strip).
# The target lives here and in spin.toml, never in .cargo/config.toml (it would break native tests);
# the guests' own linker settings (the stack size) are in .cargo/config.toml under [target.wasm32-wasip2].
#
# `scripts/build.sh p3 [cargo args]` builds the WASIp3 form of the HTTP components instead
# (spin-sdk 6.0, for Spin 4.0.x; the `p3` feature of each) into target/p3/, which spin-p3.toml
# serves, and the benchmark's floors (hello, floors). The worker (functions/projector) and the
# probe guests exist as p2 only.
set -eu
cd "$(dirname "$0")/.."

# The revision /health/detailed reports (only the health component reads it).
EDGE_GIT_REVISION=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
export EDGE_GIT_REVISION

if [ "${1:-}" = "p3" ]; then
    shift
    pkgs=""
    features=""
    for component in $(sed -n 's|^source = "target/p3/wasm32-wasip2/release/\(.*\)\.wasm"|\1|p' spin-p3.toml); do
        pkgs="$pkgs -p $component"
        features="$features${features:+,}$component/p3"
    done
    if [ -z "$pkgs" ]; then
        echo "build: spin-p3.toml names no p3 component (target/p3/…): run scripts/p3_manifest.py" >&2
        exit 1
    fi
    # The benchmark's floors for the p3 build (hello; a KV get, Redis open + GET, a GET on a kept
    # connection).
    for component in hello floors; do
        pkgs="$pkgs -p $component"
        features="$features,$component/p3"
    done
    # A target directory of its own: the same crates with other features would otherwise
    # rebuild each other's artifacts in turn. A new one starts from the p2 build's (when there
    # is one): every crate the two builds compile alike (serde, juniper, prost, chrono, the
    # proc macros, …: 153 of the p3 build's 193) is then fresh, and only the rest is compiled,
    # 289 CPU-seconds in place of 373. A unit's fingerprint names no path of the target
    # directory, and Cargo maps the paths a build script's output recorded (under the directory
    # named in its `root-output`) to the copy's, so it takes the copies as built. The p2
    # components are left out (the p3 build makes its own, under the same names). The copy is
    # made beside, then moved in whole: an interrupted one leaves no half-seeded target/p3 for
    # later builds to trust.
    if [ ! -d target/p3 ] && [ -d target/wasm32-wasip2/release/deps ]; then
        seed="target/p3.seed.$$"
        rm -rf target/p3.seed.*
        mkdir -p "$seed/wasm32-wasip2/release"
        if [ -d target/release ]; then
            cp -a --reflink=auto target/release "$seed/"
        fi
        for part in deps build .fingerprint; do
            if [ -d "target/wasm32-wasip2/release/$part" ]; then
                cp -a --reflink=auto "target/wasm32-wasip2/release/$part" "$seed/wasm32-wasip2/release/"
            fi
        done
        rm -f "$seed"/wasm32-wasip2/release/deps/*.wasm
        mv "$seed" target/p3
    fi
    # shellcheck disable=SC2086
    exec cargo build --target wasm32-wasip2 --release --target-dir target/p3 \
        --no-default-features --features "$features" $pkgs "$@"
fi

pkgs=""
for manifest in functions/*/Cargo.toml tests/guests/*/Cargo.toml; do
    [ -f "$manifest" ] || continue
    name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n 1)
    pkgs="$pkgs -p $name"
done

# shellcheck disable=SC2086
cargo build --target wasm32-wasip2 --release $pkgs "$@"
