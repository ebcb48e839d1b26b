"""Webhook fan-out: signed POSTs/s from the delivery side's Sender to a keep-alive receiver.

The receiver (``bench/receiver.py``) runs in its own process on loopback; this process
signs each body as the worker does (``delivery/signing.py``) and POSTs it through
``inbound.delivery.sender.Sender`` with ``--concurrency`` deliveries in flight. Prints the
median over ``--runs`` of POSTs/s, the p50/p99 latency of one POST and the CPU ms per POST
of this process, with library versions. Asserts nothing.

    .venv/bin/python bench/webhook_fanout.py [--posts 6000] [--concurrency 50] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from inbound.delivery import signing
from inbound.delivery.sender import Sender

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from side_by_side import SECRET, free_port, wait_port  # noqa: E402  (sibling bench module)


async def one_run(url: str, posts: int, concurrency: int) -> tuple[float, float, float, float]:
    sender = Sender(concurrency)
    body = b'{"type":"inbound.message","data":{"id":"msg_x","subject":"hello"}}' * 20
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(posts):
        queue.put_nowait(i)
    failed = 0

    async def deliver() -> None:
        nonlocal failed
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            headers = signing.headers([SECRET], f"evt_{i}", int(time.time()), body)
            t = time.perf_counter()
            resp = await sender.post(url, body, headers)
            latencies.append(time.perf_counter() - t)
            if resp.status_code != 204:
                failed += 1

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(deliver() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    await sender.close()
    if failed:
        print(f"  {failed} POSTs failed", flush=True)
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[int(len(latencies) * 0.99)]
    return posts / wall, p50 * 1000, p99 * 1000, cpu * 1000 / posts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, str(HERE / "receiver.py"), "--port", str(port), "--secret", SECRET]
    )
    try:
        wait_port(port)
        url = f"http://127.0.0.1:{port}/hook"
        versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("aiohttp", "yarl"))
        print(f"python {sys.version.split()[0]}; {versions}", flush=True)
        results = []
        for r in range(args.runs):
            result = asyncio.run(one_run(url, args.posts, args.concurrency))
            results.append(result)
            print(
                f"run {r + 1}: {result[0]:.0f} POST/s, p50 {result[1]:.1f} ms,"
                f" p99 {result[2]:.1f} ms, {result[3]:.2f} CPU ms/POST",
                flush=True,
            )
        rate, p50, p99, cpu = (statistics.median(x) for x in zip(*results, strict=True))
        print(
            f"median of {args.runs}: {rate:.0f} signed POSTs/s at {args.concurrency} concurrent,"
            f" p50 {p50:.1f} ms, p99 {p99:.1f} ms, {cpu:.2f} CPU ms per POST"
        )
    finally:
        receiver.terminate()
        receiver.wait(10)


if __name__ == "__main__":
    main()
