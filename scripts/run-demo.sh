#!/bin/sh
# make run: aggregate conf/providers.conf over sample_data/ with every
# provider type.  Starts a throwaway PostgreSQL (loaded with the Chinook
# database) and the HTTP fixture server (serving sample_data/http/), runs
# the job, prints the result, and stops both servers whatever happened.
#
#   AGG_BIN     the program to run (default ./aggregate)
#   AGG_OUTPUT  where the result goes (default: the config's output); the
#               config's other outputs and the run's trace (trace.json, for
#               Perfetto) go beside it (AGG_DEMO_OUT)
set -eu
cd "$(dirname "$0")/.."
bin=${AGG_BIN:-./aggregate}
output=${AGG_OUTPUT:-out/revenue_by_country.csv}
AGG_DEMO_OUT=$(dirname "$output")
export AGG_DEMO_OUT

tmp=$(mktemp -d /tmp/aggregate-demo.XXXXXX)
http_pid=
cleanup() {
	# Closing the fixture's stdin stops it; the kill is for a stuck one.
	exec 3>&- 2>/dev/null || true
	[ -n "$http_pid" ] && kill "$http_pid" 2>/dev/null || true
	[ -n "$http_pid" ] && wait "$http_pid" 2>/dev/null || true
	sh scripts/pg-test.sh stop "$tmp/pg" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

echo "starting a throwaway PostgreSQL in $tmp/pg ..."
eval "$(sh scripts/pg-test.sh start "$tmp/pg")"
# The Chinook script creates (and connects to) the database "chinook".
psql -X -q -v ON_ERROR_STOP=1 -f sample_data/chinook_postgres.sql \
	>"$tmp/psql.log" 2>&1 || { cat "$tmp/psql.log" >&2; exit 1; }

echo "starting the HTTP fixture server on 127.0.0.1 ..."
mkfifo "$tmp/http.in"
: >"$tmp/http.port"
python3 tests/fixtures/httpd.py --datadir sample_data/http \
	<"$tmp/http.in" >"$tmp/http.port" 2>"$tmp/http.log" &
http_pid=$!
exec 3>"$tmp/http.in"
# The server prints its port on its first line once it listens.
while [ ! -s "$tmp/http.port" ]; do
	kill -0 "$http_pid" 2>/dev/null || { cat "$tmp/http.log" >&2; exit 1; }
	sleep 0.05
done
read -r port <"$tmp/http.port"
DEMO_HTTP="http://127.0.0.1:$port"
export DEMO_HTTP

mkdir -p out "$(dirname "$output")"
trace=$AGG_DEMO_OUT/trace.json
echo "running: aggregate -c conf/providers.conf -o $output --trace $trace"
echo
status=0
"$bin" -c conf/providers.conf -o "$output" --trace "$trace" || status=$?
echo
echo "output: $output (exit status $status)"
echo
[ -f "$output" ] && cat "$output"
# The [output NAME] reports of the same run.
for extra in revenue_by_month top_countries; do
	f=$AGG_DEMO_OUT/$extra.csv
	[ -f "$f" ] || continue
	echo
	echo "output: $f"
	echo
	cat "$f"
done
if [ -f "$trace" ]; then
	echo
	echo "timeline of this run: $trace (open it at https://ui.perfetto.dev,"
	echo "\"Open trace file\", or in chrome://tracing)"
fi
exit $status
