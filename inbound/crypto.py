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
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from inbound.errors import StorageError

MAGIC = b"INB1"
_NONCE = 12


class SealError(StorageError):
    """A blob could not be opened: wrong key, tampered, or not ours."""


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


def is_sealed(blob: bytes) -> bool:
    return blob[:4] == MAGIC


def open_sealed(dek: bytes, object_key: str, blob: bytes) -> bytes:
    if not is_sealed(blob):
        raise SealError("not a sealed blob")
    nonce, body = blob[4 : 4 + _NONCE], blob[4 + _NONCE :]
    try:
        return AESGCM(dek).decrypt(nonce, body, object_key.encode())
    except InvalidTag:
        raise SealError("sealed blob does not open (tampered or wrong key)") from None
