#!/bin/sh
# Replay the seed corpus and the saved crash inputs of each fuzz target
# through its replay_ binary of one build (build/asan):
#   fuzz-replay.sh BUILD_DIR TARGET...
# Fails when a target crashes or a sanitizer reports anything.
set -u
dir=$1
shift
bad=""
for t in "$@"; do
	log=$(mktemp)
	"$dir/fuzz/replay_$t" "fuzz/corpus/$t" "fuzz/regressions/$t" >"$log" 2>&1
	rc=$?
	san=$(grep -c -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log")
	if [ $rc -ne 0 ] || [ "$san" -gt 0 ]; then
		cat "$log"
		bad="$bad $t"
	fi
	echo "fuzz replay $t: $(tail -n 1 "$log")"
	rm -f "$log"
done
[ -n "$bad" ] && echo "fuzz replay failed:$bad"
[ -z "$bad" ]
