#!/bin/sh
# chaos.sh - kill random providers at random moments, many times over, and
# check that every run still gives exactly the clean run's output.
#
#   sh scripts/chaos.sh [-n ITERATIONS] [-s SEED] [BINARY]
#
# BINARY is a test build of aggregate (default build/test/aggregate): the
# AGG_FAULT hooks exist only there.  The job has several provider types:
# files (CSV, .csv.gz, JSON Lines), sqlite, http (tests/fixtures/httpd.py),
# and postgres when PGHOST names a server.  Each iteration, chosen by a
# generator seeded with SEED, either
#   - sets AGG_FAULT so that one to all providers die (SIGKILL or SIGSEGV)
#     at a random point of attempt 1, and some of them again at a random
#     point of attempt 2, or
#   - sends SIGKILL or SIGSEGV with kill(1) to one to three provider
#     processes (children of the supervisor, named "aggregate: provider
#     NAME" in /proc), each after a random number of records or with a
#     random RECORDS frame published but not its checkpoint: AGG_FAULT
#     makes the provider stop there (action hang) and say so on stderr,
#     which the script waits for before it kills;
# then compares out.csv with the reference, and checks that the run exited
# 0, restarted a provider for every fault, and left no shared memory.
# Every fault asked for lands: the random points and record counts are
# within every provider's data.  Odd iterations run the job as a union,
# even ones as a group-by (staged in the merge as records arrive), each
# against its own clean run.  It prints runs, faults asked and fired,
# restarts, failures and mismatches, and exits 1 unless every fault fired
# and the run had no failure, mismatch or leftover.
set -u

ITER=50
SEED=1
while getopts n:s: opt; do
	case $opt in
	n) ITER=$OPTARG ;;
	s) SEED=$OPTARG ;;
	*) echo "usage: $0 [-n ITERATIONS] [-s SEED] [BINARY]" >&2; exit 64 ;;
	esac
done
shift $((OPTIND - 1))
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$SRC/build/test/aggregate}
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
[ -x "$BIN" ] || { echo "chaos: no binary $BIN (make test-tests)" >&2; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/aggchaos.XXXXXX")
SRV=
PGT=
cleanup() {
	exec 9>&-
	[ -n "$PGT" ] && psql -q -c "DROP TABLE IF EXISTS $PGT" >/dev/null 2>&1
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A linear congruential generator: rand N sets R to 0..N-1.
STATE=$SEED
rand() {
	STATE=$(( (STATE * 1103515245 + 12345) % 2147483648 ))
	R=$(( (STATE / 65536) % $1 ))
}

# --- inputs ------------------------------------------------------------
mkdir "$W/in"
awk 'BEGIN { print "id,name,amount,day"
	for (i = 1; i <= 20000; i++)
		printf "%d,\"n-%d, \"\"x\"\"\",%g,2026-01-%02dT10:00:00Z\n",
		       i, i, i * 0.25, 1 + i % 28 }' >"$W/in/a.csv"
awk 'BEGIN { print "id,name,amount,day"
	for (i = 20001; i <= 35000; i++)
		printf "%d,n-%d,%g,2026-02-%02d 10:00:00\n", i, i, i * 0.25,
		       1 + i % 28 }' | gzip >"$W/in/b.csv.gz"
awk 'BEGIN { for (i = 35001; i <= 45000; i++)
	printf "{\"id\": %d, \"name\": \"n-%d\", \"amount\": %g, " \
	       "\"day\": \"2026-03-%02dT10:00:00Z\"}\n", i, i, i * 0.25,
	       1 + i % 28 }' >"$W/in/c.jsonl"
sqlite3 "$W/lite.db" "CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT,
	amount REAL, day TEXT);
	WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g
	WHERE i < 20000) INSERT INTO orders SELECT i, 'lite-' || i, i * 0.5,
	printf('2026-04-%02d 08:00:00', 1 + i % 28) FROM g;" || exit 1

