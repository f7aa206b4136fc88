#!/bin/bash
# First start on an empty data directory: initdb with POSTGRES_USER (superuser, default postgres)
# and POSTGRES_PASSWORD, then create POSTGRES_DB (default: the user's name), as the official
# image does. Later starts find PG_VERSION and go straight to the server. Runs as postgres.
set -euo pipefail

die() { printf 'entrypoint: %s\n' "$*" >&2; exit 1; }

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -n "${POSTGRES_PASSWORD:-}" ] || die "the data directory is empty and POSTGRES_PASSWORD is not set: refusing to create a database anyone can log in to"
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  echo "entrypoint: initialising $PGDATA (user $user, database $db)"
  # Socket connections inside the container are trusted (the entrypoint and `docker exec psql`);
  # everything over TCP needs the password.
  initdb --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  # initdb's host lines cover loopback only; the app reaches the server over the compose network.
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  if [ "$db" != postgres ]; then
    # Socket only, so the healthcheck (TCP) stays unhealthy until the real server is up.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w -s start
    psql -X -q -v ON_ERROR_STOP=1 --username="$user" --dbname=postgres -v db="$db" <<<'CREATE DATABASE :"db";'
    pg_ctl -D "$PGDATA" -m fast -w -s stop
  fi
  echo "entrypoint: initialised"
fi
exec "$@"
