# shellcheck shell=bash
# Tessera ("ours") for the harness. Sourced, from the bench folder, by peers.sh (ours_seed)
# and by the ours-* server commands, so that the seed and the server see the same settings.
#
# Tessera runs from the project's own environment (../.venv, made by scripts/bootstrap),
# not from the peers' .venv: it is measured exactly as `tessera serve` ships.
#   TESSERA_VENV   default: the project's .venv beside this bench folder
#   BENCH_DB       sqlite -> var/tessera.sqlite3 (a file of its own)
#                  postgres -> database $OURS_PGDATABASE (default bench_tessera) on the
#                  BENCH_PG* server, apart from the Django peer's bench_dot tables
#   OURS_PGDATABASE

#   OURS_SRC       head (default): the last commit (git HEAD), exported by ours_prepare
#                  into var/.tessera-src/ and put first on PYTHONPATH, so that uncommitted
#                  work in progress in src/ is neither measured nor able to break a run;
#                  worktree: the working tree as it is (the .venv's editable install)

TESSERA_VENV=${TESSERA_VENV:-$(cd .. && pwd)/.venv}
OURS_PGDATABASE=${OURS_PGDATABASE:-bench_tessera}
OURS_SRC=${OURS_SRC:-head}

# ours_prepare: export git HEAD's src/ into var/.tessera-src (when OURS_SRC=head).
ours_prepare() {
  [ "$OURS_SRC" = head ] || { echo "ours: Tessera from the working tree (OURS_SRC=$OURS_SRC)"; return 0; }
  local commit
  commit=$(git -C .. rev-parse HEAD) || return 1
  if [ "$(cat var/.tessera-src/COMMIT 2>/dev/null)" != "$commit" ]; then
    rm -rf var/.tessera-src && mkdir -p var/.tessera-src &&
      git -C .. archive HEAD src | tar -x -C var/.tessera-src &&
      echo "$commit" >var/.tessera-src/COMMIT || return 1
  fi
  echo "ours: Tessera from git HEAD $commit (var/.tessera-src)"
}

# ours_env: export the TESSERA_* settings of the benchmark server.
ours_env() {
  case ${BENCH_DB:-sqlite} in
    sqlite)   TESSERA_DATABASE_URL="sqlite:///$PWD/var/tessera.sqlite3" ;;
    postgres) TESSERA_DATABASE_URL="postgresql://${BENCH_PGUSER:-postgres}@${BENCH_PGHOST:-127.0.0.1}:${BENCH_PGPORT:-5432}/$OURS_PGDATABASE" ;;
    *) echo "ours: unknown BENCH_DB ${BENCH_DB:-}" >&2; return 1 ;;
  esac
  export TESSERA_DATABASE_URL
  if [ "$OURS_SRC" = head ]; then
    [ -f var/.tessera-src/COMMIT ] || { echo "ours: var/.tessera-src missing (ours_prepare)" >&2; return 1; }
    export PYTHONPATH="$PWD/var/.tessera-src/src"
  fi
  # A fixed key: the seeded digests must match what the server computes. Bench data only.
  export TESSERA_SECRET_KEY=bench-only-secret-key-not-for-production-0123456789
  export TESSERA_LOG_LEVEL=warning
  # The issuance scenario measures argon2 and the write, not the throttle.
  # (The storm scenario keeps the per-e-mail default through OURS_RATE_PER_EMAIL.)
  export TESSERA_EXCHANGE_RATE_PER_EMAIL=${OURS_RATE_PER_EMAIL:-1000000/minute}
  export TESSERA_EXCHANGE_RATE_PER_ADDRESS=1000000/minute
  # Everything else (usage flush every 5 s, 40 threads, pool of 10, argon2 threads =
  # CPU count, migrations) stays at Tessera's defaults. No tessera.toml is read:
  export TESSERA_CONFIG=/dev/null
}

# ours_seed_env: ours_env for the seeding scripts. On PostgreSQL their commits do not wait for
# the disk (synchronous_commit=off, for the seeding connections only): tens of thousands of
# small transactions are written in a fraction of the time, and a crash would only mean seeding
# again. The servers keep PostgreSQL's default.
ours_seed_env() {
  ours_env || return 1
  case $TESSERA_DATABASE_URL in
    postgresql://*) TESSERA_DATABASE_URL="$TESSERA_DATABASE_URL?options=-csynchronous_commit%3Doff" ;;
  esac
}

