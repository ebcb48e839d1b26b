"""errors.py draws the exception tree the code really raises, and callers follow it.

The drawing in the module docstring is parsed and compared with the classes: every
subclass of ``InboundError`` anywhere under ``inbound`` must be drawn, under its real
parent, and every drawn class must exist. Then what callers do with each branch.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import inbound
from inbound import errors
from inbound.clock import FakeClock
from inbound.errors import Defect, InboundError, PermanentError, StorageError, TransientError
from tests.support.service import Running, message, settings_for, webhook_route
from tests.support.webhook import Receiver

_NODE = re.compile(r"^(?P<indent>[\s│]*)(?:[├└]── )?(?P<name>[A-Z][A-Za-z]+)\s")


def _drawn() -> dict[str, str | None]:
    """{class name: parent name} from the docstring's tree."""
    assert errors.__doc__ is not None
    lines = [
        line for line in errors.__doc__.splitlines() if re.search(r"[├└]── |^\s+Inbound", line)
    ]
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in lines:
        found = _NODE.match(line)
        assert found, line
        depth = found.start("name")
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[found.group("name")] = stack[-1][1] if stack else None
        stack.append((depth, found.group("name")))
    return parents


def _import_all() -> None:
    for module in pkgutil.walk_packages(inbound.__path__, "inbound."):
        if module.name != "inbound.__main__":  # that one runs the command
            importlib.import_module(module.name)


def _real() -> dict[str, str | None]:
    _import_all()
    out: dict[str, str | None] = {"InboundError": None}
    todo = [InboundError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("inbound"):
                out[sub.__name__] = cls.__name__
                todo.append(sub)
    return out


def test_the_docstring_draws_the_real_tree() -> None:
    assert _drawn() == _real()


def test_every_class_sits_under_exactly_one_decision() -> None:
    branches = (errors.ConfigError, TransientError, PermanentError, Defect)
    _import_all()
    todo: list[type[InboundError]] = [InboundError]
    seen: list[type[InboundError]] = []
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    for cls in seen:
        if cls is InboundError or not cls.__module__.startswith("inbound"):
            continue
        under = [b for b in branches if issubclass(cls, b)]
        assert len(under) == 1 or cls.__bases__ == (InboundError,), (cls, under)


def test_what_each_raised_class_means() -> None:
    from inbound.crypto import SealError
    from inbound.delivery.urlguard import Refused, Unresolved
    from inbound.storage.base import ObjectNotFound

    assert issubclass(Unresolved, TransientError)
    assert issubclass(Refused, PermanentError)
    assert issubclass(ObjectNotFound, PermanentError) and not issubclass(
        ObjectNotFound, TransientError
    )
    assert issubclass(SealError, Defect) and not issubclass(SealError, PermanentError)


def test_export_stops_when_the_store_cannot_answer(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    """An unreadable raw object is not "nothing held": the export fails, says why."""
    running = Running(settings_for(tmp_path, routes=[webhook_route(receiver.url)]), clock=clock)
    try:
        assert running.send(message())[0] == 250
        running.deliver()
        [raw] = list(tmp_path.glob("raw/**/*.eml"))
        raw.unlink()
        raw.mkdir()  # a read now fails with an OSError: the store cannot answer
        with pytest.raises(StorageError):
            running.call(
                running.service.privacy.export(
                    "alice@sender.test", tmp_path / "out.json", operator="t", now=clock.now()
                )
            )
        assert not (tmp_path / "out.json").exists()
        raw.rmdir()  # gone for good now: exported as not held
        record = running.call(
            running.service.privacy.export(
                "alice@sender.test", tmp_path / "out.json", operator="t", now=clock.now()
            )
        )
        assert record.counts == {"messages": 1}
    finally:
        running.stop()
