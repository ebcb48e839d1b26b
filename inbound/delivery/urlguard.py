"""Webhook URL guard (DESIGN §6): https only; no loopback, private, link-local or
metadata addresses unless explicitly allowed.

Checked at send time, on the addresses the host name resolves to now, so a name that
later points inside the network is refused too. (httpx resolves again when it connects;
a rebinding DNS server could still race that; pinning the address is future work.)
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class Refused(Exception):
    """The URL may not be called; the message says why (no secrets, no body)."""


async def check(url: str, *, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme != "https" and not allow_private:
        raise Refused("webhook URL is not https")
    if allow_private:
        return
    host = parts.hostname or ""
    try:
        ips = [ipaddress.ip_address(host)]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise Refused(f"cannot resolve webhook host ({type(exc).__name__})") from None
        ips = [ipaddress.ip_address(info[4][0]) for info in infos]
    for ip in ips:
        if not ip.is_global or ip.is_multicast:
            raise Refused(f"webhook host resolves to a non-public address ({ip})")
