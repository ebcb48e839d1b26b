"""The server's TLS context for STARTTLS, built from the configured certificate and key.

One place loads ``server.tls_cert`` and ``server.tls_key``, so ``check-config`` and
``serve`` fail the same way: a missing or unreadable file, a file without a PEM
certificate, or a key that does not belong to the certificate is a ``ConfigError`` naming
the key, found at start instead of as a traceback when the SMTP server starts.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from inbound.errors import ConfigError


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """An SSLContext for the SMTP server's side of STARTTLS (client certificates unused)."""
    cert_text = _read(cert, "server.tls_cert")
    _read(key, "server.tls_key")
    if b"-----BEGIN CERTIFICATE-----" not in cert_text:
        raise ConfigError("server.tls_cert", f"{cert} holds no PEM certificate")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        reason = exc.reason or type(exc).__name__
        raise ConfigError(
            "server.tls_key", f"{key} is not the private key of {cert} (ssl: {reason})"
        ) from None
    return context


def _read(path: Path, key: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            key, f"cannot read {path}: {exc.strerror or type(exc).__name__}"
        ) from None
