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

Group sync (issue 12): files are written and fsynced in the pool, concurrently (the file
system folds concurrent fsyncs into one journal commit); the renames and the directory
fsyncs that make them durable under their keys run on one thread (``_DirSync``), where
every put that arrives while a batch is syncing joins the next batch, and each directory
is fsynced once per batch rather than once per object. A put still returns only after
its own directory fsync, as the outbox's group commit returns only after its COMMIT.

Keys are checked lexically (no ``..``, not absolute, not the temporary folder): keys
come from ``storage/keys.py``, and the data dir is the service's own (0700), so the
per-put ``Path.resolve`` of release 1 (a system call per path component) is gone.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import hashlib
import os
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
        self._sync = _DirSync()

    async def _run(self, fn: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if (
            not key
            or key.startswith(("/", _TMP))
            or "\0" in key
            or any(part == ".." for part in parts)
            or all(part in ("", ".") for part in parts)
        ):
            raise StorageError("key escapes the store")
        return self.root / key

    # ------------------------------------------------------------ RawStore

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        target = self._path(key)
        tmp = await self._run(lambda: self._write_tmp(data))
        await self._durable(tmp, target)

    def _write_tmp(self, data: bytes) -> Path:
        """Write ``data`` to a new file in ``.tmp`` and fsync it; return its path."""
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
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise _failed(exc) from exc
        return tmp

    async def _durable(self, tmp: Path, target: Path) -> None:
        """Rename the fsynced ``tmp`` to ``target`` and fsync its directory (grouped)."""
        try:
            await self._sync.rename(tmp, target)
        except OSError as exc:
            raise _failed(exc) from exc

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        """fsync the file, rename it into place (same file system: the spool lives in
        ``.tmp``), fsync the directory; a file elsewhere is copied the usual way."""
        target = self._path(key)

        def fsync() -> None:
            try:
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise _failed(exc) from exc

        await self._run(fsync)
        try:
            await self._sync.rename(path, target, unlink_on_error=False)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise _failed(exc) from exc
            await self.put(key, await self._run(path.read_bytes), content_type)

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
        self._sync.close()


def _failed(exc: OSError) -> StorageError:
    return StorageError(f"local put failed: {exc.strerror or type(exc).__name__}")


@dataclass(frozen=True, slots=True)
class _Rename:
    src: Path
    dst: Path
    unlink_on_error: bool
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


class _DirSync:
    """Renames into place and the directory fsyncs after them, one batch at a time.

    Runs on its own single thread. Each batch renames every object queued so far, then
    fsyncs each directory they went to once; each caller's future is settled only after
    its directory's fsync (or with the OSError that stopped it).
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbound-store-sync")
        self._lock = threading.Lock()
        self._batch: list[_Rename] = []
        self._flush_pending = False
        self._dirs: set[Path] = set()  # directories known to exist (only this thread)

    async def rename(self, src: Path, dst: Path, *, unlink_on_error: bool = True) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._batch.append(_Rename(src, dst, unlink_on_error, future, loop))
            start = not self._flush_pending
            self._flush_pending = True
        if start:
            self._executor.submit(self._flush)
        await future

    def _flush(self) -> None:
        with self._lock:
            batch, self._batch = self._batch, []
            self._flush_pending = False
        errors: dict[int, OSError] = {}
        by_dir: dict[Path, list[int]] = {}
        for i, item in enumerate(batch):
            try:
                self._rename(item.src, item.dst)
                by_dir.setdefault(item.dst.parent, []).append(i)
            except OSError as exc:
                errors[i] = exc
                if item.unlink_on_error:
                    with contextlib.suppress(OSError):
                        item.src.unlink()
        for directory, members in by_dir.items():
            try:
                _fsync_dir(directory)
            except OSError as exc:
                for i in members:
                    errors[i] = exc
        for i, item in enumerate(batch):
            with contextlib.suppress(RuntimeError):  # the caller's loop is gone
                item.loop.call_soon_threadsafe(_settle, item.future, errors.get(i))

    def _rename(self, src: Path, dst: Path) -> None:
        parent = dst.parent
        if parent not in self._dirs:
            _makedirs_durable(parent)
            self._dirs.add(parent)
        try:
            src.replace(dst)
        except FileNotFoundError:
            if not src.exists():
                raise
            # The directory went away since (an erase, a sweep): make it again.
            self._dirs.discard(parent)
            _makedirs_durable(parent)
            self._dirs.add(parent)
            src.replace(dst)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def _settle(future: asyncio.Future[None], error: OSError | None) -> None:
    if future.done():  # the caller was cancelled
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


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
