#!/bin/sh
# A throwaway PostgreSQL cluster for the test suite.
#
#   pg-test.sh start DIR   create a cluster in DIR (which must not exist or be
#                          empty), start it, and print the shell lines
#                            export PGHOST=... PGPORT=... PGUSER=... PGDATABASE=aggtest
#                            export AGG_PG_PASSROLE=... AGG_PG_PASSWORD=...
#                          that point libpq at it
#   pg-test.sh stop DIR    stop it at once and remove DIR (and the cluster)
#
# The server listens on a unix socket in its own folder only (no TCP port is
# opened), so it cannot clash with a real server or with another test run;
# the port number only names the socket.
# fsync is off: the data is thrown away anyway.
#
# Authentication: the superuser connects with `trust`; a second role with a
# password (AGG_PG_PASSROLE / AGG_PG_PASSWORD) must authenticate with
# scram-sha-256, so tests can check that a wrong password is a permanent
# failure whose message does not hold the password.
#
# initdb refuses to run as root: as root, the cluster belongs to the
# `postgres` system user and the commands run through runuser.
set -eu

die() {
	echo "pg-test.sh: $*" >&2
	exit 1
}

bindir() {
	if command -v pg_config >/dev/null 2>&1; then
		d=$(pg_config --bindir 2>/dev/null || true)
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	fi
	# The newest installed version (the glob sorts 13 < 14 < 15).
	found=
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && found=$d
	done
	[ -n "$found" ] && { echo "$found"; return; }
	die "no PostgreSQL server binaries (initdb) found; install postgresql"
}

# Run a command as the cluster's owner (runuser often lives outside PATH).
as_owner() {
	if [ "$(id -u)" -ne 0 ]; then
		"$@"
		return
	fi
	for ru in "$(command -v runuser || true)" /usr/sbin/runuser /sbin/runuser; do
		if [ -n "$ru" ] && [ -x "$ru" ]; then
			"$ru" -u postgres -- "$@"
			return
		fi
	done
	# su needs one command line: quote every argument.
	cmd=
	for a in "$@"; do
		cmd="$cmd '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
	done
	su -s /bin/sh postgres -c "$cmd"
}

start() {
	dir=$1
	bin=$(bindir)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
	ours=1 # from here on, a failed start removes DIR
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || die "running as root needs a postgres system user"
		owner=postgres
	else
		owner=$(id -un)
	fi
	# The cluster and its socket live in DIR/cluster when the owner can reach
	# it; as root, DIR's parents are often private (mktemp -d gives 0700), and
	# then (or when DIR's name does not suit a socket) the cluster goes into
	# a folder of its own under /tmp, which DIR/cluster points at.
	mkdir "$dir/cluster"
	[ "$owner" = postgres ] && chown postgres "$dir/cluster"
	chmod 700 "$dir/cluster"
	# A unix socket path holds at most 107 bytes; and a path with blanks or
	# quotes would need quoting in the server's options and our output.
	case $dir in
	*[!A-Za-z0-9._/-]*) plain= ;;
	*) plain=1 ;;
	esac
	if [ -n "$plain" ] && [ ${#dir} -lt 80 ] && as_owner test -x "$dir/cluster"; then
		home=$dir/cluster
	else
		rmdir "$dir/cluster"
		home=$(mktemp -d /tmp/aggregate-pg.XXXXXX)
		chown "$owner" "$home"
		ln -s "$home" "$dir/cluster"
	fi

	as_owner "$bin/initdb" -D "$home/data" -U "$owner" -A trust \
		--no-sync -E UTF8 --locale=C.UTF-8 >"$home/initdb.log" 2>&1 ||
		{ cat "$home/initdb.log" >&2; die "initdb failed"; }

	role=aggtest_pw
	password="pw-$$-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	# The password role authenticates with a password; everyone else is trusted.
	hba="$home/data/pg_hba.conf"
	{
		echo "local all $role scram-sha-256"
		echo "local all all trust"
	} >"$hba.new"
	as_owner sh -c "cat '$hba.new' >'$hba'"
	rm -f "$hba.new"

	# The port only names the socket, in a folder of our own: any will do.
	port=$((20000 + $$ % 20000))
	while [ -e "$home/.s.PGSQL.$port" ]; do
		port=$((port + 1))
	done

	as_owner "$bin/pg_ctl" -D "$home/data" -l "$home/server.log" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories='$home' \
-c port=$port -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
-c max_connections=100" start >/dev/null 2>&1 ||
		{ cat "$home/server.log" >&2 2>/dev/null; die "the server did not start"; }

	psql_cmd() {
		as_owner "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$home" -p "$port" \
			-U "$owner" "$@"
	}
	psql_cmd -d postgres -c "CREATE DATABASE aggtest" >/dev/null ||
		die "cannot create the aggtest database"
	psql_cmd -d aggtest -c "CREATE ROLE $role LOGIN PASSWORD '$password';
GRANT ALL ON SCHEMA public TO $role" >/dev/null ||
		die "cannot create the password role"

	echo "export PGHOST='$home' PGPORT=$port PGUSER='$owner' PGDATABASE=aggtest"
	echo "export AGG_PG_PASSROLE='$role' AGG_PG_PASSWORD='$password'"
}

stop() {
	dir=$1
	[ -d "$dir" ] || return 0
	home=$(cd "$dir/cluster" 2>/dev/null && pwd -P) || home=
	if [ -n "$home" ] && [ -f "$home/data/postmaster.pid" ]; then
		as_owner "$(bindir)/pg_ctl" -D "$home/data" -m immediate -w stop \
			>/dev/null 2>&1 || true
	fi
	[ -n "$home" ] && rm -rf "$home"
	rm -rf "$dir"
}

ours=
cleanup_failed_start() {
	[ "$1" -eq 0 ] || [ -z "$ours" ] || stop "$2" >/dev/null 2>&1
	exit "$1"
}

[ $# -eq 2 ] || die "usage: pg-test.sh start|stop DIR"
case $1 in
start)
	# A start that fails half way leaves nothing behind.
	trap 'cleanup_failed_start $? "$2"' EXIT
	start "$2"
	;;
stop) stop "$2" ;;
*) die "usage: pg-test.sh start|stop DIR" ;;
esac
