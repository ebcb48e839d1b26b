"""The ``[admin]`` and ``[log]`` tables (DESIGN §11): the admin listener and the log format.

Kept beside config.py so that file only wires them in. ``[admin] listen`` (flag
``--admin-listen``, env ``INBOUND_ADMIN_LISTEN``) turns the listener on; beyond loopback a
``token`` (or ``token_file``, env ``INBOUND_ADMIN_TOKEN``) is required, since the API shows
and replays deliveries. ``public_url`` is how receivers reach the listener for the signed
attachment URLs of the local store (default ``http://`` + the listen address).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inbound import config_read as read
from inbound.errors import ConfigError

# A token shorter than this is guessable from outside; 32 hex digits = 128 bits.
MIN_TOKEN_LENGTH = 16
DEFAULT_FILE_URL_SECONDS = 7 * 24 * 3600
LOG_FORMATS = ("text", "json")

SCHEMA: dict[str, Any] = {
    "listen": None,
    "token": None,
    "token_file": None,
    "public_url": None,
    "file_url_seconds": None,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AdminSettings:
    host: str
    port: int
    token: Any = None  # config.Secret | None (typed loosely: config imports this module)
    public_url: str | None = None
    file_url_seconds: int = DEFAULT_FILE_URL_SECONDS

    @property
    def loopback_only(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def admin(
    table: Mapping[str, Any],
    environ: Mapping[str, str],
    overrides: Mapping[str, Any],
    *,
    parse_listen: Any,
    secret: Any,
) -> AdminSettings | None:
    """The admin listener's settings, or None when it is off (the default)."""
    listen = (
        read.env(environ, "INBOUND_ADMIN_LISTEN")
        or overrides.get("admin_listen")
        or table.get("listen")
    )
    if listen is None:
        return None
    host, port = parse_listen(read.string(listen, "admin.listen"), "admin.listen")
    token_text = read.env(environ, "INBOUND_ADMIN_TOKEN") or table.get("token")
    if token_text is None and table.get("token_file") is not None:
        path = Path(read.string(table["token_file"], "admin.token_file"))
        try:
            token_text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError("admin.token_file", f"cannot read {path}: {exc.strerror}") from None
    token = None
    if token_text is not None:
        text = read.string(token_text, "admin.token")
        if len(text) < MIN_TOKEN_LENGTH:
            raise ConfigError("admin.token", f"must be at least {MIN_TOKEN_LENGTH} characters")
        token = secret(text)
    if token is None and not is_loopback(host):
        raise ConfigError(
            "admin.token", f"required when admin.listen is not a loopback address ({host})"
        )
    public_url = table.get("public_url")
    if public_url is not None:
        public_url = read.string(public_url, "admin.public_url").rstrip("/")
        if not public_url.startswith(("http://", "https://")):
            raise ConfigError("admin.public_url", "must be an http(s) URL")
    return AdminSettings(
        host=host,
        port=port,
        token=token,
        public_url=public_url,
        file_url_seconds=read.integer(
            table.get("file_url_seconds", DEFAULT_FILE_URL_SECONDS), "admin.file_url_seconds", 60
        ),
    )


def log_format(value: Any) -> str:
    text = read.string(value, "log.format").lower()
    if text not in LOG_FORMATS:
        raise ConfigError("log.format", f'must be "text" or "json", not {text!r}')
    return text
