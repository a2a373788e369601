#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the test suite (and for trying Yishiting on PostgreSQL).
#
#   scripts/pg.sh start   [DIR]   initdb on first use, start, create database "yishiting",
#                                 print DATABASE_URL (and nothing else) on stdout
#   scripts/pg.sh stop    [DIR]   stop the cluster
#   scripts/pg.sh status  [DIR]   say whether it runs (exit 0 if it does, 3 if not)
#   scripts/pg.sh destroy [DIR]   stop it and delete its data
#
# DIR defaults to var/pg in the repository. The cluster listens only on a Unix socket in its
# own directory (no TCP, so it never clashes with a system PostgreSQL), trusts local
# connections, and runs with fsync=off: never keep data you care about in it.
# Run as root, the server runs as the "postgres" system user (PostgreSQL refuses root); if
# that user cannot reach DIR (say the clone lives under /root), the cluster lives in a
# directory under /tmp instead and DIR/elsewhere records where.
# Binaries: PG_BINDIR if set, else the newest /usr/lib/postgresql/*/bin (Debian), else PATH.
set -euo pipefail

PORT=54329 # names the socket file only: the server does not listen on TCP
DBNAME=yishiting
SUPERUSER=postgres

say() { echo "pg.sh: $*" >&2; }
die() {
	say "$*"
	exit 1
}

usage() {
	echo "usage: scripts/pg.sh start|stop|status|destroy [DIR]" >&2
	exit 2
}

# Our client calls pass everything explicitly; keep the caller's libpq settings out of them.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE PGOPTIONS PGDATA

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
cmd=$1
case "$cmd" in start | stop | status | destroy) ;; *) usage ;; esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${2:-$repo/var/pg}
if [ "$cmd" = start ]; then
	mkdir -p "$dir"
elif [ ! -d "$dir" ]; then
	[ "$cmd" = status ] && {
		echo "not running (no $dir)"
		exit 3
	}
	exit 0 # nothing to stop or destroy
fi
dir=$(cd "$dir" && pwd -P)

# --- who runs the server --------------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
	owner=postgres
	id "$owner" >/dev/null 2>&1 ||
		die "running as root needs the '$owner' system user; install PostgreSQL first (scripts/deps.sh)"
	as_owner() {
		# cd /: the owner may not be allowed into the caller's working directory.
		if command -v runuser >/dev/null 2>&1; then
			(cd / && runuser -u "$owner" -- "$@")
		else
			(cd / && su -s /bin/bash "$owner" -c "$(printf '%q ' "$@")")
		fi
	}
else
	owner=$(id -un)
	as_owner() { "$@"; }
fi

