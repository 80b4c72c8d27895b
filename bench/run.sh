#!/bin/sh
# make bench [QUICK=1] - aggregate against its peers and its targets.
#
# Installs the peers from Debian when any is missing (as root; otherwise it
# prints the apt-get line and stops), builds the release binary and the
# ring benchmark, then runs bench/bench.py, which prints one table per case
# with our time, the peer's, the ratio and PASS / MISS against the target.
#   --quick      1 M rows instead of 10 M (about a minute)
#   --runs N     runs per figure (medians; default 5)
#   --only 2,7   only these cases
set -eu
cd "$(dirname "$0")/.."

PEERS="mawk miller datamash sqlite3 postgresql python3 time procps"
missing=""
for p in $PEERS; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench: missing packages:$missing" >&2
		echo "run as root: apt-get update && apt-get install -y$missing" >&2
		exit 1
	fi
	echo "installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >&2
fi

make -s build/rel/aggregate build/bench/ringbench
exec python3 bench/bench.py "$@"
