#!/usr/bin/env bash
# One-command benchmark run: ./run.sh [options]   (after ./setup.sh)
#
#   (no option) or --full       the issue #5 suite: every target (T1-T7) on PostgreSQL, with the
#                               full sizes (3 repetitions, 10 s, 1,000,000 cold tokens), then
#                               the report: docs/benchmarks.md and docs/benchmarks/*.png
#   --quick                     the same suite with short settings (1 repetition, 3 s, 100,000
#                               cold tokens): checks the pipeline, its figures are not final
#   --no-report                 the suite without rewriting docs/benchmarks.md
#   --db sqlite|postgres|both   database(s) (suite: postgres; peer mode: sqlite)
#   --peers "NAME NAME ..."     peer mode: only these peers, one table, no report (see --list)
#   --reps N                    repetitions of each measurement (median kept)
#   --list                      list the peers and exit
#
# Environment knobs (full defaults): DURATION=10 WARMUP=3 OURS_WARMUP=25 CONNECTIONS=50 ISSUE_CONNECTIONS=4
#   THREADS=1 WRK_TIMEOUT=10s PORT=8765 SERVER_CPUS=1 WRK_CPUS=0 (pinning only when
#   at least 2 CPUs are available; SERVER_CPUS= WRK_CPUS= turns it off)
#   STEAL_LIMIT=10 STEAL_RETRIES=2 (a measurement during which the hypervisor stole more
#   than STEAL_LIMIT % of the CPU time is taken again, at most STEAL_RETRIES more times,
#   and the attempt with the least steal is kept; the steal is reported either way).
#   Suite only: COLD_SMALL=10000 COLD_LARGE=1000000 COLD_REQUESTS=8000 COLD_WARMUP=1000
#   GRANT_REQUESTS=3000 GRANT_WARMUP=300 STORM_CONNECTIONS=16 STORM_ACCOUNTS=1000
#   REVOCATIONS=60 MEMORY_CREDENTIALS=100000 MEMORY_REPS=1 (README.md, "The issue #5 suite").
#
# For each repetition, each peer in turn: start the server (pinned), check it answers
# correctly (and refuses a bad token), warm up with wrk for WARMUP s, measure with wrk
# for DURATION s, stop the server by its PID. Everything stays on 127.0.0.1 and every
# load is bounded in time. Raw numbers: var/runs/<stamp>/raw.tsv; the table is printed.
set -euo pipefail
cd "$(dirname "$0")"
RUN_STARTED=$(date +%s)

MODE=full
DBS=""
ONLY=""
LIST=0
REPORT=1
REPS_ARG=""

while [ $# -gt 0 ]; do
  case $1 in
    --full) MODE=full; shift ;;
    --quick) MODE=quick; shift ;;
    --no-report) REPORT=0; shift ;;
    --db) case $2 in both) DBS="sqlite postgres" ;; sqlite|postgres) DBS=$2 ;;
            *) echo "--db: sqlite, postgres or both" >&2; exit 2 ;; esac; shift 2 ;;
    --peers) ONLY=$2; MODE=peers; shift 2 ;;
    --reps) REPS_ARG=$2; shift 2 ;;
    --list) LIST=1; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

# Sizes: --quick validates the pipeline in a few minutes; --full is what docs/benchmarks.md
# reports. Any knob set in the environment wins over both.
if [ "$MODE" = quick ]; then
  DURATION=${DURATION:-3}; WARMUP=${WARMUP:-1}; REPS=${REPS:-1}
  COLD_LARGE=${COLD_LARGE:-100000}; COLD_REQUESTS=${COLD_REQUESTS:-3000}
  COLD_WARMUP=${COLD_WARMUP:-500}; GRANT_REQUESTS=${GRANT_REQUESTS:-1000}
  GRANT_WARMUP=${GRANT_WARMUP:-200}; REVOCATIONS=${REVOCATIONS:-15}
  MEMORY_CREDENTIALS=${MEMORY_CREDENTIALS:-20000}; STORM_ACCOUNTS=${STORM_ACCOUNTS:-300}
