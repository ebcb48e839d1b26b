"""The hostile-MIME battery in the suite: a few hundred mutations of our fixtures.

``bench/mime_fuzz.py`` (loaded by path: bench is no package) makes the mutations and
checks each one: ``parse`` never raises nor falls back to its last net, stays within a
CPU-time and memory budget (generous bounds, measured here on this process: 2 s and
64 MB, memory on every 4th case), the event is JSON without NUL, and mutations that
should keep the structure (broken charsets, NUL bytes in bodies, 1 MB header lines,
CRLF/CR line ends, thousands of encoded-words) keep the fixture's attachments and HTML
part. The bench runs 10,000+.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
COUNT = 240  # ~10 s of CPU; the bench's default is 10,000
MAX_SIZE = 128 * 1024  # what the destructive mutations grow a message to
TRACE_EVERY = 4  # memory traced on every 4th case: tracemalloc costs ~70 ms a case


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mime_fuzz", ROOT / "bench" / "mime_fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mime_fuzz"] = module
    spec.loader.exec_module(module)
    return module


fuzz = _bench()


def test_every_mutation_holds_every_property() -> None:
    outcomes = fuzz.run(COUNT, seed=16, max_size=MAX_SIZE, trace_every=TRACE_EVERY)
    assert len(outcomes) == COUNT
    failed = {o.name: o.failures for o in outcomes if o.failures}
    assert failed == {}
    traced = outcomes[::TRACE_EVERY]
    assert all(0 < o.peak <= fuzz.MEMORY_BUDGET for o in traced)
    ran = Counter(o.name.split(":")[1].split("#")[0] for o in outcomes)
    assert all(ran[m.__name__] >= 5 for m in fuzz.PRESERVING), ran


def test_the_preserving_mutations_are_checked_against_the_seed() -> None:
    # The check can fail: a mutation that drops the attachments is caught.
    seed = (ROOT / "fixtures" / "mime" / "forward-as-attachment.eml").read_bytes()
    expected = fuzz._shape(fuzz.parse(seed, fuzz.NOW))
    assert expected[0], "the seed has attachments"
    broken = seed.split(b"\n\n", 1)[0].replace(b"multipart", b"text") + b"\n\nplain\n"
    assert any("structure changed" in f for f in fuzz.check("x", broken, expected).failures)
    assert fuzz.check("x", seed, expected).failures == []


@pytest.mark.parametrize("mutation", [m.__name__ for m in fuzz.PRESERVING])
def test_each_preserving_mutation_keeps_the_structure(mutation: str) -> None:
    import random

    seed = (ROOT / "fixtures" / "mime" / "alternative-text-and-html.eml").read_bytes()
    expected = fuzz._shape(fuzz.parse(seed, fuzz.NOW))
    mutated = getattr(fuzz, mutation)(seed, random.Random(3))
    assert mutated != seed
    assert fuzz.check(mutation, mutated, expected).failures == []
