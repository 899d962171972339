#!/usr/bin/env bash
# Load benchmark for demo-server (not part of ctest).
#
# On loopback, with every server pinned to one core and wrk to another, it
# measures in interleaved rounds:
#   demo-uring   demo-server on the auto tier (uring-futex where the kernel has it)
#   demo-epoll   demo-server forced to the generic tier on epoll
#   asio         bench/asio_reference.cpp: the same routes on plain Boost.Asio + Beast
#   floor        bench/uring_floor.cpp: one recv and one send per request on
#                io_uring, a canned answer, no parser: what the kernel alone
#                costs per request here, the floor for any server
#   floor-ms     the same with one multishot recv per connection and a
#                provided-buffer ring (--multishot): no recv submitted per
#                request, so the floor of a server that used them
#   nginx        Debian's nginx, 1 worker, `return 200` (no gate: the ungated ceiling)
# on /healthz and on the gated /work?ms=0 (8 permits), at 64 and 256
# connections, and prints req/s, p50, p99, server CPU µs per request (utime +
# stime from /proc/PID/stat over the run, divided by requests) and ratios
# against nginx and the Asio reference, each taken within a round and then
# the median over rounds (absolute numbers swing between runs on a VM;
# ratios within a round are what to compare).
#
#   apps/demo-server/bench/run.sh [--build-dir build/release] [--rounds 4] [--duration 3]
#                                 [--server-cpu 0] [--client-cpu 1] [--out results.tsv]
#
# Needs: wrk, nginx (nginx-light), taskset; demo-server, demo-asio-reference
# and demo-uring-floor built in the build dir (Release for numbers that mean
# something). Traffic stays on 127.0.0.1; every process it starts is stopped
# on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build_dir="$root/build/release"
rounds=4
duration=3
server_cpu=0
client_cpu=1
out_file=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$(cd "$2" && pwd); shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --server-cpu) server_cpu=$2; shift 2 ;;
    --client-cpu) client_cpu=$2; shift 2 ;;
    --out) out_file=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

demo="$build_dir/apps/demo-server/demo-server"
asio="$build_dir/apps/demo-server/demo-asio-reference"
floor="$build_dir/apps/demo-server/demo-uring-floor"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
for tool in wrk taskset "$nginx_bin" "$demo" "$asio" "$floor"; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] || { echo "run.sh: missing $tool" >&2; exit 2; }
done

work=$(mktemp -d /tmp/demo-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# A free loopback port for nginx (the others pick their own with port 0).
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 30000))
    [ -n "$(ss -Htln "sport = :$p")" ] || { echo "$p"; return; }
  done
  echo "run.sh: no free port found" >&2
  exit 1
}

# Starts a server pinned to the server CPU and waits for its "listening on"
# line; sets last_pid and last_port. (Not run in a subshell: cleanup must see the pid.)
start_listening() {
  local name=$1; shift
  taskset -c "$server_cpu" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do
    if grep -q "listening on" "$work/$name.out" 2>/dev/null; then
      local port
      last_port=$(grep -o '127\.0\.0\.1:[0-9]*' "$work/$name.out" | head -1 | cut -d: -f2)
      last_pid=$pid
      return
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "run.sh: $name did not start:" >&2
  cat "$work/$name.err" >&2
  exit 1
}

demo_flags=(--port 0 --threads 1 --permits.work 8 --work.max_cost 8 --http.max_requests 1000000000
            --http.idle_timeout_ms 600000 --max_connections 4096 --backlog 4096)
start_listening demo-uring "$demo" "${demo_flags[@]}"
demo_uring_pid=$last_pid demo_uring_port=$last_port
start_listening demo-epoll "$demo" "${demo_flags[@]}" --tier generic --backend epoll
demo_epoll_pid=$last_pid demo_epoll_port=$last_port
start_listening asio "$asio" --port 0 --permits 8
asio_pid=$last_pid asio_port=$last_port
start_listening floor "$floor" --port 0
floor_pid=$last_pid floor_port=$last_port
start_listening floor-ms "$floor" --port 0 --multishot
floor_ms_pid=$last_pid floor_ms_port=$last_port

nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type text/plain;
  keepalive_requests 1000000000;
  keepalive_timeout 600s;
  server {
    listen 127.0.0.1:$nginx_port backlog=4096;
    location / { return 200 "ok\n"; }
  }
}
EOF
taskset -c "$server_cpu" "$nginx_bin" -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>"$work/nginx.err" &
nginx_pid=$!
pids+=("$nginx_pid")
for _ in $(seq 1 50); do
  [ -n "$(ss -Htln "sport = :$nginx_port")" ] && break
  sleep 0.1
done

grep -o 'tier=[a-z-]*, backend=[a-z]*' "$work/demo-uring.out" | sed 's/^/demo-uring: /' >&2
grep -o 'tier=[a-z-]*, backend=[a-z]*' "$work/demo-epoll.out" | sed 's/^/demo-epoll: /' >&2

# Process ids whose CPU time counts for a server (nginx: master and worker).
server_pids() {
  case $1 in
    demo-uring) echo "$demo_uring_pid" ;;
    demo-epoll) echo "$demo_epoll_pid" ;;
    asio) echo "$asio_pid" ;;
    floor) echo "$floor_pid" ;;
    floor-ms) echo "$floor_ms_pid" ;;
    nginx) echo "$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')" ;;
  esac
}
server_port() {
  case $1 in
    demo-uring) echo "$demo_uring_port" ;;
    demo-epoll) echo "$demo_epoll_port" ;;
    asio) echo "$asio_port" ;;
    floor) echo "$floor_port" ;;
    floor-ms) echo "$floor_ms_port" ;;
    nginx) echo "$nginx_port" ;;
  esac
}
cpu_ticks() {
  local total=0 p
  for p in $1; do
    # utime and stime are fields 14 and 15; the command name (field 2) may hold spaces.
    total=$((total + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$total"
}
to_us() {  # wrk latency ("812.00us", "1.23ms", "2.00s") -> microseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); print v + 0 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); print v * 1000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000000 }
    else print v }'
}

servers=(nginx asio floor floor-ms demo-epoll demo-uring)
routes=("/healthz" "/work?ms=0")
conns=(64 256)
hz=$(getconf CLK_TCK)
results="$work/results.tsv"

# Warm-up: connections, caches and page faults out of the way.
for s in "${servers[@]}"; do
  taskset -c "$client_cpu" wrk -t1 -c64 -d1s "http://127.0.0.1:$(server_port "$s")/healthz" >/dev/null
done

total=$((rounds * ${#routes[@]} * ${#conns[@]} * ${#servers[@]}))
n=0
for round in $(seq 1 "$rounds"); do
  for c in "${conns[@]}"; do
    # Rotate the server order each round so none always runs first; run each
    # server's two routes back to back (alternating which goes first), so the
    # gated/ungated ratio compares runs seconds apart.
    for i in "${!servers[@]}"; do
      s=${servers[$(((i + round) % ${#servers[@]}))]}
      if [ $((round % 2)) = 1 ]; then pair=("${routes[@]}"); else pair=("${routes[1]}" "${routes[0]}"); fi
      for route in "${pair[@]}"; do
        n=$((n + 1))
        printf '\r[%d/%d] round %d %-10s %-12s c%-4s' "$n" "$total" "$round" "$s" "$route" "$c" >&2
        p=$(server_pids "$s")
        before=$(cpu_ticks "$p")
        out=$(taskset -c "$client_cpu" wrk -t1 -c"$c" -d"${duration}s" --latency \
              "http://127.0.0.1:$(server_port "$s")$route")
        after=$(cpu_ticks "$p")
        reqs=$(echo "$out" | awk '/requests in/ {print $1}')
        secs=$(echo "$out" | awk '/requests in/ {sub(/s,$/, "", $4); print $4}')
        non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
        p50=$(to_us "$(echo "$out" | awk '$1 == "50%" {print $2}')")
        p99=$(to_us "$(echo "$out" | awk '$1 == "99%" {print $2}')")
        cpu_us=$(awk -v t=$((after - before)) -v hz="$hz" -v r="$reqs" 'BEGIN { printf "%.2f", r ? t * 1e6 / hz / r : 0 }')
        rps=$(awk -v r="$reqs" -v s="$secs" 'BEGIN { printf "%.0f", r / s }')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$route" "$c" "$s" "$rps" "$p50" "$p99" \
          "$cpu_us" "${non2xx:-0}" >>"$results"
      done
    done
  done
done
printf '\n' >&2

# Per round: ratios against nginx and asio on the same route and
# concurrency, and gated/ungated for each server; then medians over rounds.
awk -F'\t' -v rounds="$rounds" '
function median(key,    n, i, j, t, a) {
  n = cnt[key]
  for (i = 1; i <= n; i++) a[i] = vals[key, i]
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function put(key, v) { vals[key, ++cnt[key]] = v }
{
  r = $1; route = $2; c = $3; s = $4
  rps[r, route, c, s] = $5; p50[r, route, c, s] = $6; p99[r, route, c, s] = $7; cpu[r, route, c, s] = $8
  err[route, c, s] += $9
  seen_route[route] = 1; seen_c[c] = 1; seen_s[s] = 1
}
END {
  ns = split("nginx asio floor floor-ms demo-epoll demo-uring", order, " ")
  split("/healthz /work?ms=0", rorder, " ")
  split("64 256", corder, " ")
  for (r = 1; r <= rounds; r++)
    for (ri = 1; ri <= 2; ri++) for (ci = 1; ci <= 2; ci++) for (si = 1; si <= ns; si++) {
      route = rorder[ri]; c = corder[ci]; s = order[si]; k = route SUBSEP c SUBSEP s
      put(k SUBSEP "rps", rps[r, route, c, s]); put(k SUBSEP "p50", p50[r, route, c, s])
      put(k SUBSEP "p99", p99[r, route, c, s]); put(k SUBSEP "cpu", cpu[r, route, c, s])
      put(k SUBSEP "xn", rps[r, route, c, s] / rps[r, route, c, "nginx"])
      put(k SUBSEP "xa", rps[r, route, c, s] / rps[r, route, c, "asio"])
      put(k SUBSEP "cn", cpu[r, route, c, s] / cpu[r, route, c, "nginx"])
      put(k SUBSEP "ca", cpu[r, route, c, s] / cpu[r, route, c, "asio"])
      put(k SUBSEP "cf", cpu[r, route, c, s] / cpu[r, route, c, "floor"])
      if (route == "/work?ms=0") {
        put(k SUBSEP "gate", rps[r, route, c, s] / rps[r, "/healthz", c, s])
        put(k SUBSEP "gatecpu", cpu[r, "/healthz", c, s] / cpu[r, route, c, s])
      }
    }
  printf "\nMedians over %d interleaved rounds (ratios taken within each round).\n", rounds
  printf "x nginx / x asio: req/s ratio; cpu x: server CPU per request ratio (lower is better);\n"
  printf "floor: a canned answer per request on io_uring, no parser (the least any server can spend here);\n"
  printf "floor-ms: the same with a multishot recv and provided buffers (no recv submitted per request);\n"
  printf "gated/ungated: /work?ms=0 against /healthz on the same server, by req/s and by CPU per request\n"
  printf "(healthz CPU / work CPU), both higher-is-better.\n\n"
  printf "| route | conns | server | req/s | p50 | p99 | CPU us/req | x nginx | x asio | cpu x nginx | cpu x asio | cpu x floor | gated/ungated req/s, cpu | non-2xx |\n"
  printf "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
  for (ri = 1; ri <= 2; ri++) for (ci = 1; ci <= 2; ci++) for (si = 1; si <= ns; si++) {
    route = rorder[ri]; c = corder[ci]; s = order[si]; k = route SUBSEP c SUBSEP s
    gate = route == "/work?ms=0" ? sprintf("%.2f, %.2f", median(k SUBSEP "gate"), median(k SUBSEP "gatecpu")) : ""
    printf "| %s | %s | %s | %.0f | %.0f us | %.0f us | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %d |\n",
      route, c, s, median(k SUBSEP "rps"), median(k SUBSEP "p50"), median(k SUBSEP "p99"),
      median(k SUBSEP "cpu"), median(k SUBSEP "xn"), median(k SUBSEP "xa"), median(k SUBSEP "cn"),
      median(k SUBSEP "ca"), median(k SUBSEP "cf"), gate, err[route, c, s]
  }
}' "$results"
echo
echo "nginx answers /work?ms=0 ungated (return 200): its row is the ungated ceiling; the floors answer"
echo "every request alike, so their /work?ms=0 rows are the same canned answer."
if [ -n "$out_file" ]; then
  printf 'round\troute\tconns\tserver\treq_s\tp50_us\tp99_us\tcpu_us_per_req\tnon2xx\n' >"$out_file"
  cat "$results" >>"$out_file"
  echo "raw rows: $out_file"
fi
