#!/bin/sh
# Runs a command with DATABASE_URL pointing at a throwaway PostgreSQL on loopback
# (Debian's package, installed when missing), then stops and removes the server.
#   scripts/with-postgres.sh uv run pytest
set -eu
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "Installing PostgreSQL" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATA=$(mktemp -d /tmp/dynamote-pg.XXXXXX)
chmod 755 "$DATA"
AS=""
if [ "$(id -u)" = 0 ]; then
  chown postgres:postgres "$DATA"
  AS="runuser -u postgres --"
fi
stop() {
  $AS "$PGBIN/pg_ctl" -D "$DATA/db" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap stop EXIT
$AS "$PGBIN/initdb" -D "$DATA/db" -A trust -U dynamote >/dev/null
if ! $AS "$PGBIN/pg_ctl" -D "$DATA/db" -l "$DATA/log" -w \
  -o "-h 127.0.0.1 -p $PORT -k $DATA -c fsync=off -c full_page_writes=off" start >/dev/null; then
  echo "PostgreSQL did not start:" >&2
  cat "$DATA/log" >&2
  exit 1
fi
echo "PostgreSQL on 127.0.0.1:$PORT" >&2
DATABASE_URL="postgres://dynamote@127.0.0.1:$PORT/dynamote" "$@"
