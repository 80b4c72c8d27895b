#!/bin/sh
# Install the Debian packages that building, running and testing aggregate
# need, when any is missing.  As root it runs apt-get; otherwise it prints
# the exact command to run and fails.
#
#   deps.sh        what make, make test and make valgrind need
#   deps.sh fuzz   that, and clang (libFuzzer) for make fuzz
set -eu

PACKAGES="gcc make pkg-config libinih-dev libjansson-dev libcurl4-openssl-dev
zlib1g-dev libsqlite3-dev libpq-dev libcriterion-dev sqlite3 postgresql
python3 procps valgrind tzdata slurm-wlm munge"
[ "${1:-}" = fuzz ] && PACKAGES="$PACKAGES clang"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "aggregate: missing packages:$missing" >&2
	echo "run as root: apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
