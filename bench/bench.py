#!/usr/bin/env python3
"""bench.py - aggregate against its peers and its own targets (issue #6).

Run through bench/run.sh (which installs the peers and builds first):

    bench.py [--quick] [--runs N] [--only CASE,...] [--data DIR]

Every figure is the median of N runs (default 5) of a whole process, timed
from outside (time.monotonic around fork/exec/wait); peak memory is the
largest resident set among the processes a run waited for (getrusage of
the children, as /usr/bin/time -v reports it).  Each case prints our time,
the peer's, the ratio, and PASS or MISS against the target.

DuckDB (issue #18) is a peer where bench/run.sh could install it (the npm
package @duckdb/node-api, into build/bench/node_modules): bench/duckdb.mjs
runs one query with SET threads = the cpu count and writes its result to a
CSV file sorted by the group key, as ours does.  Its runs alternate with
ours (ours, DuckDB, ours, ...; medians of each), its results are compared
with ours as values, and each ratio is printed with its target.  Where it
could not be installed, its rows print "skipped:" and why (run.sh passes
the reason in BENCH_DUCKDB_SKIP), and the rest runs as before.

Data is generated deterministically (bench/gen.py) into DIR (default
bench/data, which git ignores) and reused by later runs.
"""
import argparse
import csv as csvmod
import decimal
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
# Runs each measured command and writes its peak RSS (bench/peakrun.c).
PEAKRUN = os.path.join(ROOT, "build", "bench", "peakrun")
NODE_MODULES = os.path.join(ROOT, "build", "bench", "node_modules")
DUCKDB_JS = os.path.join(HERE, "duckdb.mjs")

results = []  # (case, what, verdict)


def say(*a):
    print(*a, flush=True)


def run_once(cmd, env=None, stdout=subprocess.DEVNULL, shell=False,
             capture=None, cpu=None):
    """Run cmd to its end; (wall seconds, peak RSS in MiB: of cmd and every
    process it waited for, through bench/peakrun).  With capture (a
    list), its stdout (a line or two: read after its end) is appended; with
    cpu (a list), its CPU seconds, user and system, with every process it
    waited for (the providers and the aggregator)."""
    if capture is not None:
        stdout = tempfile.TemporaryFile()
    # The peak through peakrun: a child forked from this process would
    # carry this process's own high-water mark (see bench/peakrun.c).
    peak = tempfile.NamedTemporaryFile(prefix="peak.", delete=False)
    peak.close()
    run = [PEAKRUN, peak.name] + (["sh", "-c", cmd] if shell else list(cmd))
    t0 = time.monotonic()
    # wait4()'s usage is the child's own: its children's (the providers',
    # the aggregator's) come with RUSAGE_CHILDREN once it is reaped.
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(run, stdout=stdout, stderr=subprocess.PIPE,
                         env=env, start_new_session=True)
    _, status, _ = os.wait4(p.pid, 0)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.monotonic() - t0
    with open(peak.name) as f:
        maxrss = int(f.read().strip() or 0)
    os.unlink(peak.name)
    if capture is not None:
        stdout.seek(0)
        capture.append(stdout.read().decode(errors="replace"))
        stdout.close()
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if cpu is not None:
        cpu.append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
    if p.returncode != 0:
        raise SystemExit("bench: command failed (%d): %s\n%s" %
                         (p.returncode, cmd, err[-2000:]))
    return wall, maxrss / 1024.0


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


def timed_alternating(cmds, runs, warmup=1, cpus=None):
    """The commands run in turn, runs rounds (after warm-up rounds), so that
    a change of the machine's load falls on all of them alike.  Per command:
    (median wall seconds, median peak MiB, its stdouts); with cpus (a list),
    each command's median CPU seconds are appended to it."""
    for _ in range(warmup):
        for cmd in cmds:
            run_once(cmd)
    walls = [[] for _ in cmds]
    peaks = [[] for _ in cmds]
    outs = [[] for _ in cmds]
    cpu = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            w, m = run_once(cmd, capture=outs[i], cpu=cpu[i])
            walls[i].append(w)
            peaks[i].append(m)
    if cpus is not None:
        cpus.extend(statistics.median(c) for c in cpu)
    return [(statistics.median(w), statistics.median(m), o)
            for w, m, o in zip(walls, peaks, outs)]


