"""The ``[outbox]`` table beyond ``path``, and the multi-node checks (DESIGN §10).

    [outbox]
    url = "postgresql://inbound@db.internal/inbound"   # INBOUND_OUTBOX_URL; none: SQLite
    timeout_seconds = 5.0    # a statement or a connection slower than this: 451 4.3.0
    pool_size = 10           # connections per process
    node_id = "mx1"          # claims are held as "<node_id>/<slot>" (default: host name)

    [storage]
    shared = true            # data_dir is one filesystem shared by every node

Several nodes on one PostgreSQL outbox only work if each can read what another stored:
an S3 bucket, or a local directory that really is one shared filesystem. A PostgreSQL
outbox with local storage is refused unless ``storage.shared = true``. Parsing only:
config.py calls ``read_outbox`` and ``check_nodes``; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from inbound import config_read as read
from inbound.errors import ConfigError

KEYS: dict[str, Any] = {
    "path": None,
    "url": None,
    "timeout_seconds": None,
    "pool_size": None,
    "node_id": None,
}


class Url:
    """A database URL: it may hold a password, so ``repr``/``str`` hide the userinfo."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        parts = urlsplit(self._value)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"Url('{parts.scheme}://***@{host}{port}{parts.path}')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Url) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxSettings:
    url: Url | None = None  # None: the SQLite file (Settings.outbox_file)
    timeout_seconds: float = 5.0
    pool_size: int = 10
    node_id: str | None = None


def read_outbox(table: Mapping[str, Any], environ: Mapping[str, str]) -> OutboxSettings:
    url_text = read.env(environ, "INBOUND_OUTBOX_URL") or table.get("url")
    url = None
    if url_text is not None:
        text = read.string(url_text, "outbox.url").strip()
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018  (raises ValueError on a bad port)
        except ValueError as exc:
            raise ConfigError("outbox.url", f"not a valid URL: {exc}") from None
        if parts.scheme not in ("postgresql", "postgres"):
            raise ConfigError(
                "outbox.url", 'must be a PostgreSQL URL, "postgresql://user@host/database"'
            )
        if not parts.path.strip("/"):
            raise ConfigError("outbox.url", "names no database: postgresql://user@host/DATABASE")
        url = Url(text)
        if table.get("path") is not None:
            raise ConfigError("outbox.path", "a SQLite path and a PostgreSQL url: give one")
    node_id = table.get("node_id")
    return OutboxSettings(
        url=url,
        timeout_seconds=read.number(
            table.get("timeout_seconds", 5.0), "outbox.timeout_seconds", 0.1
        ),
        pool_size=read.integer(table.get("pool_size", 10), "outbox.pool_size", 1),
        node_id=None if node_id is None else read.string(node_id, "outbox.node_id"),
    )


def check_nodes(outbox: OutboxSettings, storage_backend: str, shared: bool) -> None:
    """Refuse a multi-node setup that cannot work (DESIGN §10)."""
    if outbox.url is not None and storage_backend == "local" and not shared:
        raise ConfigError(
            "storage.backend",
            "a PostgreSQL outbox is shared by several nodes, which must all read what one"
            ' stored: use S3 (storage.backend = "s3"), or set storage.shared = true if'
            " data_dir is one filesystem shared by every node",
        )
