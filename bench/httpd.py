#!/usr/bin/env python3
"""httpd.py - the bench's HTTP server: pages of JSON records after a delay.

    python3 bench/httpd.py      prints its port, serves until stdin closes

GET /items?page=N&per_page=K&total=T&delay=MS answers, after MS
milliseconds, {"page": N, "items": [...]} with the records of page N of a
data set of T records (id, region, price: those of tests/fixtures/httpd.py,
which the test suite uses).  Built on asyncio so that 64 requests waiting
at once cost one event loop, not 64 threads: what the bench times is the
latency it asks for and the client, not this server's own overhead (the
threaded test fixture adds tens of milliseconds per round of 64 requests).
HTTP/1.1 with keep-alive, Content-Length, nothing else.
"""
import asyncio
import json
import sys
import threading
import os
from urllib.parse import parse_qs, urlsplit

REGIONS = ["north", "south", "east", "west"]


def page_body(page, per, total):
    start = (page - 1) * per
    items = [{"id": i, "region": REGIONS[i % 4], "price": i * 1.25}
             for i in range(start + 1, min(total, start + per) + 1)
             if start >= 0]
    return json.dumps({"page": page, "items": items}).encode()


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split(" ")
            url = urlsplit(parts[1] if len(parts) > 1 else "/")
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            delay = int(q.get("delay", "0"))
            if delay:
                await asyncio.sleep(delay / 1000.0)
            if url.path == "/items":
                code, body = "200 OK", page_body(
                    int(q.get("page", "1")), int(q.get("per_page", "10")),
                    int(q.get("total", "95")))
            else:
                code, body = "404 Not Found", b'{"error": "no such endpoint"}'
            writer.write(b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % (code.encode(),
                                                          len(body)) + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def watch_stdin():
    """Exit when the bench that started us closes our stdin."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=256)
    sys.stdout.write("%d\n" % srv.sockets[0].getsockname()[1])
    sys.stdout.flush()
    threading.Thread(target=watch_stdin, daemon=True).start()
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
