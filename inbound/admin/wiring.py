"""Build the admin listener from a running Service (kept out of app.py, which only calls it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inbound import crypto
from inbound.admin.api import Api
from inbound.admin.auth import Auth
from inbound.admin.files import FileSigner
from inbound.admin.server import AdminServer
from inbound.config_admin import AdminSettings

if TYPE_CHECKING:
    from inbound.app import Service

_ANY = ("0.0.0.0", "::", "")  # noqa: S104  (names of "all interfaces", compared, not bound)


def _admin(service: Service) -> AdminSettings:
    if service.settings.admin is None:
        raise RuntimeError("the admin listener is not configured")
    return service.settings.admin


def build(service: Service, files_key: bytes) -> AdminServer:
    admin = _admin(service)
    token = None if admin.token is None else admin.token.reveal()
    allowed = {"localhost", "127.0.0.1", "::1", admin.host.lower(), service.settings.hostname}
    if admin.public_url:
        allowed.add((admin.public_url.split("//", 1)[1].split("/", 1)[0]).rsplit(":", 1)[0])
    return AdminServer(
        host=admin.host,
        port=admin.port,
        auth=Auth.create(token, open_key=crypto.derive(files_key, "admin-session")),
        api=Api(outbox=service.outbox, store=service.store, clock=service.clock),
        metrics=service.metrics,
        objects=service.objects,
        files=_signer(service, files_key, admin.public_url or ""),
        allowed_hosts=frozenset(h.strip("[]").lower() for h in allowed),
        # Several processes of one `inbound serve` share the port (SO_REUSEPORT); the
        # metrics and the outbox are the whole service's, so any of them may answer.
        reuse_port=bool(getattr(service, "reuse_port", False)),
    )


def file_signer(service: Service, files_key: bytes, address: tuple[str, int]) -> FileSigner:
    """The signer the worker uses, with the URL receivers reach the listener at."""
    admin = _admin(service)
    base = admin.public_url
    if not base:
        host = service.settings.hostname if address[0] in _ANY else address[0]
        host = f"[{host}]" if ":" in host else host
        base = f"http://{host}:{address[1]}"
    signer = _signer(service, files_key, base)
    if service.admin is not None:
        service.admin.files = signer
    return signer


def _signer(service: Service, files_key: bytes, base: str) -> FileSigner:
    admin = _admin(service)
    s3 = service.settings.s3
    prefix = s3.prefix if service.settings.storage_backend == "s3" and s3 else ""
    return FileSigner(
        secret=files_key,
        base_url=base,
        clock=service.clock,
        seconds=admin.file_url_seconds,
        prefix=prefix,
    )