fi
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
# Tessera's warm path: its cache holds a credential once it has been seen. The warm-up must
# therefore show it the whole pool (10,000 credentials) at the uncached rate (about 600/s on
# PostgreSQL here) before the measurement: longer than the peers', which keep nothing.
OURS_WARMUP=${OURS_WARMUP:-25}
CONNECTIONS=${CONNECTIONS:-50}
ISSUE_CONNECTIONS=${ISSUE_CONNECTIONS:-4}
THREADS=${THREADS:-1}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
PORT=${PORT:-8765}
REPS=${REPS_ARG:-${REPS:-3}}
STEAL_LIMIT=${STEAL_LIMIT:-10}
STEAL_RETRIES=${STEAL_RETRIES:-2}
COLD_SMALL=${COLD_SMALL:-10000}
COLD_LARGE=${COLD_LARGE:-1000000}
COLD_REQUESTS=${COLD_REQUESTS:-8000}
COLD_WARMUP=${COLD_WARMUP:-1000}
GRANT_REQUESTS=${GRANT_REQUESTS:-3000}
GRANT_WARMUP=${GRANT_WARMUP:-300}
STORM_CONNECTIONS=${STORM_CONNECTIONS:-16}
STORM_ACCOUNTS=${STORM_ACCOUNTS:-1000}
REVOCATIONS=${REVOCATIONS:-60}
MEMORY_CREDENTIALS=${MEMORY_CREDENTIALS:-100000}
MEMORY_REPS=${MEMORY_REPS:-1}
# A walk that stops by itself after its quota is still bounded in time.
WALK_MAX_SECONDS=${WALK_MAX_SECONDS:-300}
export COLD_SMALL COLD_LARGE STORM_ACCOUNTS
if [ -z "$DBS" ]; then
  if [ "$MODE" = peers ]; then DBS=sqlite; else DBS=postgres; fi
fi
# The suite's peers, in the order each repetition runs them (README.md: which target each serves).
SUITE_PEERS="bare-starlette ours-w1 ours-key-w1 dot-gunicorn-w1 dot-gunicorn-w2 ours-cold-small
  ours-cold-large ours-oauth-code ours-oauth-refresh ours-storm-w1 ours-memory-w1 ours-revocation"

# ---- peer registry ---------------------------------------------------------------
PEER_NAMES=()
declare -A PEER_SERVER PEER_WORKERS PEER_SCENARIO PEER_CMD
register() {
  PEER_NAMES+=("$1")
  PEER_SERVER[$1]=$2; PEER_WORKERS[$1]=$3; PEER_SCENARIO[$1]=$4; PEER_CMD[$1]=$5
}
# shellcheck source=peers.sh
. ./peers.sh

if [ "$LIST" = 1 ]; then
  for p in "${PEER_NAMES[@]}"; do
    printf '%-24s %-14s workers=%s scenario=%s\n' "$p" "${PEER_SERVER[$p]}" "${PEER_WORKERS[$p]}" "${PEER_SCENARIO[$p]}"
  done
  exit 0
fi

SELECTED=()
[ "$MODE" != peers ] && ONLY=$SUITE_PEERS
if [ -n "$ONLY" ]; then
  for p in $ONLY; do
    [ -n "${PEER_SCENARIO[$p]:-}" ] || { echo "unknown peer $p (see --list)" >&2; exit 2; }
    SELECTED+=("$p")
  done
else
  SELECTED=("${PEER_NAMES[@]}")
fi

# ---- prerequisites -----------------------------------------------------------------
[ -x .venv/bin/python ] || { echo "run ./setup.sh first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: run ./setup.sh" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 1; }

CPUS=$(nproc)
if [ "$CPUS" -ge 2 ]; then
  SERVER_CPUS=${SERVER_CPUS-1}
  WRK_CPUS=${WRK_CPUS-0}
else
  SERVER_CPUS=${SERVER_CPUS-}
  WRK_CPUS=${WRK_CPUS-}
fi
SERVER_PIN=(); [ -n "$SERVER_CPUS" ] && SERVER_PIN=(taskset -c "$SERVER_CPUS")
WRK_PIN=(); [ -n "$WRK_CPUS" ] && WRK_PIN=(taskset -c "$WRK_CPUS")

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUN_DIR=var/runs/$STAMP
mkdir -p "$RUN_DIR" var/log
RAW=$RUN_DIR/raw.tsv
printf 'peer\tdb\tserver\tworkers\tscenario\tconnections\trep\trps\tp50_ms\tp99_ms\tnon2xx\tsocket_errors\tsteal_pct\tattempts\n' >"$RAW"

# shellcheck source=lib/pg.sh
. lib/pg.sh

