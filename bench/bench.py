#!/usr/bin/env python3
"""bench.py - aggregate against its peers and its own targets (issue #6).

Run through bench/run.sh (which installs the peers and builds first):

    bench.py [--quick] [--runs N] [--only CASE,...] [--data DIR]

Every figure is the median of N runs (default 5) of a whole process, timed
from outside (time.monotonic around fork/exec/wait); peak memory is the
largest resident set among the processes a run waited for (getrusage of
the children, as /usr/bin/time -v reports it).  Each case prints our time,
the peer's, the ratio, and PASS or MISS against the target.

Data is generated deterministically (bench/gen.py) into DIR (default
bench/data, which git ignores) and reused by later runs.
"""
import argparse
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# AGG_BIN: another build to measure (before/after comparisons).
AGG = os.environ.get("AGG_BIN") or os.path.join(ROOT, "build", "rel", "aggregate")
RINGBENCH = os.path.join(ROOT, "build", "bench", "ringbench")

results = []  # (case, what, verdict)


def say(*a):
    print(*a, flush=True)


def run_once(cmd, env=None, stdout=subprocess.DEVNULL, shell=False):
    """Run cmd to its end; (wall seconds, peak RSS in MiB, exit status)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE,
                         env=env, shell=shell, start_new_session=True)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit("bench: command failed (%d): %s\n%s" %
                         (p.returncode, cmd, err[-2000:]))
    return wall, ru.ru_maxrss / 1024.0


def timed(cmd, runs, env=None, shell=False, warmup=1):
    """Median wall seconds and median peak MiB over runs (after warm-up)."""
    for _ in range(warmup):
        run_once(cmd, env=env, shell=shell)
    walls, peaks = [], []
    for _ in range(runs):
        w, m = run_once(cmd, env=env, shell=shell)
        walls.append(w)
        peaks.append(m)
    return statistics.median(walls), statistics.median(peaks)


def verdict(case, what, ok):
    v = "PASS" if ok else "MISS"
    results.append((case, what, v))
    return v


def row(label, value):
    say("  %-44s %s" % (label, value))


def write_conf(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def gen(kind, rows, path):
    if os.path.exists(path):
        return path
    say("  generating %s (%d rows)..." % (os.path.basename(path), rows))
    tmp = path + ".part"
    subprocess.check_call([sys.executable, os.path.join(HERE, "gen.py"),
                           kind, str(rows), tmp])
    os.rename(tmp, path)
    return path


def read_groups(path):
    """region -> (count, sum) from a CSV of region,count,sum (header skipped)."""
    out = {}
    with open(path) as f:
        next(f)
        for line in f:
            k, c, s = line.rstrip("\n").split(",")
            out[k] = (int(c), float(s))
    return out


def parse_peer(text, sep=","):
    out = {}
    for line in text.splitlines():
        parts = line.split(sep)
        if len(parts) != 3 or parts[1] in ("count", "amount_count"):
            continue
        out[parts[0]] = (int(float(parts[1])), float(parts[2]))
    return out


def same_values(ours, theirs, exact):
    if ours.keys() != theirs.keys():
        return False
    for k, (c, s) in ours.items():
        tc, ts = theirs[k]
        if c != tc:
            return False
        if exact and s != ts:
            return False
        if not exact and abs(s - ts) > 1e-9 * max(1.0, abs(s)):
            return False
    return True


GROUP_CONF = """[aggregate]
output     = {out}
fields     = id:int, region:text, day:text, amount:float
group_by   = region
aggregates = count(*) as n, sum(amount) as total
"""


# --- 1. ring -------------------------------------------------------------

def case_ring(a):
    say("\n[1] ring: 32-byte records and 64 KiB frames, process to process")
    vals = {}
    for _ in range(a.runs):
        out = subprocess.check_output([RINGBENCH, "-s", "0.25"], text=True)
        for line in out.splitlines():
            name, v, unit = line.split()
            vals.setdefault(name, []).append((float(v), unit))
    med = {k: (statistics.median(x[0] for x in v), v[0][1])
           for k, v in vals.items()}
    for k in ("memcpy", "ring_records", "pipe_records", "ring_frames",
              "pipe_frames"):
        row(k, "%.2f %s" % med[k])
    rr, pr = med["ring_records"][0], med["pipe_records"][0]
    rf, pf, mc = med["ring_frames"][0], med["pipe_frames"][0], med["memcpy"][0]
    row("records >= 50 M/s",
        "%.0f M/s  %s" % (rr, verdict(1, "ring records/s", rr >= 50)))
    row("frames >= 40% of memcpy",
        "%.0f%%  %s" % (100 * rf / mc, verdict(1, "ring frames vs memcpy",
                                                rf / mc >= 0.40)))
    row("records ring/pipe >= 3x",
        "%.2fx  %s" % (rr / pr, verdict(1, "records ring/pipe", rr / pr >= 3)))
    row("frames ring/pipe >= 3x",
        "%.2fx  %s" % (rf / pf, verdict(1, "frames ring/pipe", rf / pf >= 3)))


# --- 2. CSV group-by -------------------------------------------------------

def case_csv(a, csv, tmp):
    say("\n[2] CSV file -> group by region, count and sum (%d rows, %.0f MB)"
        % (a.rows, os.path.getsize(csv) / 1e6))
    out = os.path.join(tmp, "csv_out.csv")
    conf = write_conf(os.path.join(tmp, "csv.conf"),
                      GROUP_CONF.format(out=out) +
                      "\n[provider sales]\ntype = file\npath = %s\n" % csv)
    ours, _ = timed([AGG, "-q", "-c", conf], a.runs)
    mawk_prog = "{c[$2]++; s[$2]+=$4}"
    mawk, _ = timed(["mawk", "-F,", mawk_prog, csv], a.runs)
    mlr, _ = timed(["mlr", "--icsv", "--ocsv", "stats1", "-a", "count,sum",
                    "-f", "amount", "-g", "region", csv], a.peer_runs)
    dm, _ = timed("datamash -t, --header-in -s -g 2 count 2 sum 4 < '%s'" % csv,
                  a.peer_runs, shell=True)
    # Values: mawk in full precision (same order of additions as ours).
    mine = read_groups(out)
    mv = parse_peer(subprocess.check_output(
        ["mawk", "-F,", "NR > 1 {c[$2]++; s[$2]+=$4} END {for (k in c) "
         "printf \"%s,%d,%.17g\\n\", k, c[k], s[k]}", csv], text=True))
    lv = parse_peer(subprocess.check_output(
        ["mlr", "--icsv", "--ocsv", "--ofmt", "%.17g", "stats1", "-a",
         "count,sum", "-f", "amount", "-g", "region", csv], text=True))
    dv = parse_peer(subprocess.check_output(
        "datamash -R 10 -t, --header-in -s -g 2 count 2 sum 4 < '%s'" % csv,
        shell=True, text=True))
    row("aggregate", "%.3f s" % ours)
    row("mawk", "%.3f s" % mawk)
    row("mlr stats1", "%.3f s" % mlr)
    row("datamash -g", "%.3f s" % dm)
    row("ours/mawk <= 0.25",
        "%.3f  %s" % (ours / mawk, verdict(2, "csv vs mawk", ours / mawk <= 0.25)))
    row("mlr/ours >= 10",
        "%.1fx  %s" % (mlr / ours, verdict(2, "csv vs mlr", mlr / ours >= 10)))
    row("datamash/ours >= 10",
        "%.1fx  %s" % (dm / ours, verdict(2, "csv vs datamash", dm / ours >= 10)))
    row("values = mawk (exact), mlr, datamash",
        "%s %s %s  %s" % (same_values(mine, mv, True), same_values(mine, lv, False),
                          same_values(mine, dv, False),
                          verdict(2, "csv values", same_values(mine, mv, True) and
                                  same_values(mine, lv, False) and
                                  same_values(mine, dv, False))))
    return ours


# --- 3. SQLite group-by ----------------------------------------------------

def case_sqlite(a, db, tmp):
    say("\n[3] SQLite table -> group by region (%d rows)" % a.rows)
    out = os.path.join(tmp, "sqlite_out.csv")
    conf = write_conf(os.path.join(tmp, "sqlite.conf"),
                      GROUP_CONF.format(out=out) +
                      "\n[provider sales]\ntype = sqlite\npath = %s\n"
                      "query = SELECT id, region, day, amount FROM sales\n"
                      "key = id\n" % db)
    ours, _ = timed([AGG, "-q", "-c", conf], a.runs)
    sql = "SELECT region, count(*), sum(amount) FROM sales GROUP BY region"
    peer, _ = timed(["sqlite3", db, sql], a.runs)
    sv = parse_peer(subprocess.check_output(
        ["sqlite3", "-separator", ",", db,
         "SELECT region, count(*), printf('%!.17g', sum(amount)) FROM sales "
         "GROUP BY region"], text=True))
    row("aggregate", "%.3f s" % ours)
    row("sqlite3 shell GROUP BY", "%.3f s" % peer)
    row("ours/sqlite3 <= 0.5",
        "%.3f  %s" % (ours / peer, verdict(3, "sqlite vs sqlite3",
                                           ours / peer <= 0.5)))
    row("values = sqlite3", "%s" % same_values(read_groups(out), sv, False))
    return ours


# --- 4. PostgreSQL group-by ------------------------------------------------

class Postgres:
    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "pg")
        out = subprocess.check_output(
            ["sh", os.path.join(ROOT, "scripts", "pg-test.sh"), "start",
             self.dir], text=True)
        self.env = dict(os.environ)
        for line in out.splitlines():
            for kv in line.replace("export ", "").split():
                k, v = kv.split("=", 1)
                self.env[k] = v.strip("'")

    def psql(self, *args, **kw):
        return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"] +
                              list(args), env=self.env, check=True, **kw)

    def stop(self):
        subprocess.call(["sh", os.path.join(ROOT, "scripts", "pg-test.sh"),
                         "stop", self.dir])


def case_postgres(a, pg, tmp):
    say("\n[4] PostgreSQL table -> group by region (%d rows)" % a.rows)
    out = os.path.join(tmp, "pg_out.csv")
    conf = write_conf(os.path.join(tmp, "pg.conf"),
                      GROUP_CONF.format(out=out) +
                      "\n[provider sales]\ntype = postgres\n"
                      "query = SELECT id, region, day, amount FROM sales\n")
    ours, _ = timed([AGG, "-q", "-c", conf], a.runs, env=pg.env)
    copy = ("psql -X -q -c \"COPY (SELECT id, region, day, amount FROM sales) "
            "TO STDOUT\" > /dev/null")
    peer, _ = timed(copy, a.runs, env=pg.env, shell=True)
    row("aggregate", "%.3f s  %.2f M rows/s" % (ours, a.rows / ours / 1e6))
    row("psql COPY TO STDOUT > /dev/null",
        "%.3f s  %.2f M rows/s" % (peer, a.rows / peer / 1e6))
    row("rows/s ours/psql >= 0.8",
        "%.3f  %s" % (peer / ours, verdict(4, "postgres vs psql COPY",
                                           peer / ours >= 0.8)))
    return ours


def load_postgres(a, pg):
    pg.psql("-c", "CREATE TABLE sales (id bigint PRIMARY KEY, region text "
            "NOT NULL, day date NOT NULL, amount double precision NOT NULL)")
    gen_p = subprocess.Popen([sys.executable, os.path.join(HERE, "gen.py"),
                              "copy", str(a.rows)], stdout=subprocess.PIPE)
    pg.psql("-c", "COPY sales FROM STDIN", stdin=gen_p.stdout)
    gen_p.wait()
    pg.psql("-c", "VACUUM ANALYZE sales")


# --- 5. HTTP ----------------------------------------------------------------

class Httpd:
    def __init__(self):
        self.p = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "httpd.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.p.stdout.readline())

    def stop(self):
        self.p.stdin.close()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


HTTP_CONF = """[aggregate]
output     = {out}
fields     = id:int, region:text, price:float
group_by   = region
aggregates = count(*) as n, sum(price) as total

