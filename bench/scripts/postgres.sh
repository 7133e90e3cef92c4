# The PostgreSQL server for bench/run --engine postgresql|both (sourced): a throwaway cluster of the installed
# PostgreSQL, made like the tests' (initdb in a temporary folder, its own port on 127.0.0.1, a password), but with
# the durable settings a deployment runs with (fsync, synchronous_commit and full_page_writes on): the figures are
# to say what a turn costs when every commit reaches the disk. It is stopped and removed when the run ends.

PG_USER=junis
PG_PREFIX=junis-bench-postgres-
PG_DIR=""
PG_BIN=""
PG_PASSWORD=""
PG_POSTMASTER=""
PG_VERSION=""

# pg_binaries: the newest installed PostgreSQL's programs; Debian keeps each version apart, others use the path.
pg_binaries() {
  local newest
  newest=$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)
  if [[ -x $newest ]]; then
    dirname "$newest"
  elif command -v initdb >/dev/null; then
    dirname "$(command -v initdb)"
  else
    return 1
  fi
}

# initdb and the server refuse to run as root, so as root the cluster belongs to the postgres user.
as_postgres() {
  if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_cluster: initdb and start; PG_POSTMASTER is then the server's pid. Fails, with its log in
# bench/out/postgres.log, if it does not come up.
start_cluster() {
  local dir options
  PG_BIN=$(pg_binaries) || return 1
  claim_port "$PG_PORT"
  # Folders of runs that were killed before they could remove theirs (a running cluster keeps its postmaster.pid).
  for dir in "${TMPDIR:-/tmp}/$PG_PREFIX"*; do
    [[ ! -d $dir || -e $dir/data/postmaster.pid ]] || rm -rf "$dir"
  done
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/${PG_PREFIX}XXXXXX")
  PG_PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s' "$PG_PASSWORD" >"$PG_DIR/password"
  ((EUID != 0)) || chown -R postgres:postgres "$PG_DIR"
  # --no-sync only spares initdb's own flushes of the new files; the running server flushes as usual.
  as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$PG_USER" --auth=scram-sha-256 --pwfile="$PG_DIR/password" \
    -E UTF8 --locale=C.UTF-8 --no-sync >"$OUT/postgres.log" 2>&1 || return 1
  # The durable settings are PostgreSQL's defaults; they are named so that nobody's postgresql.conf changes them.
  # 400 connections: each server's pool may hold 100, and S6 runs four servers.
  options="-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=400"
  options+=" -c fsync=on -c synchronous_commit=on -c full_page_writes=on"
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -o "$options" -w -t 60 start \
    >>"$OUT/postgres.log" 2>&1 || { cat "$PG_DIR/log" >>"$OUT/postgres.log" 2>/dev/null; return 1; }
  PG_POSTMASTER=$(head -n 1 "$PG_DIR/data/postmaster.pid")
  PG_VERSION=$("$PG_BIN/postgres" --version | sed 's/^[^0-9]*\([0-9.]*\).*/\1/')
}

# stop_cluster: stops the cluster (its servers are gone by then) and keeps its log as bench/out/postgres.log.
stop_cluster() {
  [[ -n $PG_DIR ]] || return 0
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  cat "$PG_DIR/log" >>"$OUT/postgres.log" 2>/dev/null || true
  rm -rf "$PG_DIR"
  PG_DIR=""
  PG_POSTMASTER=""
}

# pg_sql DATABASE [psql options]: psql on one database of the cluster, stopping at the first error.
pg_sql() {
  local database=$1
  shift
  PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$database" \
    -v ON_ERROR_STOP=1 -qAtX "$@"
}

# pg_fresh_database NAME [TEMPLATE]: NAME anew, empty (the server migrates it as it starts) or a copy of TEMPLATE.
pg_fresh_database() {
  pg_sql postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" \
    -c "CREATE DATABASE $1${2:+ TEMPLATE $2}" >>"$OUT/postgres-sql.log" 2>&1
}

pg_connection() { echo "Host=127.0.0.1;Port=$PG_PORT;Database=$1;Username=$PG_USER;Password=$PG_PASSWORD"; }

# pg_ticks: CPU ticks the cluster has spent so far: the postmaster's and its living children's utime + stime, and
# the postmaster's cutime + cstime (fields 16 and 17), where the kernel adds a child's when it is reaped. A backend
# or worker that exits between two readings thus still counts, once: first as a child, then in cutime.
pg_ticks() {
  [[ -n $PG_POSTMASTER ]] || { echo 0; return; }
  printf '%s\n' /proc/[0-9]*/stat | awk -v postmaster="$PG_POSTMASTER" '
    {
      file = $0
      if ((getline line < file) > 0) {
        pid = line; sub(/ .*/, "", pid)
        sub(/^.*\) /, "", line)   # past "PID (COMM) ": state is field 1 here, ppid 2, utime 12, stime 13
        split(line, f, " ")
        if (pid == postmaster) total += f[12] + f[13] + f[14] + f[15]
        else if (f[2] == postmaster) total += f[12] + f[13]
      }
      close(file)
    }
    END { printf "%d\n", total }'
}
