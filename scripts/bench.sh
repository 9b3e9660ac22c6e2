#!/usr/bin/env sh
# Leaderboard benchmark: every endpoint class against a 1,000,000-player board, next to the
# host's hello-world floor and raw Redis, all measured in this one run and printed as ONE Markdown
# table (also written to bench-results/bench.md and bench-results/bench.json).
#
#  1. builds the guests (scripts/build.sh) and the host, edge-load and edge-seed (--profile host);
#  2. starts its own redis-server on a free loopback port (no persistence), `edge-host` serving the
#     repo's spin.toml (in-memory KV cache) and a second `edge-host` serving the `hello` test guest
#     at `/...` (the framework floor), each on a kernel-chosen loopback port;
#  3. creates boards through the API (admin HS256 token minted here) — `bench` (cached reads,
#     ttl 3600 s), `bench-nocache` (ttl 0: every read goes to Redis), `bench-async`
#     (write_mode async) — and seeds `bench` and `bench-nocache` with BENCH_PLAYERS players
#     straight into Redis (`edge-seed seed`, the layout of shared/edge/src/repo.rs);
#  4. loads each route with `edge-load` (a discarded warm-up, then at most BENCH_REQUESTS
#     requests within BENCH_SECS seconds) at fixed concurrency levels; req/s is also given as a
#     ratio to the hello floor at the same concurrency;
#  5. runs `redis-benchmark` for the raw Redis commands underneath (top-10 ZRANGE, ZADD);
#  6. measures the submit→visible lag of the async board (`edge-seed lag`), and after each async
#     load the time the projector needs to drain the accepted backlog.
#
# Everything stays on 127.0.0.1, is bounded in time and count, and is stopped on exit.
# Knobs: BENCH_PLAYERS (1000000), BENCH_WARMUP_SECS (3), BENCH_SECS (8), BENCH_REQUESTS (100000),
# BENCH_LAG_SAMPLES (50), BENCH_DRAIN_SECS (60, per async row), BENCH_OUT (bench-results),
# BENCH_BUILD_TIMEOUT (3600 s per cargo command).
set -eu
cd "$(dirname "$0")/.."

players="${BENCH_PLAYERS:-1000000}"
warmup="${BENCH_WARMUP_SECS:-3}"
secs="${BENCH_SECS:-8}"
requests="${BENCH_REQUESTS:-100000}"
lag_samples="${BENCH_LAG_SAMPLES:-50}"
drain_secs="${BENCH_DRAIN_SECS:-60}"
out_dir="${BENCH_OUT:-bench-results}"
build_timeout="${BENCH_BUILD_TIMEOUT:-3600}"
target_dir="${CARGO_TARGET_DIR:-target}"
started=$(date +%s)

for tool in redis-server redis-cli redis-benchmark curl python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench: $tool is required (scripts/setup.sh installs redis-server)" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/edge-lb-bench.XXXXXX")
redis_pid=""
app_pid=""
hello_pid=""
native_pid=""
stop() { # stop PID SIGNAL: the signal, up to 5 s to exit, then SIGKILL
    if kill -0 "$1" 2>/dev/null; then
        kill "-$2" "$1" 2>/dev/null || true
        i=0
        while kill -0 "$1" 2>/dev/null && [ "$i" -lt 50 ]; do
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
    if [ -n "$hello_pid" ]; then stop "$hello_pid" INT; fi
    if [ -n "$native_pid" ]; then stop "$native_pid" TERM; fi
    if [ -n "$redis_pid" ]; then stop "$redis_pid" TERM; fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s.%N; }
since() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.3f}")' "$1" "$(now)"; }

# ---------------------------------------------------------------------------------------------
echo "==> building guests, edge-host, edge-native, edge-load and edge-seed (profile host)" >&2
timeout "$build_timeout" scripts/build.sh
timeout "$build_timeout" cargo build --profile host -p edge-host -p edge-load -p edge-native
bin="$target_dir/host"
wasm_dir=$(cd "$target_dir/wasm32-wasip2/release" && pwd)
build_secs=$(($(date +%s) - started))

