#!/bin/sh
# Ingestion benchmark: POST /v1/batch, 100 events a request, 32 keep-alive
# clients, against `kizuna serve` on 127.0.0.1 with a fresh SQLite database,
# then PostgreSQL when KIZUNA_BENCH_POSTGRES names an empty database.
#   bench/ingest.sh [DURATION]     (default 60s)
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
DURATION=${1:-60s}
BIN=$(mktemp -d)/kizuna
$GO build -o "$BIN" ./cmd/kizuna
echo "== SQLite"
$GO run ./bench/ingest -bin "$BIN" -duration "$DURATION"
if [ -n "${KIZUNA_BENCH_POSTGRES:-}" ]; then
	echo "== PostgreSQL"
	$GO run ./bench/ingest -bin "$BIN" -duration "$DURATION" -db "$KIZUNA_BENCH_POSTGRES"
fi
