"""Hostile MIME: deterministic mutations of our fixtures, parsed and checked one by one.

Each mutation takes a fixture message and does something a broken or hostile sender
does (repeats a slice thousands of times, inserts unclosed tags, NUL bytes, broken
charsets, encoded-words, RFC 2231 continuations, 1 MB header lines, deep nesting,
10,000 parts, huge or compression-bomb-like base64 attachments, bare CRs, truncation,
random bytes). Every result must hold the properties of ``check``: ``parse`` returns
(never raises, never falls back to its last net), within a CPU and memory budget, the
event is JSON with no NUL and encodes to UTF-8, the machine-mail detectors answer, and
the mutations that should not change the structure (``PRESERVING``) keep the seed's
attachments and HTML part.

Prints tried / failures (by property) / slowest / peak memory; asserts nothing.
``tests/parsers/test_mime_fuzz.py`` runs a few hundred of the same mutations.

    .venv/bin/python bench/mime_fuzz.py [--count 10000] [--seed 1] [-v]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gzip
import json
import random
import re
import signal
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from parsers import parse
from parsers.classify import arf, autoreply, dsn
from parsers.model import ParsedMessage

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# The budget of one parse (plus the machine detectors); generous on purpose: real mail
# of these sizes takes ~10 ms and ~5 MB, the quadratic shapes of issue 16 took minutes.
CPU_BUDGET = 2.0
MEMORY_BUDGET = 64 * 1024 * 1024
MAX_SIZE = 1024 * 1024  # mutations grow a message up to this size
TRACE_EVERY = 4  # the bench measures memory on every 4th case (the suite on each one)

Mutation = Callable[[bytes, random.Random], bytes]

HOSTILE = (
    b"<div ",
    b'<div class="',
    b"<a href=",
    b"<!--",
    b"<style>",
    b"<script>",
    b"<",
    b"<blockquote>",
    b"<ul><li>",
    b"<![CDATA[",
    b"&#",
    b"-- \n",
    b"> ",
    b"\n>",
    b"=?utf-8?q?",
    b"=?x-unknown?q?=E9?= ",
    b"=?utf-8?b?",
    b"\x00",
    b"\r",
    b"\xff\xfe",
    b"\xc3",
    b"!",
    b"=",
    b"==\n",
    b" ",
    b"\t",
    b"On Mon, Ann <a@b.c> wrote:\n",
    b"From: a@b.c\n",
    b"Sent from my iPhone\n",
    b"--",
    b"--B\n",
    b"\n--\n",
    b"Content-Type: multipart/mixed; boundary=B\n",
    b"Content-Transfer-Encoding: base64\n",
    b"; name*0*=utf-8''%E9%",
    b";",
    b'"',
    b"(",
    b"@",
    b"<a@b>",
    b"Final-Recipient: rfc822; a@b.c\n",
    b"Status: 5.1.1\n",
    b"Feedback-Type: abuse\n",
    b"550 5.1.1 ",
    b'{"notificationType":',
)
_CHARSET = re.compile(rb"charset\s*=\s*(\"[^\"\r\n]*\"|[^;\s]+)", re.IGNORECASE)
BAD_CHARSETS = (
    b'"utf-8\x00"',
    b"\x00",
    b'"\xff\xfe"',
    b"=?utf-8?q?x?=",
    b'"' + b"u" * 3000 + b'"',
    b"utf-8''",
    b'"utf-8',
    b"x-unknown",
    b'""',
)


def _pos(raw: bytes, rng: random.Random) -> int:
    return rng.randrange(len(raw) + 1)


def _line_start(raw: bytes, rng: random.Random) -> int:
    starts = [0, *(m.end() for m in re.finditer(rb"\n", raw[:200_000]))]
    return rng.choice(starts)


_max_size = MAX_SIZE  # set by cases() for the mutations of one run


def _room(raw: bytes, piece: int) -> int:
    return max(1, (_max_size - len(raw)) // max(1, piece))


def repeat_slice(raw: bytes, rng: random.Random) -> bytes:
    start = _pos(raw, rng)
    piece = raw[start : start + rng.randint(1, 200)] or b"x"
    times = min(rng.choice((10, 100, 1000, 5000, 50_000)), _room(raw, len(piece)))
    return raw[:start] + piece * times + raw[start:]


def insert_hostile(raw: bytes, rng: random.Random) -> bytes:
    token = rng.choice(HOSTILE)
    times = min(rng.choice((1, 3, 100, 2000, 20_000, 200_000)), _room(raw, len(token)))
    at = _line_start(raw, rng) if rng.random() < 0.5 else _pos(raw, rng)
    return raw[:at] + token * times + raw[at:]


def delete_slice(raw: bytes, rng: random.Random) -> bytes:
    start = _pos(raw, rng)
    return raw[:start] + raw[start + rng.randint(1, 2000) :]


def flip_bytes(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 50)):
        if data:
            data[rng.randrange(len(data))] = rng.choice((0, 10, 13, 32, 45, 58, 59, 61, 255, 128))
    return bytes(data)


def truncate(raw: bytes, rng: random.Random) -> bytes:
    return raw[: _pos(raw, rng)]


def repeat_headers(raw: bytes, rng: random.Random) -> bytes:
    """The header block repeated, in the header or in the body (a data-request letter)."""
    end = raw.find(b"\n\n")
    head = raw[: end + 1] if end > 0 else raw[:500]
    times = min(rng.choice((10, 100, 1000)), _room(raw, len(head)))
    at = end + 1 if end > 0 and rng.random() < 0.5 else len(raw)
    return raw[:at] + (head + (b"\n" if at == len(raw) else b"")) * times + raw[at:]


def nest(raw: bytes, rng: random.Random) -> bytes:
    levels = rng.choice((5, 30, 500, 3000))
    head = b"".join(
        b"Content-Type: multipart/mixed; boundary=n%d\n\n--n%d\n" % (i, i) for i in range(levels)
    )
    return b"Subject: nested\n" + head + raw


def many_parts(raw: bytes, rng: random.Random) -> bytes:
    count = rng.choice((100, 1001, 10_000))
    part = raw[:2000]
    count = min(count, _room(raw, len(part) + 10))
    body = b"".join(b"--P\n" + part + b"\n" for _ in range(count))
    return b'Subject: parts\nContent-Type: multipart/mixed; boundary="P"\n\n' + body + b"--P--\n"


def rfc2231(raw: bytes, rng: random.Random) -> bytes:
    count = rng.choice((3, 100, 5000))
    params = b"".join(b";\n name*%d*=utf-8''%%E9%%C3%s" % (i, b"%" * (i % 2)) for i in range(count))
    part = (
        b"--R\nContent-Type: application/octet-stream" + params + b"\n"
        b"Content-Disposition: attachment; filename*0*=''a" + params[:5000] + b"\n\nx\n"
    )
    return (
        b'Subject: 2231\nContent-Type: multipart/mixed; boundary="R"\n\n--R\n'
        + raw
        + part
        + b"--R--\n"
    )


def big_attachment(raw: bytes, rng: random.Random) -> bytes:
    """Huge base64 of one byte, or a gzip bomb (50 MB of zeros in 50 KB): never inflated."""
    if rng.random() < 0.5:
        payload = base64.encodebytes(gzip.compress(b"\0" * (50 << 20), 9))
        kind = b"application/gzip; name=bomb.gz"
    else:
        payload = base64.encodebytes(b"\x01" * rng.choice((1 << 10, 1 << 20)))
        kind = b"application/octet-stream; name=big.bin"
    return (
        b'Subject: big\nContent-Type: multipart/mixed; boundary="G"\n\n--G\n'
        + raw
        + b"\n--G\nContent-Type: "
        + kind
        + b"\nContent-Transfer-Encoding: base64\n\n"
        + payload
        + b"--G--\n"
    )


# ---------------------------------------------------------------- structure-preserving


def bad_charset(raw: bytes, rng: random.Random) -> bytes:
    """Every charset parameter replaced by a broken one: the structure must stay."""
    label = rng.choice(BAD_CHARSETS)
    return _CHARSET.sub(lambda m: b"charset=" + label, raw)


def nul_in_body(raw: bytes, rng: random.Random) -> bytes:
    """NUL bytes inside body lines (not header, delimiter or base64 padding lines)."""
    lines = raw.split(b"\n")
    blank = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    eligible = [
        index
        for index in range(blank + 1, len(lines))
        if len(lines[index].strip()) > 2 and not re.search(rb"[:=]|^[-\s>]", lines[index])
    ]
    for index in rng.sample(eligible, max(1, len(eligible) // 3)) if eligible else ():
        line = lines[index]
        cut = rng.randrange(1, len(line))
        lines[index] = line[:cut] + b"\x00" * rng.choice((1, 5)) + line[cut:]
    return b"\n".join(lines)


def long_header(raw: bytes, rng: random.Random) -> bytes:
    """A 200 KB to 1 MB header line (and folded variants) at the top: dropped, rest read."""
    size = rng.choice((200_000, 1 << 20))
    value = b"a" * size if rng.random() < 0.5 else b"word\n " * (size // 6)
    return b"X-Long: " + value + b"\n" + raw


def crlf(raw: bytes, rng: random.Random) -> bytes:
    ending = rng.choice((b"\r\n", b"\r"))
    return raw.replace(b"\r\n", b"\n").replace(b"\n", ending)


def encoded_subject(raw: bytes, rng: random.Random) -> bytes:
    """A Subject of thousands of encoded-words in unknown charsets."""
    count = rng.choice((10, 1000, 5000))
    words = b" ".join(b"=?x-%d?q?=E9=E8?=" % (i % 300) for i in range(count))
    return b"Subject: " + words + b"\n" + raw


MUTATIONS: tuple[Mutation, ...] = (
    repeat_slice,
    insert_hostile,
    insert_hostile,
    delete_slice,
    flip_bytes,
    truncate,
    repeat_headers,
    nest,
    many_parts,
    rfc2231,
    big_attachment,
)
PRESERVING: tuple[Mutation, ...] = (bad_charset, nul_in_body, long_header, crlf, encoded_subject)


def seeds(root: Path = FIXTURES) -> list[tuple[str, bytes]]:
    """Every fixture message, in a stable order."""
    return [(str(p.relative_to(root)), p.read_bytes()) for p in sorted(root.rglob("*.eml"))]


@dataclass
class Outcome:
    """One mutated message: what it cost and which properties it broke."""

    name: str
    size: int
    seconds: float
    peak: int
    failures: list[str] = field(default_factory=list)


def _shape(parsed: ParsedMessage) -> tuple[tuple[str, ...], bool]:
    return tuple(a.content_type for a in parsed.attachments), parsed.html is not None


# A case still running after this much CPU is stopped and counted as a failure, so one
# catastrophic pattern cannot stall the whole run (the regex engine checks for signals).
STUCK_SECONDS = 30


class _Stuck(Exception):
    pass


@contextlib.contextmanager
def _watchdog() -> Iterator[None]:
    def stuck(signum: int, frame: object) -> None:
        raise _Stuck

    previous = signal.signal(signal.SIGPROF, stuck)
    signal.setitimer(signal.ITIMER_PROF, STUCK_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _parse_and_detect(raw: bytes) -> ParsedMessage:
    parsed = parse(raw, NOW)
    for detect in (arf.detect, dsn.detect, autoreply.detect):
        detect(parsed)
    return parsed


def check(
    name: str,
    raw: bytes,
    expected: tuple[tuple[str, ...], bool] | None = None,
    trace_memory: bool = True,
) -> Outcome:
    """Parse ``raw`` (and run the machine detectors) and check every property.

    Twice: once timed (CPU time of this process), once under tracemalloc for the peak
    of memory allocated (tracemalloc slows allocation-heavy code 5-10x, so the bench
    traces every ``TRACE_EVERY``-th case only).
    """
    failures: list[str] = []
    start = time.process_time()
    try:
        with _watchdog():
            parsed = _parse_and_detect(raw)
    except _Stuck:
        seconds = time.process_time() - start
        return Outcome(name, len(raw), seconds, 0, [f"stuck over {STUCK_SECONDS} s of CPU"])
    except Exception as exc:  # the property under test: nothing escapes
        seconds = time.process_time() - start
        return Outcome(name, len(raw), seconds, 0, [f"raised {type(exc).__name__}: {exc}"[:200]])
    seconds = time.process_time() - start
    peak = 0
    if trace_memory:
        tracemalloc.start()
        try:
            _parse_and_detect(raw)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    if seconds > CPU_BUDGET:
        failures.append(f"cpu {seconds:.2f} s over {CPU_BUDGET} s")
    if peak > MEMORY_BUDGET:
        failures.append(f"memory {peak >> 20} MB over {MEMORY_BUDGET >> 20} MB")
    if any(d.startswith("parser error") for d in parsed.defects):
        failures.append("fell back to the last net: " + parsed.defects[0][:120])
    try:
        dumped = json.dumps(parsed.to_dict(), ensure_ascii=False)
        dumped.encode("utf-8")
    except (TypeError, ValueError) as exc:
        failures.append(f"event not JSON/UTF-8: {type(exc).__name__}")
    else:
        if "\x00" in dumped:
            failures.append("NUL in the event")
    if expected is not None and _shape(parsed) != expected:
        failures.append(f"structure changed: {expected} -> {_shape(parsed)}")
    return Outcome(name, len(raw), seconds, peak, failures)


def cases(count: int, seed: int, max_size: int = MAX_SIZE) -> list[tuple[str, bytes, bool]]:
    """``count`` (name, mutated bytes, preserving?) from the fixtures, the same for a seed.

    Mutations grow a message to at most ``max_size`` bytes (``MAX_SIZE`` by default).
    """
    global _max_size
    _max_size = max_size
    rng = random.Random(seed)
    pool = seeds()
    out: list[tuple[str, bytes, bool]] = []
    for index in range(count):
        fixture, raw = pool[rng.randrange(len(pool))]
        preserving = index % 4 == 3
        mutation = rng.choice(PRESERVING if preserving else MUTATIONS)
        mutated = mutation(raw, rng)
        if not preserving and rng.random() < 0.3:  # a second mutation on top
            mutated = rng.choice(MUTATIONS)(mutated, rng)
        if not preserving:  # those are checked whole: a cut would change the structure
            mutated = mutated[:max_size]
        out.append((f"{fixture}:{mutation.__name__}#{index}", mutated, preserving))
    return out


def run(count: int, seed: int, max_size: int = MAX_SIZE, trace_every: int = 1) -> list[Outcome]:
    """Every case checked; the seed's own structure is the reference for preserving ones."""
    outcomes = []
    reference: dict[str, tuple[tuple[str, ...], bool]] = {}
    for index, (name, raw, preserving) in enumerate(cases(count, seed, max_size)):
        expected = None
        if preserving:
            fixture = name.split(":", 1)[0]
            if fixture not in reference:
                reference[fixture] = _shape(parse((FIXTURES / fixture).read_bytes(), NOW))
            expected = reference[fixture]
        outcomes.append(check(name, raw, expected, trace_memory=index % trace_every == 0))
        if (index + 1) % 1000 == 0:
            print(f"  ... {index + 1} checked", file=sys.stderr, flush=True)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-size", type=int, default=MAX_SIZE, help="bytes a mutation grows to")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every failure")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    outcomes = run(args.count, args.seed, args.max_size, TRACE_EVERY)
    failed = [o for o in outcomes if o.failures]
    kinds = Counter(f.split(" ", 1)[0] for o in failed for f in o.failures)
    slowest = sorted(outcomes, key=lambda o: o.seconds, reverse=True)[:5]
    peak = max(outcomes, key=lambda o: o.peak)
    traced = sum(1 for o in outcomes if o.peak)
    print(f"python {sys.version.split()[0]}; seed {args.seed}")
    print(f"tried     {len(outcomes)} mutations of {len(seeds())} fixtures")
    print(f"failures  {len(failed)}" + (f" ({dict(kinds)})" if kinds else ""))
    print(
        "slowest   " + "; ".join(f"{o.seconds:.2f} s {o.size >> 10} KB {o.name}" for o in slowest)
    )
    print(
        f"peak mem  {peak.peak / 2**20:.1f} MB ({peak.size >> 10} KB, {peak.name}); "
        f"traced on {traced} cases"
    )
    print(
        f"total     {sum(o.size for o in outcomes) / 2**20:.0f} MB parsed in "
        f"{time.perf_counter() - started:.0f} s wall"
    )
    if args.verbose:
        for outcome in failed:
            print(f"  {outcome.name}: {'; '.join(outcome.failures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
