"""`inbound serve` as a process: first run, signals, and a graceful stop with DATA in flight."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.service import assert_valid_event, message
from tests.support.webhook import SECRET, Receiver


class Serve:
    def __init__(self, tmp: Path, *args: str) -> None:
        self.port = free_port()
        self.log = tmp / "serve.log"
        cmd = [
            sys.executable,
            "-m",
            "inbound",
            "serve",
            "--listen",
            f"127.0.0.1:{self.port}",
            *args,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=tmp, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("inbound serve did not listen")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self) -> int:
        return self.proc.wait(30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def serve_factory(tmp_path: Path) -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for s in started:
        s.kill()


def test_first_run_defaults_keep_events_and_sigterm_exits_0(
    tmp_path: Path, serve_factory: list[Serve]
) -> None:
    serve = Serve(tmp_path)  # no config, no --data-dir: ./inbound-data, domain localhost
    serve_factory.append(serve)
    with smtplib.SMTP("127.0.0.1", serve.port, timeout=30) as s:
        s.ehlo("client.test")
        s.mail("a@sender.test")
        assert s.rcpt("someone@example.com")[0] == 550  # only localhost is served
        assert s.rcpt("postmaster@localhost")[0] == 250
        code, reply = s.data(message(to="postmaster@localhost").as_bytes())
        assert code == 250
    msg_id = reply.decode().rsplit(" ", 1)[1]
    events_dir = tmp_path / "inbound-data" / "events"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not list(events_dir.rglob(f"{msg_id}.json")):
        time.sleep(0.1)
    [kept] = list(events_dir.rglob(f"{msg_id}.json"))
    assert kept.read_bytes()[:4] == b"INB1"  # sealed at rest
    serve.signal(signal.SIGTERM)
    assert serve.wait() == 0
    # `inbound show` opens it for the operator.
    shown = subprocess.run(
        [sys.executable, "-m", "inbound", "show", msg_id],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert_valid_event(json.loads(shown.stdout))
    log = serve.log.read_text()
    assert msg_id in log  # the id is logged so a first run shows something
    assert "a@sender.test" not in log and "Hello" not in log  # no address, no subject


def test_sigterm_lets_data_in_progress_finish(tmp_path: Path, serve_factory: list[Serve]) -> None:
    receiver = Receiver()
    try:
        serve = Serve(
            tmp_path,
            "--data-dir",
            str(tmp_path / "d"),
            "--domain",
            "example.test",
            "--webhook",
            receiver.url,
            "--secret",
            SECRET,
        )
        serve_factory.append(serve)
        raw = message(subject="In flight").as_bytes()
        s = smtplib.SMTP("127.0.0.1", serve.port, timeout=30)
        s.ehlo("client.test")
        s.mail("a@sender.test")
        s.rcpt("support@example.test")
        s.putcmd("data")
        assert s.getreply()[0] == 354
        s.send(raw[: len(raw) // 2])
        serve.signal(signal.SIGTERM)
        time.sleep(0.5)
        # No new connections once stopping...
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", serve.port), timeout=2).close()
        # ...but the transaction in progress completes and is accepted.
        s.send(raw[len(raw) // 2 :] + b".\r\n")
        code, reply = s.getreply()
        assert code == 250, reply
        s.close()
        assert serve.wait() == 0
        # Accepted means durable: the next run delivers it (if this one did not already).
        if not receiver.deliveries:
            again = Serve(
                tmp_path,
                "--data-dir",
                str(tmp_path / "d"),
                "--domain",
                "example.test",
                "--webhook",
                receiver.url,
                "--secret",
                SECRET,
            )
            serve_factory.append(again)
            receiver.wait_for(1)
            again.signal(signal.SIGINT)
            assert again.wait() == 0
        assert [e["data"]["subject"] for e in receiver.events()] == ["In flight"]
    finally:
        receiver.close()


def test_worker_process_delivers_what_serve_accepted_and_redeliver(
    tmp_path: Path, serve_factory: list[Serve]
) -> None:
    receiver = Receiver()
    receiver.respond(410)  # the first POST is refused for good
    config = tmp_path / "inbound.toml"
    config.write_text(
        '[server]\ndomains = ["example.test"]\n[delivery]\nallow_private_webhooks = true\n'
        f'[[routes]]\nname = "support"\nrecipients = ["support@example.test"]\n'
        f'url = "{receiver.url}"\nsecret = "{SECRET}"\n'
    )
    data = ["--config", str(config), "--data-dir", str(tmp_path / "d")]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "inbound", *args, *data],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    try:
        serve = Serve(tmp_path, *data)
        serve_factory.append(serve)
        with smtplib.SMTP("127.0.0.1", serve.port, timeout=30) as s:
            assert s.sendmail("a@sender.test", ["support@example.test"], message().as_bytes()) == {}
        receiver.wait_for(1)
        serve.signal(signal.SIGTERM)
        assert serve.wait() == 0
        listed = cli("deliveries", "--status", "refused")
        assert listed.returncode == 0, listed.stderr
        [line] = listed.stdout.splitlines()
        job_id = line.split()[0]
        assert cli("redeliver", job_id).returncode == 0
        assert cli("redeliver", "evt_nope").returncode == 1
        worker = subprocess.Popen([sys.executable, "-m", "inbound", "worker", *data], cwd=tmp_path)
        try:
            receiver.wait_for(2)
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(30) == 0
        assert (
            receiver.deliveries[0].headers["webhook-id"]
            == receiver.deliveries[1].headers["webhook-id"]
        )
        assert "delivered" in cli("deliveries").stdout
    finally:
        receiver.close()
