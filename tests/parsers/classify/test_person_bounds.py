"""The person detector is bounded by construction (issue 16) and built once (issue 12).

Hostile shapes (long runs of one mark, rules of "=", whitespace) are 200,000 characters
here: a step that retried a run at every position (the old edge-trimming pattern, the old
sentence splitter) would take hours on them and trip the suite's hang guard; a linear
step reads them in milliseconds. No figure of time is asserted.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from parsers.classify import person, phrases, unsubscribe, warm_up
from parsers.classify._once import once
from parsers.model import Hints, Kind
from tests.parsers.classify.test_lexicon import message

N = 200_000
SHAPES = {
    "exclamations between words": "Hi " + "!" * N + " there",
    "exclamations then a letter": "Hi " + "!" * N + "x",
    "a rule of =": "Hello\n" + "=" * N + "\nbye",
    "dashes": "-" * N,
    "dots then a letter": "." * N + "a",
    "semicolons": ";" * N + "x",
    "underscores": "_" * N + "x",
    "spaces": "a" + " " * N + "b",
    "blank lines": "a" + "\n \t" * (N // 3) + "b",
    "one long word": "a" * N,
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_hostile_shapes_are_ordinary_mail(name: str) -> None:
    text = SHAPES[name]
    assert person.detect(message(text), Hints(), None) is None
    assert person.sentence_spans(text[: person.READ_LIMIT])


def test_bare_is_linear_and_still_trims() -> None:
    run = "!" * N
    assert unsubscribe.bare(run + " Unsubscribe   ME " + run) == "unsubscribe me"
    assert unsubscribe.bare("Hi " + run + " there") == "hi " + run + " there"
    assert unsubscribe.bare("=" * N) == ""
    assert unsubscribe.bare(" _ " * N + "stop" + "_" * N) == "stop"


def test_a_run_of_marks_is_one_sentence_end() -> None:
    text = "Please unsubscribe me" + "!" * N + " Thanks"
    spans = person.sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["Please unsubscribe me" + "!" * N, "Thanks"]


def test_a_long_run_before_the_request_still_finds_it() -> None:
    verdict = person.detect(message("=" * 5000 + "\nPlease unsubscribe me."), Hints(), None)
    assert verdict is not None and verdict.kind is Kind.UNSUBSCRIBE


def test_only_a_bounded_prefix_is_read() -> None:
    filler = "We met at the fair and talked about the weather. " * 200
    assert len(filler) > person.READ_LIMIT
    late = message(filler + "Please delete my personal data.")
    assert person.detect(late, Hints(), None) is None
    early = message("Please delete my personal data.\n\n" + filler)
    verdict = person.detect(early, Hints(), None)
    assert verdict is not None and verdict.kind is Kind.DATA_REQUEST
    # What lies past the limit changes nothing.
    longer = message("Please delete my personal data.\n\n" + filler + "unsubscribe " * N)
    assert person.detect(longer, Hints(), None) == verdict


def test_a_huge_subject_is_read_up_to_its_limit() -> None:
    subject = "unsubscribe " + "!" * N
    verdict = person.detect(replace(message(""), subject=subject), Hints(), None)
    assert verdict is not None and verdict.kind is Kind.UNSUBSCRIBE


def test_once_builds_a_value_once_when_threads_miss_together() -> None:
    builds: list[int] = []

    @once
    def table(key: int) -> int:
        builds.append(key)
        time.sleep(0.05)  # wide window: every thread misses before the first build ends
        return key * 2

    start = threading.Barrier(8)
    results: list[int] = []

    def worker() -> None:
        start.wait()
        results.append(table(3))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [6] * 8
    assert builds == [3]


def test_warm_up_compiles_every_lexicon_once() -> None:
    warm_up()
    assert phrases.load.built() >= len(phrases.lexicon_codes())
    before = {code: phrases.load(code) for code in phrases.lexicon_codes()}
    warm_up()  # a second call builds nothing new
    assert all(phrases.load(code) is lex for code, lex in before.items())
