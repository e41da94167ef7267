#!/usr/bin/env bash
# One-command benchmark run: ./run.sh [options]   (after ./setup.sh)
#
#   --db sqlite|postgres|both   database(s) for the Django peers (default sqlite)
#   --peers "NAME NAME ..."     run only these peers (default: all, see --list)
#   --reps N                    repetitions of each measurement (default 3; median kept)
#   --list                      list the peers and exit
#
# Environment knobs (defaults): DURATION=10 WARMUP=3 CONNECTIONS=50 ISSUE_CONNECTIONS=4
#   THREADS=1 WRK_TIMEOUT=10s PORT=8765 SERVER_CPUS=1 WRK_CPUS=0 (pinning only when
#   at least 2 CPUs are available; SERVER_CPUS= WRK_CPUS= turns it off)
#   STEAL_LIMIT=10 STEAL_RETRIES=2 (a measurement during which the hypervisor stole more
#   than STEAL_LIMIT % of the CPU time is taken again, at most STEAL_RETRIES more times,
#   and the attempt with the least steal is kept; the steal is reported either way).
#
# For each repetition, each peer in turn: start the server (pinned), check it answers
# correctly (and refuses a bad token), warm up with wrk for WARMUP s, measure with wrk
# for DURATION s, stop the server by its PID. Everything stays on 127.0.0.1 and every
# load is bounded in time. Raw numbers: var/runs/<stamp>/raw.tsv; the table is printed.
set -euo pipefail
cd "$(dirname "$0")"

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-50}
ISSUE_CONNECTIONS=${ISSUE_CONNECTIONS:-4}
THREADS=${THREADS:-1}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
PORT=${PORT:-8765}
REPS=${REPS:-3}
STEAL_LIMIT=${STEAL_LIMIT:-10}
STEAL_RETRIES=${STEAL_RETRIES:-2}
DBS=sqlite
ONLY=""
LIST=0

while [ $# -gt 0 ]; do
  case $1 in
    --db) case $2 in both) DBS="sqlite postgres" ;; sqlite|postgres) DBS=$2 ;;
            *) echo "--db: sqlite, postgres or both" >&2; exit 2 ;; esac; shift 2 ;;
    --peers) ONLY=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --list) LIST=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

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
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  [ -n "$SERVER_PID" ] && stop_server
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
scenario_setup() {  # SCENARIO DB
  local pool=var/pool-$2 ours=var/pool-ours-$2
  S_CONNS=$CONNECTIONS; S_TOKEN_FILE=""; S_SCHEME=""; S_BODY=""; S_CTYPE=""; S_EXPECT=""
  case $1 in
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
  if [ -n "$S_TOKEN_FILE" ]; then
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
  local url="http://127.0.0.1:$PORT$S_PATH" body code
  if [ "$S_METHOD" = POST ]; then
    body=$(curl -s --max-time 30 -H "Content-Type: $S_CTYPE" --data-binary "@$S_BODY" -w '\n%{http_code}' "$url")
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
  body=$(curl -s --max-time 10 "${auth[@]}" -w '\n%{http_code}' "$url")
  code=${body##*$'\n'}
  [ "$code" = 200 ] || { echo "check: GET $S_PATH gave $code" >&2; return 1; }
  grep -q '"person_id"' <<<"$body" || { echo "check: unexpected body $body" >&2; return 1; }
  grep -qE "$S_EXPECT" <<<"$body" || { echo "check: body lacks $S_EXPECT: $body" >&2; return 1; }
  if [ -n "$S_TOKEN_FILE" ]; then
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
    result=$(run_wrk "$DURATION") || result=""
    after=$(steal_ticks)
    steal=$(steal_pct "$before" "$after")
    [ -n "$result" ] || return 1
    if [ -z "$M_RESULT" ] || awk -v s="$steal" -v m="$M_STEAL" 'BEGIN { exit !(s < m) }'; then
      M_RESULT=$result; M_STEAL=$steal
    fi
    awk -v s="$steal" -v l="$STEAL_LIMIT" 'BEGIN { exit !(s > l) }' || return 0
    [ "$M_TRIES" -gt "$STEAL_RETRIES" ] && return 0
    echo "    (steal $steal% > $STEAL_LIMIT% during the measurement: measuring again)"
    check_scenario >/dev/null 2>&1 || true
  done
}

run_wrk() {  # SECONDS -> prints the RESULT json
  local out
  out=$("${WRK_PIN[@]}" wrk -t"$THREADS" -c"$S_CONNS" -d"$1"s --timeout "$WRK_TIMEOUT" \
    -s wrk/scenario.lua "http://127.0.0.1:$PORT$S_PATH" -- "${S_ARGS[@]}" 2>&1) || {
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
  echo "wrk:         -t$THREADS -c$CONNECTIONS (issuance: -c$ISSUE_CONNECTIONS) -d${DURATION}s --timeout $WRK_TIMEOUT, warm-up ${WARMUP}s, $REPS repetitions"
  echo "steal:       re-measure above $STEAL_LIMIT% steal, at most $STEAL_RETRIES more times"
} | tee "$RUN_DIR/meta.txt"

NEED_PG=0
for db in $DBS; do [ "$db" = postgres ] && NEED_PG=1; done
if [ "$NEED_PG" = 1 ]; then
  if pg_up; then
    echo "postgres:    127.0.0.1:$BENCH_PGPORT database $BENCH_PGDATABASE" | tee -a "$RUN_DIR/meta.txt"
  else
    echo "postgres:    unavailable, skipped" | tee -a "$RUN_DIR/meta.txt"
    DBS=${DBS//postgres/}
  fi
fi

declare -A OURS_SEEDED
FAILED=0
for rep in $(seq 1 "$REPS"); do
  for peer in "${SELECTED[@]}"; do
    scenario=${PEER_SCENARIO[$peer]}
    dbs=$DBS; [ "$scenario" = plain ] && dbs=-
    for db in $dbs; do
      run_db=$db; [ "$db" = - ] && run_db=sqlite
      label=$peer; [ "$db" != - ] && label="$peer/$db"
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
      run_wrk "$WARMUP" >/dev/null || true
      # Let the warm-up's queued requests drain (a sync worker serves its backlog even
      # after wrk has hung up), so they don't eat into the measured window.
      check_scenario >/dev/null 2>&1 || true
      if measure; then
        row=$(.venv/bin/python -c '
import json, sys
r = json.loads(sys.argv[1])
errors = r["connect_err"] + r["read_err"] + r["write_err"] + r["timeouts"]
print("\t".join(str(x) for x in (r["rps"], r["p50_ms"], r["p99_ms"], r["non2xx"], errors)))
' "$M_RESULT")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$peer" "$db" "${PEER_SERVER[$peer]}" \
          "${PEER_WORKERS[$peer]}" "$scenario" "$S_CONNS" "$rep" "$row" "$M_STEAL" "$M_TRIES" >>"$RAW"
        echo "[$rep/$REPS] $label: $(cut -f1 <<<"$row") req/s, p50 $(cut -f2 <<<"$row") ms," \
          "p99 $(cut -f3 <<<"$row") ms (steal $M_STEAL%, attempts $M_TRIES)"
      else
        echo "[$rep/$REPS] $label: FAILED, wrk gave no result"; FAILED=1
      fi
      stop_server
    done
  done
done

echo
.venv/bin/python lib/summarize.py "$RAW" | tee "$RUN_DIR/summary.md"
echo
echo "raw data and server logs: $RUN_DIR"
exit "$FAILED"
