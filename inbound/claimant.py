"""Who a delivery worker claims jobs as: a node id stable across restarts, and a boot id.

The node id is ``<node>.<dir>/<slot>``: ``node`` is ``[outbox] node_id`` (default: the
host name), ``dir`` names the data dir (random, made once: ``data_dir/claims/id``, so two
data dirs on one host, or two containers that share a host name, never share node ids),
and ``slot`` the lowest number whose lock file (``data_dir/claims/<node>.<slot>.lock``)
this process could lock. Two live processes on one machine never hold the same slot,
so they never share a node id; a process that dies releases its lock with it (the kernel
drops ``flock`` locks of a dead process), and the next one to start takes that slot and
with it, at once, the claims the dead one left (the boot id differs), instead of waiting
out their lease. The boot id is random per process start.

This module may not decide anything about jobs; it only names the claimant.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from inbound.outbox.model import Claimant

# More worker processes than this on one machine and one data dir is a configuration
# error in all but name; slots beyond it fall back to a claimant of their own.
MAX_SLOTS = 256
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(slots=True)
class Slot:
    """A held slot: keep it for the life of the worker, then ``release``."""

    claimant: Claimant
    fd: int | None

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def default_node() -> str:
    return _UNSAFE.sub("_", socket.gethostname() or "node")


def node_prefix(data_dir: Path, node: str | None = None) -> str:
    """``<node>.<dir>``: what every node id of this data dir starts with (before ``/slot``)."""
    name = _UNSAFE.sub("_", node) if node else default_node()
    return f"{name}.{_dir_id(data_dir / 'claims')}"


def _dir_id(folder: Path) -> str:
    """The data dir's own random name, created once (the first process to link it wins)."""
    path = folder / "id"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    tmp = folder / f"id.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.write_text(uuid.uuid4().hex[:12])
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process named it first: use its name
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def take(data_dir: Path, node: str | None = None) -> Slot:
    """Lock the lowest free slot of ``node`` under ``data_dir``; its claimant and lock."""
    name = _UNSAFE.sub("_", node) if node else default_node()
    boot = uuid.uuid4().hex
    folder = data_dir / "claims"
    try:
        prefix = node_prefix(data_dir, node)
    except OSError:
        return Slot(claimant=Claimant(node=f"{name}/{boot}", boot=boot), fd=None)
    for slot in range(MAX_SLOTS):
        path = folder / f"{name}.{slot}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            break
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return Slot(claimant=Claimant(node=f"{prefix}/{slot}", boot=boot), fd=fd)
    # No lock to be had (read-only dir, too many processes): a node of its own, whose
    # claims come back after their lease like any dead worker's.
    return Slot(claimant=Claimant(node=f"{name}/{boot}", boot=boot), fd=None)
