#!/usr/bin/env sh
# A paired A/B of two builds of the components on real Spin: `scripts/ab.sh A_DIR B_DIR`, each a
# folder of `.wasm` files (e.g. a copy of target/wasm32-wasip2/release from each build). A folder
# that holds a `spin.toml` is served by that manifest (the one of the revision it was built
# from, whose triggers may differ), any other by the repository's.
#
# The two apps are served side by side by the same Spin CLI, each from its manifest (above) and
# the repository's runtime config (each with its own KV store), against one redis-server with boards seeded by
# `edge-seed`, and started as scripts/up.sh starts them (every app variable given with
# --variable). Each route is then loaded on A and on B in turn with `edge-load`: a discarded
# warm-up, AB_SECS seconds, AB_ROUNDS rounds, the order swapped every round so neither build
# always goes first. It prints one Markdown row per route and concurrency: each round's req/s,
# A / B, and the change of B's total over A's. Differences of a few per cent are noise on a busy
# machine: run more rounds before believing them.
#
# Routes (the benchmark's endpoint rows): the cached top-10 (KV hit), the uncached top-10 and a
# player's rank (a board with cache ttl 0: Redis every time), and a sync submit with an HS256
# token (a new player per request). Rate limits are set to a policy that applies to no board,
# the access log and metrics are off: the rows measure the endpoints.
#
# Knobs: AB_SECS (3), AB_WARMUP_SECS (1), AB_ROUNDS (2), AB_CONCURRENCY ("1 32"), AB_PLAYERS
# (100001), SPIN_BIN (else `spin` on PATH). It builds edge-load and edge-seed (profile host)
# when they are missing. A development tool, not part of scripts/test.sh.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib.sh

if [ "$#" -ne 2 ] || [ ! -d "$1" ] || [ ! -d "$2" ]; then
    echo "usage: scripts/ab.sh A_DIR B_DIR (two folders of built .wasm components)" >&2
    exit 2
fi
dir_a=$(cd "$1" && pwd)
dir_b=$(cd "$2" && pwd)
secs="${AB_SECS:-3}"
warmup="${AB_WARMUP_SECS:-1}"
rounds="${AB_ROUNDS:-2}"
concurrency="${AB_CONCURRENCY:-1 32}"
players="${AB_PLAYERS:-100001}"
spin="${SPIN_BIN:-$(command -v spin || true)}"
if [ -z "$spin" ] || [ ! -x "$spin" ]; then
    echo "ab: no Spin CLI (SPIN_BIN or spin on PATH)" >&2
    exit 1
fi
spin=$(cd "$(dirname "$spin")" && pwd)/$(basename "$spin")
for tool in redis-server redis-cli curl python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "ab: $tool is required (scripts/setup.sh installs redis-server)" >&2
        exit 1
    fi
done
for c in hello floors health boards scores rankings pipeline flags tokens graphql connect; do
    for d in "$dir_a" "$dir_b"; do
        if [ ! -f "$d/$c.wasm" ]; then
            echo "ab: $d has no $c.wasm" >&2
            exit 1
        fi
    done
