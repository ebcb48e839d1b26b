"""The data directory is its user's alone, and the generated --webhook secret survives
restarts (issue 16, items 3 and 9): through `inbound serve` as a process."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from tests.inbound.test_serve import Serve
from tests.support.service import message


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_dir_is_0700_and_every_file_in_it_0600(tmp_path: Path) -> None:
    data = tmp_path / "data"
    serve = Serve(tmp_path, "--data-dir", str(data))
    try:
        import smtplib

        with smtplib.SMTP("127.0.0.1", serve.port, timeout=30) as client:
            client.sendmail("a@example.org", ["x@localhost"], message().as_bytes())
        # Looked at while it runs: once the supervisor is killed, its children stop
        # cleanly and the last one to close the outbox removes the -wal file (a race).
        modes = {}
        for p in data.rglob("*"):
            with contextlib.suppress(FileNotFoundError):  # a temporary file renamed
                if p.is_file():
                    modes[p] = _mode(p)
    finally:
        serve.kill()
    assert _mode(data) == 0o700
    files = list(modes)
    assert any(p.name.startswith("outbox") for p in files)  # the outbox and its -wal/-shm
    assert any(p.name.startswith("outbox") and p.name.endswith("-wal") for p in files)
    for path, mode in modes.items():
        assert mode == 0o600, path
    for path in (p for p in data.rglob("*") if p.is_dir()):
        assert _mode(path) == 0o700, path


def test_a_data_dir_other_users_can_read_is_refused_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "open"
    data.mkdir()
    data.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    done = subprocess.run(
        [sys.executable, "-m", "inbound", "serve", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "storage.data_dir" in lines[0] and "0755" in lines[0] and "chmod 700" in lines[0]
    assert not (data / "outbox.sqlite3").exists()


def test_generated_webhook_secret_is_kept_and_printed_only_at_first_start(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    printed = []
    for _ in range(2):
        serve = Serve(tmp_path, "--data-dir", str(data), "--webhook", "http://127.0.0.1:9/hook")
        serve.kill()
        printed.append(re.findall(r"whsec_[A-Za-z0-9+/=]+", serve.log.read_text()))
    assert len(printed[0]) == 1
    assert printed[1] == []  # not printed again
    kept = (data / "webhook-secret").read_text().strip()
    assert kept == printed[0][0]
    assert _mode(data / "webhook-secret") == 0o600
