#!/usr/bin/env sh
# Serves the app. Uses the real `spin up` when Spin is installed, else the project's own host
# (tests/host, `edge-host up`). When REDIS_URL is unset it starts a throwaway redis-server on a
# free port and stops it on exit. Extra arguments go to `spin up` / `edge-host up`
# (e.g. --listen 127.0.0.1:3000).
set -eu
cd "$(dirname "$0")/.."

# The app runs in the background and the script waits for it, so a SIGINT/SIGTERM sent to the
# script alone (not only Ctrl-C, which reaches the whole process group) stops it: the trap exits,
# and the EXIT trap stops the app (SIGINT: graceful, SIGKILL after 10 s) and then Redis.
redis_pid=""
app_pid=""
stop() { # stop PID SIGNAL
    if kill -0 "$1" 2>/dev/null; then
        kill "-$2" "$1" 2>/dev/null || true
        i=0
        while kill -0 "$1" 2>/dev/null && [ "$i" -lt 100 ]; do
            i=$((i + 1))
            sleep 0.1
        done
        kill -KILL "$1" 2>/dev/null || true
    fi
    wait "$1" 2>/dev/null || true
}
cleanup() {
    status=$?
    trap - INT TERM
    if [ -n "$app_pid" ]; then stop "$app_pid" INT; fi
    if [ -n "$redis_pid" ]; then stop "$redis_pid" TERM; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${REDIS_URL:-}" ]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 6390)
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
    redis_pid=$!
    REDIS_URL="redis://127.0.0.1:$port"
    i=0
    until redis-cli -p "$port" ping >/dev/null 2>&1; do
        i=$((i + 1))
        if [ "$i" -gt 100 ]; then echo "up: redis-server did not start" >&2; exit 1; fi
        sleep 0.05
    done
    echo "up: started throwaway redis-server at $REDIS_URL"
fi
export REDIS_URL
export SPIN_VARIABLE_REDIS_URL="${SPIN_VARIABLE_REDIS_URL:-$REDIS_URL}"

if command -v spin >/dev/null 2>&1; then
    spin build
    spin up --runtime-config-file runtime-config.toml "$@" &
    app_pid=$!
else
    scripts/build.sh
    cargo build --profile host -p edge-host
    target_dir="${CARGO_TARGET_DIR:-target}"
    "$target_dir/host/edge-host" up --manifest spin.toml --runtime-config runtime-config.toml "$@" &
    app_pid=$!
fi
# `wait` returns early when a trapped signal arrives; otherwise the app's own exit status ends
# the script (set -e), and the EXIT trap stops Redis.
wait "$app_pid"