done
bin="${CARGO_TARGET_DIR:-target}/host"
if [ ! -x "$bin/edge-load" ] || [ ! -x "$bin/edge-seed" ]; then
    cargo build --profile host -p edge-load
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/edge-lb-ab.XXXXXX")
pids=""
cleanup() {
    status=$?
    trap - INT TERM
    for p in $pids; do stop "$p" INT; done
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_redis "$tmp/redis.log"
pids="$redis_pid"
redis_url="redis://127.0.0.1:$redis_port"
secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export SPIN_VARIABLE_REDIS_URL="$redis_url" SPIN_VARIABLE_REDIS_HOSTS="$redis_url"
export SPIN_VARIABLE_JWT_HS256_SECRET="$secret"
export SPIN_VARIABLE_REQUEST_LOG=off SPIN_VARIABLE_METRICS=off
export SPIN_VARIABLE_RATE_LIMITS='[{"name":"ab-none","key":"ip","classes":["read"],"boards":["ab-no-such-board"],"limit":1000000000,"window_secs":1,"store":"redis"}]'

url=""
serve() { # serve NAME WASM_DIR: the app from WASM_DIR on a free port; sets $url
    d="$tmp/$1"
    mkdir -p "$d"
    # A build of another revision brings the manifest it was built for (its triggers may differ).
    manifest=spin.toml
    if [ -f "$2/spin.toml" ]; then manifest="$2/spin.toml"; fi
    sed "s|target/wasm32-wasip2/release|$2|" "$manifest" >"$d/spin.toml"
    cp runtime-config.toml "$d/runtime-config.toml"
    (cd "$d" && python3 "$root/scripts/spin_variables.py" spin.toml vars.json runtime-config.toml)
    p=$(free_port)
    (cd "$d" && exec "$spin" up --from spin.toml --runtime-config-file runtime-config.toml \
        --variable @vars.json --listen "127.0.0.1:$p") >"$d/spin.log" 2>&1 &
    pids="$! $pids"
    i=0
    until curl -s -o /dev/null -m 2 "http://127.0.0.1:$p/health/live"; do
        i=$((i + 1))
        if [ "$i" -gt 1200 ]; then echo "ab: $1 did not come up:" >&2; cat "$d/spin.log" >&2; exit 1; fi
        sleep 0.1
    done
    url="http://127.0.0.1:$p"
}
serve a "$dir_a"
app_a=$url
serve b "$dir_b"
app_b=$url
echo "==> A ($dir_a) on $app_a, B ($dir_b) on $app_b, Redis on $redis_url" >&2

admin=$(mint "$secret" ab-admin admin)
service=$(mint "$secret" ab-service service)
for board in '{"id":"ab","public_read":true,"cache":{"ttl_secs":3600,"stale_secs":60}}' \
    '{"id":"ab-nocache","public_read":true,"cache":{"ttl_secs":0,"stale_secs":0}}'; do
    send_expect 201 POST "$app_a/api/v1/boards" "$admin" "$board"
done
"$bin/edge-seed" seed --redis "$redis_url" --board ab --board ab-nocache --players "$players" >&2
# A player in the middle of the board (edge-seed names them p0000000, p0000001, …).
player=$(printf 'p%07d' $((players / 2)))
for app in "$app_a" "$app_b"; do
    for path in /api/v1/boards/ab/entries?limit=10 /api/v1/boards/ab-nocache/entries?limit=10 \
        "/api/v1/boards/ab-nocache/players/$player"; do
        code=$(curl -s -o "$tmp/check.out" -w '%{http_code}' -m 10 "$app$path")
        if [ "$code" != 200 ]; then
            echo "ab: GET $app$path answered $code:" >&2
            cat "$tmp/check.out" >&2
            exit 1
        fi
    done
done

: >"$tmp/rows.jsonl"
load() { # load BUILD ROUND C ROUTE URL [edge-load flags...]: one measurement, appended as JSON
    build=$1 round=$2 c=$3 route=$4 url=$5
    shift 5
    if ! result=$(timeout $((warmup + secs + 30)) "$bin/edge-load" --url "$url" --concurrency "$c" \
        --requests 10000000 --duration-secs "$secs" --warmup-secs "$warmup" --json "$@" 2>"$tmp/load.err"); then
        echo "ab: edge-load failed:" >&2
        cat "$tmp/load.err" >&2
        exit 1
    fi
    printf '{"build":"%s","round":%s,"c":%s,"route":"%s","result":%s}\n' \
        "$build" "$round" "$c" "$route" "$result" >>"$tmp/rows.jsonl"
    echo "    $route, c=$c, round $round, $build: $result" >&2
}
row() { # row BUILD ROUND C: every route once on BUILD
    case "$1" in a) app=$app_a ;; *) app=$app_b ;; esac
    load "$1" "$2" "$3" "cached top-10" "$app/api/v1/boards/ab/entries?limit=10"
    load "$1" "$2" "$3" "uncached top-10" "$app/api/v1/boards/ab-nocache/entries?limit=10"
    load "$1" "$2" "$3" "player rank" "$app/api/v1/boards/ab-nocache/players/$player"
    load "$1" "$2" "$3" "sync submit" "$app/api/v1/boards/ab-nocache/scores" --method POST \
        --header 'content-type: application/json' --header "authorization: Bearer $service" \
        --body "{\"player\":\"ab-$1-$2-$3-{seq}\",\"score\":{seq}}"
}
r=1
while [ "$r" -le "$rounds" ]; do
    for c in $concurrency; do
        if [ $((r % 2)) = 1 ]; then
            row a "$r" "$c"
            row b "$r" "$c"
        else
            row b "$r" "$c"
            row a "$r" "$c"
        fi
    done
    r=$((r + 1))
done

python3 - "$tmp/rows.jsonl" "$rounds" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
rounds = int(sys.argv[2])
def fmt(x): return f"{x:,.0f}"
keys = []
for r in rows:
    k = (r["route"], r["c"])
    if k not in keys:
        keys.append(k)
print("| route | c | " + " | ".join(f"round {i} A / B" for i in range(1, rounds + 1)) + " | change |")
print("| --- | ---: | " + " | ".join("---" for _ in range(rounds)) + " | ---: |")
for route, c in keys:
    cells, total = [], {"a": 0.0, "b": 0.0}
    bad = False
    for i in range(1, rounds + 1):
        got = {}
        for r in rows:
            if (r["route"], r["c"], r["round"]) == (route, c, i):
                res = r["result"]
                got[r["build"]] = res["req_per_s"]
                bad = bad or res.get("errors", 0) > 0 or res.get("non_2xx", 0) > 0
        cells.append(f"{fmt(got['a'])} / {fmt(got['b'])}")
        total["a"] += got["a"]
        total["b"] += got["b"]
    change = (total["b"] / total["a"] - 1) * 100 if total["a"] else 0.0
    note = " (errors or non-2xx answers)" if bad else ""
    print(f"| {route} | {c} | " + " | ".join(cells) + f" | {change:+.0f} %{note} |")
EOF
