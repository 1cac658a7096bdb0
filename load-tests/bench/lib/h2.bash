# bin/bench --suite h2, sourced by bin/bench: Portico, nginx and HAProxy as HTTP/2 reverse proxies
# to the same HTTP/1.1 origin, loaded by h2load (-c H2_CLIENTS -m H2_STREAMS, one thread) over
# h2 with TLS (ALPN) and h2c by prior knowledge, on the 6 B and the 16 KiB response. The runner
# machinery (measure, write_row, the medians and the summary table) is bin/bench's.
# shellcheck shell=bash

# The port of TARGET for an h2-* (TLS), h2c-* or h3-* scenario (h3: Portico's TLS port, over UDP).
h2_port() {
    case "$1:$2" in
        portico:h3-*) echo "$PORTICO_TLS_PORT" ;;
        nginx:h2-*) echo "$NGINX_TLS_PORT" ;;
        nginx:*) echo "$NGINX_PORT" ;;
        haproxy:h2-*) echo "$HAPROXY_TLS_PORT" ;;
        haproxy:*) echo "$HAPROXY_PORT" ;;
        portico:h2-*) echo "$PORTICO_TLS_PORT" ;;
        *) echo "$PORTICO_PORT" ;;
    esac
}

# The URL h2load and curl ask for in SCENARIO on PORT.
h2_url() {
    local path=/ scheme=http
    [[ $1 == *-16k ]] && path=/16k.bin
    [[ $1 == h2-* || $1 == h3-* ]] && scheme=https
    echo "$scheme://localhost:$2$path"
}

# HTTP/3 scenarios run against Portico only: Debian's nginx 1.22 has no HTTP/3 and its HAProxy
# 2.6 is built without QUIC. Their figures compare with the peers' h2 over TLS in the same run.
h2_runs_on() {
    [[ $1 != h3-* || $2 == portico ]]
}

# Checks both paths over h2 (TLS, ALPN, the certificate verified against the generated one) and
# h2c (prior knowledge) through TARGET: the bodies, and that HTTP/2 is what was spoken.
check_h2_responses() {
    local name=$1 scenario out body size version
    for scenario in h2-small h2c-small h2-16k h2c-16k; do
        local flags=(--http2-prior-knowledge)
        [[ $scenario == h2-* ]] && flags=(--http2 --cacert "$CERTS/ecdsa.crt")
        out=$(curl -s --max-time 5 "${flags[@]}" -o "$WORK/h2-body" -w '%{http_code} %{http_version} %{size_download}' \
            "$(h2_url "$scenario" "$(h2_port "$name" "$scenario")")") || die "$name: $scenario request failed"
        read -r body version size <<<"$out"
        [ "$body" = 200 ] || die "$name: $scenario answered $body"
        [ "$version" = 2 ] || die "$name: $scenario spoke HTTP/$version, not HTTP/2"
        case "$scenario" in
            *-small) [ "$(cat "$WORK/h2-body")" = hello ] || die "$name: $scenario returned '$(head -c 100 "$WORK/h2-body")'" ;;
            *) [ "$size" = 16384 ] || die "$name: $scenario returned $size bytes" ;;
        esac
    done
    curl -s --max-time 5 --http2 --cacert "$CERTS/ecdsa.crt" -D - -o /dev/null \
        "$(h2_url h2-small "$(h2_port "$name" h2-small)")" >"$RESULTS/headers-$name.txt" || true
}

# Runs h2load against one target; arguments and row as run_wrk. Latency percentiles come from
# h2load's per-request log (h2load itself prints only min/max/mean), sorted after the run so the
# sorting is not counted as load.
run_h2() {
    local phase=$1 round=$2 scenario=$3 name=$4 port=$5 pid=$6 secs=$7 attempt=${8:-1}
    local out="$RESULTS/load/$phase-r$round-$scenario-$name-a$attempt.txt" reqlog="$WORK/h2load-requests.log"
    local proto=h2
    [[ $scenario == h2c-* ]] && proto=h2c
    rm -f "$reqlog"
    if [[ $scenario == h3-* ]]; then
        local path=/
        [[ $scenario == *-16k ]] && path=/16k.bin
        counters_start "$pid"
        # The HTTP/3 load generator prints wrk's BENCH line itself (load-tests, io.portico.loadtests.h3).
        timeout $((secs + 60)) taskset -c "$LOAD_CPU" java -Xms256m -Xmx256m -XX:+UseParallelGC \
            -Dio.netty.leakDetection.level=disabled -cp "$WS_CP" io.portico.loadtests.h3.H3Load \
            localhost "$port" "$path" "$H2_CLIENTS" "$H2_STREAMS" "$secs" >"$out" 2>&1 &
        WRK_PID=$!
        wait "$WRK_PID" || die "the HTTP/3 load failed against $name ($out): $(tail -3 "$out")"
        WRK_PID=
        counters_stop "$pid"
        kill -0 "$pid" 2>/dev/null || die "$name died during the run; see $RESULTS"
        [ "$phase" = run ] || return 0
        write_row "$(grep '^BENCH ' "$out")" "$round" "$scenario" "$name" "$pid" "$attempt"
        return 0
    fi
    counters_start "$pid"
    timeout $((secs + 30)) taskset -c "$LOAD_CPU" h2load -t 1 -c "$H2_CLIENTS" -m "$H2_STREAMS" -D "$secs" \
        --log-file="$reqlog" "$(h2_url "$scenario" "$port")" >"$out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || die "h2load failed against $name ($out): $(tail -3 "$out")"
    WRK_PID=
    counters_stop "$pid"
    kill -0 "$pid" 2>/dev/null || die "$name died during the run; see $RESULTS"
    grep -q "^Application protocol: $proto\$" "$out" || die "h2load did not speak $proto to $name ($out)"
    [ "$phase" = run ] || return 0
    local line
    line=$(h2_bench_line "$out" "$reqlog") || die "could not read h2load's results in $out"
    echo "$line" >>"$out"
    write_row "$line" "$round" "$scenario" "$name" "$pid" "$attempt"
}

