"""Raw put throughput through S3Store against moto's S3 server on loopback.

Prints objects/s and MB/s for 24 KB (a typical message) and 1 MB objects, at one put in
flight and at several (concurrent SMTP sessions), as medians of ``--runs`` runs, with the
library versions. Never asserts. moto runs in this same process (a werkzeug thread) and
shares the 2 cores, and it is much slower than a real S3 endpoint, so read the figures
as what the adapter sustains under load, not as what AWS or MinIO would do.

Run: ``.venv/bin/python bench/s3_put.py [--runs 5] [--concurrency 1 8] [--threads N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import time
import uuid
from importlib.metadata import version

import boto3
from moto.server import ThreadedMotoServer

from inbound.config import S3Settings
from inbound.storage.s3 import DEFAULT_THREADS, S3Store

SIZES = {"24 KB": 24 * 1024, "1 MB": 1024 * 1024}
# Objects per run: enough for a steady rate, few enough that a run takes ~1-3 s.
COUNTS = {"24 KB": 300, "1 MB": 40}


async def _one_run(store: S3Store, size: int, count: int, concurrency: int) -> float:
    """Seconds to put ``count`` objects of ``size`` bytes, ``concurrency`` in flight."""
    payload = os.urandom(size)
    run = uuid.uuid4().hex[:8]
    todo = iter(range(count))

    async def lane() -> None:
        for n in todo:
            await store.put(f"raw/2026/11/23/{run}-{n}.eml", payload, "message/rfc822")

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return time.perf_counter() - started


async def _bench(
    endpoint: str, bucket: str, runs: int, concurrencies: list[int], threads: int | None
) -> None:
    settings = S3Settings(
        bucket=bucket, endpoint_url=endpoint, region="us-east-1", addressing_style="path"
    )
    store = S3Store(settings, threads=threads)
    try:
        await store.put("raw/warmup.eml", b"x", "message/rfc822")  # client creation
        print(f"{'size':>6} {'in flight':>9} {'objects/s':>10} {'MB/s':>7}   runs (objects/s)")
        for label, size in SIZES.items():
            count = COUNTS[label]
            for concurrency in concurrencies:
                rates = []
                for _ in range(runs):
                    seconds = await _one_run(store, size, count, concurrency)
                    rates.append(count / seconds)
                median = statistics.median(rates)
                every = " ".join(f"{r:.0f}" for r in rates)
                print(
                    f"{label:>6} {concurrency:>9} {median:>10.1f} "
                    f"{median * size / 1e6:>7.1f}   {every}"
                )
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--threads", type=int, default=None, help="S3Store pool size")
    args = parser.parse_args()

    # Dummy credentials for moto, for this process only; S3Store reads the standard chain.
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106  (moto accepts any key; not a secret)
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        bucket = "inbound-bench"
        boto3.session.Session().client(
            "s3", endpoint_url=endpoint, region_name="us-east-1"
        ).create_bucket(Bucket=bucket)
        threads = args.threads or min(
            DEFAULT_THREADS, S3Settings(bucket=bucket).max_pool_connections
        )
        print(
            f"python {platform.python_version()}, boto3 {version('boto3')}, "
            f"botocore {version('botocore')}, moto {version('moto')}, "
            f"werkzeug {version('werkzeug')}; {os.cpu_count()} CPUs; "
            f"medians of {args.runs} runs; S3Store threads: "
            f"{threads}"
            "; MB = 10^6 bytes"
        )
        asyncio.run(_bench(endpoint, bucket, args.runs, args.concurrency, args.threads))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
