"""Loopback helpers for tests that start servers as processes."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback TCP port free right now (bound, then released, for a child to take)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
