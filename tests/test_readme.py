"""The README's promises: two Quick start commands (the second is what CI runs), a valid
config example, and an example event that fits the schema."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from inbound.config import from_mapping
from tests.support.service import assert_valid_event

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str, text: str = README) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n### ", 1)[0]
    commands = [b.strip() for b in _blocks("sh", quick)]
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert commands[0].endswith("inbound serve")
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.replace(" -q ", " ")


def test_config_examples_are_valid() -> None:
    webhook, s3, formats, scale = (from_mapping(tomllib.loads(b), {}, {}) for b in _blocks("toml"))
    assert [r.name for r in webhook.routes] == ["support"]
    assert s3.storage_backend == "s3" and s3.s3 is not None and s3.s3.prefix == "prod/"
    assert [r.format for r in formats.routes] == ["postmark"]
    assert formats.admin is not None and formats.admin.port == 8025
    assert scale.outbox.url is not None and scale.storage_backend == "s3"


def test_example_event_fits_the_schema() -> None:
    [event] = _blocks("json")
    assert_valid_event(json.loads(event))
