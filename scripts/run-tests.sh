#!/bin/sh
# Run the Criterion test programs of one build (build/test or build/asan)
# against an aggregate binary; print one closing line of totals.
#
#   sh scripts/run-tests.sh [-n] [-b BINARY] DIR [PROGRAM...]
#
# BINARY is the aggregate program the tests run (default DIR/aggregate),
# e.g. the release build, which has none of the test hooks; PROGRAMs are
# names of DIR/tests/test_* (default: all of them).  -n starts no
# PostgreSQL: for programs that need none (tests/test_runner.c's own).
#
# A skipped test is listed and counted.  It fails the run unless its
# reason starts with one of the explained reasons below: each says why the
# test cannot apply to this build or binary, so a skip for anything else
# (a missing server, a missing tool) is a test that did not run and must
# not pass unnoticed.
set -u

explained="RLIMIT_AS cannot apply under AddressSanitizer
ASan's allocator reports the failed allocation
needs the test build's hooks
kubectl is not installed"

bin= pg=yes
while getopts b:n opt; do
	case $opt in
	b) bin=$OPTARG ;;
	n) pg=no ;;
	*) echo "usage: $0 [-n] [-b BINARY] DIR [PROGRAM...]" >&2; exit 64 ;;
	esac
done
shift $((OPTIND - 1))
dir=$1
shift
AGG_BIN=$(pwd)/${bin:-$dir/aggregate}
case $bin in /*) AGG_BIN=$bin ;; esac
AGG_SRCDIR=$(pwd)
export AGG_BIN AGG_SRCDIR
if [ $# -eq 0 ]; then
	progs=
	for t in "$dir"/tests/test_*; do
		case $t in *.o) continue ;; esac
		[ -x "$t" ] && progs="$progs $t"
	done
	set -- $progs
else
	progs=
	for p in "$@"; do progs="$progs $dir/tests/$p"; done
	set -- $progs
fi

# One throwaway PostgreSQL for every test program that needs one (a
# program started alone starts its own when PGHOST is unset).
if [ $pg = yes ]; then
	pgdir=$(mktemp -d /tmp/aggregate-tests.XXXXXX)
	trap 'sh scripts/pg-test.sh stop "$pgdir/pg" >/dev/null 2>&1; rm -rf "$pgdir"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	env=$(sh scripts/pg-test.sh start "$pgdir/pg") || {
		echo "run-tests.sh: cannot start PostgreSQL for the tests" >&2
		exit 1
	}
	eval "$env"
fi

# The skipped tests of Criterion's JSON report $1, one a line:
# "suite::test: reason".
skipped_tests() {
	awk '
	function value(s) {
		sub(/^[^:]*: *"/, "", s); sub(/" *,? *$/, "", s); return s
	}
	/^      "name":/ { suite = value($0) }
	/^          "name":/ { test = value($0) }
	/"status": "SKIPPED"/ { skip = 1; next }
	skip && /"messages":/ {
		m = $0; sub(/^[^[]*\[ *"/, "", m); sub(/" *\] *,? *$/, "", m)
		print suite "::" test ": " m; skip = 0; next
	}
	skip && /^ *}/ { print suite "::" test ": "; skip = 0 }
	' "$1"
}

# 0 when reason $1 starts with one of the explained reasons.
explained() {
	printf '%s\n' "$explained" | {
		while IFS= read -r e; do
			case $1 in "$e"*) exit 0 ;; esac
		done
		exit 1
	}
}

# How many sanitizer reports log $1 holds, leaving out a LeakSanitizer
# report whose every block was allocated directly inside Criterion's runner
# or the nanomsg library it reports through (frame #1 of each leak in them):
# those libraries keep such blocks until a test process exits, as the
# valgrind suppressions (tests/valgrind/criterion.supp) also say.  A leak
# of the project's code or of a test still counts.
sanitizer_reports() {
	awk '
	/ERROR: AddressSanitizer|runtime error:/ { n++ }
	/ERROR: LeakSanitizer/ { lsan = 1; ours = 0; frame1 = 0; next }
	lsan && /^(Direct|Indirect) leak/ { frame1 = 1; next }
	lsan && frame1 && /^ *#1 / {
		if ($0 !~ /libcriterion\.so|libnanomsg\.so/) ours = 1
		frame1 = 0
		next
	}
	lsan && /^SUMMARY: / { if (ours) n++; else left++; lsan = 0 }
	END { print n + 0, left + 0 }
	' "$1"
}

# 0 when $1 is the exit status of a process whose only fault was the leaks
# LeakSanitizer reported: the sanitizer's exitcode, 1 under AddressSanitizer
# (the runner of the ASan build exits so) and 23 for LeakSanitizer alone.
leak_status() {
	case $1 in 1|23) return 0 ;; esac
	return 1
}

passed=0 failed=0 skipped=0 unexplained=0 bad=""
echo "running the tests against $AGG_BIN"
for t in "$@"; do
	[ -x "$t" ] || { echo "run-tests.sh: no test program $t" >&2; exit 1; }
	name=$(basename "$t")
	log=$(mktemp)
	json=$(mktemp)
	"$t" --jobs 2 --json="$json" >"$log" 2>&1
	rc=$?
	cat "$log"
	line=$(grep 'Synthesis:' "$log" | tail -n 1)
	p=$(printf '%s\n' "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	f=$(printf '%s\n' "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
	c=$(printf '%s\n' "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${c:-0}))
	skips=$(skipped_tests "$json")
	if [ -n "$skips" ]; then
		while IFS= read -r s; do
			skipped=$((skipped + 1))
			if explained "${s#*: }"; then
				echo "[SKIP] $s"
			else
				echo "[SKIP] $s (not an explained reason: fails the run)"
				unexplained=$((unexplained + 1))
				rc=1
			fi
		done <<EOF
$skips
EOF
	fi
	# A sanitizer report anywhere (a test process, a forked child, the
	# aggregate binary) fails the program even when the test passed.
	reports=$(sanitizer_reports "$log")
	san=${reports% *} left=${reports#* }
	# Criterion's runner itself exits with the sanitizer's status when
	# the only leak was one of the reports left out above: with every
	# test passed and nothing else reported, that is not a failure.
	if leak_status $rc && [ "$san" -eq 0 ] && [ "$left" -gt 0 ] &&
	   [ "${f:-0}" -eq 0 ] && [ "${c:-0}" -eq 0 ] && [ -n "$line" ]; then
		echo "$name: Criterion's own leak left out (exit $rc)"
		rc=0
	fi
	if [ "$san" -gt 0 ]; then
		echo "$name: $san sanitizer report(s)"
		failed=$((failed + 1))
		rc=1
	fi
	if [ $rc -ne 0 ] || [ -z "$line" ]; then
		bad="$bad $name"
		[ -z "$line" ] && failed=$((failed + 1))
	fi
	rm -f "$log" "$json"
done
echo
[ -n "$bad" ] && echo "failing test programs ($AGG_BIN):$bad"
echo "$passed passed, $failed failed, $skipped skipped ($unexplained unexplained)"
[ -z "$bad" ]
