"""Encryption at rest with a key per message, so erasure can destroy the key (DESIGN §8).

The one user of ``cryptography``. Each accepted message gets a random 256-bit data key;
every object stored for it (raw mail, event, attachments) is sealed with AES-256-GCM under
that key, with the object's storage key as associated data, so a blob cannot be swapped
for another. The data key is kept only wrapped (AES-GCM under the install's key-encryption
key) in the message's outbox row. Erasing the row destroys the key: a copy of a blob left
in a backup or a snapshot stays unreadable ("crypto-shredding").

Blob format: ``b"INB1" || nonce (12 bytes) || ciphertext+tag``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from inbound.errors import Defect

MAGIC = b"INB1"
_NONCE = 12
_FILE_BLOCK = 1024 * 1024


class SealError(Defect):
    """A blob could not be opened: wrong key, tampered, or not ours (kept, retried, logged)."""


def derive(install_secret: bytes, purpose: str) -> bytes:
    """A 256-bit subkey of the install secret for one purpose ("index", "kek")."""
    return hmac.new(install_secret, f"inbound/{purpose}/v1".encode(), hashlib.sha256).digest()


class Vault:
    def __init__(self, kek: bytes) -> None:
        self._kek = AESGCM(kek)

    def new_data_key(self, message_id: str) -> tuple[bytes, bytes]:
        """A fresh data key and its wrapped form (bound to ``message_id``)."""
        dek = AESGCM.generate_key(bit_length=256)
        nonce = secrets.token_bytes(_NONCE)
        return dek, nonce + self._kek.encrypt(nonce, dek, message_id.encode())

    def unwrap(self, message_id: str, wrapped: bytes) -> bytes:
        try:
            return self._kek.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], message_id.encode())
        except InvalidTag:
            raise SealError("data key does not unwrap (another install's key?)") from None


def seal(dek: bytes, object_key: str, data: bytes) -> bytes:
    nonce = secrets.token_bytes(_NONCE)
    return MAGIC + nonce + AESGCM(dek).encrypt(nonce, data, object_key.encode())


def seal_file(dek: bytes, object_key: str, source: Path, target: Path) -> None:
    """``seal()`` of a file into another file, a block at a time (same blob format).

    AES-GCM's output is the ciphertext followed by the 16-byte tag, so the streaming
    encryptor writes exactly what ``AESGCM.encrypt`` would, without the file in memory.
    """
    nonce = secrets.token_bytes(_NONCE)
    encryptor = Cipher(algorithms.AES(dek), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(object_key.encode())
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source.open("rb") as src, os.fdopen(fd, "wb") as dst:
        dst.write(MAGIC + nonce)
        while block := src.read(_FILE_BLOCK):
            dst.write(encryptor.update(block))
        dst.write(encryptor.finalize() + encryptor.tag)


def is_sealed(blob: bytes) -> bool:
    return blob[:4] == MAGIC


def open_sealed(dek: bytes, object_key: str, blob: bytes) -> bytes:
    if not is_sealed(blob):
        raise SealError("not a sealed blob")
    # A view, not a slice: slicing a 25 MB blob would copy it (issue 12: memory).
    nonce, body = blob[4 : 4 + _NONCE], memoryview(blob)[4 + _NONCE :]
    try:
        return AESGCM(dek).decrypt(nonce, body, object_key.encode())
    except InvalidTag:
        raise SealError("sealed blob does not open (tampered or wrong key)") from None
