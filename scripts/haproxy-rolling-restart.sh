#!/usr/bin/env bash
# Three demo-server instances behind HAProxy (configs/haproxy.cfg) on
# loopback, wrk load through the proxy, and a rolling restart: SIGTERM one
# instance, wait for its drain to finish, start it again, wait for the
# health check to take it back, next. Fails unless every request wrk sent
# was answered with a 2xx.
#
#   scripts/haproxy-rolling-restart.sh [--build-dir build/release] [--port 18080]
#
# Ports: the proxy on PORT, the instances on PORT+1..PORT+3 (127.0.0.1).
# Needs haproxy (scripts/setup.sh --tests) and wrk (scripts/setup.sh --bench).
# Takes about 15 s. The test demo_server_behind_haproxy does the same
# under ctest with its own client.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$root/build/release"
port=18080
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$(cd "$2" && pwd); shift 2 ;;
    --port) port=$2; shift 2 ;;
    *) echo "haproxy-rolling-restart.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
demo="$build_dir/apps/demo-server/demo-server"
for tool in haproxy wrk curl "$demo"; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] || { echo "haproxy-rolling-restart.sh: missing $tool" >&2; exit 2; }
done

work=$(mktemp -d /tmp/demo-haproxy.XXXXXX)
declare -A pid
cleanup() {
  for p in "${pid[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start() {  # start N: instance N on port+N, returns once it listens
  local n=$1
  "$demo" --port $((port + n)) --drain_timeout_ms 5000 >"$work/demo$n.log" 2>&1 &
  pid[demo$n]=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$((port + n))/readyz" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "instance $n did not start:" >&2; cat "$work/demo$n.log" >&2; exit 1
}
for n in 1 2 3; do start $n; done

DEMO_LB_BIND=127.0.0.1:$port DEMO_BACKEND_1=127.0.0.1:$((port + 1)) DEMO_BACKEND_2=127.0.0.1:$((port + 2)) \
  DEMO_BACKEND_3=127.0.0.1:$((port + 3)) haproxy -db -f "$root/configs/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pid[haproxy]=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
sleep 1  # every instance passes two health checks

wrk -t2 -c32 -d12s "http://127.0.0.1:$port/work?ms=1" >"$work/wrk.txt" 2>&1 &
wrk_pid=$!
sleep 1
for n in 1 2 3; do
  echo "restarting instance $n (port $((port + n)))"
  kill -TERM "${pid[demo$n]}"
  wait "${pid[demo$n]}" || { echo "instance $n exited with $?" >&2; exit 1; }
  start $n
  sleep 1.5  # back in the rotation (two checks at 200 ms), then traffic on it
done
wait "$wrk_pid"
cat "$work/wrk.txt"
# wrk prints "Non-2xx or 3xx responses: N" and "Socket errors: ..." only when there were some.
if grep -qE "Non-2xx|Socket errors" "$work/wrk.txt"; then
  echo "haproxy-rolling-restart.sh: FAILED: requests were lost during the rolling restart" >&2
  exit 1
fi
echo "haproxy-rolling-restart.sh: rolling restart of 3 instances, no failed request"
