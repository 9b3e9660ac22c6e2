#!/usr/bin/env sh
# Idempotent machine set-up for building and testing edge leaderboards.
# Installs: the wasm32-wasip2 Rust target, rustfmt/clippy, and Debian's redis-server (tests start
# their own instance on a free port; nothing is started here).
set -eu

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found; install Rust via rustup first" >&2
    exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi
for comp in rustfmt clippy; do
    if ! rustup component list --installed | grep -q "^$comp"; then
        rustup component add "$comp"
    fi
done

if ! command -v redis-server >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends redis-server
fi

echo "setup: ok ($(rustc --version); $(redis-server --version | cut -d' ' -f1-3))"
