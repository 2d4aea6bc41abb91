#!/usr/bin/env bash
# The CLV figures of issue 7: the BG/NBD fit on CDNOW's 2,357-customer summary
# (target <= 20 ms) and on 1,000,000 customers drawn from the BG/NBD process
# (target <= 5 s), as Go benchmarks of internal/clv; then, when python3 has
# SciPy (Debian's python3-scipy), SciPy's Nelder-Mead on the same likelihood
# and the same summary, both times and the ratio.
#   bench/clv.sh            (needs ../shared/datasets/cdnow beside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# The 1M benchmark draws its customers once (about 2 s) outside the timer.
$GO test -run '^$' -bench 'BenchmarkFitCDNOW$' -benchtime 50x ./internal/clv/ >"$OUT" || { cat "$OUT"; exit 1; }
$GO test -run '^$' -bench 'BenchmarkFitSynthetic1M$' -benchtime 3x ./internal/clv/ >>"$OUT" || { cat "$OUT"; exit 1; }
grep -E '^Benchmark' "$OUT"
cdnow_ns=$(awk '/^BenchmarkFitCDNOW/ {print $3}' "$OUT")
synth_ns=$(awk '/^BenchmarkFitSynthetic1M/ {print $3}' "$OUT")
awk -v c="$cdnow_ns" -v s="$synth_ns" 'BEGIN {
	printf "BG/NBD fit, CDNOW (2,357 customers):       %8.2f ms  (target <= 20 ms)\n", c/1e6
	printf "BG/NBD fit, 1,000,000 synthetic customers: %8.3f s   (target <= 5 s)\n", s/1e9 }'

summary=""
for d in . .. ../.. ../../..; do
	if [ -f "$d/shared/datasets/cdnow/cdnow_customers_summary.csv" ]; then summary="$d/shared/datasets/cdnow/cdnow_customers_summary.csv"; break; fi
done
py=""
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import scipy' 2>/dev/null; then py=$p; break; fi
done
if [ -z "$py" ]; then
	echo "SciPy Nelder-Mead: skipped: no python3 with scipy here (Debian package python3-scipy is not installed)"
	exit 0
fi
if [ -z "$summary" ]; then
	echo "SciPy Nelder-Mead: skipped: shared/datasets/cdnow not found beside the checkout"
	exit 0
fi
py_ms=$("$py" bench/clv_scipy.py "$summary")
echo "$py_ms" | sed 's/^/SciPy: /'
awk -v c="$cdnow_ns" -v p="$(echo "$py_ms" | awk '/^ms/ {print $2}')" 'BEGIN {
	printf "SciPy Nelder-Mead %.1f ms / Go BFGS %.2f ms = %.1fx\n", p, c/1e6, p/(c/1e6) }'
