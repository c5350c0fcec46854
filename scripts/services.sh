# shellcheck shell=bash
# Sourced by scripts/test and bench scripts: makes sure MinIO, PostgreSQL and
# MariaDB are running on loopback, installing what is missing, and exports the
# variables internal/testenv reads.

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_PORT=${S3BRIDGE_TEST_MINIO_PORT:-9123}
export S3BRIDGE_TEST_S3_ENDPOINT=${S3BRIDGE_TEST_S3_ENDPOINT:-http://127.0.0.1:$MINIO_PORT}
export S3BRIDGE_TEST_S3_ACCESS_KEY=${S3BRIDGE_TEST_S3_ACCESS_KEY:-s3bridgeadmin}
export S3BRIDGE_TEST_S3_SECRET_KEY=${S3BRIDGE_TEST_S3_SECRET_KEY:-s3bridge-test-secret}
export S3BRIDGE_TEST_POSTGRES=${S3BRIDGE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
# The MariaDB tests run against has the binary log on (ROW), as servers
# with replicas or point-in-time recovery run: ensure_mariadb_binlog. The
# system MariaDB on 3306 (ensure_mariadb) is the benchmarks'.
MARIADB_BINLOG_PORT=${S3BRIDGE_TEST_MARIADB_BINLOG_PORT:-3307}
export S3BRIDGE_TEST_MARIADB=${S3BRIDGE_TEST_MARIADB:-mysql://root@127.0.0.1:$MARIADB_BINLOG_PORT/test}

svc_log() { echo "services: $*" >&2; }

apt_install() {
  if [ -z "${S3BRIDGE_APT_UPDATED:-}" ]; then
    apt-get update -qq >&2 && S3BRIDGE_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

wait_for() { # wait_for SECONDS CMD...
  local n=$(( $1 * 10 )); shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

ensure_minio() {
  if wait_for 1 curl -fsS "$S3BRIDGE_TEST_S3_ENDPOINT/minio/health/live"; then return 0; fi
  local bin
  bin="$(go env GOPATH)/bin/minio"
  if [ ! -x "$bin" ]; then
    svc_log "building MinIO $MINIO_VERSION (cached in $(go env GOPATH)/bin, takes a few minutes once)"
    go install "github.com/minio/minio@$MINIO_VERSION" >&2
  fi
  local data="${XDG_CACHE_HOME:-$HOME/.cache}/s3bridge/minio-$MINIO_PORT"
  mkdir -p "$data"
  svc_log "starting MinIO on 127.0.0.1:$MINIO_PORT"
  MINIO_ROOT_USER="$S3BRIDGE_TEST_S3_ACCESS_KEY" MINIO_ROOT_PASSWORD="$S3BRIDGE_TEST_S3_SECRET_KEY" \
    MINIO_BROWSER=off MINIO_UPDATE=off \
    nohup "$bin" server --quiet --address "127.0.0.1:$MINIO_PORT" "$data" >"$data.log" 2>&1 &
  wait_for 60 curl -fsS "$S3BRIDGE_TEST_S3_ENDPOINT/minio/health/ready" || { svc_log "MinIO did not start:"; tail -20 "$data.log" >&2; return 1; }
}

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    svc_log "installing PostgreSQL"
    apt_install postgresql
  fi
  local ver
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  svc_log "starting PostgreSQL $ver"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true
  wait_for 30 pg_isready -q -h 127.0.0.1 -p 5432 || { svc_log "PostgreSQL did not start"; return 1; }
  # trust auth on loopback, as on this machine kind, for the test superuser
  psql -h 127.0.0.1 -U postgres -c 'select 1' >/dev/null 2>&1 || \
    su postgres -c "psql -c \"alter user postgres password 'postgres'\"" >&2
}

ensure_mariadb() {
  if mariadb-admin -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1; then return 0; fi
  if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
    svc_log "installing MariaDB"
    apt_install mariadb-server mariadb-client
  fi
  svc_log "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >&2
  wait_for 30 mariadb-admin -h 127.0.0.1 -P 3306 -uroot ping || { svc_log "MariaDB did not start"; return 1; }
}

# Pipelines read PostgreSQL's changes by logical replication: wal_level
# must be logical, which needs a restart. Done once; a server already set
# is left alone.
ensure_postgres_logical() {
  local level
  level=$(psql -h 127.0.0.1 -U postgres -Atc 'show wal_level' 2>/dev/null) || { svc_log "PostgreSQL: cannot read wal_level"; return 1; }
  [ "$level" = logical ] && return 0
  svc_log "PostgreSQL: setting wal_level = logical (was $level) and restarting"
  psql -h 127.0.0.1 -U postgres -qc "alter system set wal_level = logical" \
    -c "alter system set max_replication_slots = 20" -c "alter system set max_wal_senders = 20" >&2 || return 1
  local ver
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main restart >&2 || return 1
  wait_for 30 pg_isready -q -h 127.0.0.1 -p 5432 || { svc_log "PostgreSQL did not come back"; return 1; }
  level=$(psql -h 127.0.0.1 -U postgres -Atc 'show wal_level')
  [ "$level" = logical ] || { svc_log "PostgreSQL: wal_level is still $level after the restart"; return 1; }
}

# Debian's python3-avro is the independent Avro reader the pipeline tests
# check s3bridge's files with; tests run it as /usr/bin/python3 (Debian's,
# not a pyenv shim).
ensure_avro_reader() {
  # snappy and zstandard: python3-avro reads those codecs only with them.
  /usr/bin/python3 -c 'import avro.datafile, snappy, zstandard' >/dev/null 2>&1 && return 0
  svc_log "installing python3-avro with its snappy and zstandard codecs"
  apt_install python3-avro python3-snappy python3-zstandard
}

# A private MariaDB with the binary log on (ROW), as production servers run:
# its own data directory under the cache, 127.0.0.1:$MARIADB_BINLOG_PORT,
# root without a password over TCP, utf8mb4 as Debian's configuration sets.
# It uses the Debian mariadbd that ensure_mariadb installs.
ensure_mariadb_binlog() {
  if mariadb-admin -h 127.0.0.1 -P "$MARIADB_BINLOG_PORT" -uroot ping >/dev/null 2>&1; then return 0; fi
  local dir="${XDG_CACHE_HOME:-$HOME/.cache}/s3bridge/mariadb-$MARIADB_BINLOG_PORT"
  mkdir -p "$dir"
  if [ ! -d "$dir/data/mysql" ]; then
    mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
      --skip-test-db --user="$(id -un)" >"$dir/install.log" 2>&1 || { svc_log "mariadb-install-db failed:"; tail -20 "$dir/install.log" >&2; return 1; }
  fi
  svc_log "starting MariaDB with the binary log on 127.0.0.1:$MARIADB_BINLOG_PORT"
  nohup /usr/sbin/mariadbd --no-defaults --user="$(id -un)" --datadir="$dir/data" --port="$MARIADB_BINLOG_PORT" \
    --bind-address=127.0.0.1 --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" \
    --log-bin="$dir/data/mariadb-bin" --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL --server-id=1 --binlog-expire-logs-seconds=86400 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci --local-infile=1 >/dev/null 2>&1 &
  wait_for 30 mariadb-admin -h 127.0.0.1 -P "$MARIADB_BINLOG_PORT" -uroot ping || { svc_log "MariaDB (binary log) did not start:"; tail -20 "$dir/error.log" >&2; return 1; }
  mariadb -h 127.0.0.1 -P "$MARIADB_BINLOG_PORT" -uroot -e 'CREATE DATABASE IF NOT EXISTS test' >&2
}

# Debian's Chromium: the browser e2e/console_test.go drives with chromedp.
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 && return 0
  svc_log "installing chromium"
  apt_install chromium
}

# DuckDB, through its npm package, is the independent Parquet reader the
# export tests check s3bridge's Parquet files with.
DUCKDB_NODE_API_VERSION=1.5.6-r.1
ensure_duckdb() {
  local dir="${XDG_CACHE_HOME:-$HOME/.cache}/s3bridge/duckdb-$DUCKDB_NODE_API_VERSION"
  export S3BRIDGE_DUCKDB_NODE_MODULES="$dir/node_modules"
  [ -d "$S3BRIDGE_DUCKDB_NODE_MODULES/@duckdb/node-api" ] && return 0
  if ! command -v npm >/dev/null 2>&1; then
    svc_log "installing Node.js and npm"
    apt_install nodejs npm
  fi
  svc_log "installing @duckdb/node-api@$DUCKDB_NODE_API_VERSION into $dir"
  mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --prefix "$dir" "@duckdb/node-api@$DUCKDB_NODE_API_VERSION" >&2
}

ensure_services() {
  ensure_minio && ensure_postgres && ensure_postgres_logical && ensure_mariadb && ensure_mariadb_binlog && ensure_duckdb && ensure_avro_reader && ensure_chromium
}
