"""A message's objects, read and written through its own data key when encryption is on.

Callers (accept, delivery, privacy) use this instead of the raw store whenever an object
belongs to a message, so whether it is sealed is decided in one place: the local
backend seals everything (crypto-shredding, inbound/crypto.py); S3 relies on server-side
encryption, because presigned URLs must hand out plaintext to the webhook's consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from inbound import crypto
from inbound.errors import StorageError
from inbound.storage.base import RawStore


class SealedObjects:
    def __init__(self, store: RawStore, vault: crypto.Vault | None) -> None:
        self.store = store
        self.vault = vault

    def new_key(self, message_id: str) -> tuple[bytes | None, bytes | None]:
        """(data key, wrapped data key) for a new message; (None, None) when not sealing."""
        if self.vault is None:
            return None, None
        return self.vault.new_data_key(message_id)

    def data_key(self, message_id: str, wrapped: bytes | None) -> bytes | None:
        if self.vault is None or wrapped is None:
            return None
        return self.vault.unwrap(message_id, wrapped)

    async def put(self, dek: bytes | None, key: str, data: bytes, content_type: str) -> None:
        blob = data if dek is None else crypto.seal(dek, key, data)
        await self.store.put(key, blob, content_type)

    async def put_file(self, dek: bytes | None, key: str, path: Path, content_type: str) -> None:
        """``put`` of a spooled file; sealing streams it into a second file first."""
        if dek is None:
            await self.store.put_file(key, path, content_type)
            return
        sealed = path.with_name(path.name + ".sealed")
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, crypto.seal_file, dek, key, path, sealed
            )
            await self.store.put_file(key, sealed, content_type)
        except OSError as exc:
            raise StorageError(f"sealing a spooled message failed: {exc.strerror}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                sealed.unlink()

    async def get(self, dek: bytes | None, key: str) -> bytes:
        blob = await self.store.get(key)
        if dek is None:
            if crypto.is_sealed(blob):
                raise crypto.SealError("object is sealed but its data key is gone")
            return blob
        return crypto.open_sealed(dek, key, blob)