SERVER_PID=""
SECOND_PID=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  [ -n "$SERVER_PID" ] && stop_server
  stop_second_server
  pg_down
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- servers -------------------------------------------------------------------------
port_busy() { curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/"; }

start_server() {  # NAME DB LOG
  if port_busy; then echo "port $PORT is already in use; set PORT=..." >&2; return 1; fi
  (
    export PORT BENCH_DB=$2 PATH="$PWD/.venv/bin:$PATH"
    exec setsid "${SERVER_PIN[@]}" bash -c "${PEER_CMD[$1]}"
  ) >"$3" 2>&1 </dev/null &
  SERVER_PID=$!
  local code
  for _ in $(seq 1 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited, see $3" >&2; SERVER_PID=""; return 1; }
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/" || true)
    [ "$code" != 000 ] && return 0
    sleep 0.1
  done
  echo "server did not answer within 30 s, see $3" >&2
  return 1
}

stop_server() {  # by the PID we started; then its own process group, if anything is left
  local pid=$SERVER_PID
  SERVER_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
  if kill -0 -- "-$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true; sleep 1; kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  for _ in $(seq 1 50); do port_busy || return 0; sleep 0.1; done
  echo "warning: port $PORT still answers after stopping pid $pid" >&2
}

# ---- scenarios -----------------------------------------------------------------------
# Sets S_METHOD S_PATH S_CONNS S_ARGS (wrk script args) S_TOKEN_FILE S_SCHEME S_BODY S_CTYPE
# and S_EXPECT (an extended regex the 200 body of the correctness check must match).
# Walks (S_WALK=1) send each line of S_WALK_FILE at most once, from CURSOR[file] on: a
# measurement is S_WALK_LIMIT requests, a warm-up S_WALK_WARMUP (0: a timed walk of -d).
scenario_setup() {  # SCENARIO DB
  local pool=var/pool-$2 ours=var/pool-ours-$2
  S_CONNS=$CONNECTIONS; S_TOKEN_FILE=""; S_SCHEME=""; S_BODY=""; S_CTYPE=""; S_EXPECT=""
  S_WALK=0; S_WALK_FILE=""; S_WALK_LIMIT=0; S_WALK_WARMUP=0
  case $1 in
    ours-cold-small|ours-cold-large|ours-memory)
                   S_METHOD=GET;  S_PATH=/api/v2/me;          S_SCHEME=token; S_WALK=1
                   S_EXPECT='"auth_method": ?"api_token"'
                   S_WALK_LIMIT=$COLD_REQUESTS; S_WALK_WARMUP=$COLD_WARMUP
                   S_WALK_FILE=var/pool-cold-$COLD_LARGE/tokens.txt
                   [ "$1" = ours-cold-small ] && S_WALK_FILE=var/pool-cold-$COLD_SMALL/tokens.txt
                   [ "$1" = ours-memory ] && { S_WALK_LIMIT=$MEMORY_CREDENTIALS; S_WALK_WARMUP=0; } ;;
    ours-oauth-code|ours-oauth-refresh)
                   S_METHOD=POST; S_PATH=/oauth/token;        S_WALK=1
                   S_CTYPE=application/x-www-form-urlencoded
                   S_WALK_FILE=$ours/oauth-code-bodies.txt
                   [ "$1" = ours-oauth-refresh ] && S_WALK_FILE=$ours/oauth-refresh-bodies.txt
                   S_WALK_LIMIT=$GRANT_REQUESTS; S_WALK_WARMUP=$GRANT_WARMUP ;;
    ours-storm)    S_METHOD=GET;  S_PATH=/api/v2/me;          S_TOKEN_FILE=$ours/tokens.txt;     S_SCHEME=token
                   S_EXPECT='"auth_method": ?"api_token"' ;;
    ours-revocation)
                   S_METHOD=GET;  S_PATH=/api/v2/me;          S_TOKEN_FILE=$ours/tokens.txt;     S_SCHEME=token
                   S_EXPECT='"auth_method": ?"api_token"' ;;
    plain)         S_METHOD=GET;  S_PATH=/api/v2/me;          S_EXPECT='"auth_method": ?"none"' ;;
    dot-validate)  S_METHOD=GET;  S_PATH=/api/v2/me;          S_TOKEN_FILE=$pool/tokens-dot.txt; S_SCHEME=Bearer
                   S_EXPECT='"auth_method": ?"token"' ;;
    drf-validate)  S_METHOD=GET;  S_PATH=/api/v2/me-drftoken; S_TOKEN_FILE=$pool/tokens-drf.txt; S_SCHEME=Token
                   S_EXPECT='"auth_method": ?"token"' ;;
    ours-validate) S_METHOD=GET;  S_PATH=/api/v2/me;          S_TOKEN_FILE=$ours/tokens.txt;     S_SCHEME=token
                   S_EXPECT='"auth_method": ?"api_token"' ;;
    ours-key-validate)
                   S_METHOD=GET;  S_PATH=/api/v2/me;          S_TOKEN_FILE=$ours/keys.txt;       S_SCHEME=key
                   S_EXPECT='"auth_method": ?"api_key"' ;;
    dot-issue)     S_METHOD=POST; S_PATH=/o/token/;           S_BODY=$pool/issue-body.txt
                   S_CTYPE=application/x-www-form-urlencoded; S_CONNS=$ISSUE_CONNECTIONS ;;
    ours-issue)    S_METHOD=POST; S_PATH=/api/v2/api_tokens;  S_BODY=$ours/issue-body.json
                   S_CTYPE=application/json;                  S_CONNS=$ISSUE_CONNECTIONS ;;
    *) echo "unknown scenario $1" >&2; return 1 ;;
  esac
  if [ "$S_WALK" = 1 ]; then
    [ -s "$S_WALK_FILE" ] || { echo "missing pool $S_WALK_FILE" >&2; return 1; }
    [ -n "${WALK_LINES[$S_WALK_FILE]:-}" ] || WALK_LINES[$S_WALK_FILE]=$(grep -c . "$S_WALK_FILE")
    [ -n "${CURSOR[$S_WALK_FILE]:-}" ] || CURSOR[$S_WALK_FILE]=0
    S_ARGS=()
  elif [ -n "$S_TOKEN_FILE" ]; then
    [ -s "$S_TOKEN_FILE" ] || { echo "missing token pool $S_TOKEN_FILE" >&2; return 1; }
    S_ARGS=(tokens "$S_TOKEN_FILE" "$S_SCHEME")
  elif [ -n "$S_BODY" ]; then
    [ -s "$S_BODY" ] || { echo "missing request body $S_BODY" >&2; return 1; }
    S_ARGS=(post "$S_BODY" "$S_CTYPE")
  else
    S_ARGS=(plain)
  fi
}

