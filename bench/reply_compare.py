"""Reply stripping compared: inbound's ``stripped_text`` beside the maintained libraries.

Reads the labelled replies of ``$INBOUND_CORPORA/normal`` (talon and email-reply-parser
cases; labels in its labels.json) and prints, per source and per library, the exact-match
rate of the new text (after whitespace normalisation, as each label's ``compare`` says)
and the pass rate of the must-contain / must-not-contain checks. Every library gets the
same input: the message's text as ``parsers.parse`` decodes it (the HTML converted to
text when there is no text part); quotequail, which reads HTML itself, gets the HTML.

    .venv/bin/python bench/reply_compare.py [FOLDER ...]

Each FOLDER given (``<case>.eml`` beside ``<case>.expected.json``, as in fixtures/) is
reported as one more source named after the folder, e.g. a held-out set of new cases.

Prints figures; asserts nothing (STYLE.md, Testing).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from parsers import parse
from parsers.model import ParsedMessage
from parsers.text import html_to_text

ROOT = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("INBOUND_CORPORA", ROOT.parent / "shared" / "corpora"))
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
_LABEL_KEYS = (
    "expected_reply_text",
    "expected_reply_html",
    "reply_must_contain",
    "reply_must_not_contain",
)


def message_bytes(path: Path, label: dict[str, Any]) -> bytes:
    """The file as a message: body-only texts and bare HTML get a minimal header."""
    data = path.read_bytes()
    if path.suffix == ".html":
        return b"Content-Type: text/html; charset=utf-8\n\n" + data
    if label.get("body_only"):
        return b"Content-Type: text/plain; charset=utf-8\n\n" + data
    return data


def _norm(text: str, compare: str) -> str:
    if "all whitespace removed" in compare:
        return re.sub(r"\s+", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def judge(stripped: str, label: dict[str, Any]) -> dict[str, bool]:
    """Per label kind: did ``stripped`` satisfy it? Kinds absent from the label are absent.

    The one scoring of reply cases: tests/corpus/test_reply_corpus.py asserts with it.
    """
    out: dict[str, bool] = {}
    compare = str(label.get("compare", ""))
    if "expected_reply_text" in label:
        out["exact"] = _norm(stripped, compare) == _norm(label["expected_reply_text"], compare)
    elif "expected_reply_html" in label:
        expected = html_to_text(label["expected_reply_html"])
        out["exact"] = _norm(stripped, compare) == _norm(expected, compare)
    must = _as_list(label.get("reply_must_contain"))
    must_not = _as_list(label.get("reply_must_not_contain"))
    if must or must_not:
        out["contains"] = all(s in stripped for s in must) and not any(
            s in stripped for s in must_not
        )
    return out


def _inbound(parsed: ParsedMessage) -> str:
    return parsed.stripped_text


def _email_reply_parser(parsed: ParsedMessage) -> str:
    from email_reply_parser import EmailReplyParser  # type: ignore[import-untyped]  # no types

    return str(EmailReplyParser.parse_reply(parsed.text))


def _mail_parser_reply(parsed: ParsedMessage) -> str:
    from mailparser_reply import EmailReplyParser  # type: ignore[import-untyped]  # no types
    from mailparser_reply.constants import MAIL_LANGUAGES  # type: ignore[import-untyped]  # same

    languages = [lang for lang in MAIL_LANGUAGES if lang != "david"]
    return str(EmailReplyParser(languages=languages).parse_reply(parsed.text))


def _quotequail(parsed: ParsedMessage) -> str:
    """quotequail's ``unwrap`` (``unwrap_html`` for HTML-only mail): its ``*_top`` field."""
    import quotequail  # type: ignore[import-untyped]  # ships no type information

    html_only = parsed.html is not None and not any(
        p.content_type == "text/plain" for p in parsed.parts
    )
    if html_only and parsed.html is not None:
        unwrapped = quotequail.unwrap_html(parsed.html)
        if unwrapped and unwrapped.get("html_top") is not None:
            return html_to_text(str(unwrapped["html_top"]))
        return parsed.text
    unwrapped = quotequail.unwrap(parsed.text)
    if unwrapped and unwrapped.get("text_top") is not None:
        return str(unwrapped["text_top"])
    return parsed.text