# ---------------------------------------------------------------------------------------------
port=""
for attempt in 1 2 3; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        >"$tmp/redis.log" 2>&1 &
    redis_pid=$!
    i=0
    until redis-cli -p "$port" ping >/dev/null 2>&1; do
        i=$((i + 1))
        if [ "$i" -gt 100 ] || ! kill -0 "$redis_pid" 2>/dev/null; then break; fi
        sleep 0.05
    done
    if redis-cli -p "$port" ping >/dev/null 2>&1; then break; fi
    stop "$redis_pid" TERM
    redis_pid=""
    if [ "$attempt" = 3 ]; then
        echo "bench: redis-server did not start:" >&2
        cat "$tmp/redis.log" >&2
        exit 1
    fi
done
redis_url="redis://127.0.0.1:$port"
echo "==> redis-server on $redis_url" >&2

secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
printf '[key_value_store.default]\ntype = "memory"\n' >"$tmp/runtime-config.toml"
cat >"$tmp/hello.toml" <<EOF
spin_manifest_version = 2
[application]
name = "hello-floor"

[[trigger.http]]
route = "/..."
component = "hello"

[component.hello]
source = "$wasm_dir/hello.wasm"
EOF

base=""
wait_for_host() { # wait_for_host PID OUT ERR: sets $base from "edge-host: serving ... on URL"
    base=""
    i=0
    while [ -z "$base" ]; do
        i=$((i + 1))
        if [ "$i" -gt 300 ] || ! kill -0 "$1" 2>/dev/null; then
            echo "bench: edge-host did not start:" >&2
            cat "$3" >&2
            exit 1
        fi
        sleep 0.1
        base=$(sed -n 's|^edge-host: serving .* on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$2")
    done
}
wait_for_200() { # wait_for_200 URL
    i=0
    until [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1")" = "200" ]; do
        i=$((i + 1))
        if [ "$i" -gt 100 ]; then echo "bench: $1 does not answer 200" >&2; exit 1; fi
        sleep 0.1
    done
}

SPIN_VARIABLE_REDIS_URL="$redis_url" SPIN_VARIABLE_JWT_HS256_SECRET="$secret" \
    "$bin/edge-host" up --listen 127.0.0.1:0 --manifest spin.toml \
    --runtime-config "$tmp/runtime-config.toml" >"$tmp/app.out" 2>"$tmp/app.err" &
app_pid=$!
wait_for_host "$app_pid" "$tmp/app.out" "$tmp/app.err"
app="$base"
wait_for_200 "$app/health/live"
"$bin/edge-host" up --listen 127.0.0.1:0 --manifest "$tmp/hello.toml" \
    --runtime-config "$tmp/runtime-config.toml" >"$tmp/hello.out" 2>"$tmp/hello.err" &
hello_pid=$!
wait_for_host "$hello_pid" "$tmp/hello.out" "$tmp/hello.err"
hello="$base"
wait_for_200 "$hello/"
# The native baseline: the same handler functions, core and Redis calls behind a plain hyper
# server (tests/native), for the Wasm/native ratio.
SPIN_VARIABLE_REDIS_URL="$redis_url" SPIN_VARIABLE_JWT_HS256_SECRET="$secret" \
    "$bin/edge-native" --manifest spin.toml --listen 127.0.0.1:0 \
    >"$tmp/native.out" 2>"$tmp/native.err" &
native_pid=$!
native=""
i=0
while [ -z "$native" ]; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$native_pid" 2>/dev/null; then
        echo "bench: edge-native did not start:" >&2
        cat "$tmp/native.err" >&2
        exit 1
    fi
    sleep 0.1
    native=$(sed -n 's|^edge-native: serving on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$tmp/native.out")
done
echo "==> edge-host: app on $app, hello floor on $hello; edge-native on $native" >&2

# ---------------------------------------------------------------------------------------------
mint() { # mint SUBJECT ROLE: an HS256 token valid for an hour
    python3 - "$secret" "$1" "$2" <<'EOF'
import base64, hashlib, hmac, json, sys, time
secret, sub, role = sys.argv[1:4]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": sub, "roles": [role], "exp": int(time.time()) + 3600}).encode())
sig = b64(hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
print(f"{head}.{body}.{sig}")
EOF
}
admin_token=$(mint bench-admin admin)
service_token=$(mint bench-service service)

create_board() { # create_board JSON
    code=$(curl -s -o "$tmp/create.out" -w '%{http_code}' -m 10 -X POST "$app/api/v1/boards" \
        -H "authorization: Bearer $admin_token" -H 'content-type: application/json' -d "$1")
    if [ "$code" != 201 ]; then
        echo "bench: creating board $1 answered $code:" >&2
        cat "$tmp/create.out" >&2
        exit 1
    fi
}
create_board '{"id":"bench","public_read":true,"cache":{"ttl_secs":3600,"stale_secs":60}}'
create_board '{"id":"bench-nocache","public_read":true,"cache":{"ttl_secs":0,"stale_secs":0}}'
create_board '{"id":"bench-async","public_read":true,"write_mode":"async","cache":{"ttl_secs":0,"stale_secs":0}}'

echo "==> seeding bench and bench-nocache with $players players each" >&2
t0=$(now)
"$bin/edge-seed" seed --redis "$redis_url" --board bench --board bench-nocache \
    --players "$players" >"$tmp/seed.jsonl"
seed_secs=$(since "$t0")
cat "$tmp/seed.jsonl" >&2
redis_mem=$(redis-cli -p "$port" info memory | sed -n 's/^used_memory_human:\(.*\)\r*$/\1/p' | tr -d '\r')

# Every route answers as expected before it is loaded.
check() { # check URL EXPECTED_STATUS
    code=$(curl -s -o "$tmp/check.out" -w '%{http_code}' -m 10 "$1")
    if [ "$code" != "$2" ]; then
        echo "bench: GET $1 answered $code, expected $2:" >&2
        cat "$tmp/check.out" >&2
        exit 1
    fi
}
check "$app/api/v1/boards/bench/entries?limit=10" 200
check "$app/api/v1/boards/bench-nocache/entries?limit=10" 200
check "$app/api/v1/boards/bench-nocache/players/p0500000" 200
check "$app/api/v1/boards/bench-nocache/players/p0500000/around?radius=5" 200
x_cache=$(curl -s -D - -o /dev/null "$app/api/v1/boards/bench/entries?limit=10" |
    sed -n 's/^x-cache: *\([A-Z]*\).*/\1/Ip')
if [ "$x_cache" != HIT ]; then
    echo "bench: the cached top-10 answered X-Cache: $x_cache, expected HIT" >&2
    exit 1
fi

# ---------------------------------------------------------------------------------------------
: >"$tmp/rows.jsonl"
load() { # load ROW ROUTE CONCURRENCY URL [NOTE [edge-load flags...]]
    row=$1 route=$2 c=$3 url=$4 note=${5:-}
    shift 4
    if [ "$#" -gt 0 ]; then shift; fi
    echo "==> $row, concurrency $c: ${warmup}s warm-up, then <= $requests requests / ${secs}s" >&2
    if ! result=$(timeout $((warmup + secs + 30)) "$bin/edge-load" --url "$url" \
        --concurrency "$c" --requests "$requests" --duration-secs "$secs" \
        --warmup-secs "$warmup" --label "$row" --json "$@" 2>"$tmp/load.err"); then
        echo "bench: edge-load failed:" >&2
        cat "$tmp/load.err" >&2
        exit 1
    fi
    echo "    $result" >&2
    printf '{"row":"%s","route":"%s","kind":"http","note":"%s","result":%s}\n' \
        "$row" "$route" "$note" "$result" >>"$tmp/rows.jsonl"
}
json='content-type: application/json'
auth="authorization: Bearer $service_token"

for c in 1 8 16; do
    load "hello floor" "GET /" "$c" "$hello/"
done
for c in 1 16; do
    load "cached top-10" "GET /api/v1/boards/bench/entries?limit=10" "$c" \
        "$app/api/v1/boards/bench/entries?limit=10" "KV cache hit"
done
for c in 1 16; do
    load "uncached top-10" "GET /api/v1/boards/bench-nocache/entries?limit=10" "$c" \
        "$app/api/v1/boards/bench-nocache/entries?limit=10" "ttl 0: Redis every time"
done
for c in 1 16; do
    load "player rank" "GET /api/v1/boards/bench-nocache/players/p0500000" "$c" \
        "$app/api/v1/boards/bench-nocache/players/p0500000"
done
for c in 1 16; do
    load "around-me" "GET /api/v1/boards/bench-nocache/players/p0500000/around?radius=5" "$c" \
        "$app/api/v1/boards/bench-nocache/players/p0500000/around?radius=5"
done

for c in 1 16; do
    load "native cached top-10" "GET /api/v1/boards/bench/entries?limit=10" "$c" \
        "$native/api/v1/boards/bench/entries?limit=10" "edge-native, in-process KV cache hit"
    load "native uncached top-10" "GET /api/v1/boards/bench-nocache/entries?limit=10" "$c" \
        "$native/api/v1/boards/bench-nocache/entries?limit=10" "edge-native, Redis every time"
done

bench_redis() { # bench_redis ROW NOTE COMMAND...
    row=$1 note=$2
    shift 2
    echo "==> redis-benchmark: $row" >&2
    csv=$(timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -n 100000 -c 16 -r 1000000 --csv "$@")
    echo "    $(echo "$csv" | tail -n 1)" >&2
    echo "$csv" | python3 -c '
import csv, json, sys
row, route, note = sys.argv[1:4]
rows = list(csv.DictReader(sys.stdin))
r = rows[-1]
num = lambda k: float(r[k]) if r.get(k) not in (None, "") else None
result = {"label": row, "concurrency": 16, "requests": 100000, "errors": 0, "non_2xx": 0,
          "req_per_s": num("rps"), "p50_ms": num("p50_latency_ms"), "p99_ms": num("p99_latency_ms"),
          "max_ms": num("max_latency_ms")}
print(json.dumps({"row": row, "route": route, "kind": "redis", "note": note, "result": result}))
' "$row" "$*" "$note" >>"$tmp/rows.jsonl"
}
bench_redis "redis ZRANGE top-10" "redis-benchmark -n 100000 -c 16" \
    ZRANGE 'lb:{default/bench}:z:all' 0 9 WITHSCORES
bench_redis "redis ZADD" "redis-benchmark -n 100000 -c 16, scratch key" \
    ZADD 'bench:scratch' __rand_int__ 'm:__rand_int__'
redis-cli -p "$port" del 'bench:scratch' >/dev/null

for c in 1 8 16; do
    load "submit sync" "POST /api/v1/boards/bench-nocache/scores" "$c" \
        "$app/api/v1/boards/bench-nocache/scores" "a new player per request (s$c-{seq})" \
        --method POST --header "$json" --header "$auth" \
        --body "{\"player\":\"s$c-{seq}\",\"score\":{seq}}"
done
load "native submit sync" "POST /api/v1/boards/bench-nocache/scores" 8 \
    "$native/api/v1/boards/bench-nocache/scores" "edge-native, a new player per request" \
    --method POST --header "$json" --header "$auth" --body '{"player":"n8-{seq}","score":{seq}}'
load "submit sync, one hot player" "POST /api/v1/boards/bench-nocache/scores" 8 \
    "$app/api/v1/boards/bench-nocache/scores" "every request the same player: CAS contention" \
    --method POST --header "$json" --header "$auth" --body '{"player":"hot","score":1}'

echo "==> submit→visible lag on bench-async: $lag_samples samples" >&2
"$bin/edge-seed" lag --url "$app" --board bench-async --token "$service_token" \
    --samples "$lag_samples" --timeout-secs 10 >"$tmp/lag.json"
cat "$tmp/lag.json" >&2

inbox='lb:{default/bench-async}:inbox'
drain() { # drain: waits (bounded) until the projector emptied the inbox; prints "backlog seconds"
    backlog=$(redis-cli -p "$port" xlen "$inbox")
    t0=$(now)
    i=0
    while [ "$(redis-cli -p "$port" xlen "$inbox")" != 0 ]; do
        i=$((i + 1))
        if [ "$i" -gt $((drain_secs * 10)) ]; then
            echo "$backlog timeout"
            return
        fi
        sleep 0.1
    done
    echo "$backlog $(since "$t0")"
}
for c in 1 8 16; do
    load "submit async" "POST /api/v1/boards/bench-async/scores" "$c" \
        "$app/api/v1/boards/bench-async/scores" "" \
        --method POST --header "$json" --header "$auth" \
        --body "{\"player\":\"a$c-{seq}\",\"score\":{seq}}"
    set -- $(drain)
    echo "    projector: backlog $1 after the run, drained in $2 s" >&2
    python3 - "$tmp/rows.jsonl" "$1" "$2" <<'EOF'
import json, sys
path, backlog, secs = sys.argv[1:4]
lines = open(path).read().splitlines()
last = json.loads(lines[-1])
last["drain"] = {"backlog": int(backlog), "seconds": None if secs == "timeout" else float(secs)}
last["note"] = (f"202 queued; backlog {backlog} drained in {secs} s" if secs != "timeout"
                else f"202 queued; backlog {backlog} NOT drained in the time limit")
lines[-1] = json.dumps(last)
open(path, "w").write("\n".join(lines) + "\n")
EOF
done

# ---------------------------------------------------------------------------------------------
total_secs=$(($(date +%s) - started))
mkdir -p "$out_dir"
BENCH_META=$(python3 -c 'import json, sys
k = ["players", "warmup_secs", "secs", "max_requests", "seed_secs", "build_secs", "total_secs"]
m = dict(zip(k, map(float, sys.argv[1:8])))
m.update(redis=sys.argv[8], redis_used_memory=sys.argv[9])
print(json.dumps(m))' "$players" "$warmup" "$secs" "$requests" "$seed_secs" "$build_secs" \
    "$total_secs" "$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')" "$redis_mem")
export BENCH_META
python3 - "$tmp" "$out_dir" <<'EOF'
import json, os, sys

tmp, out = sys.argv[1:3]
read = lambda name: [json.loads(l) for l in open(os.path.join(tmp, name)) if l.strip()]
rows, seed = read("rows.jsonl"), read("seed.jsonl")
lag = read("lag.json")[0]
meta = json.loads(os.environ["BENCH_META"])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), "unknown CPU")
meta.update(nproc=os.cpu_count(), cpu=cpu, kernel=os.uname().release)

def f(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}"

floor = {r["result"]["concurrency"]: r["result"]["req_per_s"]
         for r in rows if r["row"] == "hello floor"}
seeded = ", ".join("{} {:.1f} s".format(s["board"], s["seconds"]) for s in seed)
lines = [
    "Machine: {} cores (`nproc`), {}, Linux {}, redis {}; edge-host, edge-load and "
    "redis-server share these cores.".format(meta["nproc"], cpu, meta["kernel"], meta["redis"]),
    "Boards: {:,} players each, seeded in {:.1f} s ({}); Redis used memory {}. Each HTTP row: "
    "{:g} s warm-up discarded, then at most {:,} requests within {:g} s.".format(
        int(meta["players"]), meta["seed_secs"], seeded, meta["redis_used_memory"],
        meta["warmup_secs"], int(meta["max_requests"]), meta["secs"]),
    "",
    "| row | route | concurrency | req/s | × hello | p50 (ms) | p99 (ms) | notes |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
]
for r in rows:
    s = r["result"]
    c = s["concurrency"]
    ratio = None
    if r["kind"] == "http" and floor.get(c):
        ratio = round(s["req_per_s"] / floor[c], 2)
    r["ratio_to_hello"] = ratio
    notes = [r["note"]] if r["note"] else []
    if s.get("errors"):
        notes.append("errors={}".format(s["errors"]))
    if s.get("non_2xx"):
        notes.append("non-2xx={}".format(s["non_2xx"]))
    lines.append("| {} | `{}` | {} | {} | {} | {} | {} | {} |".format(
        r["row"], r["route"], c, f(s["req_per_s"]), f(ratio, 2), f(s["p50_ms"], 3),
        f(s["p99_ms"], 3), "; ".join(notes)))
lines.append(
    "| async submit→visible lag | `POST …/bench-async/scores`, poll `GET …/players/{{p}}` | 1 "
    "| - | - | {} | {} | {}/{} visible, max {} ms |".format(
        f(lag["p50_ms"], 3), f(lag["p99_ms"], 3), lag["visible"], lag["samples"],
        f(lag["max_ms"], 3)))

def find(name, c):
    return next((r for r in rows if r["row"] == name and r["result"]["concurrency"] == c), None)

targets = []
for c in (1, 16):
    r = find("cached top-10", c)
    if r:
        targets.append({
            "target": "cached top-10 >= 0.7x the hello floor req/s at concurrency {}".format(c),
            "value": r["ratio_to_hello"],
            "met": r["ratio_to_hello"] is not None and r["ratio_to_hello"] >= 0.7})
for c in (1, 16):
    w, n = find("cached top-10", c), find("native cached top-10", c)
    if w and n and w["result"]["req_per_s"]:
        ratio = round(n["result"]["req_per_s"] / w["result"]["req_per_s"], 2)
        targets.append({
            "target": "Wasm/native <= 1.5x for the cached read at concurrency {} "
                      "(native req/s / Wasm req/s)".format(c),
            "value": ratio, "met": ratio <= 1.5})
for wasm_row, native_row, c in (("uncached top-10", "native uncached top-10", 1),
                                ("uncached top-10", "native uncached top-10", 16),
                                ("submit sync", "native submit sync", 8)):
    w, n = find(wasm_row, c), find(native_row, c)
    if w and n and w["result"]["req_per_s"]:
        ratio = round(n["result"]["req_per_s"] / w["result"]["req_per_s"], 2)
        targets.append({"target": "info: Wasm/native for {} at concurrency {}".format(wasm_row, c),
                        "value": ratio, "met": True})
r = find("submit sync", 8)
if r:
    p99 = r["result"]["p99_ms"]
    targets.append({"target": "submit (sync) p99 < 5 ms at concurrency 8", "value": p99,
                    "met": p99 is not None and p99 < 5 and not r["result"]["errors"]
                    and not r["result"]["non_2xx"]})
lines.append("")
for t in targets:
    status = "info" if t["target"].startswith("info:") else ("met" if t["met"] else "MISSED")
    lines.append("- {}: {} (measured {})".format(status, t["target"].replace("info: ", ""),
                                                 t["value"]))
lines.append("- total run time {:.0f} s (builds {:.0f} s)".format(meta["total_secs"],
                                                                 meta["build_secs"]))
md = "\n".join(lines) + "\n"
with open(os.path.join(out, "bench.md"), "w") as fh:
    fh.write(md)
with open(os.path.join(out, "bench.json"), "w") as fh:
    json.dump({"machine": meta, "seed": seed, "rows": rows, "lag": lag, "targets": targets},
              fh, indent=2)
print(md, end="")
EOF
echo "==> written $out_dir/bench.md and $out_dir/bench.json (total ${total_secs}s)" >&2
