#!/bin/sh
# Run each libFuzzer target (built in build/fuzz by `make fuzz`) for a while:
#   fuzz.sh SECONDS TARGET...
# New inputs go to build/fuzz/work/TARGET (the committed seeds in
# fuzz/corpus/TARGET and the saved crashes in fuzz/regressions/TARGET are
# read, never written).  A crash, leak or timeout is
# copied to fuzz/regressions/TARGET/, where `make test` replays it from
# then on, and makes this script fail.
set -u
secs=$1
shift
bad=""
for t in "$@"; do
	work=build/fuzz/work/$t
	art=build/fuzz/crashes/$t
	mkdir -p "$work" "$art" "fuzz/regressions/$t"
	log=build/fuzz/$t.log
	build/fuzz/fuzz_$t -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$art/" "$work" "fuzz/corpus/$t" "fuzz/regressions/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	echo "fuzz $t: exit $rc, ${execs:-?} executions, corpus $(ls "$work" | wc -l) new inputs"
	for f in "$art"/*; do
		[ -f "$f" ] || continue
		cp "$f" "fuzz/regressions/$t/"
		echo "fuzz $t: saved $(basename "$f") to fuzz/regressions/$t/"
		grep -E 'ERROR:|SUMMARY:' "$log" | head -n 5
	done
	[ $rc -ne 0 ] && bad="$bad $t"
done
[ -n "$bad" ] && echo "fuzz targets that failed:$bad"
[ -z "$bad" ]