# The HTTP fixture: it exits when its stdin (fd 9 here) closes.
PY=${AGG_PYTHON:-python3}
[ -z "${AGG_PYTHON:-}" ] && [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
mkfifo "$W/srv.in" "$W/srv.port"
"$PY" "$SRC/tests/fixtures/httpd.py" --datadir "$SRC/tests/data/http" \
	<"$W/srv.in" >"$W/srv.port" 2>"$W/srv.log" &
SRV=$!
exec 9>"$W/srv.in"
read -r PORT <"$W/srv.port" || { echo "chaos: no HTTP fixture" >&2; exit 1; }

PROVIDERS="files lite api"
PG=
if [ -n "${PGHOST:-}" ]; then
	PGT=chaos_$$
	psql -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning;
		DROP TABLE IF EXISTS $PGT;
		CREATE TABLE $PGT (id int PRIMARY KEY, name text, amount float8,
		day timestamptz); INSERT INTO $PGT SELECT g, 'pg-' || g, g * 0.125,
		timestamptz '2026-05-01 00:00:00+00' + (g % 28) * interval '1 day'
		FROM generate_series(1, 20000) g" >/dev/null || exit 1
	PG="[provider pg]
type = postgres
query = SELECT id, name, amount, day FROM $PGT ORDER BY id
key = id
batch = 500"
	PROVIDERS="$PROVIDERS pg"
fi
set -- $PROVIDERS
NPROV=$#

cat >"$W/p.conf" <<EOF
[aggregate]
output = out.csv
fields = id:int, name:text, amount:float, day:timestamp
ring_size = 64K
restart = 10
backoff = 1ms
backoff_max = 20ms

[provider files]
type = file
path = in/*

[provider lite]
type = sqlite
path = lite.db
query = SELECT id, name, amount, day FROM orders ORDER BY id
key = id
batch = 200

[provider api]
type = http
url = http://127.0.0.1:$PORT/items?page={page}&per_page=50&total=3000&delay=5
pagination = page
records = /items
concurrency = 4
map = amount=/price, day=/created

$PG
EOF

# The same job grouped: every aggregate's input fixed-size, so staged.
sed 's/^fields = .*$/&\
group_by = day\
aggregates = count(*) as n, sum(amount) as s, avg(amount) as a, max(id) as hi, count(name) as c/' \
	"$W/p.conf" >"$W/g.conf"

cd "$W" || exit 1
for c in p g; do
	if ! AGG_FAULT= "$BIN" -c $c.conf -q 2>err.log; then
		echo "chaos: the clean run of $c.conf failed:" >&2
		cat err.log >&2
		exit 1
	fi
	mv out.csv $c.ref
done

# The pid of supervisor $1's child "aggregate: provider $2", or nothing.
provider_pid() {
	for c in $(cat "/proc/$1/task/$1/children" 2>/dev/null); do
		t=$( { tr '\0' ' ' <"/proc/$c/cmdline"; } 2>/dev/null)
		case $t in "aggregate: provider $2"*) echo "$c"; return ;; esac
	done
}

runs=0 asked=0 fired=0 restarts=0 failures=0 mismatches=0 leftovers=0
i=1
while [ "$i" -le "$ITER" ]; do
	rm -f out.csv
	c=p; [ $((i % 2)) -eq 0 ] && c=g
	want=0 got=0
	rand 2
	if [ "$R" -eq 0 ]; then
		# AGG_FAULT: a random point of attempt 1 of some providers, and
		# of attempt 2 of some of those (attempt 2 exists only because
		# attempt 1 died).
		fault=
		for p in $PROVIDERS; do
			rand 2
			[ "$R" -eq 0 ] && [ -n "$fault" ] && continue
			for att in 1 2; do
				rand 100000; seed=$R
				rand 2; act=; [ "$R" -eq 1 ] && act=:segv
				fault="$fault${fault:+;}$p:$att:random:$seed$act"
				want=$((want + 1))
				rand 2; [ "$R" -eq 0 ] && break
			done
		done
		AGG_FAULT=$fault "$BIN" -c $c.conf 2>err.log &
		sup=$!
		wait "$sup"
		rc=$?
		how="AGG_FAULT=$fault"
		got=$(grep -c 'fault injected' err.log)
	else
		# kill(1): one to three distinct providers stop after a random
		# number of records; each is killed once it says it stopped.
		rand 3; n=$((R + 1))
		pool=" $PROVIDERS " fault= sigs=" " how="kill(1):"
		while [ "$want" -lt "$n" ]; do
			set -- $pool
			rand $#
			eval "p=\${$((R + 1))}"
			pool=$(printf '%s' "$pool" | sed "s/ $p / /")
			# After a record, or with a RECORDS frame published but
			# not yet its checkpoint: what the merge must drop.
			rand 2
			if [ "$R" -eq 0 ]; then
				pt=record; rand 2000
			else
				pt=before_checkpoint; rand 30
			fi
			at=$((R + 1))
			rand 2; sig=KILL; [ "$R" -eq 1 ] && sig=SEGV
			fault="$fault${fault:+;}$p:1:$pt:$at:hang"
			sigs="$sigs$p=$sig "
			how="$how $p@$pt:$at:SIG$sig"
			want=$((want + 1))
		done
		AGG_FAULT=$fault "$BIN" -c $c.conf 2>err.log &
		sup=$!
		seen=0
		while [ "$seen" -lt "$want" ] && kill -0 "$sup" 2>/dev/null; do
			p=$(grep 'fault injected' err.log | sed -n "$((seen + 1))s/.* provider=\([^ ]*\) fault injected.*/\1/p")
			if [ -z "$p" ]; then
				sleep 0.01 # a poll interval: the line is the event
				continue
			fi
			seen=$((seen + 1))
			sig=${sigs#* $p=}; sig=${sig%% *}
			pid=$(provider_pid "$sup" "$p")
			if [ -n "$pid" ] && kill -s "$sig" "$pid" 2>/dev/null; then
				got=$((got + 1))
			else
				echo "chaos: run $i: provider $p stopped but could not be killed" >&2
			fi
		done
		wait "$sup"
		rc=$?
	fi
	runs=$((runs + 1))
	asked=$((asked + want))
	fired=$((fired + got))
	r=$(awk 'NF == 7 && $2 ~ /^(ok|failed|stopped)$/ { s += $5 }
		END { print s + 0 }' err.log)
	restarts=$((restarts + r))
	if [ "$got" -lt "$want" ]; then
		echo "chaos: run $i ($how): $got of $want faults fired" >&2
	fi
	if [ "$rc" -ne 0 ]; then
		failures=$((failures + 1))
		echo "chaos: run $i ($how) exited $rc:" >&2
		tail -n 20 err.log >&2
	elif [ "$r" -lt "$got" ]; then
		failures=$((failures + 1))
		echo "chaos: run $i ($how): $got faults but $r restarts" >&2
		tail -n 20 err.log >&2
	elif ! cmp -s out.csv $c.ref; then
		mismatches=$((mismatches + 1))
		echo "chaos: run $i ($c.conf, $how): output differs from the clean run" >&2
		cp out.csv "${TMPDIR:-/tmp}/aggchaos-mismatch-$i.csv"
	fi
	if ls /dev/shm 2>/dev/null | grep -q "^aggregate.*$sup"; then
		leftovers=$((leftovers + 1))
		echo "chaos: run $i left shared memory behind" >&2
	fi
	i=$((i + 1))
done

echo "chaos: seed=$SEED providers=$NPROV runs=$runs faults=$fired/$asked" \
     "restarts=$restarts failures=$failures mismatches=$mismatches" \
     "leftovers=$leftovers"
[ "$fired" -eq "$asked" ] && [ "$mismatches" -eq 0 ] &&
	[ "$failures" -eq 0 ] && [ "$leftovers" -eq 0 ]
