#!/usr/bin/env bash
# Benchmark of issue 4, item 10: tickflow from Kafka into ClickHouse and Redis.
#
#   scripts/bench_servers.sh [TICKS] [RATE] [SECONDS]
#
# 1. Throughput: a mock Kafka broker (tickflow-bench-kafka, librdkafka's mock cluster) preloaded
#    with TICKS simple-CSV ticks (documents of 1,000 rows over 4 partitions); a bounded
#    `tickflow run --input kafka:… -w 2` into `null`, ClickHouse, Redis, and ClickHouse + Redis. Ticks/s =
#    TICKS / wall time of the run (process start to exit: connect, consume, sink, flush). The
#    ClickHouse row count is checked against TICKS.
# 2. Latency: `tickflow run --follow` into ClickHouse + Redis while the helper produces RATE
#    ticks/s for SECONDS (one document every 10 ms, each tick's event time = its produce time)
#    and subscribes to Redis `projection.updates`: latency = receive time of a latest_price
#    update − event time of that price (produce → visible in Redis). The followed run is ended
#    with SIGKILL; the followed process's CPU seconds during the run are printed too. `output.flush_interval_ms` is FLUSH_MS (default 1000, the config default:
#    sinks hand complete rows to their servers between flushes, see docs/design.md).
#
# LATENCY_TRACE=FILE (passed to the helper) writes every update's receive time and latency;
# LATENCY_WARMUP_S (default 2) seconds are produced before the counted SECONDS and not counted
# (the printed tickflow CPU covers both).
# PERF_OUT=FILE records a perf profile of the followed run (PERF_CALLGRAPH, default -g, e.g. "--call-graph dwarf,16384"). SKIP_THROUGHPUT=1 runs only the latency part, SKIP_LATENCY=1 only the throughput part; LATENCY_OUTPUTS (default "clickhouse redis") names
# the outputs of the followed run; THROUGHPUT_OUTPUTS (default "null,clickhouse,redis,clickhouse redis")
# the comma-separated output sets of the throughput part. CH_PID (default: the pid of
# scripts/services.sh's clickhouse-server, when readable) is the server whose CPU seconds
# (utime + stime from /proc/PID/stat, measured until 5 s after the run for late merges) are
# printed per run; every other DATA_PROC_* variable passes through to tickflow.
#
# Needs the test servers (scripts/services.sh up). Uses its own ClickHouse database and Redis
# key prefix, dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
TICKS="${1:-2000000}"
RATE="${2:-50000}"
SECONDS_RUN="${3:-20}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tickflow-target}"
CH_URL="${TICKFLOW_TEST_CLICKHOUSE_URL:-http://127.0.0.1:58123}"
REDIS_URL="${TICKFLOW_TEST_REDIS_URL:-redis://127.0.0.1:56379/0}"
DB="bench_$$"
PREFIX="bench$$:"

