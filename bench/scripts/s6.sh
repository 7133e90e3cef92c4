# S6 for bench/run (sourced): does a turn get slower as stored sessions pile up?
#
# On each engine the run measures, the server's own migrations make an empty database; two copies are seeded,
# with S6_SMALL and with S6_BIG sessions (two messages each) of the bootstrap key's organization; a server runs on
# each. The turns are sequential, each continuing a different seeded session (by its conversation_id), so no
# session is ever asked twice and every lookup is a real one. Every other repetition takes the databases in reverse
# order, so that on each engine the small and the big one take turns going first, and so do the engines.
# SMALL and BIG are the SQLite databases, PG_SMALL and PG_BIG the PostgreSQL ones.

S6_BODY='{"model":"x","messages":[{"role":"user","content":"Hello"},{"role":"assistant","content":"Hi! How can I help?"},{"role":"user","content":"Tell me more."}],"elevenlabs_extra_body":{"conversation_id":"bench-{n}"}}'
S6_WARMUP_TURNS=100

# Where each database is, a SQLite file or pg:NAME, and the port of the server on it. The long-lived servers are
# stopped before S6, so PostgreSQL's pair takes their ports.
s6_database() {
  case $1 in
    SMALL) echo "$OUT/s6-small.db" ;;
    BIG) echo "$OUT/s6-big.db" ;;
    PG_SMALL) echo pg:s6_small ;;
    PG_BIG) echo pg:s6_big ;;
  esac
}

s6_port() {
  case $1 in
    SMALL) echo "$SPARE_PORT" ;;
    BIG) echo "$SPARE_PORT_2" ;;
    PG_SMALL) echo "$SERVER_PORT" ;;
    PG_BIG) echo "$SERVER_PG_PORT" ;;
  esac
}

s6_size() { if [[ $1 == *BIG ]]; then echo "$S6_BIG"; else echo "$S6_SMALL"; fi; }

