# Helpers for bench/run (sourced): processes, targets, and the two measuring tools.

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
note() { log "note: $*"; printf '%s\n' "$*" >>"$NOTES"; }

# ---------------------------------------------------------------- processes

STARTED_PIDS=()
declare -A PID

cleanup() {
  local pid
  # An interrupted --compare build leaves its temporary export of the other revision behind otherwise.
  [[ -z ${BASE_SOURCE:-} ]] || rm -rf "$BASE_SOURCE"
  for pid in "${STARTED_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  # After the servers, so that none is left asking a database that has gone.
  stop_cluster
}

port_in_use() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port taken by something else would make us measure that instead; BENCH_*_PORT variables move ours.
claim_port() {
  if port_in_use "$1"; then
    echo "port $1 is already in use; free it or set BENCH_MOCK_PORT/BENCH_YARP_PORT/BENCH_SERVER_PORT/BENCH_SPARE_PORT/BENCH_BASE_PORT/BENCH_SERVER_PG_PORT/BENCH_PG_PORT/BENCH_S8_PORT" >&2
    exit 1
  fi
}

# start NAME PORT COMMAND...: runs a server in the background, its output in out/NAME.log, its pid in PID[NAME].
start() {
  local name=$1
  claim_port "$2"
  shift 2
  "$@" >"$OUT/$name.log" 2>&1 &
  PID[$name]=$!
  STARTED_PIDS+=("$!")
}

stop() {
  local pid=${PID[$1]:-}
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "PID[$1]"
}

alive() { [[ -n ${PID[$1]:-} && -e /proc/${PID[$1]} ]]; }

start_mock() { start "$1" "$2" dotnet "$MOCK_DLL" --port "$2" --chunks 20 --delay-ms 0; }

# The runtime settings the Dockerfile deploys the server with (README, Performance). YARP runs with them too: the
# floor for a .NET gateway is measured as it would be deployed.
DEPLOYED_RUNTIME=(DOTNET_GCgen0size=0x2000000)

start_yarp() {
  start "$1" "$2" env "${DEPLOYED_RUNTIME[@]}" \
    dotnet "$YARP_DLL" --urls "http://127.0.0.1:$2" --upstream "http://127.0.0.1:$MOCK_PORT"
}

# start_server NAME PORT DATABASE [DLL]: Junis.Server, the current build unless DLL names another (BASE's).
# DATABASE is a SQLite file, or pg:NAME for a database of the run's PostgreSQL cluster (scripts/postgres.sh).
# SERVER_EXTRA_ENV (NAME=VALUE words, empty unless a caller sets it, say as a local) goes after its own settings,
# so it adds to them or overrides them: another model, fallbacks (S8).
SERVER_EXTRA_ENV=()
start_server() {
  local provider=Sqlite connection="Data Source=$3"
  if [[ $3 == pg:* ]]; then
    provider=PostgreSQL connection=$(pg_connection "${3#pg:}")
  fi
  ASPNETCORE_ENVIRONMENT=Production \
    Junis__Llm__Provider=OpenAI Junis__Llm__BaseUrl="http://127.0.0.1:$MOCK_PORT/v1" \
    Junis__Llm__ApiKey=mock Junis__Llm__Model=mock-model \
    Junis__Auth__BootstrapKey=$KEY Junis__RateLimits__Enabled=false \
    Junis__Database__Provider=$provider ConnectionStrings__Junis="$connection" \
    Serilog__MinimumLevel__Default=Warning \
    start "$1" "$2" env "${DEPLOYED_RUNTIME[@]}" "${SERVER_EXTRA_ENV[@]}" dotnet "${4:-$SERVER_DLL}" --urls "http://127.0.0.1:$2"
}

# fresh_database TARGET NAME: prints where a new, empty database for that target is (for start_server), a SQLite
# file or a PostgreSQL database; the server makes its schema as it starts. Fails if PostgreSQL would not make it.
fresh_database() {
  if [[ $1 == SERVER_PG ]]; then
    pg_fresh_database "$2" && echo "pg:$2"
  else
    rm -f "$OUT/$2".db*
    echo "$OUT/$2.db"
  fi
}

