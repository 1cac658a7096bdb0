# bin/bench --suite warmup, sourced by bin/bench: how long a cold proxy takes to reach its steady
# throughput. Each round starts the target fresh (Portico with portico.yaml, nginx with
# proxy.nginx.conf, the same origin), times start-up to listening and to its first answered
# request, then loads it with wrk (-t 1 -c CONNECTIONS, 6 B responses) in 1 s steps for
# WARMUP_SECONDS. Steady throughput is the median of the last WARMUP_TAIL steps; the time to 95%
# is when throughput first holds at least 95% of it for WARMUP_HOLD steps in a row.
# shellcheck shell=bash

# Milliseconds since the epoch.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Polls (every 5 ms, at most 60 s) until PORT accepts a TCP connection; prints the time it did.
await_listening_ms() {
    local port=$1 pid=$2 name=$3
    for _ in $(seq 1 12000); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then now_ms; return 0; fi
        kill -0 "$pid" 2>/dev/null || die "$name exited during startup"
        sleep 0.005
    done
    die "$name did not listen on $port within 60 s"
}

# Polls until GET / answers 200; prints the time it did.
await_answer_ms() {
    local port=$1 pid=$2 name=$3
    for _ in $(seq 1 3000); do
        if curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then now_ms; return 0; fi
        kill -0 "$pid" 2>/dev/null || die "$name exited during startup"
        sleep 0.01
    done
    die "$name did not answer GET / within 30 s"
}

# One cold start of TARGET (portico or nginx) in round ROUND: appends a row to warmup.tsv and the
# per-step throughput to warmup-steps.tsv.
warmup_case() {
    local target=$1 round=$2 t0 listen answer pid port step out rps
    local p="$WORK/$target"
    mkdir -p "$p/logs"
    wait_quiet
    if [ "$target" = portico ]; then
        port=$PORTICO_PORT
        fill "$TPL/portico.yaml" "$p" "$port" >"$p/portico.yaml"
        cp "$p/portico.yaml" "$RESULTS/portico.yaml"
        t0=$(now_ms)
        # shellcheck disable=SC2086 # JAVA_OPTS is a list of flags
        (cd "$p" && exec taskset -c "$PROXY_CPU" java $JAVA_OPTS -jar "$JAR" --config "$p/portico.yaml" \
            >>"$RESULTS/portico.stdout" 2>>"$RESULTS/portico.stderr") &
        pid=$!
    else
        port=$NGINX_PORT
        fill "$TPL/proxy.nginx.conf" "$p" "$port" >"$p/nginx.conf"
        cp "$TPL/nginx-headers-$HEADERS.conf" "$p/headers.conf"
        chmod -R a+rX "$WORK"
        t0=$(now_ms)
        taskset -c "$PROXY_CPU" nginx -p "$p" -c "$p/nginx.conf" -e "$p/logs/error.log" >"$p/logs/stdout.log" 2>&1 &
        pid=$!
    fi
    PIDS+=("$pid")
    listen=$(await_listening_ms "$port" "$pid" "$target")
    answer=$(await_answer_ms "$port" "$pid" "$target")
    log "$target round $round: listening after $((listen - t0)) ms, first answer after $((answer - t0)) ms; ${WARMUP_SECONDS} steps of 1 s"
    for ((step = 1; step <= WARMUP_SECONDS; step++)); do
        out="$RESULTS/wrk/r$round-$target-s$step.txt"
        timeout 31 taskset -c "$LOAD_CPU" wrk -t 1 -c "$CONNECTIONS" -d 1s -s "$TPL/percentiles.lua" \
            "http://127.0.0.1:$port/" >"$out" 2>&1 &
        WRK_PID=$!
        wait "$WRK_PID" || die "wrk failed against $target ($out): $(tail -3 "$out")"
        WRK_PID=
        rps=$(awk '/^BENCH / { for (i = 2; i <= NF; i++) { split($i, p, "="); v[p[1]] = p[2] }
            errs = v["connect_err"] + v["read_err"] + v["write_err"] + v["timeout_err"] + v["status_err"]
            printf "%.0f %d\n", v["requests"] / (v["duration_us"] / 1e6), errs }' "$out")
        printf '%s\t%d\t%d\t%d\t%s\n' "$target" "$round" "$step" "$(( $(now_ms) - answer ))" "${rps// /$'\t'}" >>"$RESULTS/warmup-steps.tsv"
    done
    stop_pid "$pid"
    awk -F'\t' -v t="$target" -v r="$round" -v tail="$WARMUP_TAIL" -v hold="$WARMUP_HOLD" \
        -v listen=$((listen - t0)) -v answer=$((answer - t0)) '
        $1 == t && $2 == r { n++; rps[n] = $5; end[n] = $4 / 1000; errs += $6 }
        END {
            k = 0
            for (i = n - tail + 1; i <= n; i++) if (i >= 1) s[++k] = rps[i]
            # median of the tail (insertion sort: a few dozen values)
            for (i = 2; i <= k; i++) { v = s[i]; j = i - 1; while (j >= 1 && s[j] > v) { s[j + 1] = s[j]; j-- } s[j + 1] = v }
            steady = k % 2 ? s[(k + 1) / 2] : (s[k / 2] + s[k / 2 + 1]) / 2
            at = -1
            for (i = 1; i + hold - 1 <= n && at < 0; i++) {
                ok = 1
                for (j = i; j < i + hold; j++) if (rps[j] < 0.95 * steady) ok = 0
                if (ok) at = i
            }
            # Seconds of load before the first step of the run that holds: 0 when the first step does.
            secs = at < 0 ? -1 : (at == 1 ? 0 : end[at - 1])
            printf "%s\t%d\t%d\t%d\t%.0f\t%.1f\t%d\t%d\n", t, r, listen, answer, steady, secs, at, errs
        }' "$RESULTS/warmup-steps.tsv" >>"$RESULTS/warmup.tsv"
}

