"""Configuration: one TOML file, command-line flags, and ``INBOUND_*`` variables -> Settings.

The only module that reads ``os.environ`` (and only through the mapping passed in, so tests
hand it a dict). Everything is read and checked once, at start, into frozen values; a bad
value stops start-up with a ``ConfigError`` that names the key and what is wrong.
Precedence (DESIGN §9): file < command-line flags < documented environment variables.

Documented environment variables (each overrides the matching key):

    INBOUND_LISTEN                  server.listen            "HOST:PORT"
    INBOUND_HOSTNAME                server.hostname          name in the 220 greeting and EHLO
    INBOUND_DOMAINS                 server.domains           comma-separated
    INBOUND_MAX_MESSAGE_BYTES       server.max_message_bytes
    INBOUND_DATA_DIR                storage.data_dir
    INBOUND_STORAGE_BACKEND         storage.backend          "local" or "s3"
    INBOUND_S3_BUCKET               storage.s3.bucket
    INBOUND_S3_PREFIX               storage.s3.prefix
    INBOUND_S3_ENDPOINT_URL         storage.s3.endpoint_url
    INBOUND_S3_REGION               storage.s3.region
    INBOUND_OUTBOX_PATH             outbox.path
    INBOUND_OUTBOX_URL              outbox.url               "postgresql://user@host/db"
    INBOUND_RAW_DAYS                retention.raw_days
    INBOUND_METADATA_DAYS           retention.metadata_days
    INBOUND_DELIVERY_CONCURRENCY    delivery.concurrency
    INBOUND_ALLOW_PRIVATE_WEBHOOKS  delivery.allow_private_webhooks  "1"/"true" or "0"/"false"
    INBOUND_LOG_LEVEL               log.level
    INBOUND_PROCESSES               server.processes         processes per role; 1 = one process
    INBOUND_INSTALL_SECRET          privacy.install_secret   hex, >= 32 bytes
    INBOUND_ADMIN_LISTEN            admin.listen             "HOST:PORT" (config_admin.py)
    INBOUND_ADMIN_TOKEN             admin.token
    INBOUND_LOG_FORMAT              log.format               "text" or "json"
    PROMETHEUS_MULTIPROC_DIR        (set by the multi-process supervisor: metrics of all)
"""

from __future__ import annotations

import base64
import binascii
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from inbound import config_admin
from inbound import config_read as read
from inbound.auth import settings as auth_settings
from inbound.config_outbox import KEYS as _OUTBOX_KEYS
from inbound.config_outbox import OutboxSettings, check_nodes, read_outbox
from inbound.delivery import urlguard
from inbound.errors import ConfigError

# RFC 5321 §4.5.3.1.8 asks servers to take at least 100 recipients per message.
DEFAULT_MAX_RECIPIENTS = 100
DEFAULT_MAX_MESSAGE_BYTES = 30 * 1024 * 1024
DEFAULT_INLINE_ATTACHMENT_LIMIT = 1024 * 1024
KINDS = ("message", "reply", "unsubscribe", "data_request", "bounce", "auto_reply", "complaint")
_ROUTE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# Standard Webhooks: "whsec_" + base64 of 24..64 random bytes.
_SECRET_MIN_BYTES, _SECRET_MAX_BYTES = 24, 64