# --- which binaries -------------------------------------------------------------------
find_bindir() {
	if [ -n "${PG_BINDIR:-}" ]; then
		echo "$PG_BINDIR"
		return
	fi
	local d found=()
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && found+=("$d")
	done
	if [ ${#found[@]} -gt 0 ]; then
		printf '%s\n' "${found[@]}" | sort -V | tail -n 1
		return
	fi
	if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
		pg_config --bindir
		return
	fi
	if command -v initdb >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return
	fi
	return 1
}

# --- where the cluster lives ----------------------------------------------------------
# base holds data/ (PGDATA), postgresql.log and the socket.
base=$dir
if [ -f "$dir/elsewhere" ]; then
	base=$(cat "$dir/elsewhere")
fi
data=$base/data
logfile=$base/postgresql.log

# Is the server running? A postmaster.pid left by a crash or a container restart may name a
# PID now used by something else; such a file is removed so that pg_ctl can start afresh.
running() {
	local pidfile=$data/postmaster.pid pid
	[ -f "$pidfile" ] || return 1
	pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
	[ -n "$pid" ] || return 1
	if [ -r "/proc/$pid/comm" ]; then
		# (a killed postmaster may linger as a zombie when PID 1 does not reap orphans)
		if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] &&
			! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
			return 0
		fi
	elif [ ! -d /proc/self ] && kill -0 "$pid" 2>/dev/null; then
		return 0 # no /proc (macOS): trust kill -0
	fi
	say "removing stale $pidfile (PID $pid is not a running PostgreSQL)"
	rm -f "$pidfile" "$base/.s.PGSQL.$PORT.lock"
	return 1
}

stop_server() {
	running || return 0
	local bindir
	bindir=$(find_bindir) || die "PostgreSQL binaries not found, cannot stop the server in $data"
	say "stopping PostgreSQL in $data"
	as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >&2 ||
		as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w -t 30 stop >&2
}

# Percent-encode a socket directory for the host part of a URL.
urlencode() {
	local LC_ALL=C s=$1 out="" c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case "$c" in
		[A-Za-z0-9._~-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s' "$out"
}

init_cluster() {
	local bindir=$1 locale_args=(--no-locale)
	# Choose where: DIR itself, unless the owner cannot reach it or the socket path would be
	# too long for a Unix socket (107 bytes).
	base=$dir
	if { [ "$(id -u)" -eq 0 ] && ! as_owner test -x "$(dirname "$dir")"; } ||
		[ $((${#dir} + 20)) -gt 100 ]; then
		base=$(mktemp -d /tmp/yishiting-pg.XXXXXX)
		echo "$base" >"$dir/elsewhere"
		say "$dir is out of reach for user $owner (or too long a path): using $base"
	fi
	data=$base/data
	logfile=$base/postgresql.log
	if [ "$(id -u)" -eq 0 ]; then
		chown "$owner" "$base"
	fi
	chmod 700 "$base"
	rm -rf "$data"

	if command -v locale >/dev/null 2>&1 && locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
		locale_args=(--locale=C.UTF-8)
	fi
	say "initdb $data ($("$bindir/postgres" --version))"
	as_owner "$bindir/initdb" -D "$data" -U "$SUPERUSER" --auth=trust -E UTF8 \
		"${locale_args[@]}" --no-sync >/dev/null || die "initdb failed"
	local sockdir=${base//\'/\'\'}
	cat >>"$data/postgresql.conf" <<EOF

# --- scripts/pg.sh: a throw-away cluster for tests ---
listen_addresses = ''
port = $PORT
unix_socket_directories = '$sockdir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_parallel_workers_per_gather = 0
EOF
}

wait_ready() {
	local bindir=$1 i
	for ((i = 0; i < 120; i++)); do
		if "$bindir/pg_isready" -q -h "$base" -p "$PORT" -U "$SUPERUSER" -d postgres; then
			return 0
		fi
		sleep 0.5
	done
	say "PostgreSQL in $data did not accept connections within 60 s; end of $logfile:"
	tail -n 30 "$logfile" >&2 || true
	exit 1
}

case "$cmd" in
start)
	bindir=$(find_bindir) ||
		die "PostgreSQL binaries not found (looked in /usr/lib/postgresql/*/bin and PATH); run scripts/deps.sh"
	if [ -f "$dir/elsewhere" ] && [ ! -d "$base" ]; then
		rm -f "$dir/elsewhere" # the /tmp copy is gone (reboot): start over
		base=$dir data=$dir/data logfile=$dir/postgresql.log
	fi
	major=$("$bindir/postgres" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')
	if [ -f "$data/PG_VERSION" ] && [ "$(cat "$data/PG_VERSION")" != "$major" ] && ! running; then
		say "cluster in $data is PostgreSQL $(cat "$data/PG_VERSION"), binaries are $major: recreating it"
		rm -rf "$data"
	fi
	[ -f "$data/PG_VERSION" ] || init_cluster "$bindir"
	if ! running; then
		say "starting PostgreSQL in $data (log: $logfile)"
		if ! as_owner "$bindir/pg_ctl" -D "$data" -l "$logfile" -w -t 60 start >&2; then
			say "pg_ctl start failed; end of $logfile:"
			tail -n 30 "$logfile" >&2 || true
			exit 1
		fi
	fi
	wait_ready "$bindir"
	exists=$("$bindir/psql" -X -q -h "$base" -p "$PORT" -U "$SUPERUSER" -d postgres -At \
		-c "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'")
	if [ "$exists" != 1 ]; then
		"$bindir/createdb" -h "$base" -p "$PORT" -U "$SUPERUSER" "$DBNAME" >&2
	fi
	echo "postgres://$SUPERUSER@$(urlencode "$base"):$PORT/$DBNAME"
	;;
stop)
	stop_server
	;;
status)
	if running; then
		echo "running in $data"
		echo "postgres://$SUPERUSER@$(urlencode "$base"):$PORT/$DBNAME"
	else
		echo "not running"
		exit 3
	fi
	;;
destroy)
	stop_server
	if [ "$base" != "$dir" ] && [ -d "$base" ]; then
		rm -rf "$base"
	fi
	rm -rf "$dir/data" "$dir/postgresql.log" "$dir/elsewhere"
	rmdir "$dir" 2>/dev/null || true
	;;
esac
