#!/bin/sh
# Crash test: sustained ingestion, kill -9 of the server halfway, restart on
# the same database, then every acknowledged messageId must be stored exactly
# once (and the rollups count each attributed event once).
#   bench/crash.sh [DURATION] [DB]   (default 20s, a fresh SQLite file)
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
BIN=$(mktemp -d)/kizuna
$GO build -o "$BIN" ./cmd/kizuna
$GO run ./bench/ingest -bin "$BIN" -crash -duration "${1:-20s}" ${2:+-db "$2"} -port 18081
