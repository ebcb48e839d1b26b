"""A Django test site running django-anymail's real Postmark inbound view on loopback.

Django is configured once per test run (its settings are process-wide) with anymail
installed and Basic auth ``WEBHOOK_SECRET``; a wsgiref server on 127.0.0.1 port 0 serves
``/anymail/postmark/inbound/``. What anymail hands the app (the ``inbound`` signal's
``AnymailInboundMessage``) is kept, so tests assert on what a Django app would read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

USER, PASSWORD = "anymail", "hunter2-correct-horse"
INBOUND_PATH = "/anymail/postmark/inbound/"
urlpatterns: list[Any] = []  # filled at configure time (ROOT_URLCONF is this module)


@dataclass
class Site:
    port: int
    received: list[Any] = field(default_factory=list)  # AnymailInboundMessage objects
    statuses: list[int] = field(default_factory=list)

    def url(self, password: str = PASSWORD) -> str:
        return f"http://{USER}:{password}@127.0.0.1:{self.port}{INBOUND_PATH}"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


_configured: list[bool] = []


def _configure() -> None:
    if _configured:
        return
    import django
    from django.conf import settings
    from django.urls import include, path

    settings.configure(
        DEBUG=False,
        SECRET_KEY="test-only-not-secret",
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["anymail"],
        MIDDLEWARE=[],
        USE_TZ=True,
        ANYMAIL={"WEBHOOK_SECRET": f"{USER}:{PASSWORD}"},
        LOGGING_CONFIG=None,
    )
    django.setup()
    urlpatterns.append(path("anymail/", include("anymail.urls")))
    _configured.append(True)


@pytest.fixture
def anymail_site() -> Iterator[Site]:
    _configure()
    from anymail.signals import inbound
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    site = Site(port=server.server_port)

    def keep(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
        site.received.append(event.message)

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        def recording(status: str, headers: Any, *rest: Any) -> Any:
            site.statuses.append(int(status.split()[0]))
            return start_response(status, headers, *rest)

        return app(environ, recording)

    server.set_app(wsgi)
    inbound.connect(keep, weak=False, dispatch_uid=f"test-{id(site)}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        inbound.disconnect(dispatch_uid=f"test-{id(site)}")
        server.shutdown()
        server.server_close()
