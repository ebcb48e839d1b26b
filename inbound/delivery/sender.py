"""The one aiohttp (and yarl) user: POST a signed event; one keep-alive pool; a hard 30 s deadline.

Why aiohttp and not httpx (issue 12, measured with ``bench/webhook_fanout.py``, 50
deliveries in flight to a keep-alive loopback receiver on 2 cores): httpx spent 0.8-1.3
CPU ms per POST and reached 220-550 POST/s with a p99 of 0.5-1.3 s, whether one pool or
several small ones (encode/httpx#3215; its pool also asked ``sniffio`` on every request);
aiohttp spends about 0.15 CPU ms and reaches 1,500-2,800 POST/s, p99 under 100 ms. So one
``aiohttp.ClientSession`` with one connection pool (``concurrency`` connections) serves
every delivery of the process.

The 30 s deadline is ``asyncio.timeout`` around the whole call (DESIGN §6; connect is
capped at 5 s). Redirects are never followed: a 3xx is just "not 2xx" and retried. No proxy
or netrc from the environment. A receiver's answer body is read up to 64 KiB, then the
connection is dropped rather than reused. ``pin`` connects to the address the URL guard
checked (a resolver that answers with it), while the Host header, TLS SNI and the
certificate check keep the URL's host name, so the name is never looked up again between
the check and the connection (no DNS-rebinding window).
"""

from __future__ import annotations

import asyncio
import io
import socket
import ssl
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL  # aiohttp's own URL type: the host exactly as aiohttp resolves it

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 30.0
MAX_RESPONSE_BYTES = 64 * 1024
# The first bytes of a webhook's answer are kept with the attempt (the admin API shows them).
RESPONSE_EXCERPT_BYTES = 1024
_USER_AGENT = "inbound-webhooks/1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    status_code: int | None  # None: no HTTP answer (see error)
    retry_after: str | None = None
    error: str | None = None  # "timeout", "connect_error", or the client error's name
    body: bytes = b""  # at most RESPONSE_EXCERPT_BYTES of the answer's body


class _PinnedResolver(AbstractResolver):
    """Answers with the pinned address of a host, and asks the system for any other."""

    def __init__(self) -> None:
        self.pins: dict[str, str] = {}
        self._system = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        address = self.pins.get(host)
        if address is None:
            return await self._system.resolve(host, port, family)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        await self._system.close()


class Sender:
    def __init__(
        self,
        concurrency: int,
        *,
        total_timeout: float = TOTAL_TIMEOUT,
        verify: ssl.SSLContext | bool = True,  # tests hand in their own CA's context
    ) -> None:
        self.total_timeout = total_timeout
        self._limit = max(1, concurrency)
        self._verify = verify
        self._resolver: _PinnedResolver | None = None
        # Made on first use, inside the running loop (aiohttp binds it to that loop).
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> tuple[aiohttp.ClientSession, _PinnedResolver]:
        if self._session is None or self._resolver is None:
            self._resolver = _PinnedResolver()
            connector = aiohttp.TCPConnector(
                limit=self._limit,
                limit_per_host=0,
                resolver=self._resolver,
                use_dns_cache=False,  # the resolver decides every new connection
                ssl=self._verify,
                keepalive_timeout=30,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
                headers={"user-agent": _USER_AGENT},
                trust_env=False,  # no proxy from the environment for customers' webhooks
                auto_decompress=False,
            )
        return self._session, self._resolver

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], *, pin: str | None = None
    ) -> Response:
        """POST ``body``; with ``pin``, connect to that address (the one the URL guard
        checked) while the Host header, TLS SNI and certificate check keep the host name."""
        session, resolver = self._client()
        try:
            if pin is not None:
                resolver.pins[URL(url).host or ""] = pin
            async with (
                asyncio.timeout(self.total_timeout),
                session.post(
                    url, data=_payload(body), headers=headers, allow_redirects=False
                ) as resp,
            ):
                status, retry_after = resp.status, resp.headers.get("retry-after")
                excerpt = await _drain(resp)
        except TimeoutError:  # our deadline, or aiohttp's connect timeout
            return Response(status_code=None, error="timeout")
        except aiohttp.ClientConnectorError:  # refused, unreachable, TLS or certificate
            return Response(status_code=None, error="connect_error")
        except (aiohttp.ClientError, ValueError) as exc:  # ValueError: a URL aiohttp refuses
            return Response(status_code=None, error=type(exc).__name__)
        return Response(status_code=status, retry_after=retry_after, body=excerpt)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# aiohttp sends a bytes body of more than 1 MiB in one write and warns (ResourceWarning)
# that it may hold the event loop; a file-like body is streamed with its Content-Length.
_STREAM_ABOVE_BYTES = 2**20


def _payload(body: bytes) -> bytes | io.BytesIO:
    return io.BytesIO(body) if len(body) > _STREAM_ABOVE_BYTES else body


async def _drain(resp: aiohttp.ClientResponse) -> bytes:
    """Read the answer to its end (so the connection is reused), at most 64 KiB of it;
    return its first ``RESPONSE_EXCERPT_BYTES``."""
    excerpt = b""
    left = MAX_RESPONSE_BYTES
    while left > 0:
        chunk = await resp.content.read(min(16384, left))
        if not chunk:
            return excerpt
        if len(excerpt) < RESPONSE_EXCERPT_BYTES:
            excerpt += chunk[: RESPONSE_EXCERPT_BYTES - len(excerpt)]
        left -= len(chunk)
    resp.close()  # more than we read: drop the connection instead of reading it all
    return excerpt
