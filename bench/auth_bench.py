"""Cost of the sender checks (SPF, DKIM, ARC, DMARC) per message, warm and cold cache.

The DNS is a real authoritative server on loopback (tests/support/dns.py) with the test
zone, so "cold" is a full set of UDP round trips per message and "warm" is what a busy
gateway sees: the same sending domains over and over, answered from the TTL cache.
Then the end-to-end pipeline (bench/pipeline.py: SMTP in, signed webhook out) with the
checks off and on (warm cache) in alternating runs, to show what they cost in throughput:
the delivered rate (noisy on a shared machine), and the CPU ``inbound serve`` spent per
message, which bounds the rate of a busy 2-core machine and which the machine's other
users barely disturb. Asserts nothing.

    .venv/bin/python bench/auth_bench.py [--messages 200] [--runs 5] [--pipeline-messages 400]
                                         [--pipeline-runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the DNS server and signing keys live in the test package

from pipeline import one_run  # noqa: E402  (bench/ is sys.path[0] when run as a script)

from inbound.auth.check import Authenticator  # noqa: E402
from inbound.auth.resolver import Resolver, ResolverSettings  # noqa: E402
from inbound.auth.settings import AuthSettings  # noqa: E402
from inbound.outbox.model import Envelope  # noqa: E402
from tests.inbound.auth import mail  # noqa: E402
from tests.support import dns as test_dns  # noqa: E402

# The pipeline bench sends From/MAIL FROM sender@load.test from 127.0.0.1.
LOAD_ZONE = """
load            IN TXT "v=spf1 ip4:127.0.0.1 -all"
_dmarc.load     IN TXT "v=DMARC1; p=none"
"""


def _cases() -> dict[str, tuple[bytes, Envelope]]:
    signed = mail.sign(mail.raw(), "reject.test")
    return {
        "DKIM-signed, SPF pass": (signed, mail.envelope()),
        "unsigned, SPF fail": (mail.raw(), mail.envelope(ip=test_dns.BAD_IP)),
        "ARC-forwarded": (mail.arc_forward(signed), mail.envelope("l@list.test")),
        "SPF include chain": (mail.raw(from_="a@chain.test"), mail.envelope("a@chain.test")),
    }


def per_message(server: test_dns.DnsServer, messages: int, runs: int) -> None:
    resolver = Resolver(ResolverSettings(nameservers=(("127.0.0.1", server.port),)))
    auth = Authenticator(AuthSettings(), hostname="mx.test", resolver=resolver)
    auth.verdicts(*_cases()["DKIM-signed, SPF pass"])  # load the public suffix list once
    print(f"{'message':<24} {'cold ms/msg':>12} {'warm ms/msg':>12} {'DNS queries cold':>17}")
    for name, (raw, envelope) in _cases().items():
        cold, warm = [], []
        queries = 0
        for _ in range(runs):
            start = time.perf_counter()
            before = server.count()
            for _ in range(messages):
                resolver.clear()
                auth.verdicts(raw, envelope)
            cold.append((time.perf_counter() - start) / messages * 1000)
            queries = (server.count() - before) // messages
            start = time.perf_counter()
            for _ in range(messages):
                auth.verdicts(raw, envelope)
            warm.append((time.perf_counter() - start) / messages * 1000)
        print(
            f"{name:<24} {statistics.median(cold):12.2f} {statistics.median(warm):12.2f}"
            f" {queries:17d}"
        )


def _run(messages: int, extra: str) -> tuple[float, float]:
    """One pipeline run: delivered msg/s, and CPU ms per message of ``inbound serve``
    (its processes' user + system time, read from our own RUSAGE_CHILDREN once it exited:
    the other users of the machine are not in it, unlike in the rate)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    _accepted, delivered, _rss = one_run(messages, 8, 8 * 1024, extra)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return delivered, cpu / messages * 1000


def pipeline(server: test_dns.DnsServer, messages: int, runs: int) -> None:
    """Checks off and on (warm cache) in alternating runs, so both see the same machine."""
    on = f'[dns]\nnameservers = ["{server.address}"]\n'
    off = "[auth]\nenabled = false\n"
    modes = {"checks off": off, "checks on (warm)": on}
    rates: dict[str, list[float]] = {label: [] for label in modes}
    cpus: dict[str, list[float]] = {label: [] for label in modes}
    ratios: list[float] = []
    for n in range(runs):
        order = list(modes.items())
        if n % 2:
            order.reverse()  # neither mode always runs first (a warmer machine, a cooler one)
        pair: dict[str, float] = {}
        for label, extra in order:
            rate, cpu = _run(messages, extra)
            rates[label].append(rate)
            cpus[label].append(cpu)
            pair[label] = rate
        ratios.append(pair["checks on (warm)"] / pair["checks off"])
        print(
            f"  run {n + 1}: off {pair['checks off']:7.1f}  on {pair['checks on (warm)']:7.1f}"
            f" msg/s  ({ratios[-1] * 100:5.1f} %)   CPU off {cpus['checks off'][-1]:5.2f}"
            f"  on {cpus['checks on (warm)'][-1]:5.2f} ms/msg   load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    base = statistics.median(rates["checks off"])
    base_cpu = statistics.median(cpus["checks off"])
    for label in modes:
        median, cpu = statistics.median(rates[label]), statistics.median(cpus[label])
        print(
            f"  {label:<18} delivered {median:7.1f} msg/s  ({median / base * 100:5.1f} %)"
            f"   CPU {cpu:5.2f} ms/msg  (throughput if CPU-bound: {base_cpu / cpu * 100:5.1f} %)"
        )
    print(f"  median of the {runs} paired ratios: {statistics.median(ratios) * 100:5.1f} %")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pipeline-messages", type=int, default=400)
    ap.add_argument("--pipeline-runs", type=int, default=5)
    args = ap.parse_args()
    versions = ", ".join(
        f"{p} {metadata.version(p)}" for p in ("dnspython", "dkimpy", "pyspf", "publicsuffixlist")
    )
    print(f"Python {sys.version.split()[0]}, {versions}; {os.cpu_count()} CPUs")
    server = test_dns.DnsServer(test_dns.test_zone() + LOAD_ZONE)
    try:
        print(f"per message, median of {args.runs} runs of {args.messages} (loopback DNS):")
        per_message(server, args.messages, args.runs)
        if args.pipeline_messages:
            print(
                f"end to end (bench/pipeline.py, {args.pipeline_messages} messages of 8 KB,"
                f" median of {args.pipeline_runs} runs each):"
            )
            pipeline(server, args.pipeline_messages, args.pipeline_runs)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