def timed_cpu(cmds, runs, env=None, warmup=1, extra=None):
    """The commands run in turn, runs rounds (after warm-up rounds), as
    timed_alternating; per command (median wall seconds, median CPU
    seconds of all its processes, plus what extra() - cumulative CPU
    seconds of a server it uses - grew by during the run)."""
    for _ in range(warmup):
        for cmd in cmds:
            run_once(cmd, env=env)
    walls = [[] for _ in cmds]
    cpus = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            before = extra() if extra else 0.0
            w, _ = run_once(cmd, env=env, cpu=cpus[i])
            if extra:
                cpus[i][-1] += extra() - before
            walls[i].append(w)
    return [(statistics.median(w), statistics.median(c))
            for w, c in zip(walls, cpus)]


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


class DuckDB:
    """The DuckDB peer: bench/duckdb.mjs under node, or why it cannot run."""

    def __init__(self, tmp):
        self.threads = os.cpu_count() or 1
        self.skip = os.environ.get("BENCH_DUCKDB_SKIP") or self.probe(tmp)

    def probe(self, tmp):
        if not shutil.which("node"):
            return "node not found (bench/run.sh installs it as root)"
        if not os.path.isdir(os.path.join(NODE_MODULES, "@duckdb", "node-api")):
            return ("@duckdb/node-api not in %s (bench/run.sh installs it)"
                    % NODE_MODULES)
        r = subprocess.run(["node", "--check", DUCKDB_JS],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return "node --check bench/duckdb.mjs: " + r.stderr.strip()[-300:]
        r = subprocess.run(self.cmd("SELECT 1 AS one",
                                    os.path.join(tmp, "duckdb_probe.csv")),
                           capture_output=True, text=True)
        if r.returncode != 0:
            return "DuckDB does not start: " + r.stderr.strip()[-300:]
        return None

    def cmd(self, sql, out):
        return ["node", DUCKDB_JS, NODE_MODULES, str(self.threads), out, sql]


def sql_str(path):
    return "'" + path.replace("'", "''") + "'"


def read_sums(path):
    """key -> (count, sum as printed) from a CSV of key,count,sum."""
    out = {}
    with open(path, newline="") as f:
        r = csvmod.reader(f)
        next(r)
        for k, c, t in r:
            out[k] = (int(c), t)
    return out


CENTS = decimal.Decimal("0.01")


def compare_sums(ours, theirs):
    """None when both have the same groups with the same counts and the same
    sums at the data's two decimals (each printed sum rounded half-even to
    cents: the exact sum has no more digits); else the first difference."""
    if ours.keys() != theirs.keys():
        only_o = sorted(ours.keys() - theirs.keys())
        only_t = sorted(theirs.keys() - ours.keys())
        return "groups differ: %d only ours %s, %d only DuckDB's %s" % (
            len(only_o), only_o[:3], len(only_t), only_t[:3])
    for k in sorted(ours):
        (c, s), (tc, ts) = ours[k], theirs[k]
        if c != tc:
            return "%s: count %d, DuckDB's %d" % (k, c, tc)
        try:
            a = decimal.Decimal(s).quantize(CENTS, decimal.ROUND_HALF_EVEN)
            b = decimal.Decimal(ts).quantize(CENTS, decimal.ROUND_HALF_EVEN)
        except decimal.InvalidOperation:
            return "%s: sum %r or DuckDB's %r is not a number" % (k, s, ts)
        if a != b:
            return "%s: sum %s, DuckDB's %s" % (k, s, ts)
    return None


def versus_duckdb(case, what, a, duck, conf, ours_out, sql, tmp, target):
    """Ours and DuckDB's, alternated; their values compared; the ratio with
    its target (None: reported only).  DuckDB's rows print "skipped: why"
    when it cannot run."""
    label = "ours/DuckDB <= %.1f" % target if target else "ours/DuckDB"
    if duck.skip:
        row("DuckDB", "skipped: " + duck.skip)
        return
    dout = os.path.join(tmp, "duckdb_%d.csv" % case)
    ((ours, ours_mem, _), (dd, dd_mem, dd_outs)) = timed_alternating(
        [[AGG, "-q", "-c", conf], duck.cmd(sql, dout)], a.runs)
    qs = [float(o.split("=", 1)[1]) for o in dd_outs if o.startswith("query_s=")]
    q = statistics.median(qs) if qs else float("nan")
    row("aggregate (alternated with DuckDB)",
        "%.3f s  peak %.0f MiB" % (ours, ours_mem))
    row("DuckDB %d threads, node process" % duck.threads,
        "%.3f s  peak %.0f MiB" % (dd, dd_mem))
    row("DuckDB's query alone (its own clock)", "%.3f s" % q)
    row("ours/DuckDB's query alone (reported)", "%.2f" % (ours / q))
    row("peak RSS ours/DuckDB's (reported)", "%.2f" % (ours_mem / dd_mem))
    r = ours / dd
    if target:
        row(label, "%.2f  %s" % (r, verdict(case, what + " vs DuckDB",
                                            r <= target)))
    else:
        row(label, "%.2f  (reported, no target)" % r)
    why = compare_sums(read_sums(ours_out), read_sums(dout))
    row("values = DuckDB's",
        "%s  %s" % (verdict(case, what + " values = DuckDB", why is None),
                    why or "same groups, counts, sums"))


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

def case_csv(a, csv, tmp, duck):
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
    # Values: mawk in full precision.  Ours are exact sums (correctly
    # rounded) and mawk's add doubles in turn, so they agree to the
    # tolerance, not to the last digit.
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
    row("values = mawk, mlr, datamash",
        "%s %s %s  %s" % (same_values(mine, mv, False), same_values(mine, lv, False),
                          same_values(mine, dv, False),
                          verdict(2, "csv values", same_values(mine, mv, False) and
                                  same_values(mine, lv, False) and
                                  same_values(mine, dv, False))))
    versus_duckdb(2, "csv", a, duck, conf, out,
                  "SELECT region, count(*) AS n, sum(amount) AS total FROM "
                  "read_csv(%s) GROUP BY region ORDER BY region" % sql_str(csv),
                  tmp, None)
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

    def cpu(self):
        """CPU seconds of the server so far: the postmaster, the backends
        it reaped, and its children now (a backend that has just exited
        may not be reaped yet: read again until the postmaster's own count
        holds still)."""
        def stat(pid):
            with open("/proc/%d/stat" % pid) as f:
                st = f.read().rsplit(")", 1)[1].split()
            # utime, stime, cutime, cstime: fields 14-17 of proc(5).
            return sum(int(x) for x in st[11:15])

        try:
            with open(os.path.join(self.dir, "cluster", "data",
                                   "postmaster.pid")) as f:
                pid = int(f.readline())
            for _ in range(100):
                own = stat(pid)
                with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                    kids = [int(k) for k in f.read().split()]
                total = own
                for k in kids:
                    try:
                        total += stat(k)
                    except OSError:
                        pass
                if stat(pid) == own:
                    break
        except (OSError, ValueError):
            return 0.0
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self):
        subprocess.call(["sh", os.path.join(ROOT, "scripts", "pg-test.sh"),
                         "stop", self.dir])


