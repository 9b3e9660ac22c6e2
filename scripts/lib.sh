# Shell helpers shared by scripts/up.sh, ab.sh and bench_delete.sh (sourced, not run;
# POSIX sh). Each script sources it after changing to the repository's root.

# stop PID SIGNAL [SECONDS]: sends the signal, waits up to SECONDS (default 5) for the process to
# end, then SIGKILL; reaps it.
stop() {
    if kill -0 "$1" 2>/dev/null; then
        kill "-$2" "$1" 2>/dev/null || true
        i=0
        while kill -0 "$1" 2>/dev/null && [ "$i" -lt $((${3:-5} * 10)) ]; do
            i=$((i + 1))
            sleep 0.1
        done
        if kill -0 "$1" 2>/dev/null; then kill -KILL "$1" 2>/dev/null || true; fi
    fi
    wait "$1" 2>/dev/null || true
}

# free_port: a loopback TCP port free right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# mint SECRET SUBJECT ROLE: an HS256 token for SUBJECT with one role, valid for two hours.
mint() {
    python3 - "$1" "$2" "$3" <<'PY'
import base64, hashlib, hmac, json, sys, time
secret, sub, role = sys.argv[1:4]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": sub, "roles": [role], "exp": int(time.time()) + 7200}).encode())
sig = b64(hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
print(f"{head}.{body}.{sig}")
PY
}

# send_expect STATUS METHOD URL TOKEN BODY: one JSON request with a bearer token; any other
# answer than STATUS is printed, and the script exits.
send_expect() {
    answer=$(mktemp)
    code=$(curl -s -o "$answer" -w '%{http_code}' -m 10 -X "$2" "$3" \
        -H "authorization: Bearer $4" -H 'content-type: application/json' -d "$5")
    if [ "$code" != "$1" ]; then
        echo "$(basename "$0"): $2 $3 $5 answered $code, expected $1:" >&2
        cat "$answer" >&2
        rm -f "$answer"
        exit 1
    fi
    rm -f "$answer"
}

# start_redis LOG: a throwaway redis-server (nothing saved) on a free loopback port, its output in
# LOG; tries a PING 100 times, 50 ms apart (each PING bounded to 1 s: a port taken meanwhile by
# something that never answers cannot hang it, so at most about 105 s in all). Sets $redis_port and $redis_pid (the caller stops it); a
# server that does not come up is stopped here before the script exits.
start_redis() {
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$1" 2>&1 &
    redis_pid=$!
    _tries=0
    until timeout 1 redis-cli -p "$redis_port" ping >/dev/null 2>&1; do
        _tries=$((_tries + 1))
        if [ "$_tries" -gt 100 ]; then
            echo "$(basename "$0"): redis-server did not start:" >&2
            cat "$1" >&2
            stop "$redis_pid" INT
            exit 1
        fi
        sleep 0.05
    done
}
