# bin/bench --suite ws, sourced by bin/bench: Portico and nginx as WebSocket reverse proxies in
# front of the same echo origin. (a) Round trips: WS_SOCKETS sockets each send a WS_MESSAGE-byte
# text message, await its echo, check it byte for byte and send the next; round trips per second,
# p50/p99, and the proxy's CPU per round trip. (b) Memory per idle WebSocket: WS_IDLE sockets held
# open through each freshly started proxy, measured as the idle suite measures keep-alive
# connections. The echo origin and the load generator are the Java tools of load-tests
# (io.portico.loadtests.ws, Netty on one event loop each), both on the load core.
# shellcheck shell=bash

WS_MODE=${BENCH_WS_MODE:-frames}

# Compiles the WebSocket tools and writes their classpath (no install, nothing downloaded with -o).
build_ws_tools() {
    local cpfile="$ROOT/load-tests/target/ws-classpath.txt"
    log "building the WebSocket echo origin and load generator (load-tests, -Pload-tests)"
    mvn -B -ntp -q -f "$ROOT/pom.xml" -Pload-tests -pl load-tests compile dependency:build-classpath \
        -Dmdep.outputFile="$cpfile" -Dmdep.includeScope=runtime >"$RESULTS/ws-build.log" 2>&1 \
        || die "could not build the WebSocket tools: $(tail -5 "$RESULTS/ws-build.log")"
    # A private copy, as snapshot_jar does for Portico: a rebuild cannot change them under a run.
    mkdir -p "$WORK/ws-tools"
    cp -r "$ROOT/load-tests/target/classes" "$WORK/ws-tools/classes"
    WS_CP="$WORK/ws-tools/classes:$(cat "$cpfile")"
}

# The tools' JVM: small fixed heap, no leak detection (nothing to find here, and it costs CPU).
ws_java() {
    java -Xms256m -Xmx256m -XX:+UseParallelGC -Dio.netty.leakDetection.level=disabled -cp "$WS_CP" \
        io.portico.loadtests.ws.WsBench "$@"
}

start_ws_origin() {
    local log_file="$RESULTS/ws-origin.log"
    taskset -c "$LOAD_CPU" java -Xms256m -Xmx256m -XX:+UseParallelGC -Dio.netty.leakDetection.level=disabled \
        -cp "$WS_CP" io.portico.loadtests.ws.WsBench echo "$WS_ORIGIN_PORT" >"$log_file" 2>&1 &
    ORIGIN_PID=$!
    PIDS+=("$ORIGIN_PID")
    for _ in $(seq 1 300); do
        grep -q '^listening' "$log_file" && return 0
        kill -0 "$ORIGIN_PID" 2>/dev/null || die "the WebSocket echo origin exited: $(tail -3 "$log_file")"
        sleep 0.1
    done
    die "the WebSocket echo origin did not listen within 30 s"
}

# Runs the round-trip load against one target; arguments and row as run_wrk. The proxy's counters
# run from the moment every socket is open (the load generator's "open" line) to its BENCH line.
run_ws() {
    local phase=$1 round=$2 scenario=$3 name=$4 port=$5 pid=$6 secs=$7 attempt=${8:-1}
    local out="$RESULTS/load/$phase-r$round-$scenario-$name-a$attempt.txt" fifo="$WORK/ws-go.fifo"
    rm -f "$fifo"
    mkfifo "$fifo"
    taskset -c "$LOAD_CPU" java -Xms256m -Xmx256m -XX:+UseParallelGC -Dio.netty.leakDetection.level=disabled \
        -cp "$WS_CP" io.portico.loadtests.ws.WsBench load "ws://127.0.0.1:$port/echo" "$WS_SOCKETS" "$secs" \
        "$WS_MESSAGE" --go <"$fifo" >"$out" 2>&1 &
    WRK_PID=$!
    exec 8>"$fifo"
    local up=
    for _ in $(seq 1 1200); do
        up=$(sed -n 's/^open //p' "$out")
        [ -n "$up" ] && break
        kill -0 "$WRK_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ "$up" = "$WS_SOCKETS" ] || { exec 8>&-; die "$name: ${up:-0} of $WS_SOCKETS WebSockets came up ($out): $(tail -3 "$out")"; }
    counters_start "$pid"
    echo go >&8
    exec 8>&-
    for _ in $(seq 1 $(( (secs + 30) * 20 ))); do
        grep -q '^BENCH ' "$out" && break
        kill -0 "$WRK_PID" 2>/dev/null || break
        sleep 0.05
    done
    counters_stop "$pid"
    wait "$WRK_PID" || die "the WebSocket load failed against $name ($out): $(tail -3 "$out")"
    WRK_PID=
    kill -0 "$pid" 2>/dev/null || die "$name died during the run; see $RESULTS"
    [ "$phase" = run ] || return 0
    local line
    line=$(grep '^BENCH ' "$out") || die "no BENCH line in $out"
    write_row "$line" "$round" "$scenario" "$name" "$pid" "$attempt"
}

