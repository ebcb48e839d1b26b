"""The embedded storage backend: one directory, written so that a crash loses nothing.

``put`` writes a temporary file in the same file system, fsyncs it, renames it into place
and fsyncs the directory (and any directory it had to create), so after ``put`` returns
the object survives power loss, and a reader never sees half an object. Blocking file
calls run in a small thread pool, never on the event loop. Expiry has no native support
here: ``expire`` is the sweeper's half of the lifecycle rules.

A temporary file (a put's, or the SMTP spool's) is named by ``temporary_name``:
``{host}-{pid}-{random}.part``. A process killed mid-write leaves one behind;
``sweep_temporary`` removes those whose writer (this host, that pid) is dead, and those
it cannot check (another host's, an older release's) once older than ``TEMP_MAX_AGE``.
A live writer's file is never touched, however slowly its sender trickles DATA in.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import hashlib
import os
import socket
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from inbound.errors import StorageError
from inbound.storage.base import LifecycleRule, ObjectInfo, ObjectNotFound

_T = TypeVar("_T")
_TMP = ".tmp"
# A temporary file whose writer cannot be checked (another host's on a shared file
# system, or one without a pid) is abandoned when this old: a put takes seconds, and
# even a DATA trickled in at the slowest pace the 300 s timeout allows (RFC 5321
# §4.5.3.2.7) is done long before.
TEMP_MAX_AGE = timedelta(days=1)
# Which host wrote a temporary file: on a shared file system (storage.shared) a pid
# means something only on its own host.
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12]


class LocalStore:
    """A RawStore in ``root``; keys are relative paths below it."""

    def __init__(self, root: Path, *, threads: int = 4) -> None:
        self.root = root
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="inbound-store")
        self._ready = False

    async def _run(self, fn: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        root = self.root.resolve()
        if root not in path.parents or key.startswith(_TMP):
            raise StorageError("key escapes the store")
        return path

    # ------------------------------------------------------------ RawStore

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._run(lambda: self._put(key, data))

    def _put(self, key: str, data: bytes) -> None:
        target = self._path(key)
        tmp_dir = self.root / _TMP
        tmp = tmp_dir / temporary_name()
        try:
            if not self._ready:
                _makedirs_durable(tmp_dir)
                self._ready = True
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            _makedirs_durable(target.parent)
            tmp.replace(target)
            _fsync_dir(target.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StorageError(f"local put failed: {exc.strerror or type(exc).__name__}") from exc

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        await self._run(lambda: self._put_file(key, path))

    def _put_file(self, key: str, path: Path) -> None:
        """fsync the file, rename it into place (same file system: the spool lives in
        ``.tmp``), fsync the directory; a file elsewhere is copied the usual way."""
        target = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            _makedirs_durable(target.parent)
            try:
                path.replace(target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                self._put(key, path.read_bytes())
                return
            _fsync_dir(target.parent)
        except OSError as exc:
            raise StorageError(f"local put failed: {exc.strerror or type(exc).__name__}") from exc

    async def get(self, key: str) -> bytes:
        return await self._run(lambda: self._get(key))

    def _get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise StorageError(f"local get failed: {exc.strerror}") from exc

    async def delete(self, key: str) -> None:
        await self._run(lambda: self._delete(key))

    def _delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StorageError(f"local delete failed: {exc.strerror}") from exc
        _fsync_dir(path.parent)

    async def list(self, prefix: str) -> list[ObjectInfo]:
        return await self._run(lambda: self._list(prefix))

    # builtins.list below: the method list() shadows the type inside the class body.
    def _list(self, prefix: str) -> builtins.list[ObjectInfo]:
        # Walk only the directory the prefix names, then filter on the rest.
        base = self.root / prefix.rpartition("/")[0] if "/" in prefix else self.root
        if not base.is_dir():
            return []
        out = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d != _TMP]
            for name in filenames:
                path = Path(dirpath) / name
                key = path.relative_to(self.root).as_posix()
                if not key.startswith(prefix) or key.startswith(_TMP):
                    continue
                try:
                    st = path.stat()
                except FileNotFoundError:
                    continue
                out.append(
                    ObjectInfo(
                        key=key, size=st.st_size, modified=datetime.fromtimestamp(st.st_mtime, UTC)
                    )
                )
        return sorted(out, key=lambda o: o.key)

    async def presign(self, key: str, expires_seconds: int) -> str | None:
        return None  # a directory has no URL to hand out

    async def apply_lifecycle(self, rules: builtins.list[LifecycleRule]) -> builtins.list[str]:
        return [f"local: the sweeper expires {r.prefix} after {r.days} days" for r in rules]

    async def expire(self, rules: builtins.list[LifecycleRule], now: datetime) -> int:
        removed = 0
        for rule in rules:
            cutoff = now - timedelta(days=rule.days)
            for info in await self.list(rule.prefix):
                if info.modified < cutoff:
                    await self.delete(info.key)
                    removed += 1
        return removed

    async def sweep_temporary(self, now: datetime) -> int:
        return await self._run(lambda: self._sweep_temporary(now))

    def _sweep_temporary(self, now: datetime) -> int:
        tmp_dir = self.root / _TMP
        if not tmp_dir.is_dir():
            return 0
        removed = 0
        for path in tmp_dir.iterdir():
            try:
                modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            except FileNotFoundError:
                continue  # renamed into place meanwhile
            writer = _writer(path.name)
            if writer == "alive" or (writer == "unknown" and now - modified < TEMP_MAX_AGE):
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        return removed

    async def close(self) -> None:
        self._pool.shutdown(wait=True)


def temporary_name(tag: str = "") -> str:
    """A temporary file name that says who writes it (this host, this process)."""
    return f"{_HOST}-{os.getpid()}-{tag}{uuid.uuid4().hex}.part"


def _writer(name: str) -> str:
    """Whether the process that wrote temporary file ``name`` is dead, alive or unknown."""
    host, _, rest = name.partition("-")
    pid_text = rest.partition("-")[0]
    if host != _HOST or not pid_text.isdigit():
        return "unknown"  # another host's, or an older release's: only age tells
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return "dead"
    except PermissionError:
        return "alive"  # another user's process
    return "alive"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _makedirs_durable(path: Path) -> None:
    """Create ``path`` and parents; fsync each parent whose entries changed."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=0o700)
        _fsync_dir(directory.parent)
