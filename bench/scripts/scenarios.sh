# Scenarios S1–S5 and S7 for bench/run (sourced). S6 is in s6.sh.
# Each runs REPS repetitions over all TARGETS, rotating their order, and records one line per measurement.

# The long-lived targets run each kind of request under load for STEADY seconds first: .NET compiles hot code
# again, optimized with what it has seen, in the background for the first ~20 s of load, and a figure taken
# before that measures the compiler as much as the target.
warm_up() {
  local target url
  log "warming up ${TARGETS[*]} (${STEADY} s of each kind of request)"
  pace 20 0
  for target in "${TARGETS[@]}"; do
    # SERVER_PG's long-lived process serves S2 and S4 only.
    [[ $target != SERVER_PG ]] || wants S2 || wants S4 || continue
    url=$(url_of "$target")
    wrk_run "$url" 32 "$STEADY" "$CHAT_BODY" >/dev/null
    wrk_run "$url" 32 "$STEADY" "$STREAM_BODY" >/dev/null
    sse_client sequential --url "$url" --count 50 --body "$STREAM_BODY" >/dev/null
  done
}

# note_how_server_asks SERVER|SERVER_PG: whether the server asks its model for a stream when its client did not:
# then it reads 20 chunks where DIRECT and YARP pass one JSON answer, which a reader of the non-streaming figures
# should know.
note_how_server_asks() {
  local before
  before=$(mock_streamed)
  curl -s -o /dev/null -X POST "$(url_of "$1")" -H "Authorization: $AUTH" -H 'Content-Type: application/json' -d "$CHAT_BODY"
  if (($(mock_streamed) > before)); then
    note "$1 asks its model for a stream even when its client does not, so in S1, S2 and S6 it reads 20 chunks from the mock where DIRECT and YARP pass on one JSON answer."
  fi
}

scenario_s1() {
  log "S1: non-streaming, one connection"
  pace 20 0
  local rep target
  for ((rep = 0; rep < REPS; rep++)); do
    for target in $(targets_in_turn "$rep" S1); do
      ensure_alive "$target" || continue
      record S1 "$target" "$rep" "$(wrk_run "$(url_of "$target")" 1 "$DURATION" "$CHAT_BODY")"
    done
  done
}

# throughput SCENARIO BODY: 32 connections, with the CPU time the target process spent over the run, and for
# SERVER_PG the PostgreSQL cluster's too (db_cpu_us): its work on the server's behalf is part of each request's cost.
throughput() {
  local rep target pid before after db_before db_after result
  # The scenario's own load first, unmeasured: after a sequential scenario a process has let its thread pool
  # and heap shrink, and the first seconds back under load measure their regrowth.
  for target in "${TARGETS[@]}"; do
    ensure_alive "$target" && wrk_run "$(url_of "$target")" 32 "$WARMUP" "$2" >/dev/null
  done
  for ((rep = 0; rep < REPS; rep++)); do
    for target in $(targets_in_turn "$rep" "$1"); do
      ensure_alive "$target" || continue
      pid=$(pid_of "$target")
      db_before=$(pg_ticks)
      before=$(cpu_ticks "$pid")
      result=$(wrk_run "$(url_of "$target")" 32 "$DURATION" "$2")
      after=$(cpu_ticks "$pid" 2>/dev/null) || { ensure_alive "$target"; continue; }
      db_after=$(pg_ticks)
      if [[ $target == SERVER_PG ]]; then
        record "$1" "$target" "$rep" "$result" "{\"cpu_us\":$(((after - before) * 1000000 / CLK_TCK)),\"db_cpu_us\":$(((db_after - db_before) * 1000000 / CLK_TCK))}"
      else
        record "$1" "$target" "$rep" "$result" "{\"cpu_us\":$(((after - before) * 1000000 / CLK_TCK))}"
      fi
    done
  done
}

