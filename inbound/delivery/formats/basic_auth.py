"""HTTP Basic auth from a webhook URL's userinfo (RFC 9110 §11, RFC 7617).

``https://user:pa%40ss@host/path`` becomes ``https://host/path`` and an ``Authorization``
header; user and password are percent-decoded (RFC 3986 §3.2.1), so any password can be
written in a URL. The header value is a secret: callers put it in request headers only.
"""

from __future__ import annotations

import base64
from urllib.parse import unquote, urlsplit, urlunsplit


def split(url: str) -> tuple[str, str | None]:
    """``(url without userinfo, "Basic …" or None)``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    token = f"{unquote(user)}:{unquote(password)}".encode()
    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return clean, "Basic " + base64.b64encode(token).decode("ascii")
