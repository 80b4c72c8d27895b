#!/bin/sh
# check-includes.sh - the folders are floors and include one way only.
#
#   ipc/         includes ipc/                         (floor 1, the bottom)
#   common/      includes common/ ipc/                 (floor 1)
#   providers/   includes providers/ common/ ipc/      (floor 2)
#   aggregator/  includes aggregator/ common/ ipc/     (floor 2)
#   supervisor/  includes any of the above             (floor 3)
#
# Every #include "..." in those folders is resolved against the including
# file's folder; one that lands in a folder not allowed for it is printed
# as file:line and the script exits 1.  System headers (<...>) are not
# looked at.  Run from anywhere: it works on the tree it lives in.
set -eu
cd "$(dirname "$0")/.."

allowed() {
	case $1 in
	ipc) echo "ipc" ;;
	common) echo "common ipc" ;;
	providers) echo "providers common ipc" ;;
	aggregator) echo "aggregator common ipc" ;;
	supervisor) echo "supervisor aggregator providers common ipc" ;;
	esac
}

bad=0
for dir in ipc common providers aggregator supervisor; do
	ok=$(allowed "$dir")
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -f "$f" ] || continue
		# file:line:path for each quoted include.
		out=$(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
			sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1 \2/') || true
		[ -n "$out" ] || continue
		while read -r line inc; do
			# The folder the include lands in, relative to the top:
			# "x.h" and "sub/x.h" stay in $dir, "../other/x.h" is other,
			# anything else ("../x.h", "../../x.h") is refused.
			case $inc in
			../../*|*/../*|../*/../*) to="?" ;;
			../*/*) to=${inc#../}; to=${to%%/*} ;;
			../*) to="?" ;;
			*) to=$dir ;;
			esac
			found=0
			for a in $ok; do
				[ "$to" = "$a" ] && found=1
			done
			if [ "$found" = 0 ]; then
				echo "$f:$line: $dir/ may not include \"$inc\" (allowed: $ok)" >&2
				bad=1
			fi
		done <<EOF
$out
EOF
	done
done
if [ "$bad" != 0 ]; then
	echo "check-includes: an include goes the wrong way (see docs/design.md, \"Folders\")" >&2
	exit 1
fi
echo "check-includes: every include goes one way"
