"""Crash safety at scale: thousands of messages while `inbound serve` is SIGKILLed at random.

The suite's ``chaos`` test with more of everything (tests/support/chaos.py runs both):
sender threads behave like MTAs (retry on 4xx or a dropped connection until 250), the
whole service (its process group; sometimes one child, where it has children) is
killed at random points of the stream and restarted, and a verifying receiver counts
what arrived. Prints the report (sent, accepted, delivered, lost, duplicated, resent,
kills, runtime, outbox integrity, what the kills left and what one sweep removed).
Asserts nothing; ``lost`` must read 0.

    .venv/bin/python bench/chaos.py [--messages 5000] [--kills 120] [--threads 8] [--seed N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from tests.support import chaos


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=120)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--child-share", type=float, default=0.3)
    parser.add_argument("--send-seconds", type=float, default=3600.0)
    parser.add_argument("--settle-seconds", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("aiosmtpd", "httpx"))
    print(f"python {sys.version.split()[0]}, {versions}")
    with tempfile.TemporaryDirectory(prefix="inbound-chaos-") as work:
        report = chaos.run(
            Path(work),
            messages=args.messages,
            threads=args.threads,
            kills=args.kills,
            child_share=args.child_share,
            send_seconds=args.send_seconds,
            settle_seconds=args.settle_seconds,
            seed=args.seed,
        )
    for line in report.lines():
        print(line)
    if report.lost_ids:
        print("lost:", " ".join(report.lost_ids[:20]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
