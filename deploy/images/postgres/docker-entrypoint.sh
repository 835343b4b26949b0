#!/bin/sh
# Entry point of the PostgreSQL stand-in: the official image's behaviour that compose.yaml relies
# on. On an empty PGDATA it creates the cluster with superuser POSTGRES_USER (default postgres),
# password POSTGRES_PASSWORD (required, as in the official image, unless
# POSTGRES_HOST_AUTH_METHOD=trust) and database POSTGRES_DB (default POSTGRES_USER); then it
# becomes the server itself (exec, PID 1), so signals reach PostgreSQL and its exit code is the
# container's. The cluster is created in single-user mode: no server listens before it is
# complete, so pg_isready (the health check) answers only once the database exists.
set -eu

if [ "${1:-postgres}" != postgres ]; then
	exec "$@"
fi
if [ $# -gt 0 ]; then shift; fi

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
export PGDATA

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chown postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 0700 "$PGDATA"
	chmod 3777 /var/run/postgresql
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		echo "Error: the database is uninitialized and POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)." >&2
		exit 1
	fi
	pwfile=$(mktemp)
	printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
	chown postgres "$pwfile"
	as_postgres initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
		--auth-host="$POSTGRES_HOST_AUTH_METHOD" --encoding=UTF8 --locale=C.UTF-8 >/dev/null
	rm -f "$pwfile"
	printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
	if [ "$POSTGRES_DB" != postgres ]; then
		db=$(printf '%s' "$POSTGRES_DB" | sed 's/"/""/g')
		echo "CREATE DATABASE \"$db\";" | as_postgres postgres --single -D "$PGDATA" postgres >/dev/null
	fi
	echo "PostgreSQL init process complete; ready for start up."
fi

# jit=off: the stand-in drops LLVM from its rootfs to stay small.
if [ "$(id -u)" = 0 ]; then
	exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -c listen_addresses='*' -c jit=off "$@"
fi
exec postgres -c listen_addresses='*' -c jit=off "$@"
