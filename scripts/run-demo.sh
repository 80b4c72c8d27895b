#!/bin/sh
# make run: aggregate conf/providers.conf over sample_data/ and show the result.
set -eu
cd "$(dirname "$0")/.."
mkdir -p out
status=0
./aggregate -c conf/providers.conf || status=$?
echo
echo "output: out/revenue_by_country.csv (exit status $status)"
echo
cat out/revenue_by_country.csv
exit $status
