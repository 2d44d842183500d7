#!/usr/bin/env bash
# End-to-end pipeline benchmark: the 1M-tick simple CSV of ../shared/bench/gen_ticks.py through
# parse -> dedupe -> enrich -> bars 1m,5m,1h -> latest -> dir: (views=bars,latest), at 1 and 2 workers, timed side by side with DuckDB's single-thread batch
# 1-minute OHLC on the same file in the same run (ratios, since the machine is shared and noisy).
# Usage: [BIG=1] scripts/bench_pipeline.sh [TICKS] [RUNS]   (BIG=1 adds a 10x-ticks memory run)
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
[ -x /usr/bin/time ] || { apt-get install -y -q time >/dev/null || sudo apt-get install -y -q time >/dev/null; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timeit() { # prints wall seconds and max RSS (KB) of the command
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >/dev/null 2>&1; cat "$WORK/time.txt"; }

cat > "$WORK/duck.py" <<'PY'
import duckdb, sys
con = duckdb.connect()
con.execute("PRAGMA threads=1")
con.execute(f"""COPY (SELECT node, (ts_ms // 60000) * 60000 AS w, arg_min(price, ts_ms) o, max(price) h,
  min(price) l, arg_max(price, ts_ms) c, sum(volume) v, count(*) n FROM read_csv_auto('{sys.argv[1]}')
  GROUP BY node, w ORDER BY node, w) TO '/dev/null' (FORMAT CSV)""")
PY
duck() { python3 "$WORK/duck.py" "$DATA"; }

# Issue 3's configuration: parse -> dedupe -> enrich -> bars 1m,5m,1h -> latest -> dir: bars, latest.
export DATA_PROC_AGGREGATION_BAR_INTERVALS=1m,5m,1h
REF="--reference dir:reference"

printf '| configuration | ticks | median wall s | ticks/s | max RSS MB |\n|---|---:|---:|---:|---:|\n'
row() { local name="$1" n="$2"; shift 2; local runs t rss
  runs=$(for _ in $(seq "$RUNS"); do timeit "$@"; done)
  t=$(echo "$runs" | awk '{print $1}' | median); rss=$(echo "$runs" | awk '{print $2}' | sort -n | tail -1)
  awk -v name="$name" -v n="$n" -v t="$t" -v r="$rss" \
    'BEGIN {printf "| %s | %d | %.3f | %.2f M | %.0f |\n", name, n, t, n / t / 1e6, r / 1024}'; }
row "DuckDB 1m OHLC, threads=1 (whole process)" "$N" python3 "$WORK/duck.py" "$DATA"
row "tickflow -w 1, bars+latest -> dir:?views=bars,latest" "$N" \
  "$BIN" run --input "file:$DATA" $REF --output "dir:$WORK/bl1?views=bars,latest" -w 1
row "tickflow -w 2, bars+latest -> dir:?views=bars,latest" "$N" \
  "$BIN" run --input "file:$DATA" $REF --output "dir:$WORK/bl2?views=bars,latest" -w 2
row "tickflow -w 1, bars+latest -> null" "$N" "$BIN" run --input "file:$DATA" $REF --output null -w 1
row "tickflow -w 2, bars+latest -> null" "$N" "$BIN" run --input "file:$DATA" $REF --output null -w 2
row "DuckDB again (drift check)" "$N" python3 "$WORK/duck.py" "$DATA"
cmp -s "$WORK/bl1/bars.csv" "$WORK/bl2/bars.csv" && echo "bars.csv identical at -w 1 and -w 2"
if [ "${BIG:-0}" != 0 ]; then # BIG=1: memory stays flat as input grows (10x the ticks)
  BIGDATA="$WORK/ticks-$((N * 10)).csv"
  [ -f "$BIGDATA" ] || python3 ../shared/bench/gen_ticks.py "$((N * 10))" "$BIGDATA"
  RUNS=1 row "tickflow -w 1, bars+latest, 10x ticks" "$((N * 10))" \
    "$BIN" run --input "file:$BIGDATA" $REF --output "dir:$WORK/big?views=bars,latest" -w 1
fi
