#!/usr/bin/env sh
# Benchmarks the host's hello-world floor: the `hello` test guest (every request answers
# `200 hello, world`) served by `edge-host` on loopback and loaded by `edge-load` at concurrency
# 1 and 32 (a discarded warm-up, then at most BENCH_REQUESTS requests within BENCH_SECS seconds),
# printed as a Markdown table; then the criterion figures of `host/benches/host.rs`
# (instantiation on its own, and one in-process request).
#
# Everything is bounded in time and stays on 127.0.0.1; the host is stopped on exit.
# Knobs: BENCH_WARMUP_SECS (3), BENCH_SECS (10), BENCH_REQUESTS (200000),
# BENCH_BUILD_TIMEOUT (3600 s per cargo command).
set -eu
cd "$(dirname "$0")/.."

warmup="${BENCH_WARMUP_SECS:-3}"
secs="${BENCH_SECS:-10}"
requests="${BENCH_REQUESTS:-200000}"
build_timeout="${BENCH_BUILD_TIMEOUT:-3600}"
target_dir="${CARGO_TARGET_DIR:-target}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/edge-bench.XXXXXX")
host_pid=""
stop_host() {
    if [ -n "$host_pid" ] && kill -0 "$host_pid" 2>/dev/null; then
        kill -INT "$host_pid" 2>/dev/null || true
        i=0
        while kill -0 "$host_pid" 2>/dev/null && [ "$i" -lt 50 ]; do
            i=$((i + 1))
            sleep 0.1
        done
        kill -KILL "$host_pid" 2>/dev/null || true
        wait "$host_pid" 2>/dev/null || true
    fi
    host_pid=""
}
cleanup() {
    stop_host
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> building guests and the host (profile host)" >&2
timeout "$build_timeout" scripts/build.sh
timeout "$build_timeout" cargo build --profile host -p edge-host -p edge-load

wasm_dir=$(cd "$target_dir/wasm32-wasip2/release" && pwd)
cat >"$tmp/spin.toml" <<EOF
spin_manifest_version = 2
[application]
name = "hello-bench"

[[trigger.http]]
route = "/..."
component = "hello"

[component.hello]
source = "$wasm_dir/hello.wasm"
EOF
printf '[key_value_store.default]\ntype = "memory"\n' >"$tmp/runtime-config.toml"

# Port 0: the kernel picks a free port, which the host prints ("serving ... on http://ADDR").
"$target_dir/host/edge-host" up --listen 127.0.0.1:0 --manifest "$tmp/spin.toml" \
    --runtime-config "$tmp/runtime-config.toml" >"$tmp/host.out" 2>"$tmp/host.err" &
host_pid=$!

base=""
i=0
while [ -z "$base" ]; do
    i=$((i + 1))
    if [ "$i" -gt 300 ] || ! kill -0 "$host_pid" 2>/dev/null; then
        echo "bench-host: edge-host did not start:" >&2
        cat "$tmp/host.err" >&2
        exit 1
    fi
    sleep 0.1
    base=$(sed -n 's|^edge-host: serving .* on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$tmp/host.out")
done
i=0
until [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$base/")" = "200" ]; do
    i=$((i + 1))
    if [ "$i" -gt 100 ]; then echo "bench-host: $base/ does not answer 200" >&2; exit 1; fi
    sleep 0.1
done
echo "==> edge-host serving hello on $base" >&2

rows=""
for c in 1 32; do
    echo "==> edge-load: concurrency $c, ${warmup}s warm-up, then <= $requests requests / ${secs}s" >&2
    line=$(timeout $((warmup + secs + 30)) "$target_dir/host/edge-load" --url "$base/" \
        --concurrency "$c" --requests "$requests" --duration-secs "$secs" \
        --warmup-secs "$warmup" --label hello)
    echo "$line" >&2
    rows="$rows$(echo "$line" | awk '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "| `GET /` (hello) | %s | %s | %s | %s |", v["concurrency"], v["req/s"], v["p50_ms"], v["p99_ms"]
        if (v["errors"] != 0 || v["non_2xx"] != 0) printf " errors=%s non_2xx=%s", v["errors"], v["non_2xx"]
        printf "\n"
    }')
"
done
stop_host # the criterion run gets the machine to itself

echo "==> cargo bench -p edge-host --bench host" >&2
{
    rc=0
    timeout "$build_timeout" cargo bench -p edge-host --bench host -- \
        --warm-up-time 1 --measurement-time 3 2>&1 || rc=$?
    echo "$rc" >"$tmp/bench.rc"
} | tee "$tmp/criterion.out" >&2
if [ "$(cat "$tmp/bench.rc")" != 0 ]; then
    echo "bench-host: cargo bench failed" >&2
    exit 1
fi

echo
echo "| route | concurrency | req/s | p50 (ms) | p99 (ms) |"
echo "| --- | ---: | ---: | ---: | ---: |"
printf '%s' "$rows"
echo
echo "criterion (low / estimate / high):"
awk '
    /time:/ {
        name = $1
        if (name == "time:") name = prev
        sub(/^.*time: */, "")
        printf "  %-18s %s\n", name, $0
    }
    NF > 0 { prev = $1 }
' "$tmp/criterion.out"
