"""The RawStore Protocol every storage backend implements (DESIGN §4).

Callers (accept, delivery, retention, privacy) see only this interface, never which
backend they were given. Every method is a coroutine that keeps blocking work off the
event loop. ``put`` returns only once the object is durable: on a local disk, the file
and its directory are fsynced; on S3, ``put_object`` has answered.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from inbound.errors import PermanentError


class ObjectNotFound(PermanentError):
    """The key holds no object (never written, expired, or erased): asking again won't help."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectInfo:
    key: str
    size: int
    modified: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class LifecycleRule:
    """An expiry rule inbound owns: objects under ``prefix`` go after ``days``."""

    id: str  # starts with LIFECYCLE_ID_PREFIX, so we never touch rules we did not create
    prefix: str
    days: int


LIFECYCLE_ID_PREFIX = "inbound-"


class RawStore(Protocol):
    """Object storage for raw mail, events and attachments; keys from storage/keys.py."""

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` durably under ``key``; raise StorageError on any failure."""
        ...

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Store the file at ``path`` durably under ``key`` (big messages, from the spool).

        The store may take the file (the local store renames it into place): afterwards
        the caller only removes ``path`` if it still exists.
        """
        ...

    async def get(self, key: str) -> bytes:
        """The object's bytes; ObjectNotFound when absent."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; absent keys are fine (idempotent)."""
        ...

    async def list(self, prefix: str) -> list[ObjectInfo]:
        """Objects whose key starts with ``prefix``, in key order."""
        ...

    async def presign(self, key: str, expires_seconds: int) -> str | None:
        """A URL that lets its holder GET the object, or None when the backend has none."""
        ...

    async def apply_lifecycle(
        self, rules: builtins.list[LifecycleRule]
    ) -> builtins.list[str]:  # builtins: the method list() shadows the type here
        """Make the backend expire objects per ``rules``; return what changed, one line each."""
        ...

    async def expire(self, rules: builtins.list[LifecycleRule], now: datetime) -> int:
        """Delete objects past their rule's age (for backends without native expiry)."""
        ...

    async def sweep_temporary(self, now: datetime) -> int:
        """Remove what writers killed mid-``put`` left behind; return how many went."""
        ...

    async def close(self) -> None: ...
