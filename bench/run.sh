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
#
# DuckDB is a peer where it can be installed: Node.js and npm from Debian
# (as root, when missing), then the npm package @duckdb/node-api at the
# version bench/package.json pins, into build/bench/node_modules.  When any
# step fails (not root, no network), BENCH_DUCKDB_SKIP says why and the
# DuckDB rows print "skipped:" with it; the rest of the bench runs as before.
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

make -s build/rel/aggregate build/bench/ringbench build/bench/peakrun

duckdb_skip=""
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	if [ "$(id -u)" -ne 0 ]; then
		duckdb_skip="node or npm missing (run as root: apt-get install -y nodejs npm)"
	else
		echo "installing: nodejs npm" >&2
		export DEBIAN_FRONTEND=noninteractive
		{ apt-get update -qq && apt-get install -y -qq \
			--no-install-recommends nodejs npm >&2; } ||
			duckdb_skip="apt-get install nodejs npm failed"
	fi
fi
if [ -z "$duckdb_skip" ] &&
	! { cmp -s bench/package.json build/bench/package.json &&
		[ -d build/bench/node_modules/@duckdb/node-api ]; }; then
	echo "installing: @duckdb/node-api (npm, into build/bench)" >&2
	mkdir -p build/bench
	cp bench/package.json build/bench/package.json.part
	mv build/bench/package.json.part build/bench/package.json
	npm install --prefix build/bench --no-audit --no-fund --omit=dev \
		--fetch-retries=1 --fetch-timeout=30000 >&2 ||
		{ duckdb_skip="npm install @duckdb/node-api failed (no network?)";
		  rm -f build/bench/package.json; }
fi
export BENCH_DUCKDB_SKIP="$duckdb_skip"
exec python3 bench/bench.py "$@"
