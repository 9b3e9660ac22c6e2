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
#
# To keep the terminal: `scripts/up.sh --background [ARGS]` starts (or, when one is running,
# restarts) the same in the background with its output in $UP_DIR/up.log, waits until
# `/health/ready` answers (at most UP_WAIT_SECS, default 900: a first build takes minutes) and
# returns; if the app stops first it shows the log's end and fails. `scripts/up.sh --stop` stops
# it. UP_DIR (default target/up) holds the log and the pid; EDGE_HOST_BIN picks an edge-host
# binary already built instead of building one, UP_BUILD=0 serves the components already built
# (scripts/build.sh) without building them, and UP_RUNTIME=edge-host serves with edge-host even
# when a Spin CLI is there; SPIN_HTTP_LISTEN_ADDR (as for `spin up`) is the
# HTTP app's address when no --listen is given.
#
# Redis: REDIS_URL is one server's URL, or with REDIS_MODE=cluster a comma-separated list of a Redis
# Cluster's seed nodes (REDIS_MODE=cluster without REDIS_URL starts a throwaway cluster of three
# primaries and three replicas). They become the apps' `redis_url` and `redis_mode`; `redis_hosts`,
# the components' outbound allow-list entry, is REDIS_HOSTS if given, else the server's
# `scheme://host:port`, or for a cluster whose seeds are one IP `scheme://host:*` (set
# REDIS_HOSTS otherwise, e.g. on Spin a CIDR such as `redis://10.0.0.0/24:6379` (edge-host takes
# none): the nodes are reached at the addresses the cluster announces). The worker's trigger subscribes on `redis_trigger_url`: the
# server, or on a cluster the primary that owns the slot of the schedule's alarm (asked of the first
# seed that answers and that primary agree), chosen again each time the worker starts, so a worker
# whose node went away moves to another, and followed: when a failover moves that slot while the
# worker's node stays up, the worker is started again on the new primary (UP_FOLLOW_SECS, default 5,
# between checks; docs/operations.md › Redis Cluster). Each time a worker has subscribed, the
# schedule's alarm channel is rung once (docs/events.md › Sweep); the Redis servers started here
# announce expired keys (notify-keyspace-events Kx), and a given one that does not gets a warning.
#
# UP_PUSH=1 also serves the push tier (scripts/push.sh: nginx with nchan, docs/api.md › The push
# tier) beside the app: viewers on PUSH_LISTEN (default 127.0.0.1:8090), the publisher on
# PUSH_PUBLISH (default 127.0.0.1:8091), which the worker is given as its push_publish_url and
# push_publish_hosts (unless SPIN_VARIABLE_PUSH_PUBLISH_URL / _HOSTS say otherwise), the tier
# asking the HTTP app (PUSH_APP, by default its --listen address) who may watch each board.
#
# EDGE_BUILD=p3 serves the WASIp3 build of the HTTP API (spin-p3.toml, `scripts/build.sh p3`):
# Spin 4.0.x only, so it needs that Spin CLI; the worker stays p2. The default, EDGE_BUILD=p2,
# runs on every host (docs/runtimes.md says which build to deploy where). On p3 every request is
# bounded by Spin's --request-timeout (p3 only): EDGE_REQUEST_TIMEOUT, by default 5 s more than
# the longest live stream (SPIN_VARIABLE_LIVE_MAX_SECS, else 55 s), since it also ends streams.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh

up_dir="${UP_DIR:-target/up}"

# ours PGID: whether that process group is one `scripts/up.sh --background` started (a member runs
# up.sh, a runtime, Redis or a build), so a stale pid file never has another program signalled.
ours() {
    ps -eo pgid=,args= 2>/dev/null | awk -v g="$1" '$1 == g' |
        grep -q -e 'scripts/up.sh' -e 'spin' -e 'edge-host' -e 'redis-server' -e 'cargo' -e 'nginx'
}

