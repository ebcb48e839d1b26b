"""`inbound serve` as several processes: a killed child loses nothing and comes back.

The supervisor runs SMTP acceptors (sharing the port) and delivery workers; SIGKILL of
either kind in the middle of a load must lose no message that was answered 250, the
supervisor must start the child again, and SIGTERM must stop every process.
"""

from __future__ import annotations

import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from inbound import supervisor
from inbound.config import from_mapping
from inbound.errors import ConfigError
from tests.support.net import free_port
from tests.support.service import message
from tests.support.webhook import SECRET, Receiver


def _children(log: Path) -> dict[str, int]:
    """The latest pid of each child, from the supervisor's 'started NAME (pid N)' lines."""
    found: dict[str, int] = {}
    for name, pid in re.findall(r"started (\w+-\d+) \(pid (\d+)\)", log.read_text()):
        found[name] = int(pid)
    return found


def _wait(predicate: object, what: str, timeout: float = 20.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


class _Load:
    """Threads sending one message per connection; ids answered 250 are 'accepted'."""

    def __init__(self, port: int, threads: int = 3) -> None:
        self.port = port
        self.accepted: list[str] = []
        self.failed = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]
        for t in self._threads:
            t.start()

    def _run(self, n: int) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            raw = message(subject=f"load {n}-{i}").as_bytes()
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as s:
                    s.ehlo("client.test")
                    s.mail("a@sender.test")
                    s.rcpt("support@example.test")
                    code, reply = s.data(raw)
            except (OSError, smtplib.SMTPException):
                with self._lock:
                    self.failed += 1  # a killed acceptor: never answered 250, not accepted
                continue
            if code == 250:
                with self._lock:
                    self.accepted.append(reply.decode().rsplit(" ", 1)[1])

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)


def test_sigkill_of_any_child_loses_nothing_it_restarts_and_sigterm_stops_all(
    tmp_path: Path,
) -> None:
    receiver = Receiver()
    receiver.delay_seconds = 0.05  # so a worker has POSTs in flight when it is killed
    port = free_port()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    cmd = [
        sys.executable,
        "-m",
        "inbound",
        "serve",
        "--processes",
        "2",
        "--listen",
        f"127.0.0.1:{port}",
        "--data-dir",
        str(tmp_path / "d"),
        "--domain",
        "example.test",
        "--webhook",
        receiver.url,
        "--secret",
        SECRET,
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, env=env)
    load: _Load | None = None
    try:
        _wait(lambda: len(_children(log)) == 4, "two acceptors and two workers", 30)
        _wait(lambda: log.read_text().count("SMTP listening") == 2, "both acceptors listening")
        first = _children(log)
        load = _Load(port)
        for victim in ("smtp-0", "worker-1"):
            _wait(lambda: load is not None and load.count() >= 5, "mail flowing")
            before = load.count()
            os.kill(first[victim], signal.SIGKILL)
            _wait(lambda v=victim: _children(log)[v] != first[v], f"{victim} started again")
            _wait(lambda v=victim: _alive(_children(log)[v]), f"{victim} running again")
            # Mail keeps flowing (through the restarted child too).
            _wait(lambda b=before: load is not None and load.count() >= b + 10, "more mail")
        load.stop()
        accepted = set(load.accepted)
        assert len(accepted) >= 20
        # Every message answered 250 is delivered (at least once), a killed worker's
        # claimed jobs included: their leases were released, not left to run out.
        _wait(
            lambda: accepted <= {e["data"]["id"] for e in receiver.events()},
            f"all {len(accepted)} accepted messages delivered",
            30,
        )
        text = log.read_text()
        assert "smtp-0 exited (status -9)" in text
        assert "worker-1 exited (status -9)" in text
        pids = list(_children(log).values())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(40) == 0, log.read_text()[-2000:]
        assert not [pid for pid in pids if _alive(pid)]
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        if load is not None:
            load.stop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _children(log).values():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        receiver.close()


def test_a_role_is_which_children_a_node_runs() -> None:
    def names(role: supervisor.Role, n: int) -> list[str]:
        return [c.name for c in supervisor.children(role, n)]

    assert names(supervisor.Role.ALL, 2) == ["smtp-0", "smtp-1", "worker-0", "worker-1"]
    assert names(supervisor.Role.SMTP, 3) == ["smtp-0", "smtp-1", "smtp-2"]
    assert names(supervisor.Role.WORKER, 1) == ["worker-0"]


def test_processes_key_flag_and_environment() -> None:
    server = {"listen": "127.0.0.1:0", "domains": ["example.test"]}
    assert from_mapping({"server": server}, {}, {}).processes is None  # one per core
    assert supervisor.processes_for(from_mapping({"server": server}, {}, {})) >= 1
    with_key = {"server": {**server, "processes": 3}}
    assert from_mapping(with_key, {}, {}).processes == 3
    assert from_mapping(with_key, {}, {"processes": 1}).processes == 1
    assert from_mapping(with_key, {"INBOUND_PROCESSES": "2"}, {"processes": 1}).processes == 2
    with pytest.raises(ConfigError, match=r"server\.processes"):
        from_mapping({"server": {**server, "processes": 0}}, {}, {})
    with pytest.raises(ConfigError, match="--processes"):
        from_mapping({"server": server}, {}, {"processes": 0})


def test_children_stop_when_the_supervisor_is_sigkilled(tmp_path: Path) -> None:
    # Before: the children lived on under PID 1, kept the port, and the next start
    # failed with "address in use".
    port = free_port()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    cmd = [sys.executable, "-m", "inbound", "serve", "--processes", "2"]
    cmd += ["--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / "d")]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait(lambda: len(_children(log)) == 4, "two acceptors and two workers", 30)
        _wait(lambda: log.read_text().count("SMTP listening") == 2, "both acceptors listening")
        pids = list(_children(log).values())
        proc.kill()
        proc.wait()
        _wait(lambda: not [pid for pid in pids if _alive(pid)], "every child gone", 30)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _children(log).values():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
