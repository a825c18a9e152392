#!/usr/bin/env bash
# A local leofs cluster on loopback: 1 manager, K storage nodes, 1 gateway.
#
#   tools/cluster.sh start [--storage K] [--shards S]   start (or restart) it, print the endpoint
#   tools/cluster.sh stop                               stop every process (SIGTERM, then wait)
#   tools/cluster.sh status                             leofs-adm status against the manager
#
# State lives in $LEOFS_CLUSTER_DIR (default ./leofs-cluster): data directories, logs, pids.
# Root credentials come from LEOFS_ROOT_ACCESS_KEY / LEOFS_ROOT_SECRET_KEY as for
# `leofs server`; without them the script makes a pair up once ($LEOFS_CLUSTER_DIR/credentials).
# Ports: manager RPC 13075 and admin 13076; storage i (1-based) RPC 13100+10*i (+shard),
# admin 13300+i; gateway S3 $LEOFS_GATEWAY_PORT (default 8080), admin 13099.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${LEOFS_CLUSTER_DIR:-./leofs-cluster}"
bin="${LEOFS_BIN:-$root/target/release/leofs}"
adm="${LEOFS_ADM:-$root/target/release/leofs-adm}"
gw_port="${LEOFS_GATEWAY_PORT:-8080}"
export LEOFS_ADMIN_ENDPOINT="http://127.0.0.1:13076"

storage=3
shards=2
cmd="${1:-}"
shift || true
while [ $# -gt 0 ]; do
    case "$1" in
        --storage) storage="$2"; shift 2 ;;
        --shards) shards="$2"; shift 2 ;;
        *) echo "cluster.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

need_bins() {
    if [ ! -x "$bin" ] || [ ! -x "$adm" ]; then
        echo "cluster.sh: building release binaries" >&2
        (cd "$root" && cargo build --release -p leofs -p leofs-tools >&2)
    fi
}

# launch NAME ARGS...: runs `leofs ARGS` in the background, logging to $dir/NAME.log.
launch() {
    local name="$1"; shift
    if [ -f "$dir/$name.pid" ] && kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null; then
        return
    fi
    "$bin" "$@" >"$dir/$name.log" 2>&1 &
    echo $! >"$dir/$name.pid"
}

wait_for() { # wait_for SECONDS COMMAND...: retries until the command succeeds
    local until=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $until ]; then return 1; fi
        sleep 0.2
    done
}

# Root credentials: given, or made up once and kept in $dir/credentials. leofs-adm signs
# in to the manager's admin API with them.
credentials() {
    if [ -z "${LEOFS_ROOT_ACCESS_KEY:-}" ] && [ -f "$dir/credentials" ]; then
        . "$dir/credentials"
    fi
    if [ -z "${LEOFS_ROOT_ACCESS_KEY:-}" ]; then
        LEOFS_ROOT_ACCESS_KEY="LEO$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
        LEOFS_ROOT_SECRET_KEY="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        mkdir -p "$dir"
        umask 077
        printf 'LEOFS_ROOT_ACCESS_KEY=%s\nLEOFS_ROOT_SECRET_KEY=%s\n' "$LEOFS_ROOT_ACCESS_KEY" "$LEOFS_ROOT_SECRET_KEY" >"$dir/credentials"
    fi
    export LEOFS_ROOT_ACCESS_KEY LEOFS_ROOT_SECRET_KEY
    export LEOFS_ADMIN_ACCESS_KEY="$LEOFS_ROOT_ACCESS_KEY" LEOFS_ADMIN_SECRET_KEY="$LEOFS_ROOT_SECRET_KEY"
}

start() {
    need_bins
    mkdir -p "$dir"
    credentials
    launch manager manager --data-dir "$dir/manager" --listen 127.0.0.1:13075 --admin-listen 127.0.0.1:13076
    wait_for 10 "$adm" status || { echo "cluster.sh: the manager did not start; see $dir/manager.log" >&2; exit 1; }
    for i in $(seq 1 "$storage"); do
        launch "storage-$i" storage --node-id "storage-$i" --manager 127.0.0.1:13075 \
            --rpc-listen "127.0.0.1:$((13100 + 10 * i))" --admin-listen "127.0.0.1:$((13300 + i))" \
            --data-dir "$dir/storage-$i" --shards "$shards" --segment-mib 64
    done
    launch gateway gateway --node-id gateway-1 --manager 127.0.0.1:13075 \
        --listen "127.0.0.1:$gw_port" --admin-listen 127.0.0.1:13099 --data-dir "$dir/gateway" --shards "$shards"
    # Wait until every storage node has announced itself, then build the first RING.
    attached() { [ "$("$adm" --json status | grep -Eo '"role": ?"storage"' | wc -l)" -ge "$storage" ]; }
    wait_for 15 attached || { echo "cluster.sh: storage nodes did not join; see $dir/storage-*.log" >&2; exit 1; }
    if "$adm" --json status | grep -Eq '"started": ?false'; then
        "$adm" start
    fi
    ring_ok() { "$adm" --json status | tr -d ' \n' | grep -q '"stale_nodes":\[\]'; }
    wait_for 15 ring_ok || echo "cluster.sh: warning: some nodes have not taken the RING yet" >&2
    echo "leofs cluster running: S3 at http://127.0.0.1:$gw_port  (manager admin: $LEOFS_ADMIN_ENDPOINT)"
    echo "  access key: $LEOFS_ROOT_ACCESS_KEY"
    echo "  secret key: $LEOFS_ROOT_SECRET_KEY   (also in $dir/credentials)"
}

stop() {
    local pids=()
    for f in "$dir"/*.pid; do
        [ -e "$f" ] || continue
        local p; p="$(cat "$f")"
        if kill -0 "$p" 2>/dev/null; then kill -TERM "$p" 2>/dev/null || true; pids+=("$p"); fi
        rm -f "$f"
    done
    for p in "${pids[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    echo "leofs cluster stopped"
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    status) need_bins; credentials; "$adm" status ;;
    *) echo "usage: tools/cluster.sh start|stop|status [--storage K] [--shards S]" >&2; exit 2 ;;
esac
