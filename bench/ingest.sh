#!/bin/sh
# Ingestion benchmark: POST /v1/batch, 100 events a request, 32 keep-alive
# clients, against `kizuna serve` on 127.0.0.1 with a fresh SQLite database,
# then PostgreSQL when KIZUNA_BENCH_POSTGRES names a PostgreSQL server (any
# database on it: the benchmark creates a fresh database there and drops it
# after). Each prints events/s, p50/p99 latency, the server's peak RSS, the
# load average, and the CPU time an event took in the server, the load
# generator and PostgreSQL (what to compare on a shared machine). Each
# database is measured twice: with every client sending its next request as
# soon as its last is answered (the most the server takes), then with the
# clients sending RATE events/s together on a fixed schedule, each request
# timed from when it was due (the latency at that load, stalls included).
#   bench/ingest.sh [DURATION] [RATE]   (default 60s and 100000, the figures of issue 3)
#   KIZUNA_BENCH_POSTGRES='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' bench/ingest.sh
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
DURATION=${1:-60s}
RATE=${2:-100000}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
$GO build -o "$DIR/kizuna" ./cmd/kizuna
$GO build -o "$DIR/bench" ./bench/ingest
echo "== SQLite, as fast as the clients are answered"
"$DIR/bench" -bin "$DIR/kizuna" -duration "$DURATION"
echo "== SQLite, $RATE events/s"
"$DIR/bench" -bin "$DIR/kizuna" -duration "$DURATION" -rate "$RATE"
if [ -n "${KIZUNA_BENCH_POSTGRES:-}" ]; then
	echo "== PostgreSQL, as fast as the clients are answered"
	"$DIR/bench" -bin "$DIR/kizuna" -duration "$DURATION" -db "$KIZUNA_BENCH_POSTGRES" -fresh
	echo "== PostgreSQL, $RATE events/s"
	"$DIR/bench" -bin "$DIR/kizuna" -duration "$DURATION" -db "$KIZUNA_BENCH_POSTGRES" -fresh -rate "$RATE"
fi