warmup_table() {
    echo "| target | rounds | start → listening ms | start → first answer ms | steady req/s (median of last $WARMUP_TAIL s) | load seconds to hold ≥ 95% ($WARMUP_HOLD s) | from start, s | wrk errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    local target
    for target in portico nginx; do
        awk -F'\t' -v t="$target" '
            $1 == t { n++; l[n] = $3; a[n] = $4; s[n] = $5; w[n] = $6; e += $8 }
            function med(x, m,   i, j, v, y) {
                for (i = 1; i <= m; i++) y[i] = x[i]
                for (i = 2; i <= m; i++) { v = y[i]; j = i - 1; while (j >= 1 && y[j] > v) { y[j + 1] = y[j]; j-- } y[j + 1] = v }
                return m % 2 ? y[(m + 1) / 2] : (y[m / 2] + y[m / 2 + 1]) / 2
            }
            END {
                if (n == 0) exit
                never = 0; for (i = 1; i <= n; i++) if (w[i] < 0) never = 1
                hold = never ? "not reached in a round" : sprintf("%.1f", med(w, n))
                from = never ? "-" : sprintf("%.1f", med(w, n) + med(a, n) / 1000)
                printf "| %s | %d | %.0f | %.0f | %.0f | **%s** | %s | %d |\n", t, n, med(l, n), med(a, n), med(s, n), hold, from, e
            }' "$RESULTS/warmup.tsv"
    done
}

main_warmup() {
    install_missing
    for port in "$ORIGIN_PORT" "$NGINX_PORT" "$PORTICO_PORT"; do
        port_free "$port" || die "port $port is in use (set BENCH_PORT_BASE)"
    done
    if [ "${QUICK:-}" ]; then
        WARMUP_SECONDS=8
        WARMUP_TAIL=3
        WARMUP_HOLD=2
    fi
    [ "$WARMUP_SECONDS" -gt "$WARMUP_TAIL" ] && [ "$WARMUP_TAIL" -ge 1 ] && [ "$WARMUP_HOLD" -ge 1 ] \
        || die "BENCH_WARMUP_SECONDS must exceed BENCH_WARMUP_TAIL, and the tail and BENCH_WARMUP_HOLD be at least 1"
    RESULTS="$ROOT/bench-results/$(date +%Y%m%d-%H%M%S)-warmup"
    mkdir -p "$RESULTS/wrk"
    WORK=$(mktemp -d /tmp/portico-bench.XXXXXX)
    CLK_TCK=$(getconf CLK_TCK)
    snapshot_jar
    machine_info | tee "$RESULTS/machine.txt"
    echo "settings:  suite=warmup rounds=$ROUNDS steps=${WARMUP_SECONDS}x1s tail=${WARMUP_TAIL}s hold=${WARMUP_HOLD}s connections=$CONNECTIONS headers=$HEADERS transport=$TRANSPORT proxy-cpu=$PROXY_CPU load-cpu=$LOAD_CPU" \
        | tee -a "$RESULTS/machine.txt"
    : >"$RESULTS/warmup-steps.tsv"
    : >"$RESULTS/warmup.tsv"
    start_origin
    local round order target
    for ((round = 1; round <= ROUNDS; round++)); do
        if ((round % 2)); then order="portico nginx"; else order="nginx portico"; fi
        for target in $order; do warmup_case "$target" "$round"; done
    done
    {
        echo "# Time to steady throughput from a cold start, $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo
        echo '```'
        cat "$RESULTS/machine.txt"
        echo '```'
        echo
        echo "Each round starts the target cold and loads it with wrk -t 1 -c $CONNECTIONS (6 B) in 1 s steps for ${WARMUP_SECONDS} s;" \
            "steady = median of the last $WARMUP_TAIL steps; 'load seconds' = load applied before throughput first stayed ≥ 95% of" \
            "steady for $WARMUP_HOLD steps in a row. Medians over $ROUNDS rounds. Per-step figures: warmup-steps.tsv."
        echo
        warmup_table
    } >"$RESULTS/summary.md"
    echo
    warmup_table
    echo
    echo "Portico's first round, req/s per 1 s step:"
    awk -F'\t' '$1 == "portico" && $2 == 1 { printf "%s ", $5 } END { print "" }' "$RESULTS/warmup-steps.tsv"
    echo "raw results: $RESULTS"
}
