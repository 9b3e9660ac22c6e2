#!/usr/bin/env sh
# Serves the app: the HTTP API (spin.toml) and, beside it, the Redis-triggered worker
# (spin-worker.toml), both with the same runtime config (the same KV store). Uses the real Spin CLI
# when there is one (SPIN_BIN, else `spin` on PATH), else the project's own host (host/,
# `edge-host up`). When REDIS_URL is unset it starts a throwaway redis-server on a free port and
# stops it on exit. Extra arguments go to the HTTP app's `spin up` / `edge-host up`
# (e.g. --listen 127.0.0.1:3000).
#
# The worker is supervised: Spin ends an app whose Redis trigger loses its connection (a Redis
# restart or failover), so the worker is started again whenever it exits, while the HTTP API keeps
# serving.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh

# The apps run in the background and the script waits for the HTTP app, so a SIGINT/SIGTERM sent
# to the script alone (not only Ctrl-C, which reaches the whole process group) stops everything:
# the trap exits, and the EXIT trap stops the worker's supervisor, the HTTP app (SIGINT: graceful,
# SIGKILL after 10 s) and then Redis.
redis_pid=""
app_pid=""
worker_pid=""
vars_dir=""
cleanup() {
    status=$?
    trap - INT TERM
    if [ -n "$worker_pid" ]; then stop "$worker_pid" TERM 10; fi
    if [ -n "$app_pid" ]; then stop "$app_pid" INT 10; fi
    if [ -n "$redis_pid" ]; then stop "$redis_pid" TERM 10; fi
    if [ -n "$vars_dir" ]; then rm -rf "$vars_dir"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# supervise CMD...: runs CMD, starting it again (after 1 s) whenever it exits; on TERM/INT stops it.
supervise() {
    child=""
    trap 'if [ -n "$child" ]; then kill -INT "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi; exit 0' INT TERM
    while :; do
        "$@" &
        child=$!
        wait "$child" && code=0 || code=$?
        echo "up: worker exited (status $code); starting it again in 1 s" >&2
        sleep 1
    done
}

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

# The runtime config: RUNTIME_CONFIG if given, else the shipped one (KV on SQLite in .spin/).
runtime_config="${RUNTIME_CONFIG:-runtime-config.toml}"

spin="${SPIN_BIN:-$(command -v spin || true)}"
# One workspace build of every component (faster than `spin build`, which builds the shared
# crates once per component).
scripts/build.sh
if [ -n "$spin" ]; then
    echo "up: serving with $("$spin" --version)"
    # Every app variable resolved once (SPIN_VARIABLE_<NAME>, else the manifest's default) and
    # given with --variable: Spin then never looks them up in the environment, which on 4.0.2
    # costs a block_in_place per lookup (scripts/spin_variables.py). Without python3, with a
    # .env file or with a runtime config that names variable providers, Spin reads them as usual.
    vars_dir=$(mktemp -d)
    app_vars="" worker_vars=""
    if python3 scripts/spin_variables.py spin.toml "$vars_dir/app.json" "$runtime_config"; then
        app_vars="--variable @$vars_dir/app.json"
    fi
    if python3 scripts/spin_variables.py spin-worker.toml "$vars_dir/worker.json" "$runtime_config"; then
        worker_vars="--variable @$vars_dir/worker.json"
    fi
    # shellcheck disable=SC2086
    supervise "$spin" up --from spin-worker.toml --runtime-config-file "$runtime_config" $worker_vars &
    worker_pid=$!
    # shellcheck disable=SC2086
    "$spin" up --from spin.toml --runtime-config-file "$runtime_config" $app_vars "$@" &
    app_pid=$!
else
    echo "up: no Spin CLI (SPIN_BIN or spin on PATH): serving with edge-host"
    cargo build --profile host -p edge-host
    host="${CARGO_TARGET_DIR:-target}/host/edge-host"
    supervise "$host" up --manifest spin-worker.toml --runtime-config "$runtime_config" \
        --listen 127.0.0.1:0 &
    worker_pid=$!
    "$host" up --manifest spin.toml --runtime-config "$runtime_config" "$@" &
    app_pid=$!
fi
# `wait` returns early when a trapped signal arrives; otherwise the app's own exit status ends
# the script (set -e), and the EXIT trap stops the worker and Redis.
wait "$app_pid"
