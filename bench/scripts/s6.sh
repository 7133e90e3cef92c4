# S6 for bench/run (sourced): does a turn get slower as stored sessions pile up?
#
# The server's own migrations make an empty database; two copies are seeded, with S6_SMALL and with
# S6_BIG sessions (two messages each) of the bootstrap key's organization; a server runs on each. The
# turns are sequential, each continuing a different seeded session (by its conversation_id), so no
# session is ever asked twice and every lookup is a real one; which database goes first alternates.

S6_BODY='{"model":"x","messages":[{"role":"user","content":"Hello"},{"role":"assistant","content":"Hi! How can I help?"},{"role":"user","content":"Tell me more."}],"elevenlabs_extra_body":{"conversation_id":"bench-{n}"}}'
S6_WARMUP_TURNS=100

scenario_s6() {
  if [[ -n $SERVER_PROBLEM ]]; then
    note "S6 not measured: SERVER is not available"
    return
  fi
  log "S6: a turn with $S6_SMALL vs $S6_BIG stored sessions"
  local schema=$OUT/s6-schema.db small=$OUT/s6-small.db big=$OUT/s6-big.db
  rm -f "$OUT"/s6-*.db*
  if ! make_schema "$schema"; then
    note "S6 not measured: a server on a new database did not start (see bench/out/s6schema.log)"
    return
  fi
  sqlite3 "$schema" .schema >"$OUT/s6-schema.sql"
  if ! grep -q '"Sessions"' "$OUT/s6-schema.sql"; then
    note "S6 not measured: the database has no Sessions table yet"
    return
  fi
  cp "$schema" "$small"
  cp "$schema" "$big"
  log "seeding $S6_SMALL and $S6_BIG sessions"
  if ! seed_sessions "$small" "$S6_SMALL" || ! seed_sessions "$big" "$S6_BIG"; then
    note "S6 not measured: seeding failed, the schema may have changed (see bench/out/s6-seed.log, bench/out/s6-schema.sql)"
    return
  fi
  local small_before big_before
  small_before=$(count_sessions "$small")
  big_before=$(count_sessions "$big")

  start_server s6small "$SPARE_PORT" "$small"
  start_server s6big "$SPARE_PORT_2" "$big"
  if ! wait_ready s6small "http://127.0.0.1:$SPARE_PORT/health/ready" ||
    ! wait_ready s6big "http://127.0.0.1:$SPARE_PORT_2/health/ready"; then
    note "S6 not measured: a server on a seeded database did not start (see bench/out/s6small.log, s6big.log)"
    stop s6small
    stop s6big
    return
  fi
  pace 20 0
  s6_turns SMALL 0 "$S6_WARMUP_TURNS" >/dev/null
  s6_turns BIG 0 "$S6_WARMUP_TURNS" >/dev/null

  local rep which order
  for ((rep = 0; rep < REPS; rep++)); do
    order="SMALL BIG"
    ((rep % 2 == 0)) || order="BIG SMALL"
    for which in $order; do
      record S6 "$which" "$rep" "$(s6_turns "$which" $((S6_WARMUP_TURNS + rep * S6_TURNS)) "$S6_TURNS")"
    done
  done
  stop s6small
  stop s6big

  local created=$(($(count_sessions "$small") - small_before + $(count_sessions "$big") - big_before))
  if ((created > 0)); then
    note "S6: the server started $created new sessions instead of continuing the seeded ones, so these are new-session turns"
  fi
  rm -f "$OUT"/s6-*.db*
}

# s6_turns SMALL|BIG FIRST COUNT: COUNT sequential turns on seeded sessions number FIRST, FIRST+1, ...
# (in the big database spread over all its sessions by a stride that never repeats one).
s6_turns() {
  local port=$SPARE_PORT size=$S6_SMALL stride=1
  if [[ $1 == BIG ]]; then
    port=$SPARE_PORT_2 size=$S6_BIG stride=7919
  fi
  sse_client sequential --url "$(url_of SERVER "$port")" --count "$3" --body "$S6_BODY" \
    --ids "$(($2 * stride)),$stride,$size"
}

# make_schema FILE: lets the server create its schema and bootstrap key in FILE, then stops it.
make_schema() {
  start_server s6schema "$SPARE_PORT" "$1"
  if ! wait_answer s6schema "$(url_of SERVER "$SPARE_PORT")"; then
    stop s6schema
    return 1
  fi
  stop s6schema
  sqlite3 "$1" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
}

count_sessions() { sqlite3 "$1" 'SELECT count(*) FROM "Sessions";'; }

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
    TurnInputHash, UserTurnsHash, CreatedAt, LastUpdateAt, EndedAt, MessageCount, LastTurnStart,
    LastReplySequence, PromptTokens, CompletionTokens)
  SELECT Id, OrganizationId, KeyId, 'bench-' || i, NULL, randomblob(32), randomblob(32),
    randomblob(32), randomblob(32), At, At, NULL, 2, 1, 2, 12, 20
  FROM seeded;
INSERT INTO "SessionMessages" (SessionId, Sequence, Role, Content, ToolCalls, ToolCallId, FinishReason,
    PromptTokens, CompletionTokens, Interrupted, CreatedAt)
  SELECT Id, 1, 'user', 'Hello', NULL, NULL, NULL, NULL, NULL, 0, At FROM seeded
  UNION ALL
  SELECT Id, 2, 'assistant', 'Hi! How can I help?', NULL, NULL, 'stop', 12, 20, 0, At FROM seeded;
COMMIT;
SQL
}
