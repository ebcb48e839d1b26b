"""The SMTP door alone: DATA throughput, CPU per message and RSS for 25 MB messages.

First, in this process: the CPU of one ``smtp_DATA`` call, aiosmtpd's own (line by
line) against ours (blocks, trace headers, spool), both fed the same message from an
in-memory stream (no socket, no storage: the reading alone).

Then a child process runs the real SMTP side of the service
(``Service(...).start(worker=False)``: aiosmtpd, the DATA reader, the spool, the local
store with sealing, the SQLite outbox; no delivery worker), or with ``--door-only`` the
server and handler with an accept that stores nothing. This process sends to it over
loopback with asyncio sockets, one new connection per message, ``--sessions`` at a time.
Reported: the child's peak RSS rise while it takes one message of ``--big-mb`` MB (a
base64 attachment), as a multiple of its size, then ``--parallel-big`` such messages at
once; then per message size, accepted messages per second and the child's CPU
milliseconds per message, medians of ``--rounds`` rounds. Prints; asserts nothing.

    python bench/smtp_door.py [--door-only]    # this tree
    PYTHONPATH=/path/to/old/tree python bench/smtp_door.py   # the same bench, older code

The child is this file with ``--child DATA_DIR``; it answers "stats" on stdin with a JSON
line (cpu seconds, current and peak RSS in bytes).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as fh:  # noqa: PTH123  (a /proc file, read once)
        return int(fh.read().split()[1]) * _PAGE


async def _door_only() -> Any:
    """aiosmtpd + our SmtpServer/Handler with an accept that stores nothing: the door alone."""
    from inbound.accept import Accepted
    from inbound.config import Route
    from inbound.smtp.handler import Handler
    from inbound.smtp.server import SmtpServer

    async def accept(arrival: Any, envelope: Any, jobs: Any) -> Accepted:
        return Accepted(id="msg_bench", raw_key="raw/bench.eml", job_ids=())

    route = Route(name="keep", recipients=("*@bench.test",), target=None)
    handler = Handler(routes=(route,), domains=("bench.test",), max_recipients=100, accept=accept)
    server = SmtpServer(
        handler,
        host="127.0.0.1",
        port=0,
        hostname="mx.bench",
        max_message_bytes=64 * 1024 * 1024,
        max_connections_per_ip=10_000,
        max_connections=10_000,
    )
    await server.start()
    return server


async def _child(data_dir: Path, door_only: bool) -> None:
    from inbound.app import Service
    from inbound.config import from_mapping

    settings = from_mapping(
        {
            "server": {
                "listen": "127.0.0.1:0",
                "hostname": "mx.bench",
                "domains": ["bench.test"],
                "max_messages_per_minute_per_ip": 0,
                "max_connections_per_ip": 10_000,
                "max_message_bytes": 64 * 1024 * 1024,
            },
            "storage": {"data_dir": str(data_dir)},
            "routes": [{"name": "keep", "recipients": ["*@bench.test"], "store": True}],
        },
        {},
        {},
    )
    service: Any
    if door_only:
        service = await _door_only()
        port = service.port
    else:
        service = Service(settings)
        await service.start(worker=False)
        assert service.address is not None
        port = service.address[1]
    print(json.dumps({"port": port}), flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.strip() == "quit":
            break
        usage = resource.getrusage(resource.RUSAGE_SELF)
        stats = {
            "cpu": usage.ru_utime + usage.ru_stime,
            "rss": _rss(),
            "peak": usage.ru_maxrss * 1024,
        }
        print(json.dumps(stats), flush=True)
    await (service.stop(1.0) if door_only else service.stop())


class Child:
    def __init__(self, data_dir: Path, door_only: bool) -> None:
        extra = ["--door-only"] if door_only else []
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child", str(data_dir), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = json.loads(self.proc.stdout.readline())["port"]

    def stats(self) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        result: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return result

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait(60)


async def _reply(reader: asyncio.StreamReader) -> bytes:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return line


async def _send_one(port: int, message: bytes, n: int) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    try:
        await _reply(reader)
        for command in (
            b"EHLO client.bench",
            b"MAIL FROM:<sender@client.bench>",
            f"RCPT TO:<user{n}@bench.test>".encode(),
            b"DATA",
        ):
            writer.write(command + b"\r\n")
            await _reply(reader)
        writer.write(message + b".\r\n")
        ok = (await _reply(reader)).startswith(b"250")
        writer.write(b"QUIT\r\n")
        await _reply(reader)
        return ok
    finally:
        writer.close()


async def _round(port: int, message: bytes, count: int, sessions: int) -> tuple[float, int]:
    queue = iter(range(count))
    accepted = 0

    async def worker() -> None:
        nonlocal accepted
        for n in queue:
            ok = await _send_one(port, message, n)  # (not "+= await": that loses updates)
            accepted += ok

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(sessions)))
    return time.perf_counter() - start, accepted


def _message(size: int) -> bytes:
    head = b"From: a@client.bench\r\nTo: b@bench.test\r\nSubject: door bench\r\n"
    line = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    body = line * (max(size - len(head), 0) // len(line) + 1)
    return head + b"\r\n" + body[: max(size - len(head) - 2, 0)].rsplit(b"\r\n", 1)[0] + b"\r\n"


def _big(mb: int) -> bytes:
    payload = base64.encodebytes(os.urandom(mb * 1024 * 1024 * 3 // 4))
    return (
        b"From: a@client.bench\r\nTo: b@bench.test\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n'
        b"\r\nsee attached\r\n--b\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + payload.replace(b"\n", b"\r\n")
        + b"--b--\r\n"
    )


class _Noop:
    """A handler whose DATA hook answers 250 without storing (aiosmtpd's own loop)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def _session(protocol: Any, reader: asyncio.StreamReader, loop: Any) -> None:
    """What connection_made and EHLO/MAIL/RCPT would have set, without a socket."""
    from aiosmtpd.smtp import Envelope, Session

    async def push(status: Any) -> None:
        return None

    protocol._reader = reader
    protocol.transport = object()  # not None: the DATA loop runs while a transport is set
    protocol.push = push
    protocol.session = Session(loop)
    protocol.session.peer = ("127.0.0.1", 2525)
    protocol.session.host_name = "client.bench"
    protocol.session.extended_smtp = True
    protocol.envelope = Envelope()
    protocol.envelope.mail_from = "a@client.bench"
    protocol.envelope.rcpt_tos = ["b@bench.test"]


def _reader_cpu(message: bytes, repeat: int, ours: bool) -> float:
    """CPU microseconds per message for the real smtp_DATA (aiosmtpd's or ours), fed from
    an in-memory StreamReader: reading, unstuffing, collecting the message."""
    from aiosmtpd.smtp import SMTP

    async def run() -> float:
        loop = asyncio.get_running_loop()
        protocol: Any
        if ours:
            from inbound.accept import Accepted
            from inbound.smtp.handler import Handler
            from inbound.smtp.server import _SMTP, EdgeLimits, Tracker

            async def accept(arrival: Any, envelope: Any, jobs: Any) -> Accepted:
                return Accepted(id="msg_bench", raw_key="raw/bench.eml", job_ids=())

            handler = Handler(routes=(), domains=(), max_recipients=100, accept=accept)
            protocol = _SMTP(handler, Tracker(), EdgeLimits(), hostname="mx.bench", loop=loop)
        else:
            protocol = SMTP(_Noop(), hostname="mx.bench", loop=loop)
        start = time.process_time()
        for _ in range(repeat):
            reader = asyncio.StreamReader(limit=256 * 1024)
            reader.feed_data(message + b".\r\n")
            reader.feed_eof()
            _session(protocol, reader, loop)
            await protocol.smtp_DATA(None)
        return (time.process_time() - start) * 1e6 / repeat

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", type=Path)
    parser.add_argument(
        "--door-only",
        action="store_true",
        help="SMTP server and handler with an accept that stores nothing (no disk, no outbox)",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--sizes", default="5,24", help="KB, comma-separated")
    parser.add_argument("--big-mb", type=int, default=25)
    parser.add_argument("--parallel-big", type=int, default=10, help="then this many at once")
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(_child(args.child, args.door_only))
        return
    import aiosmtpd

    import inbound

    print(f"inbound from {Path(inbound.__file__).parent}, aiosmtpd {aiosmtpd.__version__}")
    try:
        # Only trees that read DATA in blocks have this module (the older ones skip this part).
        import inbound.smtp.data

        for kb in (5, 24, 1024):
            message = _message(kb * 1024)
            repeat = 20 if kb > 100 else 300
            theirs = statistics.median(_reader_cpu(message, repeat, False) for _ in range(5))
            ours = statistics.median(_reader_cpu(message, repeat, True) for _ in range(5))
            print(
                f"smtp_DATA {kb:>4} KB: aiosmtpd's (lines) {theirs:7.0f} us, ours (blocks,"
                f" trace headers, spool) {ours:6.0f} us CPU per message: {theirs / ours:.1f}x less"
            )
    except ImportError:
        pass
    with tempfile.TemporaryDirectory() as tmp:
        child = Child(Path(tmp) / "data", args.door_only)
        print("door only (accept stores nothing)" if args.door_only else "SMTP side of the service")
        try:
            # The big message first, in a fresh child (ru_maxrss is a lifetime peak),
            # after a few small ones so first-use allocations are in the baseline.
            asyncio.run(_round(child.port, _message(24 * 1024), 20, 4))
            big = _big(args.big_mb)
            base = child.stats()
            seconds, accepted = asyncio.run(_round(child.port, big, 1, 1))
            after = child.stats()
            rise = max(after["peak"] - base["rss"], 0)
            print(
                f"{len(big) / 1e6:.1f} MB message: accepted={bool(accepted)} in {seconds:.2f} s, "
                f"peak RSS rise {rise / 1e6:.1f} MB = {rise / len(big):.2f}x its size "
                f"(RSS before {base['rss'] / 1e6:.0f} MB, peak {after['peak'] / 1e6:.0f} MB)"
            )
            if args.parallel_big > 1:
                n = args.parallel_big
                seconds, accepted = asyncio.run(_round(child.port, big, n, n))
                after = child.stats()
                print(
                    f"{n} such messages at once: {accepted} accepted in {seconds:.1f} s, "
                    f"peak RSS {after['peak'] / 1e6:.0f} MB (rise since before the first: "
                    f"{(after['peak'] - base['rss']) / 1e6:.0f} MB)"
                )
            del big
            for kb in (int(s) for s in args.sizes.split(",")):
                message = _message(kb * 1024)
                asyncio.run(_round(child.port, message, 50, args.sessions))  # warm up
                rates, cpus = [], []
                for _ in range(args.rounds):
                    before = child.stats()["cpu"]
                    seconds, accepted = asyncio.run(
                        _round(child.port, message, args.messages, args.sessions)
                    )
                    cpu = child.stats()["cpu"] - before
                    rates.append(accepted / seconds)
                    cpus.append(cpu * 1000 / max(accepted, 1))
                print(
                    f"{kb:>4} KB: {statistics.median(rates):7.0f} msg/s accepted, "
                    f"{statistics.median(cpus):5.2f} ms CPU per message (server process; "
                    f"rounds {', '.join(f'{r:.0f}' for r in rates)})"
                )
        finally:
            child.close()


if __name__ == "__main__":
    main()
