#!/bin/sh
# Run the fork and ring code under valgrind (memcheck): no invalid access,
# no use of uninitialised memory, no leak, in any process.
#
#   valgrind.sh BUILD_DIR [short]
#
# short (what `make test` runs, a few seconds): the aggregate binary of
# BUILD_DIR over sample_data/ and the two file providers of
# conf/providers.conf (the others need servers), once clean and once
# with provider faults (an attempt that exits without DONE, one that
# publishes a garbage frame), each output compared with a run without
# valgrind.  Without short (`make valgrind`, about a minute) the ring's
# unit tests (tests/test_ring.c: forked producers, killed producers,
# hostile scribbles) run under valgrind too.
#
# Every process is traced (--trace-children=yes; forks are followed
# anyway); any report makes valgrind exit 1 in that process, which fails
# the run.  tests/valgrind/criterion.supp hides only blocks that Criterion
# and nanomsg allocate themselves.
set -u
dir=$1
mode=${2:-full}
src=$(pwd)
# --vgdb=no: a process killed under valgrind (the fault runs kill some)
# would otherwise leave its vgdb pipes in /tmp.
VG="valgrind -q --error-exitcode=99 --leak-check=full --trace-children=yes \
--vgdb=no --suppressions=$src/tests/valgrind/criterion.supp"
bad=""
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

command -v valgrind >/dev/null 2>&1 || {
	echo "valgrind.sh: valgrind is not installed (make deps)" >&2
	exit 1
}

files=csv_archive,jsonl_export

# $1 name, $2 AGG_FAULT value ("" for none)
e2e() {
	w=$tmp/$1
	mkdir -p "$w/out"
	cp -r sample_data conf "$w/"
	(cd "$w" && AGG_FAULT=$2 "$src/$dir/aggregate" -q -c conf/providers.conf \
		--only "$files" -o out/plain.csv) || { bad="$bad $1(plain)"; return; }
	(cd "$w" && AGG_FAULT=$2 $VG "$src/$dir/aggregate" -q \
		-c conf/providers.conf --only "$files" -o out/vg.csv) >"$w/log" 2>&1
	rc=$?
	if [ $rc -ne 0 ] || grep -q '^==[0-9]*==' "$w/log"; then
		cat "$w/log"
		bad="$bad $1(exit $rc)"
	elif ! cmp -s "$w/out/plain.csv" "$w/out/vg.csv"; then
		bad="$bad $1(output differs)"
	fi
	echo "valgrind: aggregate $1: exit $rc"
}

e2e clean ""
e2e faults "csv_archive:1:after_checkpoint:1:exit0;jsonl_export:1:record:30:garbage"

if [ "$mode" != short ]; then
	# failures_leave_nothing_behind lowers RLIMIT_NOFILE, which valgrind
	# emulates after the system call: open() creates the /dev/shm name,
	# then valgrind fails the call, so the test would see a name left.
	log=$tmp/ring.log
	AGG_TEST_SCALE=asan AGG_BIN=$src/$dir/aggregate AGG_SRCDIR=$src \
		$VG "$dir/tests/test_ring" --jobs 1 \
		--filter='ring/!(failures_leave_nothing_behind)' >"$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ] || grep -q '^==[0-9]*==' "$log"; then
		cat "$log"
		bad="$bad test_ring(exit $rc)"
	fi
	echo "valgrind: test_ring: exit $rc, $(grep 'Synthesis' "$log")"
fi

[ -n "$bad" ] && echo "valgrind failed:$bad"
[ -z "$bad" ]
