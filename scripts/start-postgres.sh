#!/bin/sh
# Starts a throwaway PostgreSQL on loopback (installing Debian's package when missing)
# and prints its DATABASE_URL. Used by CI to run the database tests against PostgreSQL.
set -eu
PORT=${PGPORT_DYNAMOTE:-54329}
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "Installing PostgreSQL" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
DATA=$(mktemp -d /tmp/dynamote-pg.XXXXXX)
chmod 755 "$DATA"
if [ "$(id -u)" = 0 ]; then
  chown postgres:postgres "$DATA"
  AS="runuser -u postgres --"
else
  AS=""
fi
$AS "$PGBIN/initdb" -D "$DATA/db" -A trust -U dynamote >/dev/null
$AS "$PGBIN/pg_ctl" -D "$DATA/db" -l "$DATA/log" -w \
  -o "-h 127.0.0.1 -p $PORT -k $DATA -c fsync=off -c full_page_writes=off" start >&2
echo "postgres://dynamote@127.0.0.1:$PORT/dynamote"