scenario_s2() {
  log "S2: non-streaming, 32 connections"
  pace 20 0
  throughput S2 "$CHAT_BODY"
}

scenario_s3() {
  log "S3: streaming, 20 chunks 20 ms apart, sequential"
  pace 20 20
  local rep target
  for ((rep = 0; rep < REPS; rep++)); do
    for target in $(targets_in_turn "$rep" S3); do
      ensure_alive "$target" || continue
      record S3 "$target" "$rep" "$(sse_client sequential --url "$(url_of "$target")" --count "$S3_COUNT" \
        --body "$STREAM_BODY" --pace-ms 20)"
    done
  done
}

scenario_s4() {
  log "S4: streaming, 20 chunks without delay, 32 connections"
  pace 20 0
  throughput S4 "$STREAM_BODY"
}

# S5 runs on fresh processes: a long-lived one keeps what earlier load made its heap grow to, so its
# "idle" would hide the cost of the streams. Each gets a short warm-up before its idle RSS is read.
scenario_s5() {
  log "S5: $S5_STREAMS concurrent streams, $S5_EVENTS events $S5_PACE_MS ms apart (fresh processes)"
  local rep target url idle sampler result
  for ((rep = 0; rep < REPS; rep++)); do
    for target in $(targets_in_turn "$rep" S5); do
      url=$(url_of "$target" "$SPARE_PORT")
      if ! start_fresh "$target"; then
        note "S5: no fresh database for $target (see bench/out/postgres-sql.log)"
        continue
      fi
      if ! wait_answer fresh "$url"; then
        note "S5: a fresh $target did not answer (see bench/out/fresh.log)"
        stop fresh
        continue
      fi
      pace 20 0
      [[ $target != DIRECT ]] || pace 20 0 "$SPARE_PORT"
      wrk_run "$url" 8 "$WARMUP" "$CHAT_BODY" >/dev/null
      wrk_run "$url" 8 "$WARMUP" "$STREAM_BODY" >/dev/null
      pace "$S5_EVENTS" "$S5_PACE_MS"
      [[ $target != DIRECT ]] || pace "$S5_EVENTS" "$S5_PACE_MS" "$SPARE_PORT"
      sleep 1
      idle=$(rss_kib "${PID[fresh]}")
      echo "$idle" >"$OUT/rss-samples"
      sample_rss "${PID[fresh]}" "$OUT/rss-samples" &
      sampler=$!
      STARTED_PIDS+=("$sampler")
      result=$(sse_client concurrent --url "$url" --streams "$S5_STREAMS" --body "$STREAM_BODY" \
        --timeout-ms $((S5_EVENTS * S5_PACE_MS + 60000)))
      kill "$sampler" 2>/dev/null || true
      wait "$sampler" 2>/dev/null || true
      alive fresh || note "S5: the fresh $target exited during the streams (see bench/out/fresh.log)"
      stop fresh
      record S5 "$target" "$rep" "$result" "{\"idle_rss_kib\":$idle,\"peak_rss_kib\":$(max_of "$OUT/rss-samples")}"
    done
  done
}

scenario_s7() {
  log "S7: process start to first answer; idle RSS (fresh processes)"
  local rep target start_ns seconds
  for ((rep = 0; rep < S7_STARTS; rep++)); do
    for target in $(targets_in_turn "$rep" S7); do
      start_ns=$(now_ns)
      start_fresh "$target"
      if wait_answer fresh "$(url_of "$target" "$SPARE_PORT")"; then
        seconds=$(awk -v ns=$(($(now_ns) - start_ns)) 'BEGIN { printf "%.3f", ns / 1e9 }')
        sleep 1
        record S7 "$target" "$rep" "{\"seconds\":$seconds,\"idle_rss_kib\":$(rss_kib "${PID[fresh]}")}"
      else
        note "S7: a fresh $target gave no answer within 60 s of its start (see bench/out/fresh.log)"
      fi
      stop fresh
    done
  done
}