# Opens WS_IDLE WebSockets through one freshly started target, each with one checked echo, and
# records the memory they hold. Arguments: target, port, pid.
ws_idle_case() {
    local name=$1 port=$2 pid=$3 out="$RESULTS/ws-idle-$1.txt" fifo="$WORK/ws-idle.fifo"
    local rss0 rss1 live0=0 live1=0 oneoff0=0 oneoff1=0 ready closed
    wait_quiet
    # Java first: its reading collects garbage and trims the native heap, then RSS is read.
    [ "$name" = portico ] && read -r live0 oneoff0 < <(jvm_kib "$pid")
    rss0=$(rss_kib "$pid")
    rm -f "$fifo"
    mkfifo "$fifo"
    taskset -c "$LOAD_CPU" java -Xms512m -Xmx512m -XX:+UseParallelGC -Dio.netty.leakDetection.level=disabled \
        -cp "$WS_CP" io.portico.loadtests.ws.WsBench idle "ws://127.0.0.1:$port/idle" "$WS_IDLE" <"$fifo" >"$out" 2>&1 &
    local client=$!
    exec 7>"$fifo"
    for _ in $(seq 1 1800); do
        grep -q '^ready' "$out" && break
        kill -0 "$client" 2>/dev/null || break
        sleep 0.1
    done
    ready=$(sed -n 's/^ready //p' "$out")
    [ "$ready" = "$WS_IDLE" ] || { exec 7>&-; die "$name: only ${ready:-0} of $WS_IDLE idle WebSockets came up ($out): $(tail -3 "$out")"; }
    # Let the proxy settle (timers armed, buffers returned) before reading its memory.
    sleep "$WS_SETTLE"
    [ "$name" = portico ] && read -r live1 oneoff1 < <(jvm_kib "$pid")
    rss1=$(rss_kib "$pid")
    exec 7>&-
    wait "$client" || die "$name: the idle WebSocket client failed: $(tail -3 "$out")"
    closed=$(sed -n 's/^closed alive=//p' "$out")
    [ "$closed" = "$WS_IDLE" ] || die "$name: only ${closed:-0} of $WS_IDLE WebSockets were still open at the end ($out)"
    printf '%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n' "$name" ws "$WS_IDLE" "$rss0" "$rss1" "$live0" "$live1" "$oneoff0" "$oneoff1" >>"$RESULTS/idle.tsv"
    log "$name: RSS $rss0 -> $rss1 KiB$([ "$name" = portico ] && echo ", live heap $live0 -> $live1 KiB, JVM one-offs $oneoff0 -> $oneoff1 KiB") with $WS_IDLE idle WebSockets"
}

# Checks one WebSocket round trip through TARGET before anything is measured.
check_ws() {
    local name=$1 port=$2 out="$RESULTS/ws-check-$1.txt"
    taskset -c "$LOAD_CPU" java -Xms64m -Xmx256m -Dio.netty.leakDetection.level=paranoid -cp "$WS_CP" \
        io.portico.loadtests.ws.WsBench load "ws://127.0.0.1:$port/check" 4 1 "$WS_MESSAGE" >"$out" 2>&1 \
        || die "$name: WebSocket echo check failed: $(tail -3 "$out")"
    grep -q 'LEAK' "$out" && die "$name: the check client reported a buffer leak ($out)"
    return 0
}

