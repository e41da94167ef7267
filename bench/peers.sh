# shellcheck shell=bash
# The peers run.sh knows, in the order it runs them. Sourced by run.sh.
#
#   register NAME SERVER WORKERS SCENARIO 'COMMAND'
#
# COMMAND runs under `bash -c` in the bench folder, with .venv/bin first on PATH and
# PORT, BENCH_DB (sqlite|postgres) and BENCH_PG* exported; it must `exec` one server
# process listening on 127.0.0.1:$PORT only (run.sh pins it to $SERVER_CPUS, stops it
# by that process's PID, and its process group if anything is left).
# SCENARIO picks the wrk load; the scenarios are defined in run.sh (scenario_setup):
#   plain          GET /api/v2/me, no credentials                 (no database)
#   dot-validate   GET /api/v2/me, "Bearer <DOT token>" round-robin over the pool
#   drf-validate   GET /api/v2/me-drftoken, "Token <key>" round-robin over the pool
#   dot-issue      POST /o/token/ (password grant, public client), $ISSUE_CONNECTIONS
#   ours-validate  GET /api/v2/me, "token ID:CODE" round-robin over our pool
#   ours-key-validate  GET /api/v2/me, "key ID:CODE" round-robin over our API keys
#   ours-issue     POST /api/v2/api_tokens {"email","password"}, $ISSUE_CONNECTIONS
# Every scenario but "plain" is run once per database asked for (--db).

# Single quotes on purpose: $PORT is expanded when the command runs, not here.
# shellcheck disable=SC2016
UVICORN='--host 127.0.0.1 --port $PORT --loop uvloop --http httptools --no-access-log --log-level warning'
# shellcheck disable=SC2016
GUNICORN='--bind 127.0.0.1:$PORT --worker-class sync --no-control-socket --log-level warning --chdir apps/djpeer'
# shellcheck disable=SC2016
GRANIAN='--host 127.0.0.1 --port $PORT --loop uvloop --no-ws --no-access-log --log-level warning'

# --- bare: the physical limit, no authentication ------------------------------------
register bare-starlette          uvicorn 1 plain \
  "exec uvicorn --app-dir apps bare_starlette:app $UVICORN"
register bare-fastapi            uvicorn 1 plain \
  "exec uvicorn --app-dir apps bare_fastapi:app $UVICORN"
register bare-starlette-granian  granian 1 plain \
  "exec granian --interface asgi --workers 1 --working-dir apps $GRANIAN bare_starlette:app"

# --- dot: Django + DRF + django-oauth-toolkit, OAuth2 bearer tokens -----------------
register dot-gunicorn-w1         gunicorn-sync 1 dot-validate \
  "exec gunicorn --workers 1 $GUNICORN benchsite.wsgi:application"
register dot-gunicorn-w2         gunicorn-sync 2 dot-validate \
  "exec gunicorn --workers 2 $GUNICORN benchsite.wsgi:application"
# Under ASGI, Django wants persistent connections off and the psycopg pool instead.
register dot-uvicorn-w1          uvicorn-asgi  1 dot-validate \
  "BENCH_CONN_MAX_AGE=0 BENCH_PG_POOL=1 exec uvicorn --app-dir apps/djpeer benchsite.asgi:application $UVICORN"

# --- drf-token: the same Django project, DRF's TokenAuthentication -------------------
register drf-token-gunicorn-w1   gunicorn-sync 1 drf-validate \
  "exec gunicorn --workers 1 $GUNICORN benchsite.wsgi:application"
register drf-token-gunicorn-w2   gunicorn-sync 2 drf-validate \
  "exec gunicorn --workers 2 $GUNICORN benchsite.wsgi:application"

# --- dot token issuance: POST /o/token/ ----------------------------------------------
register dot-issue-gunicorn-w1   gunicorn-sync 1 dot-issue \
  "exec gunicorn --workers 1 $GUNICORN benchsite.wsgi:application"
register dot-issue-gunicorn-w2   gunicorn-sync 2 dot-issue \
  "exec gunicorn --workers 2 $GUNICORN benchsite.wsgi:application"