EXTRACTORS: dict[str, Callable[[ParsedMessage], str]] = {
    "inbound": _inbound,
    f"mail-parser-reply {version('mail-parser-reply')}": _mail_parser_reply,
    f"quotequail {version('quotequail')}": _quotequail,
    f"email-reply-parser {version('email-reply-parser')}": _email_reply_parser,
}


def _fixture_cases(
    folder: Path = ROOT / "fixtures" / "replies", source: str = "fixtures"
) -> list[tuple[str, Path, dict[str, Any]]]:
    """Cases with a ``stripped_text`` sidecar (fixtures/replies: our own client/language
    samples), as (source, path, label)."""
    out = []
    for eml in sorted(folder.glob("*.eml")):
        sidecar = eml.with_name(eml.name.removesuffix(".eml") + ".expected.json")
        expected = json.loads(sidecar.read_text("utf-8"))
        if "stripped_text" in expected:
            label = {"expected_reply_text": expected["stripped_text"], "compare": "whitespace"}
            out.append((source, eml, label))
    return out


def labelled_cases(corpora: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The labelled reply cases of ``corpora/normal``, in name order."""
    labels_path = corpora / "normal" / "labels.json"
    labels: dict[str, dict[str, Any]] = json.loads(labels_path.read_text("utf-8"))
    return [
        (corpora / "normal" / name, label)
        for name, label in sorted(labels.items())
        if any(k in label for k in _LABEL_KEYS)
    ]


def main(argv: list[str]) -> int:
    cases = [(path.name.split("_", 1)[0], path, label) for path, label in labelled_cases(CORPORA)]
    corpus_count = len(cases)
    cases += _fixture_cases()
    extra = [Path(arg) for arg in argv]
    for folder in extra:
        cases += _fixture_cases(folder, folder.name)
    # results[library][source] = [exact passes, exact total, contains passes, contains total,
    #                              cases passed, cases]
    results: dict[str, dict[str, list[int]]] = {name: {} for name in EXTRACTORS}
    failures: dict[str, dict[str, list[str]]] = {name: {} for name in EXTRACTORS}
    for source, path, label in cases:
        file_name = path.name
        parsed = parse(message_bytes(path, label), NOW)
        for name, extract in EXTRACTORS.items():
            try:
                stripped = extract(parsed)
            except Exception as exc:  # a library crashing on a case is a failed case
                stripped = f"<{type(exc).__name__}>"
            verdict = judge(stripped, label)
            row = results[name].setdefault(source, [0, 0, 0, 0, 0, 0])
            if "exact" in verdict:
                row[0] += verdict["exact"]
                row[1] += 1
            if "contains" in verdict:
                row[2] += verdict["contains"]
                row[3] += 1
            row[4] += all(verdict.values())
            row[5] += 1
            if not all(verdict.values()):
                failures[name].setdefault(source, []).append(file_name)
    own = {"fixtures", *(folder.name for folder in extra)}
    sources = sorted({s for per in results.values() for s in per}, key=lambda s: (s in own, s))
    print(f"labelled reply cases in {CORPORA / 'normal'}: {corpus_count}; talon = talon's tests,")
    print("zapier = email-reply-parser's tests. 'fixtures' = fixtures/replies, written for inbound")
    print("(many clients and languages; not independent of inbound, shown for the libraries).")
    header = f"{'library':<26} {'source':<8} {'exact':>10} {'contains':>10} {'all':>10}"
    print(header)
    print("-" * len(header))
    for name in EXTRACTORS:
        totals = [0] * 6
        for source in sources:
            row = results[name].get(source, [0] * 6)
            if source not in own:
                totals = [a + b for a, b in zip(totals, row, strict=True)]
            print(
                f"{name:<26} {source:<8} {_rate(row[0], row[1]):>10} "
                f"{_rate(row[2], row[3]):>10} {_rate(row[4], row[5]):>10}"
            )
        print(
            f"{name:<26} {'corpus':<8} {_rate(totals[0], totals[1]):>10} "
            f"{_rate(totals[2], totals[3]):>10} {_rate(totals[4], totals[5]):>10}"
        )
    print()
    for name, per_source in failures.items():
        for source in sources:
            names = per_source.get(source, [])
            print(f"{name} failed [{source}]: {', '.join(names) or '-'}")
    return 0


def _rate(passed: int, total: int) -> str:
    if not total:
        return "-"
    return f"{passed}/{total} {passed / total:.0%}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