def case_postgres(a, pg, tmp):
    say("\n[4] PostgreSQL table -> group by region (%d rows)" % a.rows)
    out = os.path.join(tmp, "pg_out.csv")
    pull_out = os.path.join(tmp, "pg_pull_out.csv")
    conf = write_conf(os.path.join(tmp, "pg.conf"),
                      GROUP_CONF.format(out=pull_out) +
                      "\n[provider sales]\ntype = postgres\npushdown = false\n"
                      "query = SELECT id, region, day, amount FROM sales\n")
    ours, _ = timed([AGG, "-q", "-c", conf], a.runs, env=pg.env)
    copy = ("psql -X -q -c \"COPY (SELECT id, region, day, amount FROM sales) "
            "TO STDOUT\" > /dev/null")
    peer, _ = timed(copy, a.runs, env=pg.env, shell=True)
    row("aggregate, pushdown = false", "%.3f s  %.2f M rows/s" %
        (ours, a.rows / ours / 1e6))
    row("psql COPY TO STDOUT > /dev/null",
        "%.3f s  %.2f M rows/s" % (peer, a.rows / peer / 1e6))
    row("rows/s ours/psql >= 0.8",
        "%.3f  %s" % (peer / ours, verdict(4, "postgres vs psql COPY",
                                           peer / ours >= 0.8)))
    # The GROUP BY sent to the server (pushdown, the default) against the
    # server's own GROUP BY over the same rows through psql, alternated.
    push_conf = write_conf(os.path.join(tmp, "pg_push.conf"),
                           GROUP_CONF.format(out=out) +
                           "\n[provider sales]\ntype = postgres\n"
                           "query = SELECT id, region, day, amount FROM sales\n")
    pgvars = ["%s=%s" % (k, pg.env[k]) for k in
              ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE") if k in pg.env]
    (push, _, _), (group, _, _) = timed_alternating([
        ["env"] + pgvars + [AGG, "-q", "-c", push_conf],
        ["env"] + pgvars + ["psql", "-X", "-q", "-o", "/dev/null", "-c",
                            "SELECT region, count(*), sum(amount) FROM sales "
                            "GROUP BY region"]], a.runs)
    row("aggregate, pushdown (GROUP BY in the server)",
        "%.3f s" % push)
    row("psql SELECT ... GROUP BY region", "%.3f s" % group)
    row("ours/psql GROUP BY <= 1.3",
        "%.2f  %s" % (push / group, verdict(4, "postgres pushdown vs psql "
                                            "GROUP BY", push / group <= 1.3)))
    with open(out) as f1, open(pull_out) as f2:
        same = f1.read() == f2.read()
    row("pushdown output = pulled output",
        verdict(4, "pushdown = pull, byte for byte", same))
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
    """The latency floor: the pages and the empty one after them, fetched
    in rounds of `concurrency` requests of 300 ms each."""
    pages = a.pages
    say("\n[5] HTTP: %d pages, 300 ms latency each" % pages)
    concs = (64, 128)
    confs = [http_conf(tmp, "http%d" % c, httpd.port, pages, 300, c)
             for c in concs]
    c1 = http_conf(tmp, "http1", httpd.port, pages, 300, 1)
    # The peer: curl's own tool fetching the same pages (and the empty one
    # after them) with as many transfers in flight, nothing else done with
    # them: what libcurl, this server and this machine give.
    urls = ("http://127.0.0.1:%d/items?page=[1-%d]&per_page=10&total=%d"
            "&delay=300" % (httpd.port, pages + 1, pages * 10))
    cmds = []
    for c, conf in zip(concs, confs):
        cmds.append([AGG, "-q", "-c", conf])
        cmds.append(["curl", "-s", "--parallel", "--parallel-immediate",
                     "--parallel-max", str(c), urls])
    got = timed_cpu(cmds, a.runs)
    slow, _ = timed([AGG, "-q", "-c", c1], 1, warmup=0)
    for k, c in enumerate(concs):
        (wall, cpu), (peer, pcpu) = got[2 * k], got[2 * k + 1]
        floor = 0.3 * -(-(pages + 1) // c)
        row("concurrency %d: floor, time (CPU)" % c,
            "%.2f s, %.3f s (%.3f s)" % (floor, wall, cpu))
        row("concurrency %d: curl --parallel (CPU)" % c,
            "%.3f s (%.3f s): ours / curl %.2f" % (peer, pcpu, wall / peer))
        row("concurrency %d: time / floor <= 1.15" % c,
            "%.2f  %s" % (wall / floor,
                          verdict(5, "http concurrency %d" % c,
                                  wall <= 1.15 * floor)))
    row("concurrency 1", "%.3f s" % slow)
    row("ratio (1 / 64)", "%.1fx" % (slow / got[0][0]))


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
        "postgres": "[provider pg]\ntype = postgres\npushdown = false\n"
                    "query = SELECT id, "
                    "region, day, amount FROM sales_part\n",
        "http": "[provider api]\ntype = http\nurl = http://127.0.0.1:%d/items?"
                "page={page}&per_page=10&total=%d&delay=100\npagination = "
                "page\nrecords = /items\nmap = region=/region, amount=/price, "
                "id=/id\nconcurrency = 1\n" % (httpd.port, pages * 10),
    }
    out = os.path.join(tmp, "together_out.csv")
    cmds = []
    for name, text in provs.items():
        conf = write_conf(os.path.join(tmp, "alone_%s.conf" % name),
                          GROUP_CONF.format(out=out) + "\n" + text)
        cmds.append([AGG, "-q", "-c", conf])
    conf = write_conf(os.path.join(tmp, "together.conf"),
                      GROUP_CONF.format(out=out) + "\n" +
                      "\n".join(provs.values()))
    cmds.append([AGG, "-q", "-c", conf])
    # Alternated: a change of the machine's load falls on all alike.  CPU:
    # all of our processes, and the PostgreSQL server's for its query.
    got = timed_cpu(cmds, a.runs, env=pg.env, extra=pg.cpu)
    for name, (wall, cpu) in zip(provs, got):
        row("%s alone: wall (CPU)" % name, "%.3f s (%.3f s)" % (wall, cpu))
    together, tcpu = got[-1]
    slowest = max(w for w, _ in got[:-1])
    cores = os.cpu_count() or 1
    work = sum(c for _, c in got[:-1]) / cores
    bound = max(slowest, work)
    row("bound: max(slowest alone, CPU / %d cores)" % cores,
        "max(%.3f, %.3f) = %.3f s" % (slowest, work, bound))
    row("together: wall (CPU)", "%.3f s (%.3f s)" % (together, tcpu))
    row("together / bound <= 1.15",
        "%.2f  %s" % (together / bound,
                      verdict(6, "four together", together / bound <= 1.15)))


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


# --- 9, 10. JSON Lines and a JSON array, against DuckDB -----------------------

def case_json(a, case, path, duck, tmp):
    array = case == 10
    say("\n[%d] %s file -> group by region, count and sum (%d rows, %.0f MB)"
        % (case, "JSON array" if array else "JSON Lines", a.json_rows,
           os.path.getsize(path) / 1e6))
    name = "json" if array else "jsonl"
    out = os.path.join(tmp, name + "_out.csv")
    conf = write_conf(os.path.join(tmp, name + ".conf"),
                      GROUP_CONF.format(out=out) +
                      "\n[provider sales]\ntype = file\npath = %s\n" % path +
                      ("format = json\n" if array else ""))
    fmt = "array" if array else "newline_delimited"
    # JSON Lines: the target of issue 18; a JSON array: reported.
    versus_duckdb(case, name, a, duck, conf, out,
                  "SELECT region, count(*) AS n, sum(amount) AS total FROM "
                  "read_json(%s, format = '%s') GROUP BY region ORDER BY region"
                  % (sql_str(path), fmt), tmp, None if array else 0.5)


# --- 13. JSON Lines of the CSV's rows, against the CSV ----------------------

def case_jsonl_csv(a, csv, jsonl, small_jsonl, tmp):
    say("\n[13] the same %d rows as JSON Lines (%.0f MB) and as CSV (%.0f MB): "
        "group by region, alternated" % (a.rows, os.path.getsize(jsonl) / 1e6,
                                          os.path.getsize(csv) / 1e6))
    confs, outs = [], []
    for name, path in (("c13_csv", csv), ("c13_jsonl", jsonl)):
        out = os.path.join(tmp, name + "_out.csv")
        outs.append(out)
        confs.append(write_conf(os.path.join(tmp, name + ".conf"),
                                GROUP_CONF.format(out=out) +
                                "\n[provider sales]\ntype = file\npath = %s\n"
                                % path))
    (c, _, _), (j, j_peak, _) = timed_alternating(
        [[AGG, "-q", "-c", confs[0]], [AGG, "-q", "-c", confs[1]]], a.runs)
    row("CSV", "%.3f s" % c)
    row("JSON Lines", "%.3f s  peak %.1f MiB" % (j, j_peak))
    row("JSON Lines / CSV <= 2",
        "%.2f  %s" % (j / c, verdict(13, "jsonl vs csv", j / c <= 2)))
    same = open(outs[0]).read() == open(outs[1]).read()
    row("same output", "%s  %s" % (same, verdict(13, "jsonl = csv output", same)))
    # Peak memory flat in the input for JSON too: 10 M against 1 M rows.
    sconf = write_conf(os.path.join(tmp, "c13_small.conf"),
                       GROUP_CONF.format(out=os.path.join(tmp, "c13s.csv")) +
                       "\n[provider sales]\ntype = file\npath = %s\n"
                       % small_jsonl)
    _, small_peak = timed([AGG, "-q", "-c", sconf], a.runs, warmup=0)
    rm = j_peak / small_peak
    row("peak RSS JSON Lines, %d vs %d rows <= 1.2" % (a.rows, a.rows // 10),
        "%.2f  %s" % (rm, verdict(13, "jsonl memory", rm <= 1.2)))


# --- 11. many groups, against DuckDB --------------------------------------------

def case_many(a, path, duck, tmp):
    say("\n[11] many groups: %d rows, %d distinct text keys (%.0f MB CSV) -> "
        "count and sum, sorted by key to CSV"
        % (a.many_rows, a.many_rows // 5, os.path.getsize(path) / 1e6))
    out = os.path.join(tmp, "many_out.csv")
    conf = write_conf(os.path.join(tmp, "many.conf"), """[aggregate]
output     = {out}
fields     = key:text, amount:float
group_by   = key
aggregates = count(*) as n, sum(amount) as total

[provider many]
type = file
path = {path}
""".format(out=out, path=path))
    versus_duckdb(11, "many groups", a, duck, conf, out,
                  "SELECT key, count(*) AS n, sum(amount) AS total FROM "
                  "read_csv(%s) GROUP BY key ORDER BY key" % sql_str(path),
                  tmp, 0.7)


# --- 12. the cost of expressions ---------------------------------------------

EXPR_FIELDS = "fields     = id:int, region:text, day:timestamp, amount:float\n"


def case_expr(a, csv, tmp, csv_time):
    """A where and a date_trunc group key against the same group-by without
    expressions, the same fields (day read as a timestamp in both),
    alternated; the target is on that ratio.  Against case 2's config
    (day as text) when it ran: the figure alone."""
    say("\n[12] where + date_trunc key: where amount > 100, group by "
        "date_trunc('day', day), against group by region (%d rows)" % a.rows)
    outs = [os.path.join(tmp, "expr_%s.csv" % k) for k in ("plain", "expr")]
    plain = write_conf(os.path.join(tmp, "expr_plain.conf"),
                       "[aggregate]\noutput     = %s\n" % outs[0] +
                       EXPR_FIELDS +
                       "group_by   = region\n"
                       "aggregates = count(*) as n, sum(amount) as total\n"
                       "\n[provider sales]\ntype = file\npath = %s\n" % csv)
    expr = write_conf(os.path.join(tmp, "expr_expr.conf"),
                      "[aggregate]\noutput     = %s\n" % outs[1] +
                      EXPR_FIELDS +
                      "where      = amount > 100\n"
                      "group_by   = date_trunc('day', day) as d\n"
                      "aggregates = count(*) as n, sum(amount) as total\n"
                      "\n[provider sales]\ntype = file\npath = %s\n" % csv)
    runs = min(a.runs, 3) if a.quick else a.runs
    cpus = []
    (tp, _, _), (te, _, _) = timed_alternating(
        [[AGG, "-q", "-c", plain], [AGG, "-q", "-c", expr]], runs, cpus=cpus)
    # The records the where keeps, counted by mawk, are the groups' sum.
    want = int(subprocess.check_output(
        ["mawk", "-F,", "NR > 1 && $4 + 0 > 100 {n++} END {print n + 0}",
         csv], text=True))
    with open(outs[1]) as f:
        got = sum(int(r["n"]) for r in csvmod.DictReader(f))
    row("group by region", "%.3f s (CPU %.3f s)" % (tp, cpus[0]))
    row("where + date_trunc key", "%.3f s (CPU %.3f s)" % (te, cpus[1]))
    r = te / tp
    row("ratio <= 1.3", "%.2f  %s" % (r, verdict(12, "where + date_trunc", r <= 1.3)))
    # The machine may be loaded: the CPU of every process, the same ratio.
    row("CPU ratio", "%.2f" % (cpus[1] / cpus[0]))
    if csv_time:
        row("against case 2 (day as text)", "%.2f" % (te / csv_time))
    row("records kept = mawk's count",
        "%d %s  %s" % (got, "=" if got == want else "!= %d" % want,
                       verdict(12, "where + date_trunc values", got == want)))


# --- 14. one big file read in parallel ----------------------------------------

def cpu_by_process(cmd):
    """Run cmd, watching its processes in /proc every 5 ms; CPU seconds
    per process title (the last figure seen of each pid: what a process
    spends in its last few ms is missed), and the wall seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    seen = {}
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    while p.poll() is None:
        todo, tree = [str(p.pid)], []
        while todo:  # the supervisor and its descendants
            pid = todo.pop()
            tree.append(pid)
            try:
                with open("/proc/%s/task/%s/children" % (pid, pid)) as f:
                    todo += f.read().split()
            except OSError:
                pass
        for pid in tree:
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    title = f.read().split(b"\0")[0].decode(errors="replace")
                with open("/proc/%s/stat" % pid) as f:
                    st = f.read().rsplit(")", 1)[1].split()
                if title.startswith("aggregate:"):
                    seen[pid] = (title, (int(st[11]) + int(st[12])) / tick)
            except (OSError, IndexError, ValueError):
                pass
        time.sleep(0.005)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit("bench: command failed (%d): %s" % (p.returncode, cmd))
    cpu = {}
    for title, secs in seen.values():
        cpu[title] = cpu.get(title, 0) + secs
    return cpu, wall


def case_parallel(a, csv, small_csv, tmp):
    cores = os.cpu_count() or 1
    ns = list(range(1, max(cores, 2) + 1))
    say("\n[14] one big file read in parallel: parallel = 1..%d on the %d-row "
        "CSV (%.0f MB), group by region, alternated"
        % (ns[-1], a.rows, os.path.getsize(csv) / 1e6))
    confs, outs = [], []
    for n in ns:
        out = os.path.join(tmp, "par%d_out.csv" % n)
        outs.append(out)
        confs.append(write_conf(os.path.join(tmp, "par%d.conf" % n),
                                GROUP_CONF.format(out=out) +
                                "\n[provider sales]\ntype = file\npath = %s\n"
                                "parallel = %d\n" % (csv, n)))
    res = timed_alternating([[AGG, "-q", "-c", c] for c in confs], a.runs)
    one = res[0][0]
    for n, (w, m, _) in zip(ns, res):
        row("parallel = %d" % n, "%.3f s  %.2fx  peak %.1f MiB"
            % (w, w / one, m))
    r2 = res[1][0] / one
    row("2 readers / 1 <= 0.7",
        "%.2f  %s" % (r2, verdict(14, "parallel 2 vs 1", r2 <= 0.7)))
    same = all(open(o).read() == open(outs[0]).read() for o in outs[1:])
    row("same output for every N",
        "%s  %s" % (same, verdict(14, "parallel = 1 output", same)))
    # Peak memory flat in the input: 10 M against 1 M rows, 2 readers.
    sconf = write_conf(os.path.join(tmp, "par_small.conf"),
                       GROUP_CONF.format(out=os.path.join(tmp, "ps.csv")) +
                       "\n[provider sales]\ntype = file\npath = %s\n"
                       "parallel = 2\n" % small_csv)
    _, small_peak = timed([AGG, "-q", "-c", sconf], a.runs, warmup=0)
    rm = res[1][1] / small_peak
    row("peak RSS 2 readers, %d vs %d rows <= 1.2" % (a.rows, a.rows // 10),
        "%.2f  %s" % (rm, verdict(14, "parallel memory", rm <= 1.2)))
    # Where the time goes: CPU seconds per process, one run of each.
    for n, conf in zip(ns[:2], confs[:2]):
        cpu, wall = cpu_by_process([AGG, "-q", "-c", conf])
        parts = ", ".join("%s %.2f" % (t.replace("aggregate: ", ""), c)
                          for t, c in sorted(cpu.items()))
        row("CPU s, parallel = %d (wall %.2f)" % (n, wall), parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true",
                    help="1 M rows instead of 10 M, fewer pages")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="1,2,3,4,5,6,7,8,9,10,11,12,13,14")
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    a = ap.parse_args()
    a.rows = 1_000_000 if a.quick else 10_000_000
    a.pages = 20 if a.quick else 100
    # JSON: 2 M rows (issue 18's case), fewer with --quick; many groups:
    # 5 M rows of 1 M keys, 1 M rows of 200 000 keys with --quick.
    a.json_rows = min(a.rows, 2_000_000)
    a.many_rows = a.rows // 2 if not a.quick else a.rows
    # The slow peers run fewer times at full scale.
    a.peer_runs = a.runs if a.quick else min(a.runs, 3)
    only = set(int(x) for x in a.only.split(","))
    os.makedirs(a.data, exist_ok=True)

    say("aggregate bench: %s rows, %d runs per figure (medians), %d cpus"
        % ("{:,}".format(a.rows), a.runs, os.cpu_count()))
    tmp = tempfile.mkdtemp(prefix="aggregate-bench.")
    pg = httpd = duck = None
    rates = {}
    try:
        if only & {2, 6, 7, 12, 13, 14}:
            csv = gen("csv", a.rows, os.path.join(a.data, "sales_%d.csv" % a.rows))
            small = gen("csv", a.rows // 10,
                        os.path.join(a.data, "sales_%d.csv" % (a.rows // 10)))
        if only & {3, 6}:
            db = gen("sqlite", a.rows, os.path.join(a.data, "sales_%d.db" % a.rows))
        if only & {4, 6}:
            say("  starting PostgreSQL and loading %d rows..." % a.rows)
            pg = Postgres(tmp)
            load_postgres(a, pg)
        if only & {9, 10}:
            jsonl = gen("jsonl", a.json_rows,
                        os.path.join(a.data, "sales_%d.jsonl" % a.json_rows))
            jarr = gen("json", a.json_rows,
                       os.path.join(a.data, "sales_%d.json" % a.json_rows))
        if 13 in only:
            jsonl_all = gen("jsonl", a.rows,
                            os.path.join(a.data, "sales_%d.jsonl" % a.rows))
            jsonl_small = gen("jsonl", a.rows // 10,
                              os.path.join(a.data, "sales_%d.jsonl"
                                           % (a.rows // 10)))
        if 11 in only:
            many = gen("many", a.many_rows,
                       os.path.join(a.data, "many_%d.csv" % a.many_rows))
        if only & {5, 6}:
            httpd = Httpd()
        duck = DuckDB(tmp)
        if 1 in only:
            case_ring(a)
        if only & {2, 6}:
            rates["csv"] = a.rows / case_csv(a, csv, tmp, duck)
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
        if 9 in only:
            case_json(a, 9, jsonl, duck, tmp)
        if 10 in only:
            case_json(a, 10, jarr, duck, tmp)
        if 11 in only:
            case_many(a, many, duck, tmp)
        if 12 in only:
            case_expr(a, csv, tmp, a.rows / rates["csv"] if "csv" in rates
                      else None)
        if 13 in only:
            case_jsonl_csv(a, csv, jsonl_all, jsonl_small, tmp)
        if 14 in only:
            case_parallel(a, csv, small, tmp)
    finally:
        if httpd:
            httpd.stop()
        if pg:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    say("\nsummary")
    for case, what, v in results:
        say("  [%d] %-28s %s" % (case, what, v))
    if duck and duck.skip and only & {2, 9, 10, 11}:
        say("  DuckDB rows skipped: %s" % duck.skip)
    misses = sum(1 for r in results if r[2] == "MISS")
    say("%d targets, %d met, %d missed" % (len(results), len(results) - misses,
                                           misses))


if __name__ == "__main__":
    main()
