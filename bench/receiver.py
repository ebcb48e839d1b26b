"""A keep-alive webhook receiver for the benchmarks: asyncio, HTTP/1.1, counts what it gets.

Runs as its own process (its CPU is not the system's under test). Every POST is answered
204 at once; every ``--verify-every``-th body has its Standard Webhooks signature checked
(``standardwebhooks``), and a failure is counted. ``GET /count`` answers
``{"count": N, "bad": B, "last": monotonic seconds}``. Asserts nothing.

    python bench/receiver.py --port 8080 --secret whsec_... [--verify-every 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from standardwebhooks import Webhook


class Counts:
    def __init__(self, secret: str, verify_every: int) -> None:
        self.count = 0
        self.bad = 0
        self.last = 0.0
        self.verify_every = verify_every
        self.webhook = Webhook(secret) if secret else None


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, c: Counts) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method = lines[0].split(" ", 1)[0]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if method == "GET":
                out = json.dumps({"count": c.count, "bad": c.bad, "last": c.last}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(out), out)
                )
            else:
                c.count += 1
                c.last = time.monotonic()
                if c.webhook is not None and c.count % c.verify_every == 0:
                    try:
                        c.webhook.verify(body, headers)
                    except Exception:  # a bad signature is counted, never raised
                        c.bad += 1
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", default="")
    parser.add_argument("--verify-every", type=int, default=50)
    args = parser.parse_args()
    counts = Counts(args.secret, args.verify_every)
    server = await asyncio.start_server(
        lambda r, w: serve(r, w, counts), "127.0.0.1", args.port, backlog=1024
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
