#!/usr/bin/env sh
# Idempotent machine set-up for building and testing edge leaderboards.
# Installs: the wasm32-wasip2 Rust target, rustfmt/clippy, cargo-audit (pinned), Debian's
# redis-server (tests start their own instance on a free port; nothing is started here), Debian's
# Chromium (the dashboard test opens the page in it headless), the Python format checkers and the
# Node.js reference implementations.
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

if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
fi

# The push tier (deploy/push/nchan.conf, scripts/push.sh): nginx with nchan, from Debian. The
# package would start a system nginx on port 80: a `policy-rc.d` that refuses every service start
# is put in place for the install (unless the machine has its own), then removed.
if [ ! -x /usr/sbin/nginx ] || [ ! -f /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        own_policy=1
        # Removed however the install ends (an interrupt included).
        trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod 755 /usr/sbin/policy-rc.d
    fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends \
        nginx-light libnginx-mod-nchan
    if [ -n "$own_policy" ]; then
        $SUDO rm -f /usr/sbin/policy-rc.d
        trap - EXIT INT TERM
    fi
    # Nor at the next boot, where systemd runs: the tier is started by scripts/push.sh.
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        $SUDO systemctl disable nginx
    fi
fi

# Python tools for the suite's format checks (the Prometheus client's text parser, the OpenAPI
# validators), pinned in scripts/requirements-tools.txt, in a venv under target/ (from PyPI).
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTOOLS="$ROOT/target/pytools"
REQ="$ROOT/scripts/requirements-tools.txt"
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends python3 python3-venv
fi
if [ ! -x "$PYTOOLS/bin/python" ] || ! cmp -s "$REQ" "$PYTOOLS/requirements.txt"; then
    rm -rf "$PYTOOLS"
    python3 -m venv "$PYTOOLS"
    "$PYTOOLS/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
    cp "$REQ" "$PYTOOLS/requirements.txt"
fi

# cargo-audit, pinned, for the security scan at the end of scripts/test.sh (the workspace's
# Cargo.lock against the RustSec advisory database beside the repository, offline). Built once
# from crates.io, without binary scanning (the scan does not use it) and without optimisation
# (it builds in half the time and still scans in a second); an installed one of the same version
# is reused. With SETUP_BUILD_IN_BACKGROUND=1 (.ci/run sets it) the build runs at the lowest
# priority in the background, in the CPU time the tests leave idle, and scripts/test.sh waits for
# it before the scan (its log and exit status in target/setup/).
AUDIT_VERSION=0.22.2
SETUP_DIR="$ROOT/target/setup"
mkdir -p "$SETUP_DIR"
# A log is what scripts/test.sh waits on: only a build started here has one.
rm -f "$SETUP_DIR/cargo-audit.log" "$SETUP_DIR/cargo-audit.status"
if ! cargo audit --version 2>/dev/null | grep -q " $AUDIT_VERSION\$"; then
    if [ "${SETUP_BUILD_IN_BACKGROUND:-}" = "1" ]; then
        # The status is written however the build ends (`set -e` would end the subshell first).
        (
            if CARGO_PROFILE_DEV_DEBUG=0 nice -n 19 cargo install cargo-audit \
                --version "$AUDIT_VERSION" --locked --no-default-features --debug \
                >"$SETUP_DIR/cargo-audit.log" 2>&1; then
                echo 0 >"$SETUP_DIR/cargo-audit.status"
            else
                echo 1 >"$SETUP_DIR/cargo-audit.status"
            fi
        ) &
        echo "setup: building cargo-audit $AUDIT_VERSION in the background (target/setup/cargo-audit.log)"
    else
        CARGO_PROFILE_DEV_DEBUG=0 cargo install cargo-audit --version "$AUDIT_VERSION" --locked \
            --no-default-features --debug
    fi
fi

# Node.js reference implementations for the differential tests (flagd's JavaScript evaluator,
# @openfeature/flagd-core, for our JsonLogic), pinned by scripts/node-tools/package-lock.json, in
# target/nodetools (from the npm registry).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends nodejs npm
fi
NODETOOLS="$ROOT/target/nodetools"
LOCK="$ROOT/scripts/node-tools/package-lock.json"
if [ ! -d "$NODETOOLS/node_modules" ] || ! cmp -s "$LOCK" "$NODETOOLS/package-lock.json"; then
    rm -rf "$NODETOOLS"
    mkdir -p "$NODETOOLS"
    cp "$ROOT/scripts/node-tools/package.json" "$LOCK" "$NODETOOLS/"
    (cd "$NODETOOLS" && npm ci --no-audit --no-fund --loglevel=error)
fi
# `buf` (for `buf curl`, the README's Connect example) as target/bin/buf: npm installs only the
# platform package's binary, with no wrapper on a PATH.
case "$(uname -m)" in aarch64 | arm64) BUF_ARCH=aarch64 ;; *) BUF_ARCH=x64 ;; esac
mkdir -p "$ROOT/target/bin"
ln -sf "$NODETOOLS/node_modules/@bufbuild/buf-linux-$BUF_ARCH/bin/buf" "$ROOT/target/bin/buf"
"$ROOT/target/bin/buf" --version >/dev/null

echo "setup: ok ($(rustc --version); $(redis-server --version | cut -d' ' -f1-3); $("$PYTOOLS/bin/python" --version); node $(node --version); $(chromium --version); $(/usr/sbin/nginx -v 2>&1 | cut -d' ' -f3) with nchan)"