[provider api]
type        = http
url         = http://127.0.0.1:{port}/items?page={{page}}&per_page=10&total={total}&delay={delay}
pagination  = page
records     = /items
concurrency = {conc}
"""


def http_conf(tmp, name, port, pages, delay, conc):
    out = os.path.join(tmp, name + "_out.csv")
    return write_conf(os.path.join(tmp, name + ".conf"), HTTP_CONF.format(
        out=out, port=port, total=pages * 10, delay=delay, conc=conc))


def case_http(a, httpd, tmp):
    pages = a.pages
    say("\n[5] HTTP: %d pages, 300 ms latency each" % pages)
    c64 = http_conf(tmp, "http64", httpd.port, pages, 300, 64)
    c1 = http_conf(tmp, "http1", httpd.port, pages, 300, 1)
    fast, _ = timed([AGG, "-q", "-c", c64], a.runs)
    slow, _ = timed([AGG, "-q", "-c", c1], 1, warmup=0)
    row("concurrency 64", "%.3f s" % fast)
    row("concurrency 1", "%.3f s" % slow)
    row("ratio (1 / 64)", "%.1fx" % (slow / fast))
    # 100 pages (and the empty page after them) take two rounds of 64:
    # 0.6 s is the latency floor; QUICK's 20 pages take one round.
    limit = 0.3 * -(-(pages + 1) // 64)
    row("concurrency 64 <= %.2f s" % limit,
        "%s" % verdict(5, "http concurrency 64", fast <= limit))


# --- 6. four providers together ---------------------------------------------

def case_together(a, csv, db, pg, httpd, tmp, rates):
    """Four providers of the four types, each sized to take about T alone."""
    T = 0.3 if a.quick else 1.0
    say("\n[6] four providers (file, sqlite, postgres, http), each ~%.1f s "
        "alone, run together" % T)
    n_csv = min(a.rows, max(1000, int(rates["csv"] * T)))
    n_sql = min(a.rows, max(1000, int(rates["sqlite"] * T)))
    n_pg = min(a.rows, max(1000, int(rates["postgres"] * T)))
    # The page after the last one (empty) is a request of its own.
    pages = max(1, int(round(T / 0.1)) - 1)
    # A table of its own, so that the server reads n_pg rows, not a scan
    # of all of them filtered.
    pg.psql("-c", "SET client_min_messages = warning; "
            "DROP TABLE IF EXISTS sales_part")
    pg.psql("-c", "CREATE TABLE sales_part AS SELECT * FROM sales "
            "WHERE id <= %d" % n_pg)
    pg.psql("-c", "VACUUM ANALYZE sales_part")
    part = os.path.join(tmp, "part.csv")
    with open(csv, "rb") as src, open(part, "wb") as dst:
        for i, line in enumerate(src):
            if i > n_csv:
                break
            dst.write(line)
    provs = {
        "file": "[provider file]\ntype = file\npath = %s\n" % part,
        "sqlite": "[provider lite]\ntype = sqlite\npath = %s\nquery = SELECT "
                  "id, region, day, amount FROM sales WHERE id <= %d\n"
                  "key = id\n" % (db, n_sql),
        "postgres": "[provider pg]\ntype = postgres\nquery = SELECT id, "
                    "region, day, amount FROM sales_part\n",
        "http": "[provider api]\ntype = http\nurl = http://127.0.0.1:%d/items?"
                "page={page}&per_page=10&total=%d&delay=100\npagination = "
                "page\nrecords = /items\nmap = region=/region, amount=/price, "
                "id=/id\nconcurrency = 1\n" % (httpd.port, pages * 10),
    }
    out = os.path.join(tmp, "together_out.csv")
    alone = {}
    for name, text in provs.items():
        conf = write_conf(os.path.join(tmp, "alone_%s.conf" % name),
                          GROUP_CONF.format(out=out) + "\n" + text)
        alone[name], _ = timed([AGG, "-q", "-c", conf], a.runs, env=pg.env)
        row("%s alone" % name, "%.3f s" % alone[name])
    conf = write_conf(os.path.join(tmp, "together.conf"),
                      GROUP_CONF.format(out=out) + "\n" +
                      "\n".join(provs.values()))
    together, _ = timed([AGG, "-q", "-c", conf], a.runs, env=pg.env)
    slowest = max(alone.values())
    row("together", "%.3f s" % together)
    row("together / slowest alone <= 1.15",
        "%.2f  %s" % (together / slowest,
                      verdict(6, "four together", together / slowest <= 1.15)))


# --- 7. memory ----------------------------------------------------------------

def case_memory(a, csv, small_csv, tmp):
    say("\n[7] peak memory: %d rows against %d rows" % (a.rows, a.rows // 10))
    peaks = {}
    for label, path in (("big", csv), ("small", small_csv)):
        out = os.path.join(tmp, "mem_%s.csv" % label)
        conf = write_conf(os.path.join(tmp, "mem_%s.conf" % label),
                          GROUP_CONF.format(out=out) +
                          "\n[provider sales]\ntype = file\npath = %s\n" % path)
        _, peaks[label] = timed([AGG, "-q", "-c", conf], a.runs, warmup=0)
    row("peak RSS, %d rows" % a.rows, "%.1f MiB" % peaks["big"])
    row("peak RSS, %d rows" % (a.rows // 10), "%.1f MiB" % peaks["small"])
    r = peaks["big"] / peaks["small"]
    row("ratio <= 1.2", "%.2f  %s" % (r, verdict(7, "memory", r <= 1.2)))


# --- 8. start-up -------------------------------------------------------------

def case_startup(a, tmp):
    say("\n[8] start-up: four tiny providers")
    text = GROUP_CONF.format(out=os.path.join(tmp, "tiny_out.csv"))
    for i in range(4):
        path = os.path.join(tmp, "tiny%d.csv" % i)
        with open(path, "w") as f:
            f.write("id,region,day,amount\n")
            for k in range(10):
                f.write("%d,r%03d,2025-01-01,%d.50\n" % (k, k % 3, k))
        text += "\n[provider tiny%d]\ntype = file\npath = %s\n" % (i, path)
    conf = write_conf(os.path.join(tmp, "tiny.conf"), text)
    wall, _ = timed([AGG, "-q", "-c", conf], max(a.runs, 11))
    row("wall", "%.1f ms" % (wall * 1000))
    row("< 50 ms", verdict(8, "start-up", wall < 0.050))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true",
                    help="1 M rows instead of 10 M, fewer pages")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="1,2,3,4,5,6,7,8")
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    a = ap.parse_args()
    a.rows = 1_000_000 if a.quick else 10_000_000
    a.pages = 20 if a.quick else 100
    # The slow peers run fewer times at full scale.
    a.peer_runs = a.runs if a.quick else min(a.runs, 3)
    only = set(int(x) for x in a.only.split(","))
    os.makedirs(a.data, exist_ok=True)

    say("aggregate bench: %s rows, %d runs per figure (medians), %d cpus"
        % ("{:,}".format(a.rows), a.runs, os.cpu_count()))
    tmp = tempfile.mkdtemp(prefix="aggregate-bench.")
    pg = httpd = None
    rates = {}
    try:
        if only & {2, 6, 7}:
            csv = gen("csv", a.rows, os.path.join(a.data, "sales_%d.csv" % a.rows))
            small = gen("csv", a.rows // 10,
                        os.path.join(a.data, "sales_%d.csv" % (a.rows // 10)))
        if only & {3, 6}:
            db = gen("sqlite", a.rows, os.path.join(a.data, "sales_%d.db" % a.rows))
        if only & {4, 6}:
            say("  starting PostgreSQL and loading %d rows..." % a.rows)
            pg = Postgres(tmp)
            load_postgres(a, pg)
        if only & {5, 6}:
            httpd = Httpd()
        if 1 in only:
            case_ring(a)
        if only & {2, 6}:
            rates["csv"] = a.rows / case_csv(a, csv, tmp)
        if only & {3, 6}:
            rates["sqlite"] = a.rows / case_sqlite(a, db, tmp)
        if only & {4, 6}:
            rates["postgres"] = a.rows / case_postgres(a, pg, tmp)
        if 5 in only:
            case_http(a, httpd, tmp)
        if 6 in only:
            case_together(a, csv, db, pg, httpd, tmp, rates)
        if 7 in only:
            case_memory(a, csv, small, tmp)
        if 8 in only:
            case_startup(a, tmp)
    finally:
        if httpd:
            httpd.stop()
        if pg:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    say("\nsummary")
    for case, what, v in results:
        say("  [%d] %-28s %s" % (case, what, v))
    misses = sum(1 for r in results if r[2] == "MISS")
    say("%d targets, %d met, %d missed" % (len(results), len(results) - misses,
                                           misses))


if __name__ == "__main__":
    main()
