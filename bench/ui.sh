#!/usr/bin/env bash
# The UI figures: server time (p50, p95) of the dashboard, the accounts
# list and an account page on a demo business of 100,000 customers
# (kizuna demo --scale 20; target p95 <= 100 ms each), the first (cold)
# request of each, and the bytes of a first visit to the dashboard (target
# <= 250 KB). The demo database is generated and recomputed once (about
# 10 minutes at scale 20, more on a loaded machine) and reused after.
# Usage: bash bench/ui.sh [SCALE]; N=200 requests per page; PORT=18080.
# Needs Go. Files go to bench/out/ui/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

SCALE=${1:-20}
N=${N:-200}
PORT=${PORT:-18080}
OUT=bench/out/ui
DB=${KIZUNA_BENCH_UI_DB:-$OUT/demo-$SCALE.db}
mkdir -p "$OUT"
go build -o "$OUT/kizuna" ./cmd/kizuna

# The marker file says the database is complete: generated and recomputed
# (the demo leaves health, stages and segments to the recompute).
if [ ! -e "$DB.recomputed" ]; then
	rm -f "$DB" "$DB"-wal "$DB"-shm
	echo "== generating the scale-$SCALE demo into $DB"
	start=$(date +%s)
	"$OUT/kizuna" demo --scale "$SCALE" --no-serve --db "$DB" | grep -E '^Generated' || true
	"$OUT/kizuna" recompute --db "$DB" >"$OUT/recompute.log"
	echo "  generated and recomputed in $(($(date +%s) - start)) s"
	touch "$DB.recomputed"
fi

# No periodic recompute while measuring: it would compete for the CPU.
"$OUT/kizuna" serve --db "$DB" --addr "127.0.0.1:$PORT" --recompute-every 0 2>"$OUT/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
	sleep 0.2
done
accounts=$("$OUT/kizuna" metrics monthly --db "$DB" --from "$(date -u +%Y-%m)" --to "$(date -u +%Y-%m)" --format csv | awk -F, 'NR == 2 { print $3 }')
read -r load _ </proc/loadavg
echo "== UI pages on the scale-$SCALE demo ($accounts customers this month), $N sequential requests each after 5 warm-up ones (load $load)"
echo "  client side: time to the first byte over loopback"
go run ./bench/uibench -url "http://127.0.0.1:$PORT" -db "$DB" -n "$N"

# The server's own time, from its request log (duration of each request).
echo "  server side (request log), all requests after the first of each page:"
for path in / /accounts; do
	awk -v p="$path" '$0 ~ "msg=request" && $0 ~ (" path=" p " ") {
		for (i = 1; i <= NF; i++) if ($i ~ /^duration=/) {
			d = substr($i, 10); v = d + 0
			if (d ~ /ms$/) v = v; else if (d ~ /µs$/) v = v / 1000; else if (d ~ /ns$/) v = v / 1e6; else if (d ~ /s$/) v = v * 1000
			n++; if (n > 1) x[n - 1] = v
		}
	} END {
		m = n - 1; if (m < 1) { printf "    %-10s no requests logged\n", p; exit }
		asort(x); printf "    %-10s p50 %7.1f ms  p95 %7.1f ms  (%d requests)\n", p, x[int(m * 0.5 + 0.5)], x[int(m * 0.95 + 0.5)], m
	}' "$OUT/serve.log"
done
