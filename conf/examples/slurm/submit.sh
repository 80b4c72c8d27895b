#!/bin/sh
# Submit the shards (a job array) and their merge, which runs only after
# every shard succeeded.  Run it in the folder the jobs share (the logs
# go to logs/ there); extra arguments go to both sbatch commands (e.g.
# --partition=batch).  Prints the two job ids.
#
#   AGG_CONF=/srv/agg/providers.conf AGG_PARTS=/srv/agg/parts/$(date +%F) \
#       sh submit.sh --array=0-15
set -eu
here=$(dirname "$0")
mkdir -p logs
shards=$(sbatch --parsable "$@" "$here/shards.sbatch")
shards=${shards%%;*}    # "id;cluster" on a multi-cluster setup
merge=$(sbatch --parsable --dependency="afterok:$shards" \
	$(printf '%s\n' "$@" | grep -v '^--array' || true) "$here/merge.sbatch")
echo "$shards ${merge%%;*}"
