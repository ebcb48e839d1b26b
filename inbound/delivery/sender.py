"""The one httpx user: POST a signed event; small pools; a hard 30 s deadline.

On 2 cores one big httpx pool collapses under concurrency (encode/httpx#3215), so each
client is capped at 10 connections and fan-out beyond that gets more clients, used in
turn. ``httpx.Timeout`` has no whole-request limit (read restarts with every chunk), so
the 30 s deadline is ``asyncio.timeout`` around the call (DESIGN §6). Redirects are
never followed: a 3xx is just "not 2xx" and retried.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import ssl
from dataclasses import dataclass

import httpx

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 30.0
MAX_CONNECTIONS_PER_CLIENT = 10
# The first bytes of a webhook's answer are kept with the attempt (the admin API shows them).
RESPONSE_EXCERPT_BYTES = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    status_code: int | None  # None: no HTTP answer (see error)
    retry_after: str | None = None
    error: str | None = None  # "timeout", "connect_error", "tls_error", …
    body: bytes = b""  # at most RESPONSE_EXCERPT_BYTES of the answer's body


class Sender:
    def __init__(
        self,
        concurrency: int,
        *,
        total_timeout: float = TOTAL_TIMEOUT,
        verify: ssl.SSLContext | bool = True,  # tests hand in their own CA's context
    ) -> None:
        n = max(1, math.ceil(concurrency / MAX_CONNECTIONS_PER_CLIENT))
        self.total_timeout = total_timeout
        self._clients = [
            httpx.AsyncClient(
                timeout=httpx.Timeout(total_timeout, connect=CONNECT_TIMEOUT),
                limits=httpx.Limits(
                    max_connections=MAX_CONNECTIONS_PER_CLIENT,
                    max_keepalive_connections=MAX_CONNECTIONS_PER_CLIENT,
                ),
                follow_redirects=False,
                verify=verify,
                trust_env=False,  # no proxy from the environment for customers' webhooks
                headers={"user-agent": "inbound-webhooks/1"},
            )
            for _ in range(n)
        ]
        self._next = itertools.cycle(self._clients)

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], *, pin: str | None = None
    ) -> Response:
        """POST ``body``; with ``pin``, connect to that address (the one the URL guard
        checked) while the Host header, TLS SNI and certificate check keep the host name."""
        client = next(self._next)
        request = client.build_request("POST", url, content=body, headers=headers)
        if pin is not None:
            host = request.url.host
            request.headers["host"] = request.url.netloc.decode("ascii")
            request.url = request.url.copy_with(host=pin)
            request.extensions["sni_hostname"] = host
        try:
            async with asyncio.timeout(self.total_timeout):
                resp = await client.send(request, stream=True)
                excerpt = b""
                try:
                    async for chunk in resp.aiter_bytes():
                        excerpt += chunk
                        if len(excerpt) >= RESPONSE_EXCERPT_BYTES:
                            break
                finally:
                    await resp.aclose()
        except TimeoutError:
            return Response(status_code=None, error="timeout")
        except httpx.TimeoutException:
            return Response(status_code=None, error="timeout")
        except httpx.ConnectError:
            return Response(status_code=None, error="connect_error")
        except httpx.HTTPError as exc:
            return Response(status_code=None, error=type(exc).__name__)
        return Response(
            status_code=resp.status_code,
            retry_after=resp.headers.get("retry-after"),
            body=excerpt[:RESPONSE_EXCERPT_BYTES],
        )

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()
