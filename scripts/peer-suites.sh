#!/bin/sh
# Fetch the peers' test suites that the tests check the program against,
# once, into build/peers/ (make test does this; it needs the npm registry):
#
#   csv-spectrum 2.0.0   CSV files with the JSON a correct reader makes of
#                        them (https://github.com/max-mapper/csv-spectrum)
#
# Each package is pinned by version and by the sha512 the registry lists
# for it, and unpacked with Python's tarfile (no Node.js needed).
set -eu
cd "$(dirname "$0")/.."
dest=build/peers
mkdir -p "$dest"

fetch() {
	name=$1 version=$2 sha512=$3
	[ -f "$dest/$name/.complete" ] && return 0
	echo "fetching $name $version from the npm registry ..." >&2
	python3 - "$dest" "$name" "$version" "$sha512" <<'PY'
import base64, hashlib, io, os, shutil, sys, tarfile, urllib.request
dest, name, version, sha512 = sys.argv[1:5]
url = "https://registry.npmjs.org/%s/-/%s-%s.tgz" % (name, name, version)
try:
    data = urllib.request.urlopen(url, timeout=60).read()
except OSError as e:
    sys.exit("peer-suites.sh: cannot fetch %s: %s" % (url, e))
got = base64.b64encode(hashlib.sha512(data).digest()).decode()
if got != sha512:
    sys.exit("peer-suites.sh: %s: sha512 %s, expected %s" % (url, got, sha512))
out = os.path.join(dest, name)
shutil.rmtree(out, ignore_errors=True)
with tarfile.open(fileobj=io.BytesIO(data)) as t:
    for m in t.getmembers():
        if not (m.isfile() or m.isdir()) or m.name.startswith("/") \
                or ".." in m.name.split("/"):
            continue
        t.extract(m, out)
open(os.path.join(out, ".complete"), "w").close()
PY
}

fetch csv-spectrum 2.0.0 \
	'gjW9YEAkcrJo4AEdrV9+4lkUXlOyYyC+1Ap3efzMiUUs1OTdZ29VraBZNBBKZK7iiUkbMNkUmfKp/jnayzHxAA=='