# =====================================================================================
# >>> OURS: Tessera, this repository's server. <<<
#
# `tessera serve` (python -m tessera) of git HEAD (OURS_SRC, see lib/ours.sh), run by the
# project's .venv (uvicorn; uvloop and httptools are installed, so
# uvicorn's "auto" picks them), on 127.0.0.1:$PORT, with the settings of lib/ours.sh:
# SQLite var/tessera.sqlite3, or PostgreSQL database bench_tessera (apart from the Django
# peer's bench_dot), a fixed bench secret key, log level warning, the password-exchange
# throttle raised to 1000000/minute, everything else at Tessera's defaults.
register ours-w1          tessera-uvicorn 1 ours-validate     '. lib/ours.sh && ours_serve 1'
register ours-w2          tessera-uvicorn 2 ours-validate     '. lib/ours.sh && ours_serve 2'
register ours-key-w1      tessera-uvicorn 1 ours-key-validate '. lib/ours.sh && ours_serve 1'
register ours-issue-w1    tessera-uvicorn 1 ours-issue        '. lib/ours.sh && ours_serve 1'
# The issue #5 suite (run.sh --full / --quick; README.md, "The issue #5 suite"):
# T2, cold path: every request a token the process has not seen, COLD_SMALL / COLD_LARGE live
# tokens in a PostgreSQL database of their own (bench_tessera_cold_<N>, kept between runs).
register ours-cold-small  tessera-uvicorn 1 ours-cold-small   '. lib/ours.sh && ours_serve_cold "$COLD_SMALL" 1'
register ours-cold-large  tessera-uvicorn 1 ours-cold-large   '. lib/ours.sh && ours_serve_cold "$COLD_LARGE" 1'
# T5: POST /oauth/token, each request a code (or refresh token) of its own, used once.
register ours-oauth-code    tessera-uvicorn 1 ours-oauth-code    '. lib/ours.sh && ours_serve 1'
register ours-oauth-refresh tessera-uvicorn 1 ours-oauth-refresh '. lib/ours.sh && ours_serve 1'
# T4: /me alone, then /me during a login storm; the per-e-mail limit stays at its default
# (many accounts), the per-address one is raised (every request comes from 127.0.0.1).
register ours-storm-w1    tessera-uvicorn 1 ours-storm \
  'export OURS_RATE_PER_EMAIL="5/minute;30/hour"; . lib/ours.sh && ours_serve 1'
# T7: resident memory after MEMORY_CREDENTIALS different tokens (the large cold database).
register ours-memory-w1   tessera-uvicorn 1 ours-memory       '. lib/ours.sh && ours_serve_cold "$COLD_LARGE" 1'
# T6: two processes on one PostgreSQL database (run.sh starts the second on PORT+1).
register ours-revocation  tessera-uvicorn 1 ours-revocation   '. lib/ours.sh && ours_serve 1'

# ours_seed DIR: reset and migrate our database, then seed it (seed_tessera.py, no HTTP):
# 10,000 agents, each with one API token and one API key (bulk, the store's tables), written
# shuffled to DIR/tokens.txt and DIR/keys.txt, plus one agent with a password hashed by the
# production PasswordHasher (argon2id, t=2, m=19 MiB, p=1) in DIR/issue-body.json, the storm's
# accounts and an admin key; then what a run uses up (seed_consumables.py). Seconds.
# OURS_RESEED=0 keeps a pool left by an earlier run (a stale pool fails the check).
ours_seed() {
  local out=$1
  # shellcheck source=lib/ours.sh
  (. lib/ours.sh && ours_prepare) || { echo "ours_seed: could not export Tessera's source" >&2; return 1; }
  if [ "${OURS_RESEED:-1}" = 0 ] && [ -s "$out/tokens.txt" ] && [ -s "$out/keys.txt" ] &&
      [ -s "$out/issue-body.json" ] && [ -s "$out/storm-bodies.txt" ] && [ -s "$out/admin-key.txt" ]; then
    echo "ours_seed: OURS_RESEED=0, keeping the pool in $out"
  else
    echo "ours_seed: resetting and seeding the $BENCH_DB database (about a minute)"
    (
      # shellcheck source=lib/ours.sh
      . lib/ours.sh
      ours_reset_db >/dev/null || { echo "ours_seed: could not reset the $BENCH_DB database" >&2; exit 1; }
      ours_seed_env
      "$TESSERA_VENV/bin/python" seed_tessera.py "$out" --pool "${POOL_SIZE:-10000}" \
        --storm-accounts "${STORM_ACCOUNTS:-1000}"
    ) || return 1
  fi
  # What a run uses up (OAuth codes and refresh tokens, credentials to revoke): every run.
  (
    # shellcheck source=lib/ours.sh
    . lib/ours.sh
    ours_seed_env
    "$TESSERA_VENV/bin/python" seed_consumables.py "$out" --grants "${GRANT_POOL:-2000}" \
      --revocations "${REVOCATIONS:-60}"
  )
}
# =====================================================================================