scenario_s6() {
  local runs=() which
  if uses_engine sqlite; then
    if [[ -n $SERVER_PROBLEM ]]; then
      note "S6 on SQLite not measured: SERVER is not available"
    elif prepare_s6_sqlite; then
      runs+=(SMALL BIG)
    fi
  fi
  if uses_engine postgresql; then
    if [[ -n $SERVER_PG_PROBLEM ]]; then
      note "S6 on PostgreSQL not measured: SERVER_PG is not available"
    elif prepare_s6_postgres; then
      runs+=(PG_SMALL PG_BIG)
    fi
  fi
  ((${#runs[@]})) || return 0
  log "S6: a turn with $S6_SMALL vs $S6_BIG stored sessions (${runs[*]})"

  declare -A before
  for which in "${runs[@]}"; do
    before[$which]=$(count_sessions "$(s6_database "$which")")
    start_server "s6${which,,}" "$(s6_port "$which")" "$(s6_database "$which")"
  done
  for which in "${runs[@]}"; do
    if ! wait_ready "s6${which,,}" "http://127.0.0.1:$(s6_port "$which")/health/ready"; then
      note "S6 not measured: a server on a seeded database did not start (see bench/out/s6${which,,}.log)"
      for which in "${runs[@]}"; do stop "s6${which,,}"; done
      return
    fi
  done
  pace 20 0
  for which in "${runs[@]}"; do
    s6_turns "$which" 0 "$S6_WARMUP_TURNS" >/dev/null
  done

  local rep i n=${#runs[@]}
  for ((rep = 0; rep < REPS; rep++)); do
    for ((i = 0; i < n; i++)); do
      which=${runs[rep % 2 ? n - 1 - i : i]}
      record S6 "$which" "$rep" "$(s6_turns "$which" $((S6_WARMUP_TURNS + rep * S6_TURNS)) "$S6_TURNS")"
    done
  done
  for which in "${runs[@]}"; do stop "s6${which,,}"; done

  local created
  for which in "${runs[@]}"; do
    created=$(($(count_sessions "$(s6_database "$which")") - ${before[$which]}))
    if ((created > 0)); then
      note "S6 $which: the server started $created new sessions instead of continuing the seeded ones, so these are new-session turns"
    fi
  done
  rm -f "$OUT"/s6-*.db*
}

# s6_turns WHICH FIRST COUNT: COUNT sequential turns on seeded sessions number FIRST, FIRST+1, ...
# (in a big database spread over all its sessions by a stride that never repeats one).
s6_turns() {
  local size stride=1
  size=$(s6_size "$1")
  [[ $1 != *BIG ]] || stride=7919
  sse_client sequential --url "$(url_of SERVER "$(s6_port "$1")")" --count "$3" --body "$S6_BODY" \
    --ids "$(($2 * stride)),$stride,$size"
}

# make_schema DATABASE: lets the server create its schema and bootstrap key in DATABASE, then stops it.
make_schema() {
  start_server s6schema "$SPARE_PORT" "$1"
  if ! wait_answer s6schema "$(url_of SERVER "$SPARE_PORT")"; then
    stop s6schema
    return 1
  fi
  stop s6schema
}

count_sessions() {
  if [[ $1 == pg:* ]]; then
    pg_sql "${1#pg:}" -c 'SELECT count(*) FROM "Sessions"'
  else
    sqlite3 "$1" 'SELECT count(*) FROM "Sessions";'
  fi
}

# ---------------------------------------------------------------- SQLite

prepare_s6_sqlite() {
  local schema=$OUT/s6-schema.db small big
  small=$(s6_database SMALL) big=$(s6_database BIG)
  rm -f "$OUT"/s6-*.db*
  if ! make_schema "$schema"; then
    note "S6 on SQLite not measured: a server on a new database did not start (see bench/out/s6schema.log)"
    return 1
  fi
  sqlite3 "$schema" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
  sqlite3 "$schema" .schema >"$OUT/s6-schema.sql"
  if ! grep -q '"Sessions"' "$OUT/s6-schema.sql"; then
    note "S6 on SQLite not measured: the database has no Sessions table yet"
    return 1
  fi
  cp "$schema" "$small"
  cp "$schema" "$big"
  log "seeding $S6_SMALL and $S6_BIG sessions in SQLite"
  if ! seed_sessions "$small" "$S6_SMALL" || ! seed_sessions "$big" "$S6_BIG"; then
    note "S6 on SQLite not measured: seeding failed, the schema may have changed (see bench/out/s6-seed.log, bench/out/s6-schema.sql)"
    return 1
  fi
}

# seed_sessions FILE COUNT: adds COUNT sessions with conversation ids bench-1..bench-COUNT to the organization
# of the bootstrap key, each as one finished turn (the user and assistant messages S6_BODY repeats), with
# random transcript hashes so the hash indexes hold COUNT distinct entries, and times a second apart.
# Written for the schema of the Sessions migration; bench/out/s6-schema.sql shows the one seeded.
seed_sessions() {
  sqlite3 "$1" >>"$OUT/s6-seed.log" 2>&1 <<SQL
.bail on
PRAGMA cache_size = -262144;
BEGIN;
CREATE TEMP TABLE seed AS
  SELECT Id AS KeyId, OrganizationId, strftime('%s', 'now') - $2 AS Start FROM ApiKeys ORDER BY CreatedAt LIMIT 1;
CREATE TEMP VIEW seeded AS
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
  SELECT i, printf('00000000-0000-7000-8000-%012X', i) AS Id, KeyId, OrganizationId,
         strftime('%Y-%m-%d %H:%M:%S.0000000', Start + i, 'unixepoch') AS At
  FROM n, seed;
INSERT INTO "Sessions" (Id, OrganizationId, ApiKeyId, ConversationId, UserId, TranscriptHash, TurnStartHash,
    TurnInputHash, CreatedAt, LastUpdateAt, EndedAt, MessageCount, LastTurnStart,
    LastReplySequence, PromptTokens, CompletionTokens)
  SELECT Id, OrganizationId, KeyId, 'bench-' || i, NULL, randomblob(32), randomblob(32),
    randomblob(32), At, At, NULL, 2, 1, 2, 12, 20
  FROM seeded;
INSERT INTO "SessionMessages" (SessionId, Sequence, Role, Content, ToolCalls, ToolCallId, FinishReason,
    PromptTokens, CompletionTokens, Interrupted, CreatedAt)
  SELECT Id, 1, 'user', 'Hello', NULL, NULL, NULL, NULL, NULL, 0, At FROM seeded
  UNION ALL
  SELECT Id, 2, 'assistant', 'Hi! How can I help?', NULL, NULL, 'stop', 12, 20, 0, At FROM seeded;
COMMIT;
SQL
}

# ---------------------------------------------------------------- PostgreSQL

# The migrated database is the template of both seeded ones, as the SQLite file is copied.
prepare_s6_postgres() {
  local which database
  if ! pg_fresh_database s6_schema || ! make_schema pg:s6_schema; then
    note "S6 on PostgreSQL not measured: a server on a new database did not start (see bench/out/s6schema.log)"
    return 1
  fi
  if [[ $(pg_sql s6_schema -c "SELECT to_regclass('\"Sessions\"') IS NOT NULL") != t ]]; then
    note "S6 on PostgreSQL not measured: the database has no Sessions table yet"
    return 1
  fi
  log "seeding $S6_SMALL and $S6_BIG sessions in PostgreSQL"
  for which in PG_SMALL PG_BIG; do
    database=$(s6_database "$which")
    if ! pg_fresh_database "${database#pg:}" s6_schema || ! seed_pg_sessions "$database" "$(s6_size "$which")"; then
      note "S6 on PostgreSQL not measured: seeding failed, the schema may have changed (see bench/out/s6-seed.log, bench/out/postgres-sql.log)"
      return 1
    fi
  done
  # Checkpointed now, so that flushing what the seeding wrote does not fall into the measured turns.
  pg_sql postgres -c CHECKPOINT >>"$OUT/s6-seed.log" 2>&1
}

# seed_pg_sessions pg:NAME COUNT: the same sessions as seed_sessions, in one transaction; then VACUUM ANALYZE, which
# autovacuum would do to a database that grew this way, so the planner knows its size and index-only scans work.
# Hashes are SHA-256 of distinct strings: as spread as random ones, and the same from run to run.
seed_pg_sessions() {
  pg_sql "${1#pg:}" >>"$OUT/s6-seed.log" 2>&1 <<SQL
BEGIN;
CREATE TEMP TABLE seed AS
  SELECT "Id" AS key_id, "OrganizationId" AS organization_id, now() - make_interval(secs => $2) AS start
  FROM "ApiKeys" ORDER BY "CreatedAt" LIMIT 1;
CREATE TEMP VIEW seeded AS
  SELECT i, ('00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid AS id, key_id, organization_id,
         start + make_interval(secs => i) AS at
  FROM seed, generate_series(1, $2) AS i;
INSERT INTO "Sessions" ("Id", "OrganizationId", "ApiKeyId", "ConversationId", "UserId", "TranscriptHash",
    "TurnStartHash", "TurnInputHash", "CreatedAt", "LastUpdateAt", "EndedAt", "MessageCount",
    "LastTurnStart", "LastReplySequence", "PromptTokens", "CompletionTokens")
  SELECT id, organization_id, key_id, 'bench-' || i, NULL, sha256(convert_to('transcript ' || i, 'UTF8')),
    sha256(convert_to('start ' || i, 'UTF8')), sha256(convert_to('input ' || i, 'UTF8')),
    at, at, NULL, 2, 1, 2, 12, 20
  FROM seeded;
INSERT INTO "SessionMessages" ("SessionId", "Sequence", "Role", "Content", "FinishReason", "PromptTokens",
    "CompletionTokens", "Interrupted", "CreatedAt")
  SELECT id, 1, 'user', 'Hello', NULL, NULL, NULL, false, at FROM seeded
  UNION ALL
  SELECT id, 2, 'assistant', 'Hi! How can I help?', 'stop', 12, 20, false, at FROM seeded;
COMMIT;
VACUUM ANALYZE;
SQL
}
