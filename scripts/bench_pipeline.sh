#!/usr/bin/env bash
# End-to-end pipeline benchmark: the 1M-tick simple CSV of ../shared/bench/gen_ticks.py through
# parse -> dedupe -> sink, at 1 and 2 workers, timed side by side with DuckDB's single-thread batch
# 1-minute OHLC on the same file in the same run (ratios, since the machine is shared and noisy).
# Usage: scripts/bench_pipeline.sh [TICKS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tickflow-target}"
N="${1:-1000000}"
RUNS="${2:-3}"
WORK="${TMPDIR:-/tmp}/tickflow-bench"
mkdir -p "$WORK"
DATA="$WORK/ticks-$N.csv"
[ -f "$DATA" ] || python3 ../shared/bench/gen_ticks.py "$N" "$DATA"
cargo build --release -p tickflow -q
BIN="$CARGO_TARGET_DIR/release/tickflow"
python3 -c 'import duckdb' 2>/dev/null || pip install -q duckdb >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timeit() { # prints wall seconds of the command
  local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); awk -v d=$((e - s)) 'BEGIN {printf "%.4f\n", d / 1e9}'; }

duck() {
  python3 - "$DATA" <<'PY'
import duckdb, sys
con = duckdb.connect()
con.execute("PRAGMA threads=1")
con.execute(f"""COPY (SELECT node, (ts_ms // 60000) * 60000 AS w, arg_min(price, ts_ms) o, max(price) h,
  min(price) l, arg_max(price, ts_ms) c, sum(volume) v, count(*) n FROM read_csv_auto('{sys.argv[1]}')
  GROUP BY node, w ORDER BY node, w) TO '/dev/null' (FORMAT CSV)""")
PY
}

printf '| configuration | ticks | median wall s | ticks/s |\n|---|---:|---:|---:|\n'
row() { local name="$1"; shift; local t; t=$(for _ in $(seq "$RUNS"); do timeit "$@"; done | median)
  awk -v name="$name" -v n="$N" -v t="$t" 'BEGIN {printf "| %s | %d | %.3f | %.2f M |\n", name, n, t, n / t / 1e6}'; }
row "DuckDB 1m OHLC, threads=1 (whole process)" duck
row "tickflow -w 1, parse+dedupe -> null" "$BIN" run --input "file:$DATA" --output null -w 1
row "tickflow -w 2, parse+dedupe -> null" "$BIN" run --input "file:$DATA" --output null -w 2
row "tickflow -w 1, -> dir:ticks.jsonl" "$BIN" run --input "file:$DATA" --output "dir:$WORK/out1?views=ticks" -w 1
row "tickflow -w 2, -> dir:ticks.jsonl" "$BIN" run --input "file:$DATA" --output "dir:$WORK/out2?views=ticks" -w 2
row "DuckDB again (drift check)" duck
