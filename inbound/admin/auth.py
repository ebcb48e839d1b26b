"""Who may use the admin listener, and how a browser proves it (DESIGN §11).

* ``/metrics``, ``/healthz``, ``/readyz`` and signed ``/files/…`` URLs are open.
* Everything else needs the token when one is configured (required beyond loopback):
  ``Authorization: Bearer <token>`` for the API, or the session cookie the login form
  sets (``HttpOnly``, ``SameSite=Strict``, ``Secure`` over https), which holds an expiry
  and an HMAC keyed from the token, so changing the token logs everyone out.
* Without a token (loopback only) the page still hands out a session cookie, because
  every form POST must carry a CSRF token: ``HMAC(key, "csrf:" + session)``, which a page
  of another origin can neither read nor compute. Bearer requests need none (no ambient
  credential). In that mode the Host header must name the listener (a DNS-rebinding page
  would send its own name).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

COOKIE = "inbound_admin"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True, kw_only=True)
class Auth:
    token: str | None  # None: open (loopback only)
    key: bytes  # keys sessions and CSRF tokens

    @classmethod
    def create(cls, token: str | None, open_key: bytes | None = None) -> Auth:
        """``open_key`` keys sessions without a token: the same in every process of one
        install (derived from the install secret), so any process checks any form."""
        if token is None:
            return cls(token=None, key=open_key or secrets.token_bytes(32))
        key = hmac.new(b"inbound-admin-session", token.encode(), hashlib.sha256).digest()
        return cls(token=token, key=key)

    def _mac(self, text: str) -> str:
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def bearer_ok(self, header: str | None) -> bool:
        if self.token is None or not header or not header.startswith("Bearer "):
            return False
        return hmac.compare_digest(header[len("Bearer ") :].strip(), self.token)

    def token_ok(self, given: str) -> bool:
        return self.token is None or hmac.compare_digest(given.strip(), self.token)

    def new_session(self, now: float) -> str:
        expires = int(now) + SESSION_SECONDS
        nonce = secrets.token_hex(8)
        return f"{expires}.{nonce}.{self._mac(f'session:{expires}.{nonce}')}"

    def session_ok(self, value: str | None, now: float) -> bool:
        if not value or value.count(".") != 2:
            return False
        expires, nonce, mac = value.split(".")
        if not expires.isdigit() or int(expires) <= now:
            return False
        return hmac.compare_digest(mac, self._mac(f"session:{expires}.{nonce}"))

    def csrf(self, session: str) -> str:
        return self._mac(f"csrf:{session}")

    def csrf_ok(self, session: str | None, given: str | None) -> bool:
        if not session or not given:
            return False
        return hmac.compare_digest(self.csrf(session), given)
