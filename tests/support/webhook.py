"""A real webhook receiver on loopback that verifies Standard Webhooks signatures.

It answers from a script of responses (status, headers), then 200; every POST is kept
with its headers, verified body and verification result, so tests assert on what a
customer's endpoint would really have seen.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook

SECRET = "whsec_" + base64.b64encode(b"test-secret-0123456789abcdef-0123").decode()


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    event: dict[str, Any] | None  # None when verification failed
    error: str | None
    at: float = field(default_factory=time.monotonic)


class Receiver:
    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self._verifier = Webhook(secret)
        self.deliveries: list[Delivery] = []
        self.script: deque[tuple[int, dict[str, str]]] = deque()
        self.delay_seconds = 0.0
        self.response_body = b""  # sent with every answer (the admin API keeps 1 KB of it)
        self.arrived = threading.Event()  # set when a POST has come in (before any delay)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's method name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.arrived.set()
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    event = receiver._verifier.verify(body, headers)
                    error = None
                except Exception as exc:  # any verification failure is recorded, not raised
                    event, error = None, f"{type(exc).__name__}: {exc}"
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                with receiver._lock:
                    status, extra = receiver.script.popleft() if receiver.script else (200, {})
                    receiver.deliveries.append(
                        Delivery(headers=headers, body=body, event=event, error=error)
                    )
                    receiver._arrived.notify_all()
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(receiver.response_body)))
                self.end_headers()
                self.wfile.write(receiver.response_body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def respond(self, *responses: tuple[int, dict[str, str]] | int) -> None:
        for r in responses:
            self.script.append((r, {}) if isinstance(r, int) else r)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(self.deliveries)} webhook POSTs arrived, wanted {count}"
                    )
                self._arrived.wait(left)
            return list(self.deliveries)

    def events(self) -> list[dict[str, Any]]:
        out = []
        for d in self.deliveries:
            assert d.error is None, f"signature did not verify: {d.error}"
            assert d.event is not None
            out.append(d.event)
        return out

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def decoded(delivery: Delivery) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(delivery.body)
    return loaded
