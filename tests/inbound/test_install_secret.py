"""Two processes starting at once on one data dir never make two install secrets.

Forked children (cheap: no new interpreter) wait on a pipe, then all call
``install_secret`` at the same moment and report what they got.
"""

from __future__ import annotations

import os
from pathlib import Path

from inbound import app
from inbound.config import Settings


def _race(data: Path, racers: int) -> set[str]:
    go_read, go_write = os.pipe()
    out_read, out_write = os.pipe()
    children = []
    for _ in range(racers):
        pid = os.fork()
        if pid == 0:  # the child: wait for the start, race, report, leave at once
            code = 1
            try:
                os.close(go_write)
                os.read(go_read, 1)
                secret = app.install_secret(Settings(data_dir=data)).hex()
                os.write(out_write, (secret + "\n").encode())
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    os.close(go_read)
    os.close(out_write)
    os.write(go_write, b"!" * racers)  # everyone starts now
    os.close(go_write)
    with os.fdopen(out_read) as results:
        lines = results.read().split()
    for pid in children:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    assert len(lines) == racers
    return set(lines)


def test_processes_racing_to_create_the_secret_all_get_the_same_one(tmp_path: Path) -> None:
    for round_ in range(10):
        data = tmp_path / f"data{round_}"
        secrets = _race(data, 8)
        assert len(secrets) == 1, secrets
        assert bytes.fromhex(secrets.pop()) == app.install_secret(Settings(data_dir=data))
        assert sorted(p.name for p in data.iterdir()) == ["install.key"]  # no temp files left
        assert (data / "install.key").stat().st_mode & 0o777 == 0o600
