"""Signed, expiring URLs for stored attachments the local store cannot presign (DESIGN §4).

``/files/<key>?expires=<unix>&sig=<hex>``: the signature is HMAC-SHA256 over
``key + "\\n" + expires`` with a key derived from the install secret, so every process of
one install signs and checks alike, and a URL works until it expires or its object is
erased. Only attachment keys are signed or served: a URL can never open raw mail or an
event. Time is a parameter.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

from inbound.clock import Clock
from inbound.storage import keys


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSigner:
    secret: bytes
    base_url: str  # "http://host:port", no trailing slash
    clock: Clock
    seconds: int = 7 * 24 * 3600
    prefix: str = ""  # the storage prefix (S3 only; "" for the local store)

    def _mac(self, key: str, expires: int) -> str:
        return hmac.new(self.secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def url(self, key: str) -> str:
        """The URL of ``key`` (an attachment key), valid for ``seconds`` from now."""
        if not self.allowed(key):
            raise ValueError("only attachment keys are served")
        expires = int(self.clock.now().timestamp()) + self.seconds
        return f"{self.base_url}/files/{quote(key)}?expires={expires}&sig={self._mac(key, expires)}"

    def check(self, key: str, expires: str, sig: str, now: float) -> bool:
        """True when ``sig`` signs ``key`` until ``expires`` and that is still ahead."""
        if not self.allowed(key) or not expires.isdigit():
            return False
        good = self._mac(key, int(expires))
        return hmac.compare_digest(good, sig) and int(expires) > now

    def allowed(self, key: str) -> bool:
        return key.startswith(f"{self.prefix}{keys.ATTACHMENTS}") and ".." not in key.split("/")
