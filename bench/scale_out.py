"""Scale-out throughput: 1 receiver + 1 worker vs 2 + 2 on PostgreSQL, vs one SQLite process.

Delivered messages per second for the same load (N messages over SMTP from 8 threads,
counted when the webhook receiver has every one), and the PostgreSQL claim itself:
claims per second and their p99 with 8 concurrent claimers on one outbox. Starts its
own PostgreSQL (initdb in a temp dir, as the suite does) and moto's S3 server; prints
medians of ``--runs`` runs; asserts nothing.

    python bench/scale_out.py [--messages 600] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moto.server import ThreadedMotoServer

from inbound.outbox.model import Claimant, Envelope, MessageRow, NewJob
from inbound.outbox.postgres import PostgresOutbox
from tests.support import cluster
from tests.support.postgres import PgServer, find_bin
from tests.support.s3 import s3_client
from tests.support.webhook import Receiver


def _run_cluster(
    pg: PgServer, endpoint: str, receivers: int, workers: int, messages: int, sqlite: bool
) -> float:
    root = Path(tempfile.mkdtemp(prefix="inbound-bench-"))
    bucket = f"bench-{uuid.uuid4().hex[:10]}"
    client = s3_client(endpoint)
    client.create_bucket(Bucket=bucket)
    receiver = Receiver()
    shared = cluster.Shared(
        outbox_url=pg.new_database(), s3_endpoint=endpoint, bucket=bucket, webhook_url=receiver.url
    )
    if sqlite:
        nodes = [cluster.Node(root, "single", "all", shared)]
        text = nodes[0].config.read_text()
        start, end = text.index("[outbox]"), text.index("[privacy]")
        nodes[0].config.write_text(text[:start] + text[end:])  # the SQLite file in data_dir
    else:
        nodes = [cluster.Node(root, f"mx{i}", "smtp", shared) for i in range(receivers)]
        nodes += [cluster.Node(root, f"w{i}", "worker", shared) for i in range(workers)]
    try:
        cluster.start_all(nodes)
        ports = [n.port for n in nodes if n.port]
        tag = uuid.uuid4().hex[:8]
        started = time.monotonic()
        report = cluster.send(ports, tag, messages)
        wanted = set(report.queue_ids())
        cluster.wait_until(
            lambda: wanted <= cluster.delivered_messages(receiver, tag), 600, "deliveries"
        )
        return len(wanted) / (time.monotonic() - started)
    finally:
        cluster.stop_all(nodes)
        receiver.close()


async def _claims(url: str, jobs: int, claimers: int) -> tuple[float, float]:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    box = PostgresOutbox(url, pool_size=claimers + 2)
    await box.open()
    for i in range(jobs):
        row = MessageRow(
            id=f"msg_{i}",
            received_at=now,
            raw_key=f"raw/{i}",
            raw_size=1,
            raw_sha256="0" * 64,
            raw_expires_at=now + timedelta(days=7),
            expires_at=now + timedelta(days=30),
            envelope=Envelope(
                mail_from="a@x", rcpt_to=("b@y",), remote_ip=None, helo=None, tls=False
            ),
        )
        await box.enqueue(row, [NewJob(route="r", rcpt_to=("b@y",), mailbox_hash=None)])
    latencies: list[float] = []

    async def claimer(n: int) -> None:
        who = Claimant(node=f"bench/{n}", boot="b")
        while True:
            t = time.perf_counter()
            got = await box.claim_due(now, 1, 30.0, who)
            latencies.append(time.perf_counter() - t)
            if not got:
                return

    started = time.perf_counter()
    await asyncio.gather(*(claimer(n) for n in range(claimers)))
    took = time.perf_counter() - started
    await box.close()
    latencies.sort()
    return jobs / took, latencies[int(len(latencies) * 0.99) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--claims", type=int, default=2000)
    args = parser.parse_args()
    print(
        f"inbound scale-out bench: {args.messages} messages x {args.runs} runs;"
        f" psycopg {metadata.version('psycopg')}, psycopg-pool {metadata.version('psycopg-pool')},"
        f" moto {metadata.version('moto')}"
    )
    pg = PgServer(find_bin())
    pg.init()
    pg.start()
    pg.setup_role()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per S3 request
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ.update(cluster.node_env())
    try:
        for label, receivers, workers, sqlite in (
            ("SQLite, one process (smtp + worker)", 1, 1, True),
            ("PostgreSQL, 1 receiver + 1 worker", 1, 1, False),
            ("PostgreSQL, 2 receivers + 2 workers", 2, 2, False),
        ):
            rates = [
                _run_cluster(pg, endpoint, receivers, workers, args.messages, sqlite)
                for _ in range(args.runs)
            ]
            print(f"{label:<40} delivered {statistics.median(rates):7.1f} msg/s (median)")
        results = [
            asyncio.run(_claims(pg.new_database(), args.claims, 8)) for _ in range(args.runs)
        ]
        rate = statistics.median(r[0] for r in results)
        p99 = statistics.median(r[1] for r in results)
        print(
            f"{'PostgreSQL claims, 8 concurrent claimers':<40} {rate:7.0f} claims/s,"
            f" p99 {p99:.1f} ms"
        )
    finally:
        moto.stop()
        pg.destroy()


if __name__ == "__main__":
    main()
