"""A message on its way in: kept in memory while small, on disk once big, hashed on the way.

The SMTP edge writes DATA into a ``Spool`` block by block; ``accept()`` then stores it:
a small message as bytes (one ``put``), a big one from its file (``put_file``, which the
local store renames into place), so a 25 MB message is never held whole in memory on the
SMTP side. The SHA-256 and the size are computed while writing, not by a second pass.

The spool file lives in the store's own temporary directory (same file system as the
local store, so a rename is enough), is created 0600, and is removed by ``discard()``
whatever happened (a store that took the file has already moved it away). Writes to the
file are buffered into large blocks; one block is written at a time on the caller's
thread (a page-cache write, no fsync: the store fsyncs what it keeps).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from inbound.errors import StorageError
from inbound.storage.local import temporary_name

# Messages up to this size stay in memory: one put, no file. Above it, a file.
DEFAULT_MEMORY_LIMIT = 1024 * 1024
_WRITE_BLOCK = 1024 * 1024


class Spool:
    def __init__(self, directory: Path, *, memory_limit: int = DEFAULT_MEMORY_LIMIT) -> None:
        self.directory = directory
        self.memory_limit = memory_limit
        self._buffer = bytearray()
        self._hash = hashlib.sha256()
        self.size = 0
        self.path: Path | None = None
        self._fd: int | None = None

    @property
    def in_memory(self) -> bool:
        return self.path is None

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self.size += len(data)
        self._buffer += data
        if self.path is None and len(self._buffer) > self.memory_limit:
            self._open_file()
        if self._fd is not None and len(self._buffer) >= _WRITE_BLOCK:
            self._flush()

    def finish(self) -> None:
        """All data written: flush the file (no fsync) and close it."""
        if self._fd is not None:
            self._flush()
            os.close(self._fd)
            self._fd = None

    def getvalue(self) -> bytes:
        """The whole message, for a spool that stayed in memory."""
        if self.path is not None:
            raise ValueError("the spool is on disk: read it from spool.path")
        return bytes(self._buffer)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def discard(self) -> None:
        """Drop the data and remove the file if it is still there (idempotent)."""
        self._buffer = bytearray()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def _open_file(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = self.directory / temporary_name("spool-")  # the sweeper knows its writer
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise StorageError(f"spool: cannot create a file: {exc.strerror}") from exc
        self.path = path

    def _flush(self) -> None:
        if self._fd is None:
            return
        buffer, self._buffer = self._buffer, bytearray()
        try:
            with memoryview(buffer) as view:
                done = 0
                while done < len(view):
                    done += os.write(self._fd, view[done:])
        except OSError as exc:
            raise StorageError(f"spool: write failed: {exc.strerror}") from exc
