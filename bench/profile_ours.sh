#!/usr/bin/env bash
# Sample Tessera under the ours-validate load with py-spy: ./profile_ours.sh [sqlite|postgres]
# (after a ./run.sh that seeded var/pool-ours-<db>; on demand only, never by tests or CI).
#
# Starts `tessera serve` (1 worker) exactly as run.sh does (lib/ours.sh, pinned to
# SERVER_CPUS=1), puts the wrk load on it (pinned to WRK_CPUS=0, 50 connections, token
# round-robin) for SECONDS+6 s, records SECONDS (default 15) s of py-spy samples of the
# server (all threads, --idle off; PY_SPY_ARGS=--gil: only the thread holding the GIL), stops the server by its PID, and prints where the time
# goes (lib/profile_summary.py). py-spy is not a dependency of anything: install it into a
# scratch venv and pass PY_SPY=/path/to/py-spy. Output: var/profile/ours-<db>.collapsed.
set -euo pipefail
cd "$(dirname "$0")"
DB=${1:-sqlite}
SECONDS_=${SECONDS:-15}
PORT=${PORT:-8765}
PY_SPY=${PY_SPY:-py-spy}
POOL=var/pool-ours-$DB
[ -s "$POOL/tokens.txt" ] || { echo "no $POOL/tokens.txt: run ./run.sh with an ours-* peer first" >&2; exit 1; }
mkdir -p var/profile
OUT=var/profile/ours-$DB${PY_SPY_ARGS:+-gil}.collapsed
export PORT BENCH_DB=$DB
if [ "$DB" = postgres ]; then . lib/pg.sh; pg_up >/dev/null; fi
(exec setsid taskset -c "${SERVER_CPUS:-1}" bash -c '. lib/ours.sh && ours_serve 1') >var/profile/server-$DB.log 2>&1 </dev/null &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" && break; sleep 0.1
done
taskset -c "${WRK_CPUS:-0}" wrk -t1 -c50 -d$((SECONDS_ + 6))s --timeout 10s -s wrk/scenario.lua \
  "http://127.0.0.1:$PORT/api/v2/me" -- tokens "$POOL/tokens.txt" token >var/profile/wrk-$DB.txt 2>&1 &
WRK=$!
sleep 3
taskset -c "${WRK_CPUS:-0}" "$PY_SPY" record --pid "$PID" --duration "$SECONDS_" --rate 200 \
  --format raw --threads --output "$OUT" --nonblocking ${PY_SPY_ARGS:-} >/dev/null 2>&1
wait $WRK
grep '^RESULT' var/profile/wrk-$DB.txt || true
python3 lib/profile_summary.py "$OUT"
