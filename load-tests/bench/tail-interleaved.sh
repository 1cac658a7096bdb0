#!/usr/bin/env bash
# A diagnostic for the small-response latency tail (BENCHMARKS.md, "The HTTP/1.1 tail, a third
# look"), not a suite: a bare Netty server (BareNettyServer.java), Portico's `respond` route and
# nginx's `return 200`, all listening on the proxy core at once and loaded in turn by wrk on the
# load core, ROUNDS times, with no origin. Prints wrk's percentiles p50..p99.9 per run.
#
#   load-tests/bench/tail-interleaved.sh            # 4 rounds of 10 s, 10 connections
#   ROUNDS=2 CONNECTIONS=50 PORTICO_TRANSPORT=epoll load-tests/bench/tail-interleaved.sh
#
# Environment: ROUNDS (4), DURATION (10), CONNECTIONS (10), PORTICO_TRANSPORT (io_uring),
# BARE_TRANSPORT (the bare server's: io_uring or epoll; PORTICO_TRANSPORT's when that is one of them),
# BARE_READ (auto, or manual: AUTO_READ off and one read() per batch, as Portico reads),
# PORTICO_JAR (proxy-server/target/portico.jar), PORTICO_JAVA_OPTS (the http suite's flags),
# PROXY_CPU (0), LOAD_CPU (1), BASE_PORT (18181: bare, +1 Portico, +2 nginx).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROUNDS=${ROUNDS:-4} DURATION=${DURATION:-10} C=${CONNECTIONS:-10}
JAR=${PORTICO_JAR:-$ROOT/proxy-server/target/portico.jar}
JO=${PORTICO_JAVA_OPTS:-"-XX:+UseParallelGC -Xms256m -Xmx256m -XX:+AlwaysPreTouch -XX:ActiveProcessorCount=1"}
PCPU=${PROXY_CPU:-0} LCPU=${LOAD_CPU:-1} BASE=${BASE_PORT:-18181}
for tool in wrk nginx curl java; do command -v $tool >/dev/null || { echo "needs $tool (bin/bench installs wrk and nginx)" >&2; exit 1; }; done
[ -f "$JAR" ] || { echo "no $JAR: build first (mvn -q -DskipTests package)" >&2; exit 1; }
BARE_TRANSPORT=${BARE_TRANSPORT:-$([ "${PORTICO_TRANSPORT:-io_uring}" = epoll ] && echo epoll || echo io_uring)}
W=$(mktemp -d /tmp/portico-tail.XXXXXX); mkdir -p "$W/n/logs"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
fail() { echo "$1" >&2; for f in "$W"/*.out "$W"/n/logs/error.log; do [ -s "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done; exit 1; }
trap cleanup EXIT
cat >"$W/portico.yaml" <<Y
transport: ${PORTICO_TRANSPORT:-io_uring}
workers: 1
listeners:
  - address: 127.0.0.1:$((BASE + 1))
    http: {keepalive_requests: 100000000}
servers:
  - default: true
    routes: [{match: {prefix: /}, respond: {status: 200, body: "hello\n"}}]
access_log: {enabled: false}
demo_origin: {enabled: false}
admin: {enabled: false}
shutdown_timeout: 0s
Y
cat >"$W/n/nginx.conf" <<N
worker_processes 1; daemon off; pid $W/n/nginx.pid; error_log $W/n/logs/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000;
  server { listen 127.0.0.1:$((BASE + 2)); location / { return 200 "hello\n"; } } }
N
cat >"$W/pct.lua" <<'L'
done = function(summary, latency, requests)
  local out = {}
  for _, p in ipairs({50, 90, 95, 97, 98, 99, 99.5, 99.9}) do
    table.insert(out, string.format("p%s=%dus", p, latency:percentile(p)))
  end
  io.write(string.format("%d req/s  ", math.floor(summary.requests * 1000000 / summary.duration)) .. table.concat(out, " ") .. "\n")
end
L
# shellcheck disable=SC2086
taskset -c "$PCPU" java $JO -cp "$JAR" "$ROOT/load-tests/bench/BareNettyServer.java" "$BARE_TRANSPORT" "$BASE" "${BARE_READ:-auto}" >"$W/bare.out" 2>&1 & PIDS+=($!)
# shellcheck disable=SC2086
taskset -c "$PCPU" java $JO -jar "$JAR" --config "$W/portico.yaml" >"$W/portico.out" 2>&1 & PIDS+=($!)
taskset -c "$PCPU" nginx -p "$W/n" -c "$W/n/nginx.conf" & PIDS+=($!)
for p in "$BASE" $((BASE + 1)) $((BASE + 2)); do
    up=
    for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$p/" && { up=1; break; }; sleep 0.1; done
    [ -n "$up" ] || fail "nothing answers on 127.0.0.1:$p"
    for _ in 1 2 3; do taskset -c "$LCPU" wrk -t 1 -c "$C" -d 5s "http://127.0.0.1:$p/" >/dev/null; done
done
names=("bare-$BARE_TRANSPORT-${BARE_READ:-auto}" "portico-${PORTICO_TRANSPORT:-io_uring}" nginx)
for r in $(seq "$ROUNDS"); do
    for i in 0 1 2; do
        out=$(taskset -c "$LCPU" wrk -t 1 -c "$C" -d "${DURATION}s" -s "$W/pct.lua" "http://127.0.0.1:$((BASE + i))/") \
            || fail "wrk failed against ${names[$i]}: $out"
        # wrk's own error lines (socket errors, non-2xx answers) are shown with the row.
        printf '%-2s %-16s %s %s\n' "$r" "${names[$i]}" "$(echo "$out" | tail -1)" \
            "$(echo "$out" | grep -E 'Socket errors|Non-2xx' | tr -s ' ' | tr '\n' ' ')"
    done
done
