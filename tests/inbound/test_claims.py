"""Claims (issue 16 item 16): stable node ids, renewed leases, a restarted node's claims back.

* ``claimant.take``: two live processes never share a node id; a dead one's slot (and so
  its node id) is free again for the next process, under a new boot id.
* A slow job is never claimed twice while its worker lives: the lease is short and the
  worker renews it (two services share one outbox; the webhook holds the POST for much
  longer than the lease).
* A SIGKILLed ``inbound serve`` whose job was in flight delivers it again at once when it
  starts again (same webhook-id), instead of after the lease.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from inbound import claimant
from inbound.outbox.model import JobStatus
from tests.support.service import Running, message, settings_for, webhook_route
from tests.support.webhook import SECRET, Receiver

_HOLD_SLOT = """
import sys, time
from pathlib import Path
from inbound import claimant
slot = claimant.take(Path(sys.argv[1]))
print(slot.claimant.node, flush=True)
time.sleep(60)
"""


def test_live_processes_get_their_own_slot_and_a_dead_ones_comes_back(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_SLOT, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        held = holder.stdout.readline().strip()
        prefix = claimant.node_prefix(tmp_path)
        assert held == f"{prefix}/0"
        mine = claimant.take(tmp_path)
        assert mine.claimant.node == f"{prefix}/1"  # slot 0 is locked by the live holder
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        after = claimant.take(tmp_path)  # the dead holder's lock went with it
        assert after.claimant.node == held
        assert after.claimant.boot != mine.claimant.boot
        mine.release()
        after.release()
    finally:
        holder.kill()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()


def test_two_data_dirs_on_one_host_never_share_node_ids(tmp_path: Path) -> None:
    one, two = claimant.take(tmp_path / "a"), claimant.take(tmp_path / "b")
    try:
        assert one.claimant.node != two.claimant.node
        assert one.claimant.node.endswith("/0") and two.claimant.node.endswith("/0")
        again = claimant.node_prefix(tmp_path / "a")
        assert one.claimant.node == f"{again}/0"  # the data dir's name is kept
    finally:
        one.release()
        two.release()


def test_a_slow_job_is_never_claimed_again_while_its_worker_renews_the_lease(
    tmp_path: Path, receiver: Receiver
) -> None:
    settings = settings_for(tmp_path, routes=[webhook_route(receiver.url)])
    first, second = Running(settings), Running(settings)
    try:
        for running in (first, second):
            worker = running.service.worker
            worker.options = dataclasses.replace(worker.options, lease_seconds=1.0)
        receiver.delay_seconds = 4.0  # the POST takes four leases
        code, _ = first.send(message())
        assert code == 250
        sending = first.call(_deliver_in_background(first))
        assert receiver.arrived.wait(10)
        deadline = time.monotonic() + 4.5
        taken = 0
        while time.monotonic() < deadline:  # another process polls all along
            taken += second.deliver()
            time.sleep(0.1)
        assert first.call(_wait(sending), timeout=30) == 1
        assert taken == 0
        assert len(receiver.deliveries) == 1
        [job] = first.call(first.service.outbox.jobs())
        assert job.status is JobStatus.DELIVERED and job.attempts == 1
    finally:
        receiver.delay_seconds = 0.0
        second.stop()
        first.stop()


async def _deliver_in_background(running: Running) -> asyncio.Task[int]:
    return asyncio.create_task(running.service.worker.run_until_empty())


async def _wait(task: asyncio.Task[int]) -> int:
    return await task


def test_a_restarted_serve_sends_its_dead_boots_job_again_at_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    config = tmp_path / "inbound.toml"
    config.write_text(
        "[server]\nhostname = 'mx.test'\ndomains = ['example.test']\nprocesses = 1\n"
        f"[storage]\ndata_dir = '{data}'\n"
        "[delivery]\nallow_private_webhooks = true\n"
        "[[routes]]\nname = 'support'\nrecipients = ['support@example.test']\n"
        f"url = '{receiver.url}'\nsecret = '{SECRET}'\n"
    )
    receiver.delay_seconds = 60.0  # the first POST never gets its answer
    first = _serve(tmp_path, config)
    try:
        code, _ = first.send()
        assert code == 250
        assert receiver.arrived.wait(20)
        first.kill()
        receiver.delay_seconds = 0.0
        receiver.arrived.clear()
        killed_at = time.monotonic()
        second = _serve(tmp_path, config)
        try:
            # The first POST is still held by the receiver (it records it when it answers),
            # so the first one recorded is the second process's.
            [delivery] = receiver.wait_for(1, timeout=25)
            took = time.monotonic() - killed_at
        finally:
            second.stop()
        # Back well within the 30 s lease: the restarted node took its claim back.
        assert took < 25, took
        with sqlite3.connect(data / "outbox.sqlite3") as conn:
            [(job_id, attempts, status)] = conn.execute(
                "SELECT id, attempts, status FROM jobs"
            ).fetchall()
        assert delivery.headers["webhook-id"] == job_id  # the same job, the same webhook-id
        assert (attempts, status) == (1, "delivered")
    finally:
        first.kill()


class _Serve:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log

    def send(self) -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
            s.ehlo()
            s.mail("a@sender.test")
            s.rcpt("support@example.test")
            return s.data(message().as_bytes())

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _serve(tmp_path: Path, config: Path) -> _Serve:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    log = tmp_path / f"serve-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "inbound",
                "serve",
                "--config",
                str(config),
                "--listen",
                f"127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return _Serve(proc, port, log)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"inbound serve did not listen: {log.read_text()}")