# stop_background: stops the app `--background` started: the whole process group (the launcher,
# the runtimes, Redis, the push tier, a build in progress), TERM first, KILL after 20 s.
stop_background() {
    [ -s "$up_dir/up.pid" ] || return 0
    pid=$(cat "$up_dir/up.pid")
    if ours "$pid"; then
        echo "up: stopping the app in the background (process group $pid)"
        stop "-$pid" TERM 20
    elif kill -0 "-$pid" 2>/dev/null; then
        echo "up: process group $pid (in $up_dir/up.pid) is running but ps does not show it as" \
            "one scripts/up.sh started: not stopped (stop it yourself, then remove the file)" >&2
        return 1
    fi
    rm -f "$up_dir/up.pid"
}

# listen_of ARGS...: the address the HTTP app will listen on (--listen ADDR or --listen=ADDR, else
# SPIN_HTTP_LISTEN_ADDR, else Spin's default).
listen_of() {
    addr="${SPIN_HTTP_LISTEN_ADDR:-127.0.0.1:3000}"
    while [ $# -gt 0 ]; do
        case "$1" in
        --listen) if [ $# -ge 2 ]; then addr="$2"; shift; fi ;;
        --listen=*) addr="${1#--listen=}" ;;
        esac
        shift
    done
    echo "$addr"
}

# answers URL: whether an HTTP GET of URL succeeds.
answers() { curl -sf -m 2 -o /dev/null "$1"; }

# refuse_taken ADDR HINT: exits when something already serves ADDR, saying what it may be.
refuse_taken() {
    if answers "http://$1/health/live"; then
        echo "up: something already serves http://$1 ($2)" >&2
        exit 1
    fi
}

case "${1:-}" in
--stop)
    stop_background
    exit 0
    ;;
--background)
    shift
    wait_secs="${UP_WAIT_SECS:-900}"
    case "$wait_secs" in
    '' | *[!0-9]*) echo "up: UP_WAIT_SECS must be a number of seconds (got '$wait_secs')" >&2; exit 2 ;;
    esac
    stop_background
    listen=$(listen_of "$@")
    refuse_taken "$listen" "another scripts/up.sh in a terminal? stop it there with Ctrl-C"
    mkdir -p "$up_dir"
    log="$up_dir/up.log"
    # Interrupted while starting or waiting: the app is not left starting unseen.
    trap 'echo; stop_background; exit 130' INT TERM
    # Its own session (so --stop ends every process it started), no terminal, output in the log.
    setsid scripts/up.sh "$@" >"$log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$up_dir/up.pid"
    if [ "${UP_BUILD:-1}" = 0 ]; then
        echo "up: starting in the background (log: $log) ..."
    else
        echo "up: building and starting in the background (log: $log) ..."
    fi
    deadline=$(($(date +%s) + wait_secs))
    until answers "http://$listen/health/ready"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "up: the app stopped before it was ready; the end of $log:" >&2
            tail -n 25 "$log" >&2
            stop_background
            exit 1
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "up: not ready within $wait_secs s; the end of $log:" >&2
            tail -n 25 "$log" >&2
            stop_background
            exit 1
        fi
        sleep 1
    done
    echo "up: ready at http://$listen (log: $log; stop: scripts/up.sh --stop)"
    exit 0
    ;;
esac

# The address, given to either runtime explicitly (edge-host does not read SPIN_HTTP_LISTEN_ADDR).
case " $* " in
*" --listen "* | *" --listen="*) ;;
*) set -- --listen "$(listen_of "$@")" "$@" ;;
esac
refuse_taken "$(listen_of "$@")" "an app from scripts/up.sh --background? stop it with scripts/up.sh --stop"

