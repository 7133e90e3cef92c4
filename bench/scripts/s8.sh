# S8 for bench/run (sourced): how soon the first words come when the primary model provider is broken and a fallback
# answers, against calling that fallback directly.
#
# Two broken mocks stand in for the primary (MockUpstream --mode): FAILING answers every request at once with HTTP 500,
# SILENT begins a stream at once and then says nothing. Three servers, each on a fresh SQLite database, have the run's
# mock as their fallback, the provider named backup:
#   FALLBACK  primary FAILING, BreakAfterFailures=1000: its breaker never opens, so every request fails over;
#   BREAKER   primary FAILING, the default breaker: after the first few failures the primary is skipped;
#   HEDGE     primary SILENT, FirstTokenMs=S8_FIRST_TOKEN_MS: the backup starts when the primary has said nothing by then.
# They are measured beside DIRECT (the mock) and SERVER (the long-lived server, the mock its only provider), with
# streams of 20 chunks 20 ms apart as in S3, in the same repetitions, in an order rotated each time. Each record of the
# three notes how many calls its broken primary took meanwhile: one per request, or for BREAKER almost none.

S8_FIRST_TOKEN_MS=100
S8_TARGETS=(DIRECT SERVER FALLBACK BREAKER HEDGE)

s8_name() { echo "s8${1,,}"; }

s8_port() {
  case $1 in
    FALLBACK) echo "$S8_PORT" ;;
    BREAKER) echo $((S8_PORT + 1)) ;;
    HEDGE) echo $((S8_PORT + 2)) ;;
  esac
}

s8_url() {
  case $1 in
    DIRECT | SERVER) url_of "$1" ;;
    *) url_of SERVER "$(s8_port "$1")" ;;
  esac
}

# s8_primary TARGET: the broken mock that is the target's primary, by its process name; s8_mock_port NAME: its port.
s8_primary() { if [[ $1 == HEDGE ]]; then echo s8silent; else echo s8failing; fi; }
s8_mock_port() { if [[ $1 == s8silent ]]; then echo "$SPARE_PORT_2"; else echo "$SPARE_PORT"; fi; }

# primary_calls NAME: the chat completion requests the broken mock NAME has taken so far; primary_held NAME: how many
# of them it still holds open (a silent mock holds each until its caller goes away).
mock_stat() { { curl -s "http://127.0.0.1:$(s8_mock_port "$1")/mock/stats" || true; } | tr ' ' '\n' | sed -n "s/^$2=//p"; }
primary_calls() {
  local plain streamed
  plain=$(mock_stat "$1" plain) streamed=$(mock_stat "$1" streamed)
  echo $((${plain:-0} + ${streamed:-0}))
}
primary_held() { mock_stat "$1" held; }

# start_s8_server TARGET: a server on a fresh database whose primary is the target's broken mock, and backup the mock.
start_s8_server() {
  local name database
  name=$(s8_name "$1")
  database=$(fresh_database "$1" "$name")
  local SERVER_EXTRA_ENV=(
    Junis__Llm__BaseUrl="http://127.0.0.1:$(s8_mock_port "$(s8_primary "$1")")/v1"
    Junis__Llm__Fallbacks__0=backup
    Junis__Providers__backup__Provider=OpenAI
    Junis__Providers__backup__BaseUrl="http://127.0.0.1:$MOCK_PORT/v1"
    Junis__Providers__backup__ApiKey=mock
    Junis__Providers__backup__Model=mock-model
  )
  case $1 in
    # Its breaker would open after 1,000 failures in 30 s: far more than S8 asks of it (a check, S8_WARMUP and
    # REPS × S8_COUNT requests, each at least a few milliseconds long).
    FALLBACK) SERVER_EXTRA_ENV+=(Junis__Llm__BreakAfterFailures=1000) ;;
    HEDGE) SERVER_EXTRA_ENV+=(Junis__Llm__FirstTokenMs="$S8_FIRST_TOKEN_MS") ;;
  esac
  start_server "$name" "$(s8_port "$1")" "$database"
}

# s8_check TARGET: prints what is wrong with its streamed answer, or nothing: it must end in [DONE] and come from backup.
# The X-Model-Provider header names the provider; a hedging chain sends its headers before it knows which will answer,
# without that header, and then the session's record of the reply names it.
s8_check() {
  local base=http://127.0.0.1:$(s8_port "$1") headers=$OUT/$(s8_name "$1")-check.headers body provider session
  body=$(curl -sN --max-time 30 -D "$headers" -X POST "$(s8_url "$1")" -H "Authorization: $AUTH" \
    -H 'Content-Type: application/json' -d "$STREAM_BODY" || true)
  if [[ $body != *'data: [DONE]'* ]]; then
    echo "its answer to a streaming request did not end in [DONE]: ${body:0:300}"
    return
  fi
  provider=$(tr -d '\r' <"$headers" | sed -n 's/^x-model-provider: *//Ip')
  if [[ -n $provider ]]; then
    [[ $provider == backup ]] || echo "its answer named provider '$provider' in X-Model-Provider, not backup"
    return
  fi
  session=$(tr -d '\r' <"$headers" | sed -n 's/^x-session-id: *//Ip')
  provider=$({ curl -s "$base/api/external/sessions/$session/messages" -H "Authorization: $AUTH" || true; } |
    { grep -o '"provider":"[^"]*"' || true; } | tail -n 1 | cut -d '"' -f 4)
  [[ $provider == backup ]] ||
    echo "its answer had no X-Model-Provider header, and its session ${session:-(none named)} says the reply's provider is '${provider:-none}', not backup"
  log "S8 $1: no X-Model-Provider header (the stream began before the hedge was decided); the session names ${provider:-none}"
}

