#!/usr/bin/env bash
# Side-by-side timing for issue 3's ratio: DuckDB's single-thread 1m OHLC, tickflow -w 1 and
# tickflow -w 2 on the same simple-CSV file, *alternated* run by run (the host is shared and drifts;
# alternation spreads the drift over all three). Prints least and median wall, least CPU and max RSS.
# Usage: scripts/bench_compare.sh [TICKS] [RUNS]   (needs the file and duck.py that
# scripts/bench_pipeline.sh makes; run that once first, or this makes them the same way)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tickflow-target}"
N="${1:-1000000}"
RUNS="${2:-9}"
WORK="${TMPDIR:-/tmp}/tickflow-bench"
DATA="$WORK/ticks-$N.csv"
[ -f "$DATA" ] && [ -f "$WORK/duck.py" ] || bash scripts/bench_pipeline.sh "$N" 1 >/dev/null
cargo build --release -p tickflow -q
BIN="$CARGO_TARGET_DIR/release/tickflow"
export DATA_PROC_AGGREGATION_BAR_INTERVALS=1m,5m,1h
rm -f "$WORK"/cmp-*.times
for _ in $(seq "$RUNS"); do
  /usr/bin/time -f "%e %U %S %M" -a -o "$WORK/cmp-duckdb.times" python3 "$WORK/duck.py" "$DATA" >/dev/null 2>&1
  for w in 1 2; do
    /usr/bin/time -f "%e %U %S %M" -a -o "$WORK/cmp-w$w.times" "$BIN" run -w "$w" --input "file:$DATA" \
      --reference dir:reference --output "dir:$WORK/cmp$w?views=bars,latest" >/dev/null 2>&1
  done
done
printf '| %s ticks, %s runs each, alternated | least wall s | median wall s | least CPU s | max RSS MB |\n|---|---:|---:|---:|---:|\n' "$N" "$RUNS"
for k in duckdb w1 w2; do
  sort -n "$WORK/cmp-$k.times" | awk -v k="$k" '{w[NR]=$1; c=$2+$3; if (NR==1||c<mc) mc=c; if ($4>r) r=$4}
    END {printf "| %s | %.2f | %.2f | %.2f | %.0f |\n", k, w[1], w[int((NR+1)/2)], mc, r/1024}'
done
cmp -s "$WORK/cmp1/bars.csv" "$WORK/cmp2/bars.csv" && echo "bars.csv identical at -w 1 and -w 2"