[ -n "${BENCH_BIN_DIR:-}" ] || cargo build --release --locked -q -p tickflow --bin tickflow -p tickflow-tests --bin tickflow-bench-kafka
BIN="${BENCH_BIN_DIR:-$CARGO_TARGET_DIR/release}"
TMP="$(mktemp -d)"
HELPER_PID=""
RUN_PID=""
cleanup() {
  [ -n "$RUN_PID" ] && kill -9 "$RUN_PID" 2>/dev/null || true
  exec 3>&- 2>/dev/null || true
  [ -n "$HELPER_PID" ] && kill "$HELPER_PID" 2>/dev/null || true
  curl -s "$CH_URL/" --data-binary "DROP DATABASE IF EXISTS $DB" >/dev/null || true
  redis-cli -u "$REDIS_URL" --scan --pattern "${PREFIX}*" | xargs -r redis-cli -u "$REDIS_URL" DEL >/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# Starts the helper with a FIFO as stdin (fd 3); sets BOOTSTRAP once it printed it.
start_helper() {
  rm -f "$TMP/in"; mkfifo "$TMP/in"
  "$BIN/tickflow-bench-kafka" "$@" <"$TMP/in" >"$TMP/helper.out" 2>"$TMP/helper.err" &
  HELPER_PID=$!
  exec 3>"$TMP/in"
  for _ in $(seq 1 600); do
    BOOTSTRAP="$(head -1 "$TMP/helper.out" 2>/dev/null || true)"
    [ -n "$BOOTSTRAP" ] && return 0
    kill -0 "$HELPER_PID" 2>/dev/null || { cat "$TMP/helper.err" >&2; exit 1; }
    sleep 0.2
  done
  echo "helper did not start" >&2; exit 1
}
stop_helper() { exec 3>&-; wait "$HELPER_PID" 2>/dev/null || true; HELPER_PID=""; }

# With ENV_EXEC set, the calling (sub)shell becomes tickflow, so `$!` of `env_run … &` is its pid.
env_run() {
  ${ENV_EXEC:+exec} env -u DATA_PROC_WORKERS \
    DATA_PROC_KAFKA_BOOTSTRAP="$BOOTSTRAP" \
    DATA_PROC_CLICKHOUSE_URL="$CH_URL" DATA_PROC_CLICKHOUSE_DATABASE="$DB" \
    DATA_PROC_REDIS_URL="$REDIS_URL" DATA_PROC_REDIS_KEY_PREFIX="$PREFIX" \
    DATA_PROC_LOG_LEVEL=warn "$@"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== throughput: $TICKS ticks preloaded"
IFS=, read -r -a THROUGHPUT_SETS <<<"${THROUGHPUT_OUTPUTS:-null,clickhouse,redis,clickhouse redis}"
[ -n "${SKIP_THROUGHPUT:-}" ] && THROUGHPUT_SETS=()
CH_PID="${CH_PID:-$(cat "$HOME/.cache/tickflow-services/clickhouse/run/clickhouse.pid" 2>/dev/null || true)}"
# CPU seconds (user + system) of CH_PID so far; empty without one.
ch_cpu() {
  [ -n "$CH_PID" ] && [ -r "/proc/$CH_PID/stat" ] || return 0
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$CH_PID/stat"
}
for outputs in "${THROUGHPUT_SETS[@]}"; do
  start_helper preload bench.ticks "$TICKS" 4
  args=()
  for o in $outputs; do args+=(--output "$o"); done
  curl -s "$CH_URL/" --data-binary "DROP DATABASE IF EXISTS $DB" >/dev/null
  cpu0=$(ch_cpu)
  start=$(date +%s.%N)
  env_run /usr/bin/time -f '%U %S' -o "$TMP/time" "$BIN/tickflow" run --input kafka:bench.ticks -w 2 "${args[@]}" >"$TMP/run.out" 2>"$TMP/run.err" \
    || { cat "$TMP/run.err" >&2; exit 1; }
  end=$(date +%s.%N)
  stop_helper
  secs=$(echo "$end - $start" | bc -l)
  printf '%-18s %8.2f s  %10.0f ticks/s  tickflow CPU %s s' "$outputs" "$secs" "$(echo "$TICKS / $secs" | bc -l)" \
    "$(awk '{ printf "%.2f", $1 + $2 }' "$TMP/time")"
  if [[ "$outputs" == *clickhouse* ]] && [ -n "$cpu0" ]; then
    sleep 5
    printf '  clickhouse-server CPU %.2f s (+5 s after)' "$(echo "$(ch_cpu) - $cpu0" | bc -l)"
  fi
  echo
  if [[ "$outputs" == *clickhouse* ]]; then
    rows=$(curl -s "$CH_URL/" --data-binary "SELECT count() FROM $DB.market_ticks")
    echo "  clickhouse market_ticks rows: $rows (expected $TICKS)"
  fi
done

[ -n "${SKIP_LATENCY:-}" ] && exit 0
LATENCY_OUTPUTS="${LATENCY_OUTPUTS:-clickhouse redis}"
latency_args=()
for o in $LATENCY_OUTPUTS; do latency_args+=(--output "$o"); done
echo "== latency: $RATE ticks/s for $SECONDS_RUN s, --follow into $LATENCY_OUTPUTS"
curl -s "$CH_URL/" --data-binary "DROP DATABASE IF EXISTS $DB" >/dev/null
start_helper latency bench.live "$RATE" "$SECONDS_RUN" "$REDIS_URL" "$PREFIX"
ENV_EXEC=1 env_run DATA_PROC_OUTPUT_FLUSH_INTERVAL_MS="${FLUSH_MS:-1000}" \
  DATA_PROC_AGGREGATION_IDLE_TIMEOUT_MS="${IDLE_TIMEOUT_MS:-60000}" \
  "$BIN/tickflow" run --follow --input kafka:bench.live -w 2 "${latency_args[@]}" \
  >"$TMP/follow.out" 2>"$TMP/follow.err" &
RUN_PID=$!
sleep 3
cpu0=$(ch_cpu)
run_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$RUN_PID/stat" 2>/dev/null || echo 0; }
run0=$(run_cpu)
echo go >&3
# PERF_OUT=FILE: profile the followed tickflow while the helper produces (`perf report -i FILE`).
[ -n "${PERF_OUT:-}" ] && { perf record -F 999 ${PERF_CALLGRAPH:--g} -p "$RUN_PID" -o "$PERF_OUT" >/dev/null 2>&1 & PERF_PID=$!; }
wait "$HELPER_PID" || { cat "$TMP/helper.err" >&2; }
HELPER_PID=""
[ -n "${PERF_PID:-}" ] && { kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null || true; }
cat "$TMP/helper.out" | tail -n +2
printf 'tickflow CPU during the run: %.2f s\n' "$(echo "$(run_cpu) - $run0" | bc -l)"
[ -n "$cpu0" ] && printf 'clickhouse-server CPU during the run: %.2f s\n' "$(echo "$(ch_cpu) - $cpu0" | bc -l)"
kill -9 "$RUN_PID" 2>/dev/null || true
wait "$RUN_PID" 2>/dev/null || true
RUN_PID=""