# ours_serve WORKERS: exec `tessera serve` on 127.0.0.1:$PORT.
ours_serve() {
  ours_env || return 1
  exec "$TESSERA_VENV/bin/python" -m tessera serve --host 127.0.0.1 --port "$PORT" --workers "$1"
}

# ours_cold_env TOKENS: point TESSERA_DATABASE_URL at the cold-path database for TOKENS tokens
# (PostgreSQL only: bench_tessera_cold_<TOKENS>); sets OURS_COLD_DB.
ours_cold_env() {
  ours_env || return 1
  OURS_COLD_DB=${OURS_PGDATABASE}_cold_$1
  TESSERA_DATABASE_URL="postgresql://${BENCH_PGUSER:-postgres}@${BENCH_PGHOST:-127.0.0.1}:${BENCH_PGPORT:-5432}/$OURS_COLD_DB"
  export TESSERA_DATABASE_URL
}

# ours_seed_cold TOKENS DIR: the cold-path database with TOKENS live tokens, and DIR/tokens.txt.
# Kept between runs: seeded again only when DIR/READY does not name this database and count,
# when the database does not hold exactly that many tokens, or when OURS_RESEED_COLD=1.
ours_seed_cold() {
  local tokens=$1 out=$2 held
  ours_cold_env "$tokens" || return 1
  local psql=(psql -h "${BENCH_PGHOST:-127.0.0.1}" -p "${BENCH_PGPORT:-5432}" -U "${BENCH_PGUSER:-postgres}" -qtA)
  if [ "${OURS_RESEED_COLD:-0}" != 1 ] && [ "$(cat "$out/READY" 2>/dev/null)" = "$OURS_COLD_DB $tokens" ]; then
    held=$("${psql[@]}" -d "$OURS_COLD_DB" -c "SELECT count(*) FROM api_tokens" 2>/dev/null || true)
    if [ "$held" = "$tokens" ] && [ "$(grep -c . "$out/tokens.txt")" = "$tokens" ]; then
      echo "ours_seed_cold: keeping $OURS_COLD_DB ($tokens tokens) and $out/tokens.txt"
      # Kept data, current code: bring the schema up to date (nothing to do when it is).
      "$TESSERA_VENV/bin/python" -m tessera migrate >/dev/null
      return
    fi
  fi
  echo "ours_seed_cold: seeding $OURS_COLD_DB with $tokens tokens (bulk, no argon2; 1,000,000 take about 2 min)"
  "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS $OURS_COLD_DB WITH (FORCE)" >/dev/null 2>&1 &&
    "${psql[@]}" -d postgres -c "CREATE DATABASE $OURS_COLD_DB" >/dev/null || return 1
  "$TESSERA_VENV/bin/python" -m tessera migrate >/dev/null || return 1
  "$TESSERA_VENV/bin/python" seed_cold.py "$out" --tokens "$tokens"
}

# ours_serve_cold TOKENS WORKERS: exec `tessera serve` on the cold-path database.
ours_serve_cold() {
  ours_cold_env "$1" || return 1
  exec "$TESSERA_VENV/bin/python" -m tessera serve --host 127.0.0.1 --port "$PORT" --workers "$2"
}

# ours_reset_db: an empty, migrated database for the current BENCH_DB.
ours_reset_db() {
  ours_env || return 1
  if [ "${BENCH_DB:-sqlite}" = sqlite ]; then
    mkdir -p var
    rm -f var/tessera.sqlite3 var/tessera.sqlite3-wal var/tessera.sqlite3-shm
  else
    local psql=(psql -h "${BENCH_PGHOST:-127.0.0.1}" -p "${BENCH_PGPORT:-5432}" -U "${BENCH_PGUSER:-postgres}" -d postgres -qtA)
    "${psql[@]}" -c "DROP DATABASE IF EXISTS $OURS_PGDATABASE WITH (FORCE)" >/dev/null &&
      "${psql[@]}" -c "CREATE DATABASE $OURS_PGDATABASE" >/dev/null || return 1
  fi
  "$TESSERA_VENV/bin/python" -m tessera migrate
}
