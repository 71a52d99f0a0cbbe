#!/usr/bin/env bash
# A PostgreSQL 15 server with pgvector, for xmodal's pgvector engine and its tests, in a directory of its own.
#
#   bash scripts/postgres.sh install   # PostgreSQL 15 from Debian; pgvector built from Debian's source (once)
#   bash scripts/postgres.sh start     # installs if needed, initialises the cluster once, starts it, prints the URL
#   bash scripts/postgres.sh url       # prints the URL of the running server (exit 1 when it is not running)
#   bash scripts/postgres.sh stop
#
# Settings: XMODAL_PG_DIR (cluster directory; default .pg/ in the checkout), XMODAL_PG_PORT (default: 55432, or the
# next free port when another server holds it; fixed when the cluster is made).
# TCP on 127.0.0.1 only (no Unix socket, whose path length is limited).
# The server listens on 127.0.0.1 only and trusts local connections: it is for one machine's tests and
# benchmarks, not for a deployment (docs/scale.md says what to run there).
#
# Debian bookworm has no pgvector package; trixie's source package (pgvector 0.8.0, PostgreSQL licence) builds
# against bookworm's postgresql-server-dev-15 in under a minute. Its tarball is checked against the sha256 that
# trixie's Sources index gives for it.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_VERSION=15
PGVECTOR_VERSION=0.8.0
PGVECTOR_URL="http://deb.debian.org/debian/pool/main/p/pgvector/pgvector_${PGVECTOR_VERSION}.orig.tar.gz"
PGVECTOR_SHA256=867a2c328d4928a5a9d6f052cd3bc78c7d60228a9b914ad32aa3db88e9de27b0
BIN="/usr/lib/postgresql/${PG_VERSION}/bin"
DIR="${XMODAL_PG_DIR:-$PWD/.pg}"
# As root the server runs as 'postgres', which must be able to reach the cluster directory; a checkout under a
# private directory (root's home) gets its cluster in /tmp instead, named after the checkout.
if [ -z "${XMODAL_PG_DIR:-}" ] && [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$PWD"; then
  DIR="/tmp/xmodal-pg-$(echo "$PWD" | sha256sum | cut -c1-12)"
fi
# The cluster's port: the one it was initialised with (recorded in DIR/port), else XMODAL_PG_PORT, else the
# first free one from 55432 (chosen when the cluster is made, so another server on 55432 does not stop it).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -f "$DIR/port" ]; then
  PORT="$(cat "$DIR/port")"
elif [ -f "$DIR/data/postgresql.conf" ] && grep -qE '^port = [0-9]+' "$DIR/data/postgresql.conf"; then
  PORT="$(grep -E '^port = [0-9]+' "$DIR/data/postgresql.conf" | tail -n 1 | grep -oE '[0-9]+')"
elif [ -n "${XMODAL_PG_PORT:-}" ]; then
  PORT="$XMODAL_PG_PORT"
else
  PORT=55432
  while ! port_free "$PORT" && [ "$PORT" -lt 55532 ]; do PORT=$((PORT + 1)); done
fi
USER_NAME=xmodal
DB=xmodal
URL="postgres://${USER_NAME}@127.0.0.1:${PORT}/${DB}"

say() { echo "xmodal postgres: $*" >&2; }
die() { say "$*"; exit 1; }

sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi

# The server refuses to run as root: as root, the cluster belongs to the 'postgres' user the package creates.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "no apt-get: install PostgreSQL ${PG_VERSION} with its server headers and pgvector by hand"
  say "installing $*"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq || say "apt-get update failed; trying the install anyway"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" >/dev/null
}

install() {
  local missing=()
  [ -x "$BIN/postgres" ] || missing+=("postgresql-${PG_VERSION}")
  [ -x "$BIN/pg_config" ] && [ -d "/usr/include/postgresql/${PG_VERSION}/server" ] || missing+=("postgresql-server-dev-${PG_VERSION}")
  command -v make >/dev/null 2>&1 || missing+=(make)
  command -v gcc >/dev/null 2>&1 || missing+=(gcc)
  command -v curl >/dev/null 2>&1 || missing+=(curl ca-certificates)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  local sharedir
  sharedir="$("$BIN/pg_config" --sharedir)"
  if [ -f "$sharedir/extension/vector--${PGVECTOR_VERSION}.sql" ] && [ -f "$("$BIN/pg_config" --pkglibdir)/vector.so" ]; then return 0; fi
  local cache="${XDG_CACHE_HOME:-$HOME/.cache}/xmodal" tarball build
  mkdir -p "$cache"
  tarball="$cache/pgvector_${PGVECTOR_VERSION}.orig.tar.gz"
  if ! echo "$PGVECTOR_SHA256  $tarball" | sha256sum -c --status 2>/dev/null; then
    say "downloading pgvector ${PGVECTOR_VERSION} source from Debian"
    curl -fsS -m 120 -o "$tarball.part" "$PGVECTOR_URL" || die "could not download $PGVECTOR_URL"
    echo "$PGVECTOR_SHA256  $tarball.part" | sha256sum -c --status || { rm -f "$tarball.part"; die "$PGVECTOR_URL: sha256 differs from Debian's Sources index"; }
    mv "$tarball.part" "$tarball"
  fi
  build="$(mktemp -d)"
  tar xzf "$tarball" -C "$build"
  say "building pgvector ${PGVECTOR_VERSION}"
  make -s -C "$build/pgvector-${PGVECTOR_VERSION}" PG_CONFIG="$BIN/pg_config" >/dev/null 2>"$build/make.log" || { tail -n 5 "$build/make.log" >&2; die "pgvector did not build"; }
  $sudo make -s -C "$build/pgvector-${PGVECTOR_VERSION}" PG_CONFIG="$BIN/pg_config" install >/dev/null || die "could not install pgvector into $sharedir (root or sudo needed)"
  rm -rf "$build"
  say "pgvector ${PGVECTOR_VERSION} installed"
}

running() {
  [ -f "$DIR/data/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

start() {
  install
  if running; then echo "$URL"; return 0; fi
  if [ ! -f "$DIR/data/PG_VERSION" ]; then
    mkdir -p "$DIR"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$DIR"
    echo "$PORT" >"$DIR/port"
    as_owner "$BIN/initdb" -D "$DIR/data" -U "$USER_NAME" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null \
      || die "initdb failed in $DIR/data (is $DIR writable by $( [ "$(id -u)" -eq 0 ] && echo postgres || id -un)?)"
    # Loopback only; room for HNSW builds in memory (pgvector builds far faster when the graph fits).
    cat >>"$DIR/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = ${PORT}
unix_socket_directories = ''
max_connections = 200
shared_buffers = 1GB
maintenance_work_mem = 2GB
max_parallel_maintenance_workers = 1
EOF
  fi
  as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start >/dev/null \
    || { tail -n 5 "$DIR/server.log" >&2; die "the server did not start (port ${PORT} in use? set XMODAL_PG_PORT)"; }
  as_owner "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" -d postgres -qtAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
    || as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" "$DB"
  as_owner "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" -d "$DB" -qtA -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
  echo "$URL"
}

stop() {
  if running; then as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null && say "stopped"; else say "not running"; fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  url) running && echo "$URL" || die "not running (bash scripts/postgres.sh start)" ;;
  *) die "usage: bash scripts/postgres.sh install|start|stop|url" ;;
esac
