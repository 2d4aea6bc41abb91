#!/usr/bin/env bash
# The metrics figures of issue 4: the 60-month table of 200,000 accounts and
# about a million subscription periods, on SQLite and PostgreSQL (target
# <= 2 s, peak RSS <= 500 MB each), and beside it the same month-end MRR
# movements as one SQL query on PostgreSQL (bench/sql/movements.sql), with
# both times, the ratio, and a check that both give the same movements.
# Usage: bash bench/metrics.sh [ACCOUNTS] [PERIODS_PER_ACCOUNT]
# Needs Go, GNU time, and for PostgreSQL psql and a server at
# $KIZUNA_BENCH_POSTGRES (default: the local one). Files go to bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

OUT=bench/out/metrics
ACCOUNTS=${1:-200000}
PER=${2:-6}
PG=${KIZUNA_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
mkdir -p "$OUT"
go build -o "$OUT/kizuna" ./cmd/kizuna
go run ./bench/gensubs -accounts "$OUT/accounts.csv" "$ACCOUNTS" "$PER" 60 >"$OUT/subs.csv"
periods=$(($(wc -l <"$OUT/subs.csv") - 1))
echo "== metrics monthly over 60 months: $ACCOUNTS accounts, $periods subscription periods; target <= 2 s, RSS <= 500 MB"

timed() { # out-file cmd...: sets SECS and RSS_MB
	local out=$1
	shift
	/usr/bin/time -f '%e %M' -o "$OUT/time.txt" "$@" >"$out" 2>"$OUT/err.log" || { cat "$OUT/err.log"; return 1; }
	read -r SECS KB <"$OUT/time.txt"
	RSS_MB=$((KB / 1024))
}

measure() { # name db
	"$OUT/kizuna" import accounts "$OUT/accounts.csv" --db "$2" >/dev/null
	"$OUT/kizuna" import subscriptions "$OUT/subs.csv" --db "$2" >/dev/null
	local best=
	for _ in 1 2 3; do
		timed "$OUT/$1.csv" "$OUT/kizuna" metrics monthly --from 2021-01 --to 2025-12 --format csv --db "$2"
		if [ -z "$best" ] || awk -v a="$SECS" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$SECS; fi
	done
	printf '  %-10s best of 3 %6.2f s  peak RSS %4d MB\n' "$1" "$best" "$RSS_MB"
	KIZUNA_SECS=$best
}

rm -f "$OUT"/m.db*
measure sqlite "$OUT/m.db"

schema="bench_metrics_$$"
if command -v psql >/dev/null && psql "$PG" -qc "CREATE SCHEMA $schema" >/dev/null 2>&1; then
	trap 'psql "$PG" -qc "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true' EXIT
	pgurl="$PG&search_path=$schema"
	[[ $PG == *\?* ]] || pgurl="$PG?search_path=$schema"
	measure postgres "$pgurl"
	start=$(date +%s.%N)
	psql "$PG" -q --csv -v from=2021-01-01 -v months=60 -c "SET search_path = $schema" -c "SET work_mem = '256MB'" -f bench/sql/movements.sql >"$OUT/sql.csv"
	sql_secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
	printf '  %-10s one SQL query (bench/sql/movements.sql) %6.2f s: %.1f times the time of kizuna on PostgreSQL\n' \
		postgres "$sql_secs" "$(awk -v a="$sql_secs" -v b="$KIZUNA_SECS" 'BEGIN { print a / b }')"
	# Same month, MRR, customers and movements in both (to the cent).
	if awk -F, 'NR == FNR { if (FNR > 1) k[$1] = sprintf("%.2f %d %.2f %.2f %.2f %.2f %.2f", $2, $3, $4, $5, $6, $7, $8); next }
		FNR > 1 { v = sprintf("%.2f %d %.2f %.2f %.2f %.2f %.2f", $2, $3, $4, $5, $6, $7, $8); if (k[$1] != v) { print "  differ in " $1 ": " k[$1] " vs " v; bad = 1 } n++ }
		END { exit bad || n != 60 }' "$OUT/sql.csv" "$OUT/postgres.csv"; then
		echo "  the SQL query and kizuna agree on every month's MRR, customers and movements"
	else
		echo "  the SQL query and kizuna DISAGREE (see above)"
		exit 1
	fi
else
	echo "  postgres   (not reachable at $PG: skipped)"
fi
