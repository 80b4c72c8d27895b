#!/bin/sh
# Run every Criterion test binary of one build (build/test or build/asan)
# against that build's aggregate binary; print one closing line of totals.
set -u
dir=$1
AGG_BIN=$(pwd)/$dir/aggregate
AGG_SRCDIR=$(pwd)
export AGG_BIN AGG_SRCDIR

# One throwaway PostgreSQL for every test program that needs one (a
# program started alone starts its own when PGHOST is unset).
pgdir=$(mktemp -d /tmp/aggregate-tests.XXXXXX)
trap 'sh scripts/pg-test.sh stop "$pgdir/pg" >/dev/null 2>&1; rm -rf "$pgdir"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
env=$(sh scripts/pg-test.sh start "$pgdir/pg") || {
	echo "run-tests.sh: cannot start PostgreSQL for the tests" >&2
	exit 1
}
eval "$env"

passed=0 failed=0 bad=""
for t in "$dir"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	log=$(mktemp)
	"$t" --jobs 2 >"$log" 2>&1
	rc=$?
	cat "$log"
	line=$(grep 'Synthesis:' "$log" | tail -n 1)
	p=$(printf '%s\n' "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	f=$(printf '%s\n' "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
	c=$(printf '%s\n' "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${c:-0}))
	# A sanitizer report anywhere (a test process, a forked child, the
	# aggregate binary) fails the program even when the test passed.
	san=$(grep -c -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log")
	if [ "$san" -gt 0 ]; then
		echo "$name: $san sanitizer report(s)"
		failed=$((failed + 1))
		rc=1
	fi
	if [ $rc -ne 0 ] || [ -z "$line" ]; then
		bad="$bad $name"
		[ -z "$line" ] && failed=$((failed + 1))
	fi
	rm -f "$log"
done
echo
[ -n "$bad" ] && echo "failing test programs ($dir):$bad"
echo "$passed passed, $failed failed"
[ -z "$bad" ]