main_ws() {
    install_missing
    command -v mvn >/dev/null 2>&1 || die "mvn is needed to build the WebSocket tools"
    for port in "$WS_ORIGIN_PORT" "$NGINX_PORT" "$PORTICO_PORT"; do
        port_free "$port" || die "port $port is in use (set BENCH_PORT_BASE)"
    done
    case "$WS_MODE" in frames|raw) ;; *) die "BENCH_WS_MODE must be frames or raw" ;; esac
    # The proxy holds a client and an upstream socket per WebSocket; the origin and the client one each.
    local need=$((WS_IDLE * 2 + 1000))
    [ "$(ulimit -n)" -ge "$need" ] || ulimit -n "$need" 2>/dev/null \
        || die "ulimit -n is $(ulimit -n) (hard $(ulimit -Hn)); $need are needed for $WS_IDLE idle WebSockets: raise it or lower BENCH_WS_IDLE"
    [ "$(nproc)" -ge 2 ] || log "warning: fewer than 2 CPUs; pinning cannot separate the load from the proxies"
    # Settle time of the idle part; --duration is the round-trip runs'.
    WS_SETTLE=${BENCH_WS_SETTLE:-5}

    RESULTS="$ROOT/bench-results/$(date +%Y%m%d-%H%M%S)-ws"
    mkdir -p "$RESULTS/load"
    WORK=$(mktemp -d /tmp/portico-bench.XXXXXX)
    CLK_TCK=$(getconf CLK_TCK)
    snapshot_jar
    ROW_FILE="$WORK/row.tsv"
    build_ws_tools
    # Two connections per WebSocket, and headroom: at 8,000 nginx ran out of its 17,000 slots
    # ("worker_connections are not enough, reusing connections") 31 sockets short.
    PEER_CONNECTIONS=$((WS_IDLE * 2 + 4000))

    machine_info | tee "$RESULTS/machine.txt"
    local settings="suite=ws rounds=$ROUNDS duration=${DURATION}s warmup=${WARMUP}s sockets=$WS_SOCKETS message=${WS_MESSAGE}B idle=$WS_IDLE portico-ws-mode=$WS_MODE transport=$TRANSPORT proxy-cpu=$PROXY_CPU load-cpu=$LOAD_CPU"
    echo "settings:  $settings" | tee -a "$RESULTS/machine.txt"

    start_ws_origin
    # nginx answers GET / of wait_ready with the origin's 400 (not a WebSocket request); wait on the port instead.
    start_ws_nginx
    start_ws_portico
    check_ws nginx "$NGINX_PORT"
    check_ws portico "$PORTICO_PORT"

    local tsv="$RESULTS/runs.tsv"
    echo "$TSV_HEADER" >"$tsv"
    log "warm-up, not counted: Portico ${WARMUP}s of round trips (JIT); nginx ${NGINX_WARMUP}s"
    [ "$WARMUP" -gt 0 ] && run_ws warmup 0 echo portico "$PORTICO_PORT" "$PORTICO_PID" "$WARMUP"
    run_ws warmup 0 echo nginx "$NGINX_PORT" "$NGINX_PID" "$NGINX_WARMUP"

    local round order targets target
    read -r -a targets <<<"$PEERS portico"
    for ((round = 1; round <= ROUNDS; round++)); do
        local k=$(( (round - 1) % ${#targets[@]} ))
        order="${targets[*]:k} ${targets[*]:0:k}"
        for target in $order; do
            log "round $round/$ROUNDS: $target, $WS_SOCKETS sockets, ${DURATION}s"
            measure "$round" echo "$target" "$(target_port "$target")" "$(target_pid "$target")" "$DURATION" >>"$tsv"
            tail -1 "$tsv" | awk -F'\t' '{ printf "    %s round trips/s, p50 %.2f ms, p99 %.2f ms, %s µs CPU/round trip, proxy %s%% of a core, load core %s%%, errors %d (mismatched %s), other processes %s%% of the machine\n", $6, $7/1000, $9/1000, $12, $13, $15, $17+$18+$19+$21, $20, $22 }' >&2
        done
    done

    # The idle part: each proxy fresh, so the figure is not mixed with what the runs left behind.
    : >"$RESULTS/idle.tsv"
    stop_pid "$NGINX_PID"
    stop_pid "$PORTICO_PID"
    # Native memory tracking only for the idle part (jvm_kib reads it); it costs a little on every allocation.
    JAVA_OPTS="$JAVA_OPTS -XX:NativeMemoryTracking=summary"
    start_ws_nginx
    ws_idle_case nginx "$NGINX_PORT" "$NGINX_PID"
    stop_pid "$NGINX_PID"
    start_ws_portico
    ws_idle_case portico "$PORTICO_PORT" "$PORTICO_PID"
    stop_pid "$PORTICO_PID"

    {
        echo "# Portico vs nginx as WebSocket proxies, $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo
        echo '```'
        cat "$RESULTS/machine.txt"
        echo '```'
        echo
        echo "Round trips: medians over $ROUNDS rounds of ${DURATION}s; $WS_SOCKETS WebSockets, each sending a" \
            "${WS_MESSAGE}-byte text message and awaiting its (checked) echo in a loop. Portico relay mode: $WS_MODE."
        echo "The proxy's CPU µs per round trip is the fair figure when the load core is saturated (load core busy %)."
        echo
        summary_table "$tsv"
        echo
        echo "Memory per idle WebSocket: $WS_IDLE open, each after one echo; measured ${WS_SETTLE}s after the last came up."
        echo "Portico's figure is its live heap growth plus its native growth (RSS, its heap being fixed and pre-touched) less what NMT shows the JIT, metaspace and the GC's tables took meanwhile, floored at zero."
        echo
        idle_table
    } >"$RESULTS/summary.md"
    echo
    summary_table "$tsv"
    echo
    idle_table
    echo "raw results: $RESULTS"
}

start_ws_nginx() {
    local p="$WORK/nginx"
    mkdir -p "$p/logs"
    fill "$TPL/ws.nginx.conf" "$p" "$NGINX_PORT" \
        | sed "s/worker_connections 4096;/worker_connections $PEER_CONNECTIONS;/" >"$p/nginx.conf"
    cp "$p/nginx.conf" "$RESULTS/nginx.conf"
    chmod -R a+rX "$WORK"
    taskset -c "$PROXY_CPU" nginx -p "$p" -c "$p/nginx.conf" -e "$p/logs/error.log" >"$p/logs/stdout.log" 2>&1 &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    wait_listening "$NGINX_PORT" "$NGINX_PID" nginx
}

start_ws_portico() {
    local p="$WORK/portico"
    mkdir -p "$p"
    fill "$TPL/ws.portico.yaml" "$p" "$PORTICO_PORT" | sed "s/@WS_MODE@/$WS_MODE/g" >"$p/portico.yaml"
    cp "$p/portico.yaml" "$RESULTS/portico.yaml"
    # shellcheck disable=SC2086 # JAVA_OPTS is a list of flags
    java $JAVA_OPTS -jar "$JAR" --check "$p/portico.yaml" >/dev/null 2>"$RESULTS/portico-check.err" \
        || die "Portico rejects the config: $(cat "$RESULTS/portico-check.err")"
    # shellcheck disable=SC2086
    (cd "$p" && exec taskset -c "$PROXY_CPU" java $JAVA_OPTS "-Xlog:gc:file=$RESULTS/portico-gc.log" -jar "$JAR" --config "$p/portico.yaml" \
        >>"$RESULTS/portico.stdout" 2>>"$RESULTS/portico.stderr") &
    PORTICO_PID=$!
    PIDS+=("$PORTICO_PID")
    wait_listening "$PORTICO_PORT" "$PORTICO_PID" Portico
}

# Waits (at most 30 s) until PORT accepts connections; fails early if the process died.
wait_listening() {
    local port=$1 pid=$2 name=$3
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || die "$name exited during startup"
        ss -Hltn "sport = :$port" | grep -q . && return 0
        sleep 0.1
    done
    die "$name did not listen on $port within 30 s"
}