# start_fresh TARGET: a new process of that kind on the spare port, named "fresh" (SERVER, BASE or SERVER_PG on a new
# database); fails if that database could not be made.
start_fresh() {
  case $1 in
    DIRECT) start_mock fresh "$SPARE_PORT" ;;
    YARP) start_yarp fresh "$SPARE_PORT" ;;
    SERVER | BASE | SERVER_PG)
      local database words
      database=$(fresh_database "$1" fresh) || return 1
      read -ra words <<<"$(env_of "$1")"
      local SERVER_EXTRA_ENV=("${SERVER_EXTRA_ENV[@]}" "${words[@]}")
      start_server fresh "$SPARE_PORT" "$database" "$(dll_of "$1")" ;;
  esac
}

# wait_ready NAME URL [SECONDS]: until a GET answers 200; fails early if process NAME ended.
wait_ready() {
  local deadline=$((SECONDS + ${3:-60}))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' "$2" || true) == 200 ]]; do
    alive "$1" && ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# wait_answer NAME URL: until a chat completion request answers 200; fails early if process NAME ended.
wait_answer() {
  local deadline=$((SECONDS + 60))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST "$2" -H "Authorization: $AUTH" \
    -H 'Content-Type: application/json' -d "$CHAT_BODY" || true) == 200 ]]; do
    alive "$1" && ((SECONDS < deadline)) || return 1
    sleep 0.01
  done
}

now_ns() { date +%s%N; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# User + system CPU time of a process in clock ticks: fields 14 and 15 of /proc/PID/stat.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
CLK_TCK=$(getconf CLK_TCK)

# ours_ticks: CPU ticks spent so far by the servers this run started, the PostgreSQL cluster's included.
ours_ticks() {
  local name total ticks
  total=$(pg_ticks)
  for name in "${!PID[@]}"; do
    ticks=$(cpu_ticks "${PID[$name]}" 2>/dev/null) && total=$((total + ticks))
  done
  echo "$total"
}

# others_busy_percent: how busy other processes than ours kept all CPUs over the next second.
others_busy_percent() {
  local before after ours_before ours_after
  ours_before=$(ours_ticks)
  before=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  sleep 1
  after=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  ours_after=$(ours_ticks)
  awk -v a="$before" -v b="$after" -v ours=$((ours_after - ours_before)) 'BEGIN {
    split(a, x, " "); split(b, y, " "); busy = y[1] - x[1] - ours; all = y[1] - x[1] + y[2] - x[2]
    printf "%d", (all > 0 && busy > 0) ? 100 * busy / all : 0 }'
}

# check_quiet SCENARIO: anything else using the CPU while we measure would distort the figures, so this
# waits up to QUIET_WAIT seconds for other processes to calm down, and notes it if they do not.
check_quiet() {
  local busy deadline=$((SECONDS + QUIET_WAIT))
  while busy=$(others_busy_percent) && ((busy > 15 && SECONDS < deadline)); do
    log "$1: waiting for other processes to leave the CPU ($busy % busy)"
    sleep 4
  done
  if ((busy > 15)); then
    note "$1: just before it, other processes kept the machine $busy % busy; its figures are disturbed"
  fi
}

# pace CHUNKS DELAY_MS [PORT]: how a mock (the shared one unless PORT) answers streams from now on, whoever asks.
pace() { curl -sf -X POST "http://127.0.0.1:${3:-$MOCK_PORT}/mock/defaults?chunks=$1&delay_ms=$2" >/dev/null; }

mock_streamed() { curl -s "http://127.0.0.1:$MOCK_PORT/mock/stats" | sed -n 's/.*streamed=\([0-9]*\).*/\1/p'; }

# ---------------------------------------------------------------- targets

TARGETS=(DIRECT YARP)

# url_of TARGET [PORT]: where the target takes chat completions (its long-lived process unless PORT).
url_of() {
  case $1 in
    DIRECT) echo "http://127.0.0.1:${2:-$MOCK_PORT}/v1/chat/completions" ;;
    YARP) echo "http://127.0.0.1:${2:-$YARP_PORT}/v1/chat/completions" ;;
    SERVER | BASE | SERVER_PG) echo "http://127.0.0.1:${2:-$(port_of "$1")}/api/external/v1/chat/completions" ;;
  esac
}

name_of() {
  case $1 in
    DIRECT) echo mock ;;
    YARP) echo yarp ;;
    SERVER) echo server ;;
    BASE) echo base ;;
    SERVER_PG) echo server_pg ;;
  esac
}

# SERVER is this tree's build of Junis.Server, BASE (with --compare) the build of another revision, SERVER_PG (with
# --engine postgresql or both) this tree's build on PostgreSQL.
port_of() {
  case $1 in
    BASE) echo "$BASE_PORT" ;;
    SERVER_PG) echo "$SERVER_PG_PORT" ;;
    *) echo "$SERVER_PORT" ;;
  esac
}
dll_of() { if [[ $1 == BASE ]]; then echo "$BASE_DLL"; else echo "$SERVER_DLL"; fi; }