# One correct request must succeed, and (for the authenticated scenarios) a wrong
# credential must be refused, before any load is measured.
check_scenario() {
  local url="http://127.0.0.1:$PORT$S_PATH" body code line=""
  if [ "$S_WALK" = 1 ]; then  # the next unused line, so that the walks never repeat it
    walk_take 1
    line=$(sed -n "$((WALK_OFFSET + 1))p" "$S_WALK_FILE")
  fi
  if [ "$S_METHOD" = POST ]; then
    local data=("--data-binary" "@$S_BODY")
    [ -n "$line" ] && data=(--data-binary "$line")
    body=$(curl -s --max-time 30 -H "Content-Type: $S_CTYPE" "${data[@]}" -w '\n%{http_code}' "$url")
    code=${body##*$'\n'}
    [ "$code" = 200 ] || [ "$code" = 201 ] || { echo "check: POST $S_PATH gave $code" >&2; return 1; }
    grep -q 'access_token\|"token"' <<<"$body" || { echo "check: no token in $body" >&2; return 1; }
    if [ "$S_PATH" = /api/v2/api_tokens ]; then
      # Ours: the issued token must work on the very next request.
      local issued
      issued=$(sed -n 's/.*"token": *"\([0-9]*:[^"]*\)".*/\1/p' <<<"$body")
      [ -n "$issued" ] || { echo "check: no ID:CODE token in $body" >&2; return 1; }
      code=$(curl -s -o /dev/null --max-time 10 -H "Authorization: token $issued" -w '%{http_code}' \
        "http://127.0.0.1:$PORT/api/v2/me")
      [ "$code" = 200 ] || { echo "check: the issued token gave $code on /api/v2/me" >&2; return 1; }
    fi
    return 0
  fi
  local auth=()
  [ -n "$S_TOKEN_FILE" ] && auth=(-H "Authorization: $S_SCHEME $(head -n 1 "$S_TOKEN_FILE")")
  [ -n "$line" ] && auth=(-H "Authorization: $S_SCHEME $line")
  body=$(curl -s --max-time 10 "${auth[@]}" -w '\n%{http_code}' "$url")
  code=${body##*$'\n'}
  [ "$code" = 200 ] || { echo "check: GET $S_PATH gave $code" >&2; return 1; }
  grep -q '"person_id"' <<<"$body" || { echo "check: unexpected body $body" >&2; return 1; }
  grep -qE "$S_EXPECT" <<<"$body" || { echo "check: body lacks $S_EXPECT: $body" >&2; return 1; }
  if [ -n "$S_TOKEN_FILE$line" ]; then
    code=$(curl -s -o /dev/null --max-time 10 -H "Authorization: $S_SCHEME not-a-valid-token" -w '%{http_code}' "$url")
    [ "$code" = 401 ] || { echo "check: a bad token gave $code, not 401" >&2; return 1; }
  fi
}

# "steal total" ticks of all CPUs, from /proc/stat: the time the hypervisor gave to
# other guests (top's "st"). On a shared virtual machine this is the main noise.
steal_ticks() {
  awk '$1 == "cpu" { print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
}
steal_pct() {  # BEFORE AFTER (each "steal total")
  awk -v b="$1" -v a="$2" 'BEGIN { split(b, x, " "); split(a, y, " ");
    t = y[2] - x[2]; printf "%.1f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}

# Measure once, again while the steal is over STEAL_LIMIT (at most STEAL_RETRIES more
# times); sets M_RESULT (RESULT json of the attempt with least steal), M_STEAL, M_TRIES.
measure() {
  local result before after steal
  M_RESULT=""; M_STEAL=""; M_TRIES=0
  while :; do
    M_TRIES=$((M_TRIES + 1))
    before=$(steal_ticks)
    [ "$S_WALK" = 1 ] && walk_prepare "$S_WALK_LIMIT"
    result=$(run_wrk "$DURATION") || result=""
    after=$(steal_ticks)
    steal=$(steal_pct "$before" "$after")
    [ -n "$result" ] || return 1
    if [ -z "$M_RESULT" ] || awk -v s="$steal" -v m="$M_STEAL" 'BEGIN { exit !(s < m) }'; then
      M_RESULT=$result; M_STEAL=$steal
    fi
    awk -v s="$steal" -v l="$STEAL_LIMIT" 'BEGIN { exit !(s > l) }' || return 0
    # A walk again would meet credentials the server has seen: its steal is reported instead.
    [ "$S_WALK" = 1 ] && return 0
    [ "$M_TRIES" -gt "$STEAL_RETRIES" ] && return 0
    echo "    (steal $steal% > $STEAL_LIMIT% during the measurement: measuring again)"
    check_scenario >/dev/null 2>&1 || true
  done
}

# walk_take COUNT: WALK_OFFSET = where the next COUNT lines of S_WALK_FILE start, and the cursor
# moves past them. A file too short for them starts over: right for a new server (the cold
# pools, which a fresh process has never seen), and visible as non-2xx for what a server
# spends (OAuth codes, whose pool run.sh sizes so that this does not happen).
walk_take() {
  local need=$1
  if [ $((CURSOR[$S_WALK_FILE] + need)) -gt "${WALK_LINES[$S_WALK_FILE]}" ]; then
    CURSOR[$S_WALK_FILE]=0
  fi
  WALK_OFFSET=${CURSOR[$S_WALK_FILE]}
  CURSOR[$S_WALK_FILE]=$((WALK_OFFSET + need))
}

# walk_prepare LIMIT: the next walk's wrk arguments (W_ARGS) and -d (W_SECONDS). In the
# caller's shell, not in run_wrk's $(...), so that the cursor moves for good.
walk_prepare() {
  local limit=$1 kind=walk what=$S_SCHEME
  [ "$S_METHOD" = POST ] && { kind=walkpost; what=$S_CTYPE; }
  # The walk's own spare lines: one per connection in flight when it stops, per thread.
  walk_take $((limit + S_CONNS + THREADS))
  W_ARGS=("$kind" "$S_WALK_FILE" "$what" "$WALK_OFFSET" "$limit" "$THREADS" "$S_CONNS")
  W_SECONDS=$WALK_MAX_SECONDS
}

run_wrk() {  # SECONDS -> prints the RESULT json (a walk: as walk_prepare said)
  local out seconds=$1 args=("${S_ARGS[@]}")
  if [ "$S_WALK" = 1 ]; then
    args=("${W_ARGS[@]}"); seconds=$W_SECONDS
  fi
  out=$("${WRK_PIN[@]}" wrk -t"$THREADS" -c"$S_CONNS" -d"$seconds"s --timeout "$WRK_TIMEOUT" \
    -s wrk/scenario.lua "http://127.0.0.1:$PORT$S_PATH" -- "${args[@]}" 2>&1) || {
    echo "wrk failed: $out" >&2; return 1; }
  grep '^RESULT ' <<<"$out" | head -n 1 | cut -c8-
}

# ---- the run ---------------------------------------------------------------------------
{
  echo "date (UTC):  $(date -u '+%Y-%m-%d %H:%M')"
  echo "cpu:         $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') x $CPUS"
  echo "kernel:      $(uname -r)"
  echo "python:      $(.venv/bin/python --version 2>&1)"
  echo "wrk:         $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
  echo "packages:    $(.venv/bin/python -m pip freeze 2>/dev/null | grep -iE '^(django|djangorestframework|django-oauth-toolkit|oauthlib|gunicorn|uvicorn|uvloop|httptools|starlette|fastapi|granian|psycopg|psycopg-pool)==' | tr '\n' ' ')"
  echo "tessera:     $(../.venv/bin/python -c 'import importlib.metadata as m; print(" ".join(f"{p}=={m.version(p)}" for p in ("tessera", "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "sqlalchemy", "psycopg", "argon2-cffi", "pydantic")))' 2>/dev/null || echo "not found")"
  echo "pinning:     server cpus=${SERVER_CPUS:-none}, wrk cpus=${WRK_CPUS:-none}"
  echo "load:        wrk -t$THREADS -c$CONNECTIONS (issuance: -c$ISSUE_CONNECTIONS) -d${DURATION}s --timeout $WRK_TIMEOUT, warm-up ${WARMUP}s (Tessera's warm scenarios: ${OURS_WARMUP}s, to see the whole pool once), $REPS repetitions"
  echo "steal:       re-measure above $STEAL_LIMIT% steal, at most $STEAL_RETRIES more times"
  echo "mode:        $MODE"
  echo "busy:        load average $(cut -d' ' -f1-3 /proc/loadavg) at the start (other work on the machine shares its cores)"
  if [ "$MODE" != peers ]; then
    echo "cold path:   $COLD_SMALL and $COLD_LARGE live tokens, $COLD_REQUESTS requests per measurement after $COLD_WARMUP others"
    echo "oauth:       $GRANT_REQUESTS grants per measurement after $GRANT_WARMUP others"
    echo "storm:       $STORM_CONNECTIONS connections posting exchanges for $STORM_ACCOUNTS accounts (per-address limit raised, per-e-mail limit at its default)"
    echo "revocation:  $REVOCATIONS changes; memory: $MEMORY_CREDENTIALS credentials, $MEMORY_REPS repetition(s)"
  fi
} | tee "$RUN_DIR/meta.txt"

