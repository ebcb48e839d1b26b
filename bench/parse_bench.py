"""Parse throughput and memory: ``parsers.parse`` on the corpora and on synthetic mail.

Prints, as medians of ``--runs`` runs (default 5):

* the whole corpus (every file under ``$INBOUND_CORPORA``): messages/s and MB/s;
* a synthetic ~20 KB reply (text + HTML alternative + small attachment): messages/s, MB/s;
* a synthetic ~5 MB message (text + HTML + 5 MB of base64 attachments): messages/s, MB/s;
* the peak RSS of a fresh interpreter that parses one 25 MB message (measured in a
  subprocess, so the figure is that parse's own, beside the interpreter's baseline).

    .venv/bin/python bench/parse_bench.py [--runs N]

Prints figures; asserts nothing (STYLE.md, Testing). Identical runs on a 2-core machine
vary by about ±20 %.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from parsers import parse

ROOT = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("INBOUND_CORPORA", ROOT.parent / "shared" / "corpora"))
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def synthetic(size: int, seed: int = 7) -> bytes:
    """A realistic multipart/mixed reply of about ``size`` bytes (attachments fill it)."""
    rng = random.Random(seed)
    words = ["the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for"]
    para = " ".join(rng.choice(words) for _ in range(120))
    text = f"Hi Ann,\n\n{para}\n\nBest,\nBob\n\n"
    text += "On Mon, Nov 23, 2026 at 10:00 AM Ann <ann@example.com> wrote:\n"
    text += "".join(f"> {para[i : i + 70]}\n" for i in range(0, len(para), 70))
    html = f"<div dir=ltr><p>Hi Ann,</p><p>{para}</p><p>Best,<br>Bob</p></div>"
    html += f'<div class="gmail_quote"><blockquote>{para}</blockquote></div>'
    head = (
        "From: Bob Example <bob@example.com>\nTo: Ann Example <ann@example.com>\n"
        "Subject: Re: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nDate: Mon, 23 Nov 2026 11:00:00 +0100\n"
        "Message-ID: <bench@example.com>\nIn-Reply-To: <orig@example.com>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="MIX"\n\n'
        '--MIX\nContent-Type: multipart/alternative; boundary="ALT"\n\n'
        f"--ALT\nContent-Type: text/plain; charset=utf-8\n\n{text}\n"
        f"--ALT\nContent-Type: text/html; charset=utf-8\n\n{html}\n--ALT--\n"
    ).encode()
    budget = max(size - len(head) - 200, 1000)
    parts = []
    count = 1 if size < 100_000 else 5
    for n in range(count):
        blob = rng.randbytes(budget * 3 // 4 // count)
        encoded = base64.encodebytes(blob)
        parts.append(
            f"--MIX\nContent-Type: application/octet-stream\n"
            f'Content-Disposition: attachment; filename="file{n}.bin"\n'
            f"Content-Transfer-Encoding: base64\n\n".encode()
            + encoded
        )
    return head + b"".join(parts) + b"--MIX--\n"


def _time(messages: list[bytes], runs: int) -> tuple[float, float]:
    """Median messages/s and MB/s of parsing ``messages`` once per run."""
    total = sum(len(m) for m in messages)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        for message in messages:
            parse(message, NOW)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    return len(messages) / median, total / median / 1e6


# ru_maxrss survives fork+exec on Linux (the child would report the parent's peak), so
# the child reads its own high-water mark, VmHWM, which exec resets.
_RSS_CHILD = """
import re
from datetime import datetime, UTC
from pathlib import Path
def hwm():
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1))
from parsers import parse
import parsers.mime  # the imports are part of the baseline
raw = Path({path!r}).read_bytes()
base = hwm()
parsed = parse(raw, datetime(2026, 11, 23, tzinfo=UTC))
peak = hwm()
print(len(raw), base, base, peak, len(parsed.attachments))
"""


def _peak_rss(path: Path) -> tuple[int, int, int]:
    """(message bytes, RSS before parsing KiB, peak RSS KiB) in a fresh interpreter.

    The message is read from a file, so the baseline is the interpreter, the parser's
    imports and the raw bytes, and nothing of how the message was made.
    """
    code = _RSS_CHILD.format(path=str(path))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    raw_len, _before, base, peak, _count = (int(x) for x in result.stdout.split())
    return raw_len, base, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = max(args.runs, 1)
    print(
        f"python {platform.python_version()}, flanker {version('flanker')}, "
        f"charset-normalizer {version('charset-normalizer')}, html2text {version('html2text')}; "
        f"median of {runs} runs"
    )
    corpus = [
        p.read_bytes()
        for p in sorted(CORPORA.glob("*/*"))
        if p.is_file() and p.name not in ("labels.json", "README.md")
    ]
    if corpus:
        rate, mbps = _time(corpus, runs)
        size = sum(len(m) for m in corpus) / 1e6
        print(f"corpus   {len(corpus):5d} files {size:7.2f} MB: {rate:8.1f} msg/s {mbps:7.2f} MB/s")
    small = synthetic(20_000)
    rate, mbps = _time([small] * 50, runs)
    print(f"20 KB    {len(small):>11} bytes: {rate:8.1f} msg/s {mbps:7.2f} MB/s")
    large = synthetic(5_000_000)
    rate, mbps = _time([large], runs)
    print(f"5 MB     {len(large):>11} bytes: {rate:8.2f} msg/s {mbps:7.2f} MB/s")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "25mb.eml"
        path.write_bytes(synthetic(25_000_000))
        peaks = [_peak_rss(path) for _ in range(runs)]
    raw_len = peaks[0][0]
    base = statistics.median(p[1] for p in peaks)
    peak = statistics.median(p[2] for p in peaks)
    print(
        f"25 MB    {raw_len:>11} bytes: peak RSS {peak / 1024:.0f} MiB "
        f"(interpreter + imports + raw bytes {base / 1024:.0f} MiB, "
        f"parse adds {(peak - base) / 1024:.0f} MiB = {(peak - base) * 1024 / raw_len:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
