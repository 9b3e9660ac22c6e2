#!/usr/bin/env sh
# The push tier (deploy/push/nchan.conf): nginx with nchan, from Debian (`nginx-light`,
# `libnginx-mod-nchan`; scripts/setup.sh installs them), run as the calling user.
#
#   scripts/push.sh             renders the config into PUSH_DIR and serves it in the foreground
#                               (Ctrl-C or SIGTERM stops it)
#   scripts/push.sh render DIR  only renders DIR/nginx.conf (and the temp folders nginx needs)
#
# PUSH_LISTEN is the viewers' address (default 127.0.0.1:8090), PUSH_PUBLISH the publisher's,
# which only the app may reach (default 127.0.0.1:8091), PUSH_ORIGINS the browser origins allowed
# (space-separated, default `*`), PUSH_APP the app's HTTP address, which nginx asks who may watch
# a board (default SPIN_HTTP_LISTEN_ADDR, else 127.0.0.1:3000), PUSH_REDIS the Redis that several
# servers share their channels through (`redis://[:password@]host:port`; default none: one
# server), PUSH_BEHIND_PROXY=1 when a proxy in front appends the viewer's address to
# X-Forwarded-For (default 0: the tier faces the viewers), PUSH_DIR the folder of the config, the pid file and the error
# log (default target/push). What it serves, and how: docs/api.md › The push tier.
set -eu
cd "$(dirname "$0")/.."

# Refuses a value with characters nginx's configuration or sed would read as syntax.
check() {
    case "$2" in
    *[!A-Za-z0-9.:/*\ _-]* | "")
        echo "push: $1 has characters a configuration cannot hold: '$2'" >&2
        exit 2
        ;;
    esac
}

render() {
    dir="$1"
    check PUSH_LISTEN "${PUSH_LISTEN:-127.0.0.1:8090}"
    check PUSH_PUBLISH "${PUSH_PUBLISH:-127.0.0.1:8091}"
    check PUSH_ORIGINS "${PUSH_ORIGINS:-*}"
    check PUSH_APP "$app"
    case "${PUSH_BEHIND_PROXY:-0}" in
    0) forwarded='$remote_addr' ;;
    1) forwarded='$http_x_forwarded_for' ;;
    *)
        echo "push: PUSH_BEHIND_PROXY is 0 (the default) or 1, not '$PUSH_BEHIND_PROXY'" >&2
        exit 2
        ;;
    esac
    redis_lines='/^ *#redis: /d'
    if [ -n "${PUSH_REDIS:-}" ]; then
        # Checked without being shown: it may hold a password.
        case "$PUSH_REDIS" in
        redis://*[!A-Za-z0-9.:/@_-]*)
            echo "push: PUSH_REDIS may hold letters, digits and . : / @ _ - only (percent-encoding" \
                "is not read either: choose a password of those)" >&2
            exit 2
            ;;
        redis://?*) ;;
        *)
            echo "push: PUSH_REDIS is a redis://[:password@]host:port URL" >&2
            exit 2
            ;;
        esac
        redis_lines='s|^\( *\)#redis: |\1|'
    fi
    mkdir -p "$dir/body" "$dir/proxy" "$dir/fastcgi" "$dir/uwsgi" "$dir/scgi"
    prefix="$(cd "$dir" && pwd)"
    sed -e "s|@PREFIX@|$prefix|g" \
        -e "s|@LISTEN@|${PUSH_LISTEN:-127.0.0.1:8090}|g" \
        -e "s|@PUBLISH@|${PUSH_PUBLISH:-127.0.0.1:8091}|g" \
        -e "s|@ORIGINS@|${PUSH_ORIGINS:-*}|g" \
        -e "s|@APP@|$app|g" \
        -e "s|@FORWARDED@|$forwarded|g" \
        -e "$redis_lines" \
        -e "s|@REDIS@|${PUSH_REDIS:-}|g" \
        deploy/push/nchan.conf >"$prefix/nginx.conf"
    echo "$prefix/nginx.conf"
}

app="${PUSH_APP:-${SPIN_HTTP_LISTEN_ADDR:-127.0.0.1:3000}}"
nginx_bin="${NGINX_BIN:-/usr/sbin/nginx}"
case "${1:-}" in
render)
    [ $# -eq 2 ] || { echo "usage: scripts/push.sh render DIR" >&2; exit 2; }
    render "$2"
    ;;
"")
    [ -x "$nginx_bin" ] || { echo "push: no nginx at $nginx_bin (run scripts/setup.sh)" >&2; exit 1; }
    conf="$(render "${PUSH_DIR:-target/push}")"
    prefix="$(dirname "$conf")"
    "$nginx_bin" -t -q -p "$prefix/" -c "$conf" -e "$prefix/error.log"
    echo "push: viewers on http://${PUSH_LISTEN:-127.0.0.1:8090}/push/{tenant}/{board}, publisher on ${PUSH_PUBLISH:-127.0.0.1:8091}, asking http://$app who may watch (error log $prefix/error.log)"
    exec "$nginx_bin" -p "$prefix/" -c "$conf" -e "$prefix/error.log"
    ;;
*)
    echo "usage: scripts/push.sh [render DIR]" >&2
    exit 2
    ;;
esac
