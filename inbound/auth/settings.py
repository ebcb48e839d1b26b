"""The ``[dns]``, ``[spam]`` and ``[auth]`` tables of the configuration -> AuthSettings.

Read once at start by ``inbound/config.py`` (which only wires this in); every failure is a
``ConfigError`` naming the key. Keys (DESIGN §12):

    [dns]  nameservers = ["host[:port]", ...]   default: the system's resolver
           timeout_seconds = 5                  per lookup, all tries together
    [spam] rspamd_url = "http://host:11333"     rspamd's HTTP protocol (/checkv2)
           spamd = "host:port"                  SpamAssassin's spamc protocol
           timeout_seconds = 10                 then spam: null and a log line
    [auth] enabled = true                       false: authentication is null
           trusted_authserv_ids = ["relay.example"]   whose Authentication-Results to believe
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from inbound import config_read as read
from inbound.errors import ConfigError

DNS_PORT = 53
SPAMD_PORT = 783  # spamd(1) default

# Keys of each table, for config.py's unknown-key check.
DNS_KEYS: dict[str, Any] = {"nameservers": None, "timeout_seconds": None}
SPAM_KEYS: dict[str, Any] = {"rspamd_url": None, "spamd": None, "timeout_seconds": None}
AUTH_KEYS: dict[str, Any] = {"enabled": None, "trusted_authserv_ids": None}


@dataclass(frozen=True, slots=True, kw_only=True)
class SpamSettings:
    rspamd_url: str | None = None
    spamd: tuple[str, int] | None = None
    timeout_seconds: float = 10.0

    @property
    def enabled(self) -> bool:
        return self.rspamd_url is not None or self.spamd is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthSettings:
    enabled: bool = True
    nameservers: tuple[tuple[str, int], ...] = ()  # empty: the system's resolver
    dns_timeout_seconds: float = 5.0
    trusted_authserv_ids: tuple[str, ...] = ()
    spam: SpamSettings = field(default_factory=SpamSettings)


def read_tables(
    dns: Mapping[str, Any], spam: Mapping[str, Any], auth: Mapping[str, Any]
) -> AuthSettings:
    nameservers = tuple(
        _nameserver(v, f"dns.nameservers[{i}]")
        for i, v in enumerate(read.array(dns.get("nameservers", []), "dns.nameservers"))
    )
    trusted = tuple(
        _authserv_id(v, f"auth.trusted_authserv_ids[{i}]")
        for i, v in enumerate(
            read.array(auth.get("trusted_authserv_ids", []), "auth.trusted_authserv_ids")
        )
    )
    return AuthSettings(
        enabled=read.boolean(auth.get("enabled", True), "auth.enabled"),
        nameservers=nameservers,
        dns_timeout_seconds=read.number(
            dns.get("timeout_seconds", 5.0), "dns.timeout_seconds", 0.1
        ),
        trusted_authserv_ids=trusted,
        spam=_spam(spam),
    )


def _spam(table: Mapping[str, Any]) -> SpamSettings:
    url = table.get("rspamd_url")
    spamd = table.get("spamd")
    if url is not None and spamd is not None:
        raise ConfigError("spam.spamd", "set rspamd_url or spamd, not both")
    if url is not None:
        text = read.string(url, "spam.rspamd_url")
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018  (raises ValueError on a bad port)
        except ValueError as exc:
            raise ConfigError("spam.rspamd_url", f"not a valid URL: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("spam.rspamd_url", f"must be an http(s) URL, not {text!r}")
        url = text.rstrip("/")
    return SpamSettings(
        rspamd_url=url,
        spamd=None if spamd is None else host_port(spamd, "spam.spamd", SPAMD_PORT),
        timeout_seconds=read.number(
            table.get("timeout_seconds", 10.0), "spam.timeout_seconds", 0.1
        ),
    )


def host_port(value: Any, key: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address -> (host, port)."""
    text = read.string(value, key).strip()
    host, port = text, default_port
    if text.startswith("["):
        inner, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ConfigError(key, f'must be "host", "host:port" or "[v6]:port", not {text!r}')
        host, port_text = inner, rest[1:]
        if port_text:
            port = _port(port_text, key, text)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        port = _port(port_text, key, text)
    elif text.count(":") > 1:
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            raise ConfigError(key, f"not an address: {text!r}") from None
    if not host or any(c.isspace() for c in host):
        raise ConfigError(key, f'must be "host", "host:port" or "[v6]:port", not {text!r}')
    return host, port


def _nameserver(value: Any, key: str) -> tuple[str, int]:
    host, port = host_port(value, key, DNS_PORT)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        # A resolver named by a host name would need a resolver to find it.
        raise ConfigError(
            key, f"must be an IP address (with an optional port), not {host!r}"
        ) from None
    return host, port


def _port(port_text: str, key: str, text: str) -> int:
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ConfigError(key, f"needs a port 1-65535, not {text!r}")
    return int(port_text)


def _authserv_id(value: Any, key: str) -> str:
    text = read.string(value, key).strip().lower().rstrip(".")
    if not text or any(c.isspace() or c in ";()" for c in text):
        raise ConfigError(key, f"not an authserv-id (a host name): {text!r}")
    return text
