#!/usr/bin/env python3
"""gen.py - deterministic bench data: ROWS rows of id, region, day, amount.

    gen.py csv ROWS FILE        CSV with a header line
    gen.py sqlite ROWS FILE     the same rows in a typed SQLite table `sales`
    gen.py copy ROWS            the same rows as PostgreSQL COPY text on stdout
    gen.py jsonl ROWS FILE      the same rows as JSON Lines, one object a line
    gen.py json ROWS FILE       the same rows as one JSON array of objects
    gen.py many ROWS FILE       CSV of key, amount: ROWS rows, ROWS / 5 keys

region is one of 200 values ("r000".."r199"), day a date in 2025, amount a
float with two decimals (a bare number in JSON).  `many` is the many-groups
data: every key ("k" and seven digits) occurs five times, the keys in a
scattered order, the amounts as above.  The same ROWS give the same bytes
every time.
"""
import sys

REGIONS = ["r%03d" % i for i in range(200)]
DAYS = ["2025-%02d-%02d" % (m, d) for m in range(1, 13) for d in range(1, 29)]


def rows(n):
    # A small LCG: fast, deterministic, independent of Python's random.
    x = 12345
    for i in range(1, n + 1):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        h = x >> 33
        yield i, REGIONS[h % 200], DAYS[(h >> 8) % len(DAYS)], \
            "%d.%02d" % ((h >> 16) % 1000, h % 100)


def write_text(n, out, sep, header):
    if header:
        out.write(header)
    buf = []
    for i, r, d, a in rows(n):
        buf.append("%d%s%s%s%s%s%s\n" % (i, sep, r, sep, d, sep, a))
        if len(buf) >= 65536:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))


def write_json(n, out, array):
    # {"id":1,"region":"r000","day":"2025-01-01","amount":12.34}
    fmt = '{"id":%d,"region":"%s","day":"%s","amount":%s}'
    if array:
        out.write("[\n")
    buf = []
    for i, r, d, a in rows(n):
        if array and i < n:
            buf.append((fmt + ",\n") % (i, r, d, a))
        else:
            buf.append((fmt + "\n") % (i, r, d, a))
        if len(buf) >= 65536:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))
    if array:
        out.write("]\n")


def write_many(n, out):
    # n // 5 keys, each five times; key j of row i is (i * P) mod keys, a
    # permutation for P prime to keys, so that the keys arrive scattered.
    keys = max(1, n // 5)
    P = 999983
    out.write("key,amount\n")
    buf = []
    for i, _, _, a in rows(n):
        buf.append("k%07d,%s\n" % ((i * P) % keys, a))
        if len(buf) >= 65536:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))


def main():
    kind, n = sys.argv[1], int(sys.argv[2])
    if kind == "csv":
        with open(sys.argv[3], "w") as f:
            write_text(n, f, ",", "id,region,day,amount\n")
    elif kind in ("jsonl", "json"):
        with open(sys.argv[3], "w") as f:
            write_json(n, f, kind == "json")
    elif kind == "many":
        with open(sys.argv[3], "w") as f:
            write_many(n, f)
    elif kind == "copy":
        write_text(n, sys.stdout, "\t", None)
    elif kind == "sqlite":
        import sqlite3
        db = sqlite3.connect(sys.argv[3])
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("DROP TABLE IF EXISTS sales")
        db.execute("CREATE TABLE sales (id INTEGER PRIMARY KEY, region TEXT "
                   "NOT NULL, day TEXT NOT NULL, amount REAL NOT NULL)")
        db.executemany("INSERT INTO sales VALUES (?, ?, ?, ?)",
                       ((i, r, d, float(a)) for i, r, d, a in rows(n)))
        db.commit()
        db.close()
    else:
        sys.exit("usage: gen.py csv|jsonl|json|many|sqlite|copy ROWS [FILE]")


if __name__ == "__main__":
    main()
