#!/usr/bin/env sh
# Deleting a big board beside a big keyspace, measured: `scripts/bench_delete.sh` serves the app
# with scripts/up.sh (Spin when there is a Spin CLI, UP_RUNTIME=edge-host for the project's host)
# against a redis-server of its own, seeds a board of BENCH_DELETE_PLAYERS players (1000000) and a
# small probe board with `edge-seed seed`, fills the keyspace to BENCH_DELETE_KEYS keys (10000000),
# then `edge-seed delete` deletes the big board over HTTP while a probe on its own connection
# reads the probe board's top 10 every millisecond. Prints edge-seed's JSON report: the delete's
# time and status, the keys left under the board's prefix, and the probe's latency before and
# during the delete (docs/benchmarks.md › Deleting a board). Memory: about 2 GB for Redis at the
# defaults. A development tool, not part of scripts/test.sh.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh

players="${BENCH_DELETE_PLAYERS:-1000000}"
keys="${BENCH_DELETE_KEYS:-10000000}"
bin="${CARGO_TARGET_DIR:-target}/host"
# Always (a no-op when up to date): a stale edge-seed would fail only after the seeding.
cargo build --profile host -p edge-load

tmp=$(mktemp -d "${TMPDIR:-/tmp}/edge-lb-delete.XXXXXX")
redis_pid=""
cleanup() {
    status=$?
    trap - INT TERM
    UP_DIR="$tmp/up" scripts/up.sh --stop >/dev/null 2>&1 || true
    if [ -n "$redis_pid" ]; then stop "$redis_pid" INT; fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_redis "$tmp/redis.log"
redis_url="redis://127.0.0.1:$redis_port"
secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
app_port=$(free_port)
app="http://127.0.0.1:$app_port"
REDIS_URL="$redis_url" SPIN_VARIABLE_JWT_HS256_SECRET="$secret" SPIN_VARIABLE_REQUEST_LOG=off \
    SPIN_HTTP_LISTEN_ADDR="127.0.0.1:$app_port" UP_DIR="$tmp/up" scripts/up.sh --background >&2

admin=$(mint "$secret" bench-admin admin)
for board in big probe; do
    send_expect 201 POST "$app/api/v1/boards" "$admin" "{\"id\":\"$board\",\"public_read\":true}"
done
"$bin/edge-seed" seed --redis "$redis_url" --board big --players "$players" >&2
"$bin/edge-seed" seed --redis "$redis_url" --board probe --players 1000 >&2
"$bin/edge-seed" delete --redis "$redis_url" --url "$app" --board big --token "$admin" \
    --probe-board probe --filler "$keys"
