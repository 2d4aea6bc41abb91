#!/bin/sh
# Crash test: sustained ingestion, kill -9 of the server halfway, restart on
# the same database, then every acknowledged messageId must be stored exactly
# once (and the rollups count each attributed event once).
#   bench/crash.sh [DURATION] [DB]   (default 20s, a fresh SQLite file)
# DB postgres://HOST/ANY names a PostgreSQL server: the test creates a fresh
# database there and drops it after.
#   bench/crash.sh 20s 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
$GO build -o "$DIR/kizuna" ./cmd/kizuna
$GO build -o "$DIR/bench" ./bench/ingest
"$DIR/bench" -bin "$DIR/kizuna" -crash -duration "${1:-20s}" ${2:+-db "$2" -fresh} -port 18081