class Secret:
    """A value that must not end up in logs: ``repr``/``str`` print stars."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Where a kind of event goes: a webhook and the secrets that sign for it."""

    url: str
    secrets: tuple[Secret, ...]  # all sign during a rotation (DESIGN §6)
    trusted: bool = False  # given on the command line: http:// and loopback allowed


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """Recipient patterns -> what happens to mail for them."""

    name: str
    recipients: tuple[str, ...]  # lower-case glob patterns: "support@ex.com", "*@ex.com"
    target: Target | None  # None: keep the event in storage only ("store = true")
    kinds: tuple[str, ...] | None = None  # deliver only these kinds (None: all)
    kind_targets: tuple[tuple[str, Target], ...] = ()  # some kinds to another endpoint
    inline_attachment_limit: int = DEFAULT_INLINE_ATTACHMENT_LIMIT
    delete_after_delivery: bool = False
    unsubscribe_addresses: tuple[str, ...] = ()
    raw_url: bool = False  # add a presigned URL to the raw message (S3)
    format: str = "inbound"  # "inbound", "postmark" or "raw" (delivery/formats)
    raw_email: bool = False  # postmark: add RawEmail
    # A data request whose sender is not verified (DESIGN §12) goes to ``quarantine``
    # instead of its usual target; without one, its event is kept in storage only.
    require_verified_sender: bool = False
    quarantine: Target | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class S3Settings:
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    addressing_style: str = "auto"  # "auto", "path" or "virtual"
    sse: str | None = None  # "AES256" or "aws:kms"
    kms_key_id: str | None = None
    timeout_seconds: float = 20.0
    presign_seconds: int = 7 * 24 * 3600
    max_pool_connections: int = 10
    apply_lifecycle: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    listen_host: str = "127.0.0.1"
    listen_port: int = 2525
    hostname: str = "localhost"
    domains: tuple[str, ...] = ("localhost",)
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_recipients: int = DEFAULT_MAX_RECIPIENTS
    # Concurrent SMTP sessions per client IP, and in all (DESIGN §3: 421 4.7.0 beyond).
    max_connections_per_ip: int = 20
    max_connections: int = 1000
    # Messages (MAIL FROM) per minute per client IP; 0 = no limit (DESIGN §3: 450 4.7.1).
    max_messages_per_minute_per_ip: int = 600
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # The SMTP edge's protocol limits (read by _edge(); README "SMTP edge").
    require_tls: bool = False  # MAIL before STARTTLS gets 530 5.7.0
    ipv6_prefix_length: int = 64  # per-client limits count IPv6 clients per /64
    max_data_in_flight_bytes: int = 512 * 1024 * 1024  # all DATA being read; then 452 4.3.1
    max_line_length: int = 1024 * 1024  # longer DATA lines are folded, never refused
    timeout_seconds: float = 300.0  # per command, DATA included (RFC 5321 §4.5.3.2)
    data_dir: Path = Path("inbound-data")
    storage_backend: str = "local"
    s3: S3Settings | None = None
    outbox_path: Path | None = None  # default: data_dir / "outbox.sqlite3"
    outbox: OutboxSettings = field(default_factory=OutboxSettings)  # url: PostgreSQL
    storage_shared: bool = False  # data_dir is one filesystem shared by every node
    raw_days: int = 7
    event_days: int = 30
    metadata_days: int = 30
    delivery_concurrency: int = 16
    max_attempt_days: float = 3.0
    initial_backoff_seconds: float = 60.0
    max_backoff_seconds: float = 3600.0
    jitter_seconds: float = 60.0
    allow_private_webhooks: bool = False
    shutdown_grace_seconds: float = 25.0
    # Processes per role of `inbound serve` (inbound.supervisor); None: one per core,
    # 1: everything in one process.
    processes: int | None = None
    log_level: str = "INFO"
    log_format: str = "text"  # "text" or "json" (one object per line)
    admin: config_admin.AdminSettings | None = None  # the admin listener; None: off
    metrics_multiprocess_dir: str | None = None  # PROMETHEUS_MULTIPROC_DIR (inbound/metrics.py)
    # Days to answer a data-subject request, per law ("GDPR" -> 30); None: the laws'
    # own periods (GDPR Art. 12(3) one month, CCPA 45 days, LGPD 15 days).
    deadlines_days: tuple[tuple[str, int], ...] | None = None
    # Seal local objects under a key per message (crypto-shredding, DESIGN §8).
    encrypt_at_rest: bool = True
    # Keys address hashes and wraps data keys; shared by every node of one install.
    # None: generated once into data_dir/install.key.
    install_secret: Secret | None = None
    # [dns], [spam], [auth]: sender authentication and spam scoring (inbound/auth/settings.py).
    auth: auth_settings.AuthSettings = field(default_factory=auth_settings.AuthSettings)
    routes: tuple[Route, ...] = field(default_factory=tuple)

    @property
    def outbox_file(self) -> Path:
        return self.outbox_path or self.data_dir / "outbox.sqlite3"