# A BENCH line (as percentiles.lua prints for wrk) from h2load's summary and per-request log.
h2_bench_line() {
    local out=$1 reqlog=$2 us ok failed errored timedout non2xx pcts
    read -r us ok failed errored timedout non2xx < <(awk '
        /^finished in/ {
            v = $3; sub(/,$/, "", v)
            if (v ~ /ms$/) us = substr(v, 1, length(v) - 2) * 1000
            else if (v ~ /us$/) us = substr(v, 1, length(v) - 2) + 0
            else if (v ~ /s$/) us = substr(v, 1, length(v) - 1) * 1000000
        }
        /^requests:/ { ok = $8; failed = $10; errored = $12; timedout = $14 }
        /^status codes:/ { bad = $5 + $7 + $9 }
        END { printf "%d %d %d %d %d %d\n", us, ok, failed, errored, timedout, bad }' "$out")
    [ "$us" -gt 0 ] && [ "$ok" -gt 0 ] || return 1
    # Column 3: microseconds from the request's start to the end of its response; -1 status: failed.
    pcts=$(awk -F'\t' '$2 != -1 { print $3 }' "$reqlog" | sort -n | awk '
        { a[NR] = $1 }
        END {
            if (NR == 0) { print "0 0 0 0 0"; exit }
            split("50 90 99 99.9", q, " ")
            for (i = 1; i <= 4; i++) { k = int(NR * q[i] / 100 + 0.999999); if (k < 1) k = 1; printf "%d ", a[k] }
            print a[NR]
        }')
    local p50 p90 p99 p999 max
    read -r p50 p90 p99 p999 max <<<"$pcts"
    echo "BENCH requests=$ok duration_us=$us bytes=0 p50_us=$p50 p90_us=$p90 p99_us=$p99 p999_us=$p999 max_us=$max" \
        "connect_err=$errored read_err=$((failed - errored - timedout)) write_err=0 status_err=$non2xx timeout_err=$timedout"
}

main_h2() {
    install_missing
    command -v mvn >/dev/null 2>&1 || die "mvn is needed to build the HTTP/3 load generator"
    local target
    for port in "$ORIGIN_PORT" "$NGINX_PORT" "$NGINX_TLS_PORT" "$PORTICO_PORT" "$PORTICO_TLS_PORT" "$HAPROXY_PORT" "$HAPROXY_TLS_PORT"; do
        port_free "$port" || die "port $port is in use (set BENCH_PORT_BASE)"
    done
    [ "$(nproc)" -ge 2 ] || log "warning: fewer than 2 CPUs; pinning cannot separate the load from the proxies"

    RESULTS="$ROOT/bench-results/$(date +%Y%m%d-%H%M%S)-h2"
    mkdir -p "$RESULTS/load"
    WORK=$(mktemp -d /tmp/portico-bench.XXXXXX)
    CLK_TCK=$(getconf CLK_TCK)
    snapshot_jar
    ROW_FILE="$WORK/row.tsv"
    make_certs
    # HAProxy takes the certificate and its key in one file.
    cat "$CERTS/ecdsa.crt" "$CERTS/ecdsa.key" >"$CERTS/ecdsa.pem"

    {
        machine_info
        echo "h2load:    $(h2load --version 2>&1 | head -1)"
    } | tee "$RESULTS/machine.txt"
    local settings="suite=h2 rounds=$ROUNDS duration=${DURATION}s warmup=${WARMUP}s h2load=-t1,-c$H2_CLIENTS,-m$H2_STREAMS headers=$HEADERS transport=$TRANSPORT proxy-cpu=$PROXY_CPU load-cpu=$LOAD_CPU"
    echo "settings:  $settings" | tee -a "$RESULTS/machine.txt"

    start_origin
    FILL_H2C_PORT=$NGINX_PORT start_nginx h2.nginx.conf "$NGINX_TLS_PORT" "" https
    FILL_H2C_PORT=$HAPROXY_PORT start_haproxy h2.haproxy.cfg "$HAPROXY_TLS_PORT" https
    FILL_H2C_PORT=$PORTICO_PORT start_portico h2.portico.yaml "$PORTICO_TLS_PORT" "" https
    for target in $PEERS portico; do check_h2_responses "$target"; done
    # The HTTP/3 load generator, checked with one short run (it exits non-zero when nothing completed).
    build_ws_tools
    timeout 60 taskset -c "$LOAD_CPU" java -cp "$WS_CP" io.portico.loadtests.h3.H3Load localhost "$PORTICO_TLS_PORT" / 1 1 1 \
        >"$RESULTS/h3-check.txt" 2>&1 || die "HTTP/3 check against portico failed: $(tail -3 "$RESULTS/h3-check.txt")"

    local tsv="$RESULTS/runs.tsv"
    echo "$TSV_HEADER" >"$tsv"

    # Portico's warm-up spread over the scenarios, so that C2 has compiled TLS, h2c, HTTP/3 and both
    # sizes. On HTTP/2 a third of each scenario's share is one steady run and the rest 1 s runs, each
    # on 16 new connections: every measured run opens its connections at once after the last one
    # closed its own with streams in flight, and C2, having compiled only the steady state, would
    # deoptimise the hot read path there and run it slower for up to 2 s (BENCHMARKS.md, "HTTP/2:
    # the first seconds of a run").
    local scenario count each i port
    count=$(wc -w <<<"$SCENARIOS")
    each=$(( (WARMUP + count - 1) / count ))
    log "warm-up, not counted: Portico ${each}s on each scenario (JIT; on HTTP/2 two thirds as 1 s runs on new connections); the others ${NGINX_WARMUP}s each"
    for scenario in $SCENARIOS; do
        port=$(h2_port portico "$scenario")
        if [ "$each" -ge 3 ] && [[ $scenario != h3-* ]]; then
            run_h2 warmup 0 "$scenario" portico "$port" "$PORTICO_PID" $((each / 3))
            for ((i = 0; i < each - each / 3; i++)); do
                run_h2 warmup 0 "$scenario" portico "$port" "$PORTICO_PID" 1
            done
        elif [ "$each" -gt 0 ]; then
            run_h2 warmup 0 "$scenario" portico "$port" "$PORTICO_PID" "$each"
        fi
        for target in $PEERS; do
            h2_runs_on "$scenario" "$target" || continue
            run_h2 warmup 0 "$scenario" "$target" "$(h2_port "$target" "$scenario")" "$(target_pid "$target")" "$NGINX_WARMUP"
        done
    done

    local round order targets
    read -r -a targets <<<"$PEERS portico"
    for ((round = 1; round <= ROUNDS; round++)); do
        local k=$(( (round - 1) % ${#targets[@]} ))
        order="${targets[*]:k} ${targets[*]:0:k}"
        for scenario in $SCENARIOS; do
            for target in $order; do
                h2_runs_on "$scenario" "$target" || continue
                log "round $round/$ROUNDS: $target, $scenario, ${DURATION}s"
                measure "$round" "$scenario" "$target" "$(h2_port "$target" "$scenario")" "$(target_pid "$target")" "$DURATION" >>"$tsv"
                tail -1 "$tsv" | awk -F'\t' '{ printf "    %s req/s, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, %s µs CPU/req, proxy %s%% of a core, load core %s%%, non-2xx %s, errors %d, other processes %s%% of the machine\n", $6, $7/1000, $9/1000, $10/1000, $12, $13, $15, $20, $17+$18+$19+$21, $22 }' >&2
            done
        done
    done

    {
        echo "# Portico vs nginx and HAProxy as HTTP/2 reverse proxies, $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo
        echo '```'
        cat "$RESULTS/machine.txt"
        echo '```'
        echo
        echo "Medians over $ROUNDS rounds of ${DURATION}s; h2load -t 1 -c $H2_CLIENTS -m $H2_STREAMS;" \
            "h2: TLS 1.3 with ALPN h2, ECDSA P-256 certificate; h2c: prior knowledge; h3: HTTP/3 over QUIC, Portico only" \
            "(neither peer's Debian build has it), loaded by load-tests' H3Load with the same -c and -m. Origin: HTTP/1.1 keep-alive."
        echo
        summary_table "$tsv"
    } >"$RESULTS/summary.md"
    echo
    summary_table "$tsv"
    echo
    local warn
    warn=$(grep -ciE 'warn|error|exception|severe' "$RESULTS/portico.stderr" "$RESULTS/portico.stdout" 2>/dev/null | awk -F: '{ s += $2 } END { print s + 0 }')
    echo "Portico log lines with WARN/ERROR/SEVERE/exception: $warn (see $RESULTS/portico.stderr)"
    echo "raw results: $RESULTS"
}