# s8_in_turn REP: the targets, rotated by REP so that none always runs first.
s8_in_turn() {
  local n=${#S8_TARGETS[@]} i
  for ((i = 0; i < n; i++)); do echo "${S8_TARGETS[(i + $1) % n]}"; done
}

scenario_s8() {
  if [[ " ${TARGETS[*]} " != *" SERVER "* ]]; then
    note "S8 not measured: SERVER is not available"
    return
  fi
  log "S8: first content through a fallback (FALLBACK, BREAKER) and a hedge (HEDGE, $S8_FIRST_TOKEN_MS ms), streaming 20 chunks 20 ms apart"
  start s8failing "$SPARE_PORT" dotnet "$MOCK_DLL" --port "$SPARE_PORT" --mode failing
  start s8silent "$SPARE_PORT_2" dotnet "$MOCK_DLL" --port "$SPARE_PORT_2" --mode silent
  local target name problem
  for target in FALLBACK BREAKER HEDGE; do start_s8_server "$target"; done
  for name in s8failing s8silent; do
    if ! wait_ready "$name" "http://127.0.0.1:$(s8_mock_port "$name")/v1/models"; then
      note "S8 not measured: the broken mock $name did not start (see bench/out/$name.log)"
      stop_s8
      return
    fi
  done

  # A server that does not come up, or whose answers do not come from backup, is left out, and the notes say why.
  local measured=(DIRECT SERVER)
  pace 20 0
  for target in FALLBACK BREAKER HEDGE; do
    name=$(s8_name "$target")
    if ! wait_ready "$name" "http://127.0.0.1:$(s8_port "$target")/health/ready"; then
      note "S8 $target not measured: it did not report ready on /health/ready (see bench/out/$name.log)"
      stop "$name"
      continue
    fi
    problem=$(s8_check "$target")
    if [[ -n $problem ]]; then
      note "S8 $target not measured: $problem"
      stop "$name"
      continue
    fi
    measured+=("$target")
  done

  # DIRECT and SERVER are warm from the other scenarios' warm-up; the new servers get sequential streams of their own.
  for target in "${measured[@]:2}"; do
    sse_client sequential --url "$(s8_url "$target")" --count "$S8_WARMUP" --body "$STREAM_BODY" >/dev/null
  done

  pace 20 20
  local rep primary before result
  for ((rep = 0; rep < REPS; rep++)); do
    for target in $(s8_in_turn "$rep"); do
      [[ " ${measured[*]} " == *" $target "* ]] || continue
      case $target in
        DIRECT | SERVER)
          ensure_alive "$target" || continue
          record S8 "$target" "$rep" "$(sse_client sequential --url "$(s8_url "$target")" --count "$S8_COUNT" \
            --body "$STREAM_BODY" --pace-ms 20)" ;;
        *)
          name=$(s8_name "$target") primary=$(s8_primary "$target")
          if ! alive "$name" || ! alive "$primary"; then
            note "S8 $target exited during the run, or its primary did (see bench/out/$name.log, bench/out/$primary.log); later repetitions do not measure it"
            s8_drop "$target"
            continue
          fi
          before=$(primary_calls "$primary")
          result=$(sse_client sequential --url "$(s8_url "$target")" --count "$S8_COUNT" --body "$STREAM_BODY" --pace-ms 20)
          record S8 "$target" "$rep" "$result" "{\"primary_calls\":$(($(primary_calls "$primary") - before))}" ;;
      esac
    done
  done

  # The hedge must close its call to the silent primary once the backup has spoken.
  if alive s8silent && [[ " ${measured[*]} " == *" HEDGE "* ]]; then
    sleep 0.5
    local held
    held=$(primary_held s8silent)
    ((held == 0)) || note "S8 HEDGE: $held calls to its silent primary were still open after the run; a hedge should close the call it no longer needs"
  fi
  stop_s8
  pace 20 0
}

# s8_drop TARGET: leaves it out of the repetitions still to come.
s8_drop() {
  local kept=() target
  for target in "${measured[@]}"; do
    [[ $target == "$1" ]] || kept+=("$target")
  done
  measured=("${kept[@]}")
}

stop_s8() {
  local name
  for name in s8fallback s8breaker s8hedge s8failing s8silent; do stop "$name"; done
  rm -f "$OUT"/s8*.db*
}
