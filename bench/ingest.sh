#!/bin/sh
# Ingestion benchmark: POST /v1/batch, 100 events a request, 32 keep-alive
# clients, against `kizuna serve` on 127.0.0.1 with a fresh SQLite database,
# then PostgreSQL when KIZUNA_BENCH_POSTGRES names a PostgreSQL server (any
# database on it: the benchmark creates a fresh database there and drops it
# after). Each prints events/s, p50/p99 latency, the server's peak RSS, the
# load average, and the CPU time an event took in the server, the load
# generator and PostgreSQL (what to compare on a shared machine).
#   bench/ingest.sh [DURATION]     (default 60s, the figure of issue 3)
#   KIZUNA_BENCH_POSTGRES='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' bench/ingest.sh
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
DURATION=${1:-60s}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
$GO build -o "$DIR/kizuna" ./cmd/kizuna
$GO build -o "$DIR/bench" ./bench/ingest
echo "== SQLite"
"$DIR/bench" -bin "$DIR/kizuna" -duration "$DURATION"
if [ -n "${KIZUNA_BENCH_POSTGRES:-}" ]; then
	echo "== PostgreSQL"
	"$DIR/bench" -bin "$DIR/kizuna" -duration "$DURATION" -db "$KIZUNA_BENCH_POSTGRES" -fresh
fi