NEED_PG=0
for db in $DBS; do [ "$db" = postgres ] && NEED_PG=1; done
if [ "$NEED_PG" = 1 ]; then
  if pg_up; then
    echo "postgres:    127.0.0.1:$BENCH_PGPORT database $BENCH_PGDATABASE, server $(psql -h 127.0.0.1 -p "$BENCH_PGPORT" -U "$BENCH_PGUSER" -d postgres -qtAc 'SHOW server_version' 2>/dev/null | cut -d' ' -f1)" | tee -a "$RUN_DIR/meta.txt"
  else
    echo "postgres:    unavailable, skipped" | tee -a "$RUN_DIR/meta.txt"
    DBS=${DBS//postgres/}
  fi
fi

# One row of raw.tsv from a RESULT json: PEER DB SCENARIO CONNS REP RESULT STEAL TRIES
record_row() {
  local row
  row=$(.venv/bin/python -c '
import json, sys
r = json.loads(sys.argv[1])
errors = r["connect_err"] + r["read_err"] + r["write_err"] + r["timeouts"]
print("\t".join(str(x) for x in (r["rps"], r["p50_ms"], r["p99_ms"], r["non2xx"], errors)))
' "$6")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "${PEER_SERVER[${1%%:*}]}" \
    "${PEER_WORKERS[${1%%:*}]}" "$3" "$4" "$5" "$row" "$7" "$8" >>"$RAW"
  echo "[$5/$REPS] $1/$2: $(cut -f1 <<<"$row") req/s, p50 $(cut -f2 <<<"$row") ms," \
    "p99 $(cut -f3 <<<"$row") ms, non-2xx $(cut -f4 <<<"$row") (steal $7%, attempts $8)"
}

extra() { echo "$1" >>"$EXTRAS"; }  # one JSON object a line: what raw.tsv has no columns for

# Resident memory of a process, in KiB (VmRSS of /proc/PID/status).
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# The server and every process below it (uvicorn with --workers N forks them).
server_pids() {
  local pid=$1 child
  echo "$pid"
  for child in $(pgrep -P "$pid" 2>/dev/null || true); do server_pids "$child"; done
}

# T4: /me alone, then /me while STORM_CONNECTIONS connections post password exchanges for
# STORM_ACCOUNTS accounts (per-address limit raised, per-e-mail limit at its default).
measure_storm() {  # PEER DB REP
  local peer=$1 db=$2 rep=$3 out=$RUN_DIR/storm-$db-rep$3.txt storm_pid result
  local STEAL_RETRIES=0  # a second attempt would fall outside the storm
  measure && record_row "$peer:me-alone" "$db" ours-storm-me-alone "$S_CONNS" "$rep" "$M_RESULT" "$M_STEAL" "$M_TRIES"
  "${WRK_PIN[@]}" wrk -t1 -c"$STORM_CONNECTIONS" -d$((DURATION + 2))s --timeout 30s -s wrk/scenario.lua \
    "http://127.0.0.1:$PORT/api/v2/api_tokens" -- walkpost "var/pool-ours-$db/storm-bodies.txt" \
    application/json 0 0 1 "$STORM_CONNECTIONS" >"$out" 2>&1 &
  storm_pid=$!
  sleep 1
  measure && record_row "$peer:me-under-storm" "$db" ours-storm-me "$S_CONNS" "$rep" "$M_RESULT" "$M_STEAL" "$M_TRIES"
  wait "$storm_pid" || true
  result=$(grep '^RESULT ' "$out" | head -n 1 | cut -c8-)
  if [ -n "$result" ]; then
    record_row "$peer:exchange" "$db" ours-storm-exchange "$STORM_CONNECTIONS" "$rep" "$result" "$M_STEAL" 1
    extra "{\"kind\": \"storm-exchange\", \"db\": \"$db\", \"rep\": $rep, \"result\": $result}"
  else
    echo "[$rep/$REPS] $peer/$db: the exchange load gave no result, see $out"; FAILED=1
  fi
}

# T7: resident memory before and after MEMORY_CREDENTIALS different tokens have been checked.
measure_memory() {  # PEER DB REP
  local before after pid count=0 worst=0 result ticks
  before=$(rss_kb "$SERVER_PID")
  walk_prepare "$MEMORY_CREDENTIALS"
  ticks=$(steal_ticks)
  result=$(run_wrk 0) || { echo "[$3/$REPS] $1/$2: FAILED, wrk gave no result"; FAILED=1; return; }
  ticks=$(steal_pct "$ticks" "$(steal_ticks)")
  sleep 1
  for pid in $(server_pids "$SERVER_PID"); do
    after=$(rss_kb "$pid"); count=$((count + 1))
    [ "$after" -gt "$worst" ] && worst=$after
  done
  record_row "$1" "$2" ours-memory "$S_CONNS" "$3" "$result" "$ticks" 1
  extra "{\"kind\": \"memory\", \"db\": \"$2\", \"rep\": $3, \"credentials\": $MEMORY_CREDENTIALS, \"rss_before_kb\": $before, \"rss_after_kb\": $worst, \"processes\": $count}"
  echo "[$3/$REPS] $1/$2: RSS $((before / 1024)) MiB at start, $((worst / 1024)) MiB after $MEMORY_CREDENTIALS credentials"
}

# T6: a second server on PORT+1, the same database; revocation.py changes on one, polls the other.
measure_revocation() {  # PEER DB REP LOG
  local first=$SERVER_PID first_port=$PORT
  PORT=$((first_port + 1))
  if ! start_server "$1" "$2" "$4.second"; then
    PORT=$first_port; SERVER_PID=$first
    echo "[$3/$REPS] $1/$2: FAILED to start the second server"; FAILED=1; return
  fi
  SECOND_PID=$SERVER_PID; SERVER_PID=$first; PORT=$first_port
  if "${WRK_PIN[@]}" .venv/bin/python revocation.py --origin "http://127.0.0.1:$PORT" \
      --other "http://127.0.0.1:$((PORT + 1))" --admin-key "var/pool-ours-$2/admin-key.txt" \
      --subjects "var/pool-ours-$2/revocation.json" --out "$RUN_DIR/revocation-$2.json"; then
    extra "{\"kind\": \"revocation\", \"db\": \"$2\", \"rep\": $3, \"result\": $(tr -d '\n' <"$RUN_DIR/revocation-$2.json")}"
  else
    echo "[$3/$REPS] $1/$2: FAILED, see above"; FAILED=1
  fi
  stop_second_server
}
stop_second_server() {
  [ -n "$SECOND_PID" ] || return 0
  local first=$SERVER_PID first_port=$PORT
  SERVER_PID=$SECOND_PID; PORT=$((first_port + 1)); stop_server
  SERVER_PID=$first; PORT=$first_port; SECOND_PID=""
}

# The argon2 limit of target 4: seconds per production hash on the server's cores.
measure_argon2() {
  local seconds cores
  cores=$(taskset -c "${SERVER_CPUS:-0-$((CPUS - 1))}" nproc 2>/dev/null || echo "$CPUS")
  seconds=$( (. lib/ours.sh && ours_env && "${SERVER_PIN[@]}" "$TESSERA_VENV/bin/python" -c '
import time
from tessera.core.passwords import PasswordHasher
hasher = PasswordHasher()
stored = hasher.hash("bench password")
hasher.verify(stored, "bench password")
started = time.perf_counter()
for _ in range(20):
    hasher.verify(stored, "bench password")
print(f"{(time.perf_counter() - started) / 20:.5f}")
') ) || return 0
  extra "{\"kind\": \"argon2\", \"seconds_per_hash\": $seconds, \"cores\": $cores}"
  echo "argon2: $seconds s per verification on $cores core(s): limit $(awk -v s="$seconds" -v c="$cores" 'BEGIN { printf "%.1f", c / s }') per second"
}

# Per repetition and walk: the check's line, the warm-up, the measurement, their spare lines.
GRANT_POOL=$((REPS * (GRANT_WARMUP + GRANT_REQUESTS + 2 * (CONNECTIONS + THREADS) + 4)))
export GRANT_POOL REVOCATIONS
EXTRAS=$RUN_DIR/extras.jsonl
: >"$EXTRAS"
declare -A OURS_SEEDED COLD_SEEDED CURSOR WALK_LINES
ARGON2_MEASURED=0
FAILED=0
for rep in $(seq 1 "$REPS"); do
  for peer in "${SELECTED[@]}"; do
    scenario=${PEER_SCENARIO[$peer]}
    dbs=$DBS; [ "$scenario" = plain ] && dbs=-
    for db in $dbs; do
      run_db=$db; [ "$db" = - ] && run_db=sqlite
      label=$peer; [ "$db" != - ] && label="$peer/$db"
      cold=""
      case $scenario in
        ours-cold-small) cold=$COLD_SMALL ;;
        ours-cold-large|ours-memory) cold=$COLD_LARGE ;;
      esac
      if [ -n "$cold" ] && [ "$run_db" != postgres ]; then
        [ "$rep" = 1 ] && echo "[$rep/$REPS] $label: skipped (the cold path is measured on PostgreSQL)"
        continue
      fi
      if [ "$scenario" = ours-revocation ] && { [ "$rep" != 1 ] || [ "$run_db" != postgres ]; }; then
        [ "$rep" = 1 ] && echo "[$rep/$REPS] $label: skipped (two processes on one PostgreSQL)"
        continue  # once per run, across processes on one PostgreSQL
      fi
      if [ "$scenario" = ours-memory ] && [ "$rep" -gt "$MEMORY_REPS" ]; then
        continue  # a long walk whose figure (memory, not speed) barely moves between runs
      fi
      if [[ $scenario == ours-* ]] && [ -z "${OURS_SEEDED[$run_db]:-}" ]; then
        mkdir -p "var/pool-ours-$run_db"
        if (export BENCH_DB=$run_db PATH="$PWD/.venv/bin:$PATH"; ours_seed "var/pool-ours-$run_db"); then
          OURS_SEEDED[$run_db]=ok
        else
          OURS_SEEDED[$run_db]=failed
        fi
      fi
      if [[ $scenario == ours-* ]] && [ "${OURS_SEEDED[$run_db]}" != ok ]; then
        echo "[$rep/$REPS] $label: skipped, ours_seed failed"; FAILED=1; continue
      fi
      if [ -n "$cold" ] && [ -z "${COLD_SEEDED[$cold]:-}" ]; then
        if (export BENCH_DB=postgres; . lib/ours.sh && ours_seed_cold "$cold" "var/pool-cold-$cold"); then
          COLD_SEEDED[$cold]=ok
        else
          COLD_SEEDED[$cold]=failed
        fi
      fi
      if [ -n "$cold" ] && [ "${COLD_SEEDED[$cold]}" != ok ]; then
        echo "[$rep/$REPS] $label: skipped, ours_seed_cold failed"; FAILED=1; continue
      fi
      if [ "$scenario" = ours-storm ] && [ "$ARGON2_MEASURED" = 0 ]; then
        measure_argon2; ARGON2_MEASURED=1
      fi
      log=$RUN_DIR/$peer-$db-rep$rep.log
      if ! scenario_setup "$scenario" "$run_db" || ! start_server "$peer" "$run_db" "$log"; then
        echo "[$rep/$REPS] $label: FAILED to start"; FAILED=1
        [ -n "$SERVER_PID" ] && stop_server
        continue
      fi
      if ! check_scenario; then
        echo "[$rep/$REPS] $label: FAILED its correctness check; not measured"; FAILED=1
        stop_server; continue
      fi
      case $scenario in
        ours-memory) measure_memory "$peer" "$db" "$rep"; stop_server; continue ;;
        ours-revocation) measure_revocation "$peer" "$db" "$rep" "$log"; stop_server; continue ;;
      esac
      if [ "$S_WALK" = 1 ]; then
        walk_prepare "$S_WALK_WARMUP"; run_wrk 0 >/dev/null || true
      elif [[ $scenario == ours-* ]]; then
        run_wrk "$OURS_WARMUP" >/dev/null || true
      else
        run_wrk "$WARMUP" >/dev/null || true
      fi
      # Let the warm-up's queued requests drain (a sync worker serves its backlog even
      # after wrk has hung up), so they don't eat into the measured window.
      check_scenario >/dev/null 2>&1 || true
      if [ "$scenario" = ours-storm ]; then
        measure_storm "$peer" "$db" "$rep"
      elif measure; then
        record_row "$peer" "$db" "$scenario" "$S_CONNS" "$rep" "$M_RESULT" "$M_STEAL" "$M_TRIES"
      else
        echo "[$rep/$REPS] $label: FAILED, wrk gave no result"; FAILED=1
      fi
      stop_server
    done
  done
done

echo
.venv/bin/python lib/summarize.py "$RAW" | tee "$RUN_DIR/summary.md" || FAILED=1
echo
echo "raw data and server logs: $RUN_DIR"
echo "busy at end: load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RUN_DIR/meta.txt"
[ -f var/.tessera-src/COMMIT ] && [ "${OURS_SRC:-head}" = head ] &&
  echo "measured:    Tessera at git $(cat var/.tessera-src/COMMIT)" >>"$RUN_DIR/meta.txt"
ELAPSED=$(($(date +%s) - RUN_STARTED))
echo "duration:    this run ($MODE, $REPS repetition(s)) took $((ELAPSED / 60)) min $((ELAPSED % 60)) s" |
  tee -a "$RUN_DIR/meta.txt"
if [ "$MODE" != peers ] && [ "$REPORT" = 1 ]; then
  .venv/bin/python lib/report.py "$RUN_DIR" --mode "$MODE" \
    --markdown ../docs/benchmarks.md --charts ../docs/benchmarks || FAILED=1
fi
exit "$FAILED"
