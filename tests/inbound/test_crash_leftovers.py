"""What a crash leaves behind is swept (issue 16, item 15).

A process killed between the raw ``put`` and the outbox commit leaves an object with no
row (its sender got no 250 and sends again, so nobody will ever deliver it); a process
killed inside ``put`` leaves a temporary file. The sweeper removes both, at start and
every ``SWEEP_INTERVAL``: objects with no row once older than ``ORPHAN_GRACE``, on the
local store and on S3; temporary files of dead writers at once, any after an hour.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inbound.accept import new_message_id
from inbound.clock import FakeClock
from inbound.spool import Spool
from inbound.storage import keys, local
from inbound.storage.local import LocalStore
from inbound.sweeper import ORPHAN_GRACE
from tests.support.s3 import S3Bucket
from tests.support.service import Running, message, settings_for, webhook_route
from tests.support.webhook import Receiver


def _settings(tmp_path: Path, receiver: Receiver, bucket: S3Bucket | None) -> object:
    tables = {}
    if bucket is not None:
        tables["storage"] = {
            "backend": "s3",
            "s3": {
                "bucket": bucket.name,
                "endpoint_url": bucket.endpoint_url,
                "region": "us-east-1",
                "addressing_style": "path",
                "prefix": "in/",
            },
        }
    return settings_for(tmp_path, routes=[webhook_route(receiver.url)], **tables)


@pytest.fixture(params=["local", "s3"])
def bucket(request: pytest.FixtureRequest) -> S3Bucket | None:
    if request.param == "s3":
        found: S3Bucket = request.getfixturevalue("s3_bucket")
        return found
    return None


async def _keys(running: Running) -> list[str]:
    prefix = running.service.sweeper.prefix
    return [o.key for o in await running.service.store.list(prefix)]


def test_objects_without_a_row_are_swept_after_the_grace(
    tmp_path: Path, receiver: Receiver, bucket: S3Bucket | None
) -> None:
    # The clock starts at the real time: object ages come from the store's own clock.
    clock = FakeClock(datetime.now(UTC))
    running = Running(_settings(tmp_path, receiver, bucket), clock=clock)  # type: ignore[arg-type]
    try:
        code, _ = running.send(message())
        assert code == 250
        running.deliver()
        prefix = running.service.sweeper.prefix
        # What a kill between put and commit leaves: the raw object, and (a worker killed
        # after an erase) an event and an attachment of a message that has no row.
        lost = new_message_id()
        orphans = {
            keys.raw_key(lost, clock.now(), prefix),
            keys.event_key(lost, clock.now(), prefix),
            keys.attachment_key(lost, 0, "a.pdf", prefix),
        }
        for key in sorted(orphans):
            running.call(running.service.store.put(key, b"half an accept", "message/rfc822"))
        before = set(running.call(_keys(running)))
        assert orphans <= before
        kept = before - orphans
        assert any("/raw/" in f"/{k}" for k in kept)  # the accepted message's raw

        sweep = running.service.sweeper.run_once
        # Young objects may still be waiting for their commit: left alone.
        assert running.call(sweep(clock.now()))["unowned"] == 0
        assert set(running.call(_keys(running))) == before

        clock.advance((ORPHAN_GRACE + timedelta(minutes=1)).total_seconds())
        assert running.call(sweep(clock.now()))["unowned"] == 3
        assert set(running.call(_keys(running))) == kept  # the accepted message is untouched
        assert running.call(sweep(clock.now()))["unowned"] == 0
    finally:
        running.stop()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporary_files_of_dead_writers_are_swept(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    asyncio.run(store.put("raw/2026/12/04/x.eml", b"x", "message/rfc822"))  # creates .tmp/
    tmp_dir = tmp_path / ".tmp"
    assert list(tmp_dir.iterdir()) == []  # a finished put leaves nothing
    host = local._HOST
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            "dead": f"{host}-{_dead_pid()}-{'a' * 32}.part",
            "dead_spool": f"{host}-{_dead_pid()}-spool-{'9' * 32}.part",
            "alive": f"{host}-{alive.pid}-{'b' * 32}.part",
            "mine": f"{host}-{os.getpid()}-spool-{'c' * 32}.part",
            "other_host": f"0123456789ab-{_dead_pid()}-{'d' * 32}.part",
            "old_format": f"{'e' * 32}.part",
            "old_format_stale": f"spool-{'f' * 32}.part",
        }
        for name in names.values():
            (tmp_dir / name).write_bytes(b"half a message")
        stale = datetime.now(UTC) - local.TEMP_MAX_AGE - timedelta(minutes=1)
        os.utime(tmp_dir / names["old_format_stale"], (stale.timestamp(), stale.timestamp()))

        now = datetime.now(UTC)
        assert asyncio.run(store.sweep_temporary(now)) == 3
        left = {p.name for p in tmp_dir.iterdir()}
        assert left == {names[k] for k in ("alive", "mine", "other_host", "old_format")}

        # Writers that cannot be checked are given up on after TEMP_MAX_AGE; a live
        # writer's file (a DATA trickling in) is never touched.
        later = now + local.TEMP_MAX_AGE + timedelta(seconds=1)
        assert asyncio.run(store.sweep_temporary(later)) == 2
        assert {p.name for p in tmp_dir.iterdir()} == {names["alive"], names["mine"]}
        # And the objects themselves are not temporary files.
        assert [o.key for o in asyncio.run(store.list("raw/"))] == ["raw/2026/12/04/x.eml"]
    finally:
        alive.kill()
        alive.wait()
        asyncio.run(store.close())


def test_the_spool_names_its_file_after_its_writer(tmp_path: Path) -> None:
    spool = Spool(tmp_path / ".tmp", memory_limit=10)
    try:
        spool.write(b"x" * 100)
        assert spool.path is not None
        assert spool.path.name.startswith(f"{local._HOST}-{os.getpid()}-spool-")
    finally:
        spool.discard()


async def test_a_put_names_its_temporary_file_after_its_writer(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    seen: list[str] = []
    real_replace = Path.replace

    def spy(self: Path, target: str | os.PathLike[str]) -> Path:
        seen.append(self.name)
        return real_replace(self, target)

    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(Path, "replace", spy)
            await store.put("raw/2026/12/04/y.eml", b"y", "message/rfc822")
    finally:
        await store.close()
    [name] = seen
    assert name.startswith(f"{local._HOST}-{os.getpid()}-") and name.endswith(".part")
