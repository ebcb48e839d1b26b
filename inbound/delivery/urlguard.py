"""Webhook URL guard (DESIGN §6): https only; never a loopback, private, link-local,
metadata or otherwise non-public address unless explicitly allowed.

Two checks, one rule:

* at start (``config_refusal``), on the host as written: the resolver accepts far more
  spellings of an address than ``ipaddress`` does (``inet_aton`` forms such as
  ``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``, ``0``; trailing dots;
  fullwidth and ideographic dots, which IDNA (UTS 46) maps to ``.``), so the host is
  normalised the way the resolver would read it before it is judged;
* at send time (``check``), on every address the name resolves to now. The address it
  returns is the one the sender connects to (``Pinned``), so a rebinding DNS server
  cannot answer the guard with a public address and the sender with a private one; TLS keeps
  SNI and certificate checks on the host name.

``ipaddress.is_global`` alone is not enough on Python 3.11: it calls NAT64
(``64:ff9b::a9fe:a9fe`` reaches 169.254.169.254), 6to4 and Teredo addresses global. Every
non-global form is refused explicitly (``_BLOCKED``), whatever the Python version says.

A name that does not resolve is ``Unresolved``, a transient error: the customer's DNS
may be having a blip, so the delivery is retried on its schedule (issue 16). ``Refused``
is for good.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

from inbound.errors import PermanentError, TransientError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges refused whatever ``is_global`` says, each with the reason printed when it matches
# (IANA special-purpose registries, RFC 6890 and its updates).
_BLOCKED: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.ip_network(net), why)
    for net, why in (
        ("0.0.0.0/8", "'this network'"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT (RFC 6598)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local / cloud metadata"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking (RFC 2544)"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/96", "IPv4-compatible / unspecified"),
        ("::1/128", "loopback"),
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("64:ff9b::/96", "NAT64 (RFC 6052)"),
        ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"),
        ("100::/64", "discard-only"),
        ("2001::/32", "Teredo"),
        ("2001:2::/48", "benchmarking"),
        ("2001:db8::/32", "documentation"),
        ("2001:10::/28", "ORCHID"),
        ("2002::/16", "6to4"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "segment routing"),
        ("fc00::/7", "unique local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
# Dots that IDNA (UTS 46) maps to "." (fullwidth, ideographic, halfwidth ideographic).
_DOTS = str.maketrans({"\uff0e": ".", "\u3002": ".", "\uff61": "."})


class Refused(PermanentError):
    """The URL may not be called, now or later; the message says why (no secrets)."""


class Unresolved(TransientError):
    """The webhook host did not resolve now: retried on the delivery schedule."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Pinned:
    """Where to connect: the checked address (None: resolve normally, guard disabled)."""

    host: str
    ip: str | None


def refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be called (None: it is a public unicast address)."""
    for network, why in _BLOCKED:
        if ip.version == network.version and ip in network:
            return why
    if not ip.is_global or ip.is_multicast:
        return "not globally routable"
    return None


def normalise_host(host: str) -> str:
    """The host as the resolver reads it: IDNA/UTS 46, no trailing dot, lower case."""
    text = host.strip().translate(_DOTS).rstrip(".").lower()
    if text.startswith("[") and text.endswith("]"):
        return text[1:-1]
    if text.isascii():
        return text
    try:
        return idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError:
        return text


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally, in any spelling ``inet_aton`` accepts."""
    name = normalise_host(host)
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    if not name or any(c not in "0123456789abcdefx." for c in name):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        return None


def config_refusal(host: str) -> str | None:
    """Why a configured webhook host is refused at start (None: judged at send time)."""
    name = normalise_host(host)
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return "points at localhost"
    ip = literal_address(name)
    if ip is not None and (why := refusal(ip)) is not None:
        return f"points at a non-public address {ip} ({why})"
    return None


async def check(url: str, *, allow_private: bool) -> Pinned:
    """Refuse a URL that may not be called; else the address to connect to."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" and not allow_private:
        raise Refused("webhook URL is not https")
    if allow_private:
        return Pinned(host=host, ip=None)
    if (why := config_refusal(host)) is not None:
        raise Refused(f"webhook host {why}")
    literal = literal_address(host)
    if literal is not None:
        return Pinned(host=host, ip=str(literal))
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(
            normalise_host(host), parts.port or 443, type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError) as exc:
        raise Unresolved(f"cannot resolve webhook host ({type(exc).__name__})") from None
    ips = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
    if not ips:
        raise Unresolved("webhook host has no address")
    for ip in ips:
        if (why := refusal(ip)) is not None:
            raise Refused(f"webhook host resolves to a non-public address ({ip}: {why})")
    return Pinned(host=host, ip=str(ips[0]))