pid_of() { echo "${PID[$(name_of "$1")]}"; }

# targets_in_turn REP [SCENARIO]: the targets (those SCENARIO measures), rotated by REP so that none always runs
# first; on odd repetitions SERVER and BASE trade places too, so that neither always runs just before the other.
targets_in_turn() {
  local n=${#TARGETS[@]} i target
  for ((i = 0; i < n; i++)); do
    target=${TARGETS[(i + $1) % n]}
    if (($1 % 2)) && [[ " ${TARGETS[*]} " == *" BASE "* ]]; then
      case $target in SERVER) target=BASE ;; BASE) target=SERVER ;; esac
    fi
    [[ -z ${2:-} ]] || measures "$2" "$target" || continue
    echo "$target"
  done
}

# measures SCENARIO TARGET: whether the scenario measures that target. PostgreSQL is measured where the database
# takes part in the figure: throughput and its CPU (S2, S4), memory per stream (S5), and S6 (in s6.sh).
measures() { [[ $2 != SERVER_PG || $1 == S2 || $1 == S4 || $1 == S5 ]]; }

# ensure_alive TARGET: a build of Junis.Server that died is dropped (and said so); DIRECT or YARP dying ends the run.
ensure_alive() {
  alive "$(name_of "$1")" && return 0
  if [[ $1 == SERVER || $1 == BASE || $1 == SERVER_PG ]]; then
    note "$1 exited during the run (see bench/out/$(name_of "$1").log); later scenarios do not measure it"
    drop_target "$1"
    return 1
  fi
  echo "$1 exited during the run:" >&2
  tail -n 20 "$OUT/$(name_of "$1").log" >&2
  exit 1
}

# drop_target TARGET: leaves it out of the scenarios still to come.
drop_target() {
  local kept=() target
  for target in "${TARGETS[@]}"; do
    [[ $target == "$1" ]] || kept+=("$target")
  done
  TARGETS=("${kept[@]}")
}

# check_answers TARGET: prints what is wrong with its plain and streamed answers, or nothing.
check_answers() {
  local url plain streamed
  url=$(url_of "$1")
  plain=$(curl -s -X POST "$url" -H "Authorization: $AUTH" -H 'Content-Type: application/json' -d "$CHAT_BODY" || true)
  streamed=$(curl -sN -X POST "$url" -H "Authorization: $AUTH" -H 'Content-Type: application/json' -d "$STREAM_BODY" || true)
  if [[ $plain != *'"chat.completion"'* ]]; then
    echo "its answer to a plain request was not a chat.completion: ${plain:0:300}"
  elif [[ $streamed != *'data: [DONE]'* ]]; then
    echo "its answer to a streaming request did not end in [DONE]: ${streamed:0:300}"
  fi
}

# ---------------------------------------------------------------- measuring

# record SCENARIO TARGET REP RESULT_JSON [EXTRA_JSON]: one line of out/raw.jsonl.
record() {
  local data=${4:-null} extra=${5:-}
  printf '{"scenario":"%s","target":"%s","rep":%s,"data":%s,"extra":%s}\n' \
    "$1" "$2" "$3" "$data" "${extra:-null}" >>"$RAW"
}

# The last "RESULT {json}" line of a measuring tool; nothing if it printed none.
result_line() { sed -n 's/^RESULT //p' | tail -n 1; }

# wrk_run URL CONNECTIONS SECONDS BODY: prints wrk's RESULT json.
wrk_run() {
  { BENCH_BODY=$4 BENCH_AUTH=$AUTH wrk -t1 -c"$2" -d"$3s" --timeout 10s -s "$BENCH/scripts/chat.lua" "$1" || true; } |
    result_line
}

# sse_client MODE --url URL [options]: prints the Node client's RESULT json.
sse_client() { { node "$BENCH/scripts/sse-client.mjs" "$@" --auth "$AUTH" || true; } | result_line; }

# sample_rss PID FILE: appends the process's VmRSS to FILE every 100 ms until killed or the process ends.
sample_rss() {
  local rss
  while rss=$(rss_kib "$1" 2>/dev/null); do
    echo "$rss" >>"$2"
    sleep 0.1
  done
}

max_of() { awk '$1 > max { max = $1 } END { print max + 0 }' "$1"; }