# ---------------------------------------------------------------- reading


def load(
    path: Path | None,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read ``path`` (or nothing), apply flag ``overrides`` then ``environ``; validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(str(path), "file not found") from None
        except OSError as exc:
            raise ConfigError(str(path), f"cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(str(path), "not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    return from_mapping(raw, environ, overrides or {})


def from_mapping(
    raw: Mapping[str, Any], environ: Mapping[str, str], overrides: Mapping[str, Any]
) -> Settings:
    tree = read.Tree(raw)
    read.check_keys(tree.raw, _SCHEMA, "")
    s = Settings()
    server, storage = tree.table("server"), tree.table("storage")
    listen = read.env(environ, "INBOUND_LISTEN") or overrides.get("listen") or server.get("listen")
    host, port = s.listen_host, s.listen_port
    if listen is not None:
        host, port = parse_listen(read.string(listen, "server.listen"), "server.listen")
    domains: Any = server.get("domains", list(s.domains))
    if overrides.get("domains"):
        domains = list(overrides["domains"])
    if (env_domains := read.env(environ, "INBOUND_DOMAINS")) is not None:
        domains = [d.strip() for d in env_domains.split(",") if d.strip()]
    domain_list = tuple(
        _domain(d, f"server.domains[{i}]")
        for i, d in enumerate(read.array(domains, "server.domains"))
    )
    data_dir = overrides.get("data_dir") or storage.get("data_dir", str(s.data_dir))
    data_dir = read.env(environ, "INBOUND_DATA_DIR") or data_dir
    backend = read.env(environ, "INBOUND_STORAGE_BACKEND") or storage.get("backend", "local")
    if backend not in ("local", "s3"):
        raise ConfigError("storage.backend", f'must be "local" or "s3", not {backend!r}')
    s3 = _s3(storage.get("s3"), environ) if backend == "s3" else None
    if backend == "s3" and s3 is None:
        raise ConfigError("storage.s3.bucket", 'required when storage.backend = "s3"')
    retention, delivery, outbox = (
        tree.table("retention"),
        tree.table("delivery"),
        tree.table("outbox"),
    )
    allow_private = delivery.get("allow_private_webhooks", False)
    if (env_allow := read.env(environ, "INBOUND_ALLOW_PRIVATE_WEBHOOKS")) is not None:
        allow_private = read.boolean_text(env_allow, "INBOUND_ALLOW_PRIVATE_WEBHOOKS")
    allow_private = read.boolean(allow_private, "delivery.allow_private_webhooks")
    outbox_path = read.env(environ, "INBOUND_OUTBOX_PATH") or outbox.get("path")
    privacy = tree.table("privacy")
    install_secret = read.env(environ, "INBOUND_INSTALL_SECRET") or privacy.get("install_secret")
    settings = replace(
        s,
        listen_host=host,
        listen_port=port,
        hostname=read.string(
            read.env(environ, "INBOUND_HOSTNAME") or server.get("hostname", s.hostname),
            "server.hostname",
        ),
        domains=domain_list,
        max_message_bytes=read.integer(
            read.env_int(environ, "INBOUND_MAX_MESSAGE_BYTES")
            or server.get("max_message_bytes", s.max_message_bytes),
            "server.max_message_bytes",
            1024,
        ),
        max_connections_per_ip=read.integer(
            server.get("max_connections_per_ip", s.max_connections_per_ip),
            "server.max_connections_per_ip",
            1,
        ),
        max_messages_per_minute_per_ip=read.integer(
            server.get("max_messages_per_minute_per_ip", s.max_messages_per_minute_per_ip),
            "server.max_messages_per_minute_per_ip",
            0,
        ),
        max_connections=read.integer(
            server.get("max_connections", s.max_connections), "server.max_connections", 1
        ),
        max_recipients=read.integer(
            server.get("max_recipients", s.max_recipients), "server.max_recipients", 1
        ),
        tls_cert=read.optional_path(server.get("tls_cert"), "server.tls_cert"),
        tls_key=read.optional_path(server.get("tls_key"), "server.tls_key"),
        **_edge(server, s),
        data_dir=Path(read.string(data_dir, "storage.data_dir")),
        storage_backend=backend,
        s3=s3,
        outbox_path=read.optional_path(outbox_path, "outbox.path"),
        outbox=read_outbox(outbox, environ),
        storage_shared=read.boolean(storage.get("shared", False), "storage.shared"),
        raw_days=read.integer(
            read.env_int(environ, "INBOUND_RAW_DAYS") or retention.get("raw_days", s.raw_days),
            "retention.raw_days",
            1,
        ),
        event_days=read.integer(
            retention.get("event_days", s.event_days), "retention.event_days", 1
        ),
        metadata_days=read.integer(
            read.env_int(environ, "INBOUND_METADATA_DAYS")
            or retention.get("metadata_days", s.metadata_days),
            "retention.metadata_days",
            1,
        ),
        delivery_concurrency=read.integer(
            read.env_int(environ, "INBOUND_DELIVERY_CONCURRENCY")
            or delivery.get("concurrency", s.delivery_concurrency),
            "delivery.concurrency",
            1,
        ),
        max_attempt_days=read.number(
            delivery.get("max_attempt_days", s.max_attempt_days), "delivery.max_attempt_days", 0.0
        ),
        initial_backoff_seconds=read.number(
            delivery.get("initial_backoff_seconds", s.initial_backoff_seconds),
            "delivery.initial_backoff_seconds",
            0.0,
        ),
        max_backoff_seconds=read.number(
            delivery.get("max_backoff_seconds", s.max_backoff_seconds),
            "delivery.max_backoff_seconds",
            0.0,
        ),
        jitter_seconds=read.number(
            delivery.get("jitter_seconds", s.jitter_seconds), "delivery.jitter_seconds", 0.0
        ),
        allow_private_webhooks=allow_private,
        shutdown_grace_seconds=read.number(
            server.get("shutdown_grace_seconds", s.shutdown_grace_seconds),
            "server.shutdown_grace_seconds",
            0.0,
        ),
        processes=_processes(environ, overrides, server),
        deadlines_days=_deadlines(tree.table("classification").get("deadlines_days")),
        encrypt_at_rest=read.boolean(
            privacy.get("encrypt_at_rest", True), "privacy.encrypt_at_rest"
        ),
        install_secret=_install_secret(install_secret),
        auth=auth_settings.read_tables(tree.table("dns"), tree.table("spam"), tree.table("auth")),
        log_level=_log_level(
            read.env(environ, "INBOUND_LOG_LEVEL") or tree.table("log").get("level", "INFO")
        ),
        log_format=config_admin.log_format(
            read.env(environ, "INBOUND_LOG_FORMAT") or tree.table("log").get("format", "text")
        ),
        admin=config_admin.admin(
            tree.table("admin"), environ, overrides, parse_listen=parse_listen, secret=Secret
        ),
        metrics_multiprocess_dir=read.env(environ, "PROMETHEUS_MULTIPROC_DIR"),
    )
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise ConfigError(
            "server.tls_key" if settings.tls_cert else "server.tls_cert",
            "tls_cert and tls_key go together",
        )
    if settings.tls_cert is not None and settings.tls_key is not None:
        from inbound.tls import server_context

        server_context(settings.tls_cert, settings.tls_key)  # the files load, or ConfigError
    if settings.require_tls and settings.tls_cert is None:
        raise ConfigError("server.require_tls", "needs server.tls_cert and server.tls_key")
    check_nodes(settings.outbox, settings.storage_backend, settings.storage_shared)
    if settings.metadata_days < settings.raw_days:
        raise ConfigError("retention.metadata_days", "must be at least retention.raw_days")
    routes = [
        _route(r, f"routes[{i}]", allow_private)
        for i, r in enumerate(read.array(tree.raw.get("routes", []), "routes"))
    ]
    routes = _command_line_route(routes, overrides)
    if not routes:
        # No route at all: keep every message for the served domains (DESIGN §9 first run).
        routes = [
            Route(name="default", recipients=tuple(f"*@{d}" for d in domain_list), target=None)
        ]
    for i, route in enumerate(routes):
        if route.require_verified_sender and not settings.auth.enabled:
            raise ConfigError(
                f"routes[{i}].require_verified_sender", "needs the checks on ([auth] enabled)"
            )
    names = [r.name for r in routes]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"routes[{i}].name", f"duplicate route name {name!r}")
    return replace(settings, routes=tuple(routes), domains=_served_domains(domain_list, routes))


def _edge(server: Mapping[str, Any], s: Settings) -> dict[str, Any]:
    """The [server] keys of the SMTP edge's protocol limits."""
    prefix = read.integer(
        server.get("ipv6_prefix_length", s.ipv6_prefix_length), "server.ipv6_prefix_length", 1
    )
    if prefix > 128:
        raise ConfigError("server.ipv6_prefix_length", "must be at most 128")
    return {
        "require_tls": read.boolean(server.get("require_tls", False), "server.require_tls"),
        "ipv6_prefix_length": prefix,
        "max_data_in_flight_bytes": read.integer(
            server.get("max_data_in_flight_bytes", s.max_data_in_flight_bytes),
            "server.max_data_in_flight_bytes",
            1024,
        ),
        # RFC 5321 §4.5.3.1.6: 1,000 octets is what senders must keep to; never less.
        "max_line_length": read.integer(
            server.get("max_line_length", s.max_line_length), "server.max_line_length", 1000
        ),
        "timeout_seconds": read.number(
            server.get("timeout_seconds", s.timeout_seconds), "server.timeout_seconds", 1.0
        ),
    }


def _command_line_route(routes: list[Route], overrides: Mapping[str, Any]) -> list[Route]:
    """``--domain``/``--webhook`` add a catch-all route for this run (DESIGN §9)."""
    webhook, domains = overrides.get("webhook"), overrides.get("domains")
    if not webhook and not domains:
        return routes
    target = None
    if webhook:
        url = _url(webhook, "--webhook", allow_private=True)
        secret = overrides.get("secret")
        if not secret:
            raise ConfigError(
                "--secret", "required with --webhook (the CLI generates one when omitted)"
            )
        target = Target(url=url, secrets=(_secret(secret, "--secret"),), trusted=True)
    served = domains or overrides.get("served_domains") or ()
    patterns = tuple(f"*@{_domain(d, '--domain')}" for d in served) or ("*",)
    return [*routes, Route(name="cli", recipients=patterns, target=target)]


def _served_domains(domains: tuple[str, ...], routes: list[Route]) -> tuple[str, ...]:
    out = list(domains)
    for route in routes:
        for pattern in route.recipients:
            domain = pattern.rpartition("@")[2]
            if domain and not any(c in domain for c in "*?[") and domain not in out:
                out.append(domain)
    return tuple(out)


def parse_listen(value: str, key: str) -> tuple[str, int]:
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(key, f'must be "HOST:PORT" with a port 0-65535, not {value!r}')
    host = host.strip("[]") or "0.0.0.0"  # noqa: S104  (an empty host means all interfaces, as the user asked)
    return host, int(port_text)


# ---------------------------------------------------------------- routes


def _route(raw: Any, key: str, allow_private: bool) -> Route:
    if not isinstance(raw, dict):
        raise ConfigError(key, f"must be a table, not {type(raw).__name__}")
    read.check_keys(raw, _ROUTE_KEYS, key)
    name = read.string(raw.get("name", ""), f"{key}.name")
    if not _ROUTE_NAME.match(name):
        raise ConfigError(f"{key}.name", "required: 1-64 letters, digits, '_', '.', '-'")
    recipients = tuple(
        _pattern(p, f"{key}.recipients[{i}]")
        for i, p in enumerate(read.array(raw.get("recipients", []), f"{key}.recipients"))
    )
    if not recipients:
        raise ConfigError(f"{key}.recipients", "at least one recipient pattern is required")
    store = read.boolean(raw.get("store", False), f"{key}.store")
    target = _target(raw, key, allow_private) if "url" in raw else None
    if target is None and not store:
        raise ConfigError(f"{key}.url", "missing route target: set url (a webhook) or store = true")
    if target is not None and store:
        raise ConfigError(f"{key}.store", "a route has either a url or store = true, not both")
    kinds = None
    if "kinds" in raw:
        kinds = tuple(
            _kind(k, f"{key}.kinds[{i}]")
            for i, k in enumerate(read.array(raw["kinds"], f"{key}.kinds"))
        )
    kind_targets: list[tuple[str, Target]] = []
    by_kind = raw.get("by_kind", {})
    if not isinstance(by_kind, dict):
        raise ConfigError(f"{key}.by_kind", "must be a table of kind = {url, secret}")
    for kind, sub in by_kind.items():
        sub_key = f"{key}.by_kind.{kind}"
        _kind(kind, sub_key)
        if not isinstance(sub, dict):
            raise ConfigError(sub_key, "must be a table with url and secret")
        read.check_keys(sub, {"url": None, "secret": None, "secrets": None}, sub_key)
        if "url" not in sub:
            raise ConfigError(f"{sub_key}.url", "missing route target")
        kind_targets.append((kind, _target(sub, sub_key, allow_private)))
    unsub = tuple(
        read.string(a, f"{key}.unsubscribe_addresses[{i}]").lower()
        for i, a in enumerate(
            read.array(raw.get("unsubscribe_addresses", []), f"{key}.unsubscribe_addresses")
        )
    )
    for i, address in enumerate(unsub):
        if "@" not in address:
            raise ConfigError(f"{key}.unsubscribe_addresses[{i}]", f"not an address: {address!r}")
    return Route(
        name=name,
        recipients=recipients,
        target=target,
        kinds=kinds,
        kind_targets=tuple(kind_targets),
        inline_attachment_limit=read.integer(
            raw.get("inline_attachment_limit", DEFAULT_INLINE_ATTACHMENT_LIMIT),
            f"{key}.inline_attachment_limit",
            0,
        ),
        delete_after_delivery=read.boolean(
            raw.get("delete_after_delivery", False), f"{key}.delete_after_delivery"
        ),
        unsubscribe_addresses=unsub,
        raw_url=read.boolean(raw.get("raw_url", False), f"{key}.raw_url"),
        format=_format(raw.get("format", "inbound"), f"{key}.format"),
        raw_email=read.boolean(raw.get("raw_email", False), f"{key}.raw_email"),
        require_verified_sender=read.boolean(
            raw.get("require_verified_sender", False), f"{key}.require_verified_sender"
        ),
        quarantine=_quarantine(raw.get("quarantine"), f"{key}.quarantine", allow_private),
    )


_FORMATS = ("inbound", "postmark", "raw")


def _format(value: Any, key: str) -> str:
    text = read.string(value, key)
    if text not in _FORMATS:
        raise ConfigError(key, f'must be "inbound", "postmark" or "raw", not {text!r}')
    return text


def _quarantine(raw: Any, key: str, allow_private: bool) -> Target | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(key, "must be a table with url and secret")
    read.check_keys(raw, {"url": None, "secret": None, "secrets": None}, key)
    if "url" not in raw:
        raise ConfigError(f"{key}.url", "missing quarantine target")
    return _target(raw, key, allow_private)


def _target(raw: Mapping[str, Any], key: str, allow_private: bool) -> Target:
    url = _url(raw["url"], f"{key}.url", allow_private=allow_private)
    if "secrets" in raw:
        values = read.array(raw["secrets"], f"{key}.secrets")
        secrets = tuple(_secret(v, f"{key}.secrets[{i}]") for i, v in enumerate(values))
        if not secrets:
            raise ConfigError(f"{key}.secrets", "at least one whsec_ secret is required")
    elif "secret" in raw:
        secrets = (_secret(raw["secret"], f"{key}.secret"),)
    else:
        raise ConfigError(f"{key}.secret", "required with url: a Standard Webhooks whsec_… secret")
    return Target(url=url, secrets=secrets)


def _url(value: Any, key: str, *, allow_private: bool) -> str:
    text = read.string(value, key)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:
        raise ConfigError(key, f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = re.sub(r"//[^/@]*@", "//***@", text)  # no password in an error line
        raise ConfigError(key, f"must be an http(s) URL with a host, not {shown!r}")
    if parts.scheme != "https" and not allow_private:
        raise ConfigError(key, "must be https (set delivery.allow_private_webhooks for http)")
    if not allow_private and (why := urlguard.config_refusal(parts.hostname)) is not None:
        raise ConfigError(key, f"{why} (see delivery.allow_private_webhooks)")
    return text


def _secret(value: Any, key: str) -> Secret:
    text = read.string(value, key)
    if not text.startswith("whsec_"):
        raise ConfigError(key, "must start with whsec_ (Standard Webhooks secret)")
    try:
        raw = base64.b64decode(text[len("whsec_") :], validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(key, "the part after whsec_ is not valid base64") from None
    if not _SECRET_MIN_BYTES <= len(raw) <= _SECRET_MAX_BYTES:
        raise ConfigError(
            key, f"must decode to {_SECRET_MIN_BYTES}-{_SECRET_MAX_BYTES} bytes, not {len(raw)}"
        )
    return Secret(text)


def _deadlines(value: Any) -> tuple[tuple[str, int], ...] | None:
    if value is None:
        return None
    key = "classification.deadlines_days"
    if not isinstance(value, dict):
        raise ConfigError(key, "must be a table such as { GDPR = 30, CCPA = 45 }")
    return tuple((law, read.integer(days, f"{key}.{law}", 1)) for law, days in value.items())


def _install_secret(value: Any) -> Secret | None:
    if value is None:
        return None
    text = read.string(value, "privacy.install_secret").strip()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ConfigError(
            "privacy.install_secret", "must be hex (64 hex digits = 32 bytes)"
        ) from None
    if len(raw) < 32:
        raise ConfigError("privacy.install_secret", f"must be at least 32 bytes, not {len(raw)}")
    return Secret(text)


def _pattern(value: Any, key: str) -> str:
    text = read.string(value, key).strip().lower()
    if text != "*" and "@" not in text:
        raise ConfigError(key, f'must look like "user@domain", "*@domain" or "*", not {text!r}')
    return text


def _kind(value: Any, key: str) -> str:
    text = read.string(value, key)
    if text not in KINDS:
        raise ConfigError(key, f"unknown kind {text!r}; one of {', '.join(KINDS)}")
    return text


def _domain(value: Any, key: str) -> str:
    text = read.string(value, key).strip().lower().rstrip(".")
    if not text or "@" in text or " " in text or "*" in text:
        raise ConfigError(key, f"not a domain name: {text!r}")
    return text


# ---------------------------------------------------------------- S3


def _s3(raw: Any, environ: Mapping[str, str]) -> S3Settings | None:
    table: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError("storage.s3", "must be a table")
    for env_key, name in (
        ("INBOUND_S3_BUCKET", "bucket"),
        ("INBOUND_S3_PREFIX", "prefix"),
        ("INBOUND_S3_ENDPOINT_URL", "endpoint_url"),
        ("INBOUND_S3_REGION", "region"),
    ):
        if (v := read.env(environ, env_key)) is not None:
            table[name] = v
    if "bucket" not in table:
        return None
    key = "storage.s3"
    prefix = read.string(table.get("prefix", ""), f"{key}.prefix")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    style = read.string(table.get("addressing_style", "auto"), f"{key}.addressing_style")
    if style not in ("auto", "path", "virtual"):
        raise ConfigError(
            f"{key}.addressing_style", f'must be "auto", "path" or "virtual", not {style!r}'
        )
    sse = table.get("sse")
    if sse is not None and sse not in ("AES256", "aws:kms"):
        raise ConfigError(f"{key}.sse", f'must be "AES256" or "aws:kms", not {sse!r}')
    kms = table.get("kms_key_id")
    if kms is not None and sse != "aws:kms":
        raise ConfigError(f"{key}.kms_key_id", 'only with sse = "aws:kms"')
    endpoint = table.get("endpoint_url")
    if endpoint is not None:
        endpoint = _url(endpoint, f"{key}.endpoint_url", allow_private=True)
    return S3Settings(
        bucket=read.string(table["bucket"], f"{key}.bucket"),
        prefix=prefix,
        endpoint_url=endpoint,
        region=None
        if table.get("region") is None
        else read.string(table["region"], f"{key}.region"),
        addressing_style=style,
        sse=sse,
        kms_key_id=None if kms is None else read.string(kms, f"{key}.kms_key_id"),
        timeout_seconds=read.number(
            table.get("timeout_seconds", 20.0), f"{key}.timeout_seconds", 0.1
        ),
        presign_seconds=read.integer(
            table.get("presign_seconds", 7 * 24 * 3600), f"{key}.presign_seconds", 1
        ),
        max_pool_connections=read.integer(
            table.get("max_pool_connections", 10), f"{key}.max_pool_connections", 1
        ),
        apply_lifecycle=read.boolean(table.get("apply_lifecycle", True), f"{key}.apply_lifecycle"),
    )


# ---------------------------------------------------------------- checking helpers

# Every key the file may hold; None = a leaf, a dict = a sub-table, a list = array of tables.
_ROUTE_KEYS: dict[str, Any] = {
    "name": None,
    "recipients": None,
    "url": None,
    "secret": None,
    "secrets": None,
    "store": None,
    "kinds": None,
    "by_kind": None,
    "inline_attachment_limit": None,
    "delete_after_delivery": None,
    "unsubscribe_addresses": None,
    "raw_url": None,
    "format": None,
    "raw_email": None,
    "require_verified_sender": None,
    "quarantine": None,
}
_SCHEMA: dict[str, Any] = {
    "server": {
        "listen": None,
        "hostname": None,
        "domains": None,
        "max_message_bytes": None,
        "max_recipients": None,
        "max_connections_per_ip": None,
        "max_connections": None,
        "max_messages_per_minute_per_ip": None,
        "tls_cert": None,
        "tls_key": None,
        "shutdown_grace_seconds": None,
        "processes": None,
        "require_tls": None,
        "ipv6_prefix_length": None,
        "max_data_in_flight_bytes": None,
        "max_line_length": None,
        "timeout_seconds": None,
    },
    "storage": {
        "backend": None,
        "data_dir": None,
        "shared": None,
        "s3": {
            "bucket": None,
            "prefix": None,
            "endpoint_url": None,
            "region": None,
            "addressing_style": None,
            "sse": None,
            "kms_key_id": None,
            "timeout_seconds": None,
            "presign_seconds": None,
            "max_pool_connections": None,
            "apply_lifecycle": None,
        },
    },
    "outbox": _OUTBOX_KEYS,
    "retention": {"raw_days": None, "event_days": None, "metadata_days": None},
    "delivery": {
        "concurrency": None,
        "max_attempt_days": None,
        "initial_backoff_seconds": None,
        "max_backoff_seconds": None,
        "jitter_seconds": None,
        "allow_private_webhooks": None,
    },
    "log": {"level": None, "format": None},
    "admin": config_admin.SCHEMA,
    "privacy": {"encrypt_at_rest": None, "install_secret": None},
    "classification": {"deadlines_days": None},
    "dns": auth_settings.DNS_KEYS,
    "spam": auth_settings.SPAM_KEYS,
    "auth": auth_settings.AUTH_KEYS,
    "routes": [],
}


def _processes(
    environ: Mapping[str, str], overrides: Mapping[str, Any], server: Mapping[str, Any]
) -> int | None:
    """``server.processes`` (< ``--processes`` < ``INBOUND_PROCESSES``); None: one per core."""
    value = read.env_int(environ, "INBOUND_PROCESSES")
    for key, candidate in (
        ("INBOUND_PROCESSES", value),
        ("--processes", overrides.get("processes")),
        ("server.processes", server.get("processes")),
    ):
        if candidate is not None:
            return read.integer(candidate, key, 1)
    return None


def _log_level(value: Any) -> str:
    text = read.string(value, "log.level").upper()
    if text not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("log.level", f"must be DEBUG, INFO, WARNING or ERROR, not {text!r}")
    return text