# The apps run in the background and the script waits for the HTTP app, so a SIGINT/SIGTERM sent
# to the script alone (not only Ctrl-C, which reaches the whole process group) stops everything:
# the trap exits, and the EXIT trap stops the worker's supervisor, the HTTP app (SIGINT: graceful,
# SIGKILL after 10 s) and then Redis.
redis_pid=""
cluster_dir=""
app_pid=""
worker_pid=""
push_pid=""
vars_dir=""
cleanup() {
    status=$?
    trap - INT TERM
    if [ -n "$worker_pid" ]; then stop "$worker_pid" TERM 10; fi
    if [ -n "$app_pid" ]; then stop "$app_pid" INT 10; fi
    if [ -n "$push_pid" ]; then stop "$push_pid" TERM 10; fi
    if [ -n "$redis_pid" ]; then stop "$redis_pid" TERM 10; fi
    if [ -n "$cluster_dir" ]; then
        for pidfile in "$cluster_dir"/*/pid; do
            if [ -s "$pidfile" ]; then stop "$(cat "$pidfile")" TERM 10; fi
        done
        rm -rf "$cluster_dir"
    fi
    if [ -n "$vars_dir" ]; then rm -rf "$vars_dir"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# supervise_worker: runs the worker (run_worker URL) subscribed where trigger_url says, starting it
# again (after 1 s, where trigger_url then says) whenever it exits, and moving it when the alarm's
# slot moves (follow_alarm); on TERM/INT stops it.
supervise_worker() {
    child="" follower=""
    trap 'if [ -n "$follower" ]; then kill "$follower" 2>/dev/null; fi; if [ -n "$child" ]; then kill -INT "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi; exit 0' INT TERM
    while :; do
        url=$(trigger_url)
        run_worker "$url" &
        child=$!
        if follows_alarm; then
            follow_alarm "$url" "$child" &
            follower=$!
        fi
        wait "$child" && code=0 || code=$?
        # Its pid is free again: never signalled after this.
        child=""
        if [ -n "$follower" ]; then
            kill "$follower" 2>/dev/null || true
            wait "$follower" 2>/dev/null || true
            follower=""
        fi
        echo "up: worker exited (status $code); starting it again in 1 s" >&2
        sleep 1
    done
}

REDIS_MODE="${REDIS_MODE:-single}"
case "$REDIS_MODE" in
single | cluster) ;;
*)
    echo "up: REDIS_MODE is single (the default) or cluster, not '$REDIS_MODE'" >&2
    exit 2
    ;;
esac

# start_cluster: a throwaway cluster of three primaries and three replicas on free loopback ports
# (each node's bus port, its port + 10000, free too), made by `redis-cli --cluster create`; sets
# REDIS_URL to its nodes' URLs. The nodes stay in this script's process group (no --daemonize),
# so `--stop` ends them with the rest; cleanup stops them by pid.
start_cluster() {
    cluster_dir=$(mktemp -d)
    nodes="" REDIS_URL=""
    while [ "$(echo "$nodes" | wc -w)" -lt 6 ]; do
        p=$(free_port)
        case " $nodes " in *":$p "*) continue ;; esac
        if [ "$p" -gt 55535 ] || ! python3 -c 'import socket,sys; socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' $((p + 10000)) 2>/dev/null; then
            continue
        fi
        mkdir -p "$cluster_dir/$p"
        redis-server --port "$p" --bind 127.0.0.1 --dir "$cluster_dir/$p" --save "" --appendonly no \
            --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
            --cluster-require-full-coverage no --repl-diskless-sync-delay 0 \
            --notify-keyspace-events Kx >"$cluster_dir/$p/log" 2>&1 &
        echo $! >"$cluster_dir/$p/pid"
        i=0
        until timeout 1 redis-cli -p "$p" ping >/dev/null 2>&1; do
            i=$((i + 1))
            if [ "$i" -gt 100 ] || ! kill -0 "$(cat "$cluster_dir/$p/pid")" 2>/dev/null; then
                cat "$cluster_dir/$p/log" >&2
                echo "up: cluster node on port $p did not start (its log above)" >&2
                exit 1
            fi
            sleep 0.05
        done
        nodes="$nodes 127.0.0.1:$p"
        REDIS_URL="$REDIS_URL${REDIS_URL:+,}redis://127.0.0.1:$p"
    done
    # shellcheck disable=SC2086
    if ! timeout 60 redis-cli --cluster create $nodes --cluster-replicas 1 --cluster-yes >"$cluster_dir/create.log" 2>&1; then
        cat "$cluster_dir/create.log" >&2
        echo "up: redis-cli --cluster create failed" >&2
        exit 1
    fi
    for node in $nodes; do
        i=0
        until timeout 1 redis-cli -p "${node#*:}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; do
            i=$((i + 1))
            if [ "$i" -gt 300 ]; then echo "up: the cluster did not come up" >&2; exit 1; fi
            sleep 0.1
        done
    done
    echo "up: started a throwaway Redis Cluster (3 primaries, 3 replicas) at $REDIS_URL"
}

# redis_hosts URLS MODE: the allow-list entry that admits the servers: `scheme://host:port` for
# one server, `scheme://host:*` for a cluster whose seeds are one IP (its other nodes are on
# other ports); nothing (and a message) otherwise.
redis_hosts() {
    python3 - "$1" "$2" <<'PY'
import ipaddress, sys
from urllib.parse import urlsplit
def is_ip(host):
    try:
        ipaddress.ip_address(host or "")
        return True
    except ValueError:
        return False
urls = [u.strip() for u in sys.argv[1].split(",") if u.strip()]
parts = [urlsplit(u) for u in urls]
hosts = {(p.scheme, p.hostname) for p in parts}
if sys.argv[2] != "cluster" and len(parts) == 1:
    p = parts[0]
    port = p.port or {"redis": 6379}.get(p.scheme)
    if port is None:
        sys.exit(f"up: give {urls[0]} a port (Spin's allow-list knows no default for {p.scheme})")
    print(f"{p.scheme}://{p.hostname}:{port}")
elif len(hosts) == 1 and is_ip(next(iter(hosts))[1]):
    # The nodes announce IPs: seeds given as that one IP have the others on other ports.
    scheme, host = hosts.pop()
    print(f"{scheme}://{host}:*")
else:
    sys.exit("up: set REDIS_HOSTS to one Spin allow-list pattern that admits every node at the "
             "address the cluster announces (an IP by default), e.g. on Spin a CIDR such as "
             "redis://10.0.0.0/24:6379 (edge-host takes none); it is derived only for seeds "
             "given as one IP")
PY
}

if [ -z "${REDIS_URL:-}" ] && [ "$REDIS_MODE" = cluster ]; then
    start_cluster
elif [ -z "${REDIS_URL:-}" ]; then
    port=$(free_port 2>/dev/null || echo 6390)
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        --notify-keyspace-events Kx >/dev/null 2>&1 &
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
export REDIS_URL REDIS_MODE
export SPIN_VARIABLE_REDIS_URL="${SPIN_VARIABLE_REDIS_URL:-$REDIS_URL}"
export SPIN_VARIABLE_REDIS_MODE="${SPIN_VARIABLE_REDIS_MODE:-$REDIS_MODE}"
if [ -z "${SPIN_VARIABLE_REDIS_HOSTS:-}" ]; then
    SPIN_VARIABLE_REDIS_HOSTS="${REDIS_HOSTS:-$(redis_hosts "$SPIN_VARIABLE_REDIS_URL" "$SPIN_VARIABLE_REDIS_MODE")}"
fi
export SPIN_VARIABLE_REDIS_HOSTS
# Set by hand, the worker's subscription stays where it is told.
trigger_fixed="${SPIN_VARIABLE_REDIS_TRIGGER_URL:-}"

# The schedule's alarm (edge::schedule::ALARM: the inbox sweep, what the webhook deliverer owes,
# competitions and push-tier rollovers): its keyspace event rings the worker, on the node that
# owns its slot.
alarm_key='lb:{claims}:alarm'
alarm_channel="__keyspace@0__:$alarm_key"

# alarm_node SEED: on a cluster, the URL (with the seed's scheme and credentials) of the primary
# that owns the alarm's slot, when the seed says so and that primary says so too; nothing
# otherwise. Right after a failover the nodes may disagree for a moment: a restarted primary may
# still claim a slot its replica has taken over, and a worker subscribed there would hear no alarm.
alarm_node() {
    python3 - "$1" "$alarm_key" <<'PY'
import subprocess, sys
from urllib.parse import urlsplit, urlunsplit
seed, key = sys.argv[1], sys.argv[2]

def ask(url, *args):
    try:
        out = subprocess.run(["redis-cli", "--no-auth-warning", "-u", url, *args],
                             capture_output=True, text=True, timeout=2)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout if out.returncode == 0 else ""

def owner(view, slot):
    """The `CLUSTER NODES` line of the primary serving slot, not flagged failing."""
    for line in view.splitlines():
        f = line.split()
        flags = f[2].split(",") if len(f) >= 8 else []
        if "master" not in flags or "fail" in flags or "fail?" in flags:
            continue
        for r in f[8:]:
            lo, _, hi = r.partition("-")
            if lo.isdigit() and int(lo) <= slot <= int(hi or lo):
                return f
    return None

slot = ask(seed, "cluster", "keyslot", key).strip()
if not slot.isdigit():
    sys.exit(1)
found = owner(ask(seed, "cluster", "nodes"), int(slot))
if found is None:
    sys.exit(1)
host, _, port = found[1].split("@")[0].rpartition(":")
netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
parts = urlsplit(seed)
auth = parts.netloc.rpartition("@")[0]
url = urlunsplit(parts._replace(netloc=f"{auth}@{netloc}" if auth else netloc))
itself = owner(ask(url, "cluster", "nodes"), int(slot))
if itself is None or "myself" not in itself[2]:
    sys.exit(1)
print(url)
PY
}

# trigger_url [agreed]: where the worker subscribes: the given redis_trigger_url, else the first of
# redis_url's servers that answers a PING (the first when none does); on a cluster, the primary
# that owns the alarm's slot as the first seed that answers and that primary agree (alarm_node),
# else (a failover under way) the first seed that answers, which follow_alarm later corrects.
# With `agreed`, on a cluster: the agreed primary or nothing.
trigger_url() {
    if [ -n "$trigger_fixed" ]; then
        echo "$trigger_fixed"
        return
    fi
    first="" answering=""
    for url in $(echo "$SPIN_VARIABLE_REDIS_URL" | tr ',' ' '); do
        first="${first:-$url}"
        timeout 2 redis-cli --no-auth-warning -u "$url" ping 2>/dev/null | grep -q PONG || continue
        if [ "$SPIN_VARIABLE_REDIS_MODE" != cluster ]; then
            echo "$url"
            return
        fi
        answering="${answering:-$url}"
        node=$(alarm_node "$url" 2>/dev/null || true)
        if [ -n "$node" ]; then
            echo "$node"
            return
        fi
    done
    if [ "${1:-}" != agreed ]; then echo "${answering:-$first}"; fi
}

# follow_alarm URL PID: on a cluster whose trigger was not given by hand, checks every
# UP_FOLLOW_SECS (default 5) that the alarm's slot is still served by URL, where the worker PID
# subscribed. When two checks in a row agree on another primary (a failover moved the slot, or
# the worker started while the nodes disagreed), it stops the worker (INT), and the supervisor
# starts it on that primary: otherwise the alarm's keyspace events, published on the slot's
# primary alone, would ring nobody. The worker's unfinished items are leased: they fall due again
# when the lease ends, for the new worker.
follow_alarm() {
    last="" seen=0
    while kill -0 "$2" 2>/dev/null; do
        sleep "$follow_secs"
        now=$(trigger_url agreed)
        if [ -z "$now" ] || [ "$now" = "$1" ]; then
            last="" seen=0
            continue
        fi
        if [ "$now" = "$last" ]; then seen=$((seen + 1)); else last="$now" seen=1; fi
        if [ "$seen" -ge 2 ]; then
            echo "up: the schedule's alarm is served by $now, not $1 (a failover): restarting" \
                "the worker there" >&2
            # As the supervisor stops it (SIGINT); SIGKILL if it still runs 10 s later.
            stop "$2" INT 10
            return 0
        fi
    done
}

# Whether the worker follows the alarm's slot (a cluster, its trigger not given by hand), and how
# often it checks.
follows_alarm() { [ -z "$trigger_fixed" ] && [ "$SPIN_VARIABLE_REDIS_MODE" = cluster ]; }
follow_secs="${UP_FOLLOW_SECS:-5}"
if follows_alarm; then
    case "$follow_secs" in
    '' | *[!0-9]* | 0)
        echo "up: UP_FOLLOW_SECS must be a whole number of seconds above 0 (got '$follow_secs')" >&2
        exit 2
        ;;
    esac
fi

# ring_sweep URL: once a worker subscribes on URL, rings the schedule's alarm channel (the sweep,
# what the webhook deliverer owes, competitions' edges, push-tier rollovers): an alarm that
# expired while no worker listened would otherwise wait for the next message. Warns when the
# server does not announce the alarm's expiry (notify-keyspace-events without K and x).
ring_sweep() {
    # Only a server that answers with the setting is judged (one that is down, or refuses
    # CONFIG, says nothing about it).
    config=$(timeout 2 redis-cli -u "$1" config get notify-keyspace-events 2>/dev/null || true)
    if [ "$(echo "$config" | sed -n 1p)" = notify-keyspace-events ]; then
        events=$(echo "$config" | sed -n 2p)
        case "$events" in
        *K*x* | *x*K* | *K*A* | *A*K*) ;;
        *)
            echo "up: $1 does not announce expired keys (notify-keyspace-events is '$events'; the" \
                "schedule's alarm needs K and x, docs/events.md › Sweep): a tournament's start or" \
                "end, a period's close and a push tier's rollover wait for a worker's start, and" \
                "entries a dead drain left claimed for the worker's next message" >&2
            ;;
        esac
    fi
    i=0
    while :; do
        subscribers=$(timeout 2 redis-cli -u "$1" pubsub numsub "$alarm_channel" 2>/dev/null | sed -n 2p)
        if [ "${subscribers:-0}" -ge 1 ] 2>/dev/null; then break; fi
        i=$((i + 1))
        if [ "$i" -gt 120 ]; then return 0; fi
        sleep 0.5
    done
    timeout 2 redis-cli -u "$1" publish "$alarm_channel" expired >/dev/null 2>&1 || true
}

# The push tier, when asked for: started before the apps, so the worker's first publish finds it.
case "${UP_PUSH:-0}" in
0) ;;
1)
    if [ ! -x "${NGINX_BIN:-/usr/sbin/nginx}" ]; then
        echo "up: UP_PUSH=1 needs nginx with nchan (run scripts/setup.sh)" >&2
        exit 1
    fi
    PUSH_APP="${PUSH_APP:-$(listen_of "$@")}"
    push_publish="${PUSH_PUBLISH:-127.0.0.1:8091}"
    export PUSH_APP
    export SPIN_VARIABLE_PUSH_PUBLISH_URL="${SPIN_VARIABLE_PUSH_PUBLISH_URL:-http://$push_publish/pub}"
    export SPIN_VARIABLE_PUSH_PUBLISH_HOSTS="${SPIN_VARIABLE_PUSH_PUBLISH_HOSTS:-http://$push_publish}"
    scripts/push.sh &
    push_pid=$!
    # Serving before the apps start (a taken port or a refused setting ends it at once).
    i=0
    until answers "http://$push_publish/status"; do
        i=$((i + 1))
        if ! kill -0 "$push_pid" 2>/dev/null || [ "$i" -gt 100 ]; then
            echo "up: the push tier did not start (its error log: ${PUSH_DIR:-target/push}/error.log)" >&2
            exit 1
        fi
        sleep 0.1
    done
    ;;
*)
    echo "up: UP_PUSH is 0 (the default) or 1, not '$UP_PUSH'" >&2
    exit 2
    ;;
esac

# The runtime config: RUNTIME_CONFIG if given, else the shipped one (KV on SQLite in .spin/).
runtime_config="${RUNTIME_CONFIG:-runtime-config.toml}"

spin="${SPIN_BIN:-$(command -v spin || true)}"
if [ "${UP_RUNTIME:-}" = "edge-host" ]; then spin=""; fi
api_manifest=spin.toml
request_timeout=""
case "${EDGE_BUILD:-p2}" in
p2) ;;
p3)
    if [ -z "$spin" ] || ! "$spin" --version | grep -q '^spin 4\.0\.'; then
        echo "up: EDGE_BUILD=p3 needs a Spin 4.0.x CLI (SPIN_BIN or spin on PATH); edge-host and" \
            "other Spin versions run the p2 build (EDGE_BUILD=p2)" >&2
        exit 2
    fi
    api_manifest=spin-p3.toml
    request_timeout="${EDGE_REQUEST_TIMEOUT:-$((${SPIN_VARIABLE_LIVE_MAX_SECS:-55} + 5))s}"
    ;;
*)
    echo "up: EDGE_BUILD is p2 (the default) or p3, not '$EDGE_BUILD'" >&2
    exit 2
    ;;
esac
# One workspace build of every component (faster than `spin build`, which builds the shared
# crates once per component); the p3 build of the HTTP components after it when asked for.
# UP_BUILD=0 serves the components already built, building none.
case "${UP_BUILD:-1}" in
1)
    scripts/build.sh
    if [ "$api_manifest" = spin-p3.toml ]; then
        scripts/build.sh p3
    fi
    ;;
0) ;;
*)
    echo "up: UP_BUILD is 1 (the default: build, then serve) or 0 (serve what is built), not '$UP_BUILD'" >&2
    exit 2
    ;;
esac
if [ -n "$spin" ]; then
    echo "up: serving with $("$spin" --version)"
    # Every app variable resolved once (SPIN_VARIABLE_<NAME>, else the manifest's default) and
    # given with --variable: Spin then never looks them up in the environment, which on 4.0.2
    # costs a block_in_place per lookup (scripts/spin_variables.py). Without python3, with a
    # .env file or with a runtime config that names variable providers, Spin reads them as usual.
    vars_dir=$(mktemp -d)
    app_vars="" worker_vars=""
    if python3 scripts/spin_variables.py "$api_manifest" "$vars_dir/app.json" "$runtime_config"; then
        app_vars="--variable @$vars_dir/app.json"
    fi
    # run_worker URL: the worker subscribed on URL (its variables resolved again).
    run_worker() {
        SPIN_VARIABLE_REDIS_TRIGGER_URL="$1"
        export SPIN_VARIABLE_REDIS_TRIGGER_URL
        ring_sweep "$SPIN_VARIABLE_REDIS_TRIGGER_URL" &
        worker_vars=""
        if python3 scripts/spin_variables.py spin-worker.toml "$vars_dir/worker.json" "$runtime_config"; then
            worker_vars="--variable @$vars_dir/worker.json"
        fi
        # shellcheck disable=SC2086
        exec "$spin" up --from spin-worker.toml --runtime-config-file "$runtime_config" $worker_vars
    }
    supervise_worker &
    worker_pid=$!
    # shellcheck disable=SC2086
    "$spin" up --from "$api_manifest" --runtime-config-file "$runtime_config" $app_vars \
        ${request_timeout:+--request-timeout "$request_timeout"} "$@" &
    app_pid=$!
else
    echo "up: no Spin CLI (SPIN_BIN or spin on PATH): serving with edge-host"
    host="${EDGE_HOST_BIN:-}"
    if [ -z "$host" ]; then
        cargo build --profile host -p edge-host
        host="${CARGO_TARGET_DIR:-target}/host/edge-host"
    fi
    # run_worker URL: the worker subscribed on URL.
    run_worker() {
        SPIN_VARIABLE_REDIS_TRIGGER_URL="$1"
        export SPIN_VARIABLE_REDIS_TRIGGER_URL
        ring_sweep "$SPIN_VARIABLE_REDIS_TRIGGER_URL" &
        exec "$host" up --manifest spin-worker.toml --runtime-config "$runtime_config" \
            --listen 127.0.0.1:0
    }
    supervise_worker &
    worker_pid=$!
    "$host" up --manifest spin.toml --runtime-config "$runtime_config" "$@" &
    app_pid=$!
fi
# `wait` returns early when a trapped signal arrives; otherwise the app's own exit status ends
# the script (set -e), and the EXIT trap stops the worker and Redis.
wait "$app_pid"
