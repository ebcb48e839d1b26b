"""The data directory's own rules: only its user may read it, and what it keeps for the CLI.

The data directory holds envelopes (addresses) in the outbox and the install secret, so
it is created 0700 and every file in it 0600: the process runs with umask 077 (set by
the CLI before anything is written), and start-up refuses a directory that other local
users can read, with one line that says how to fix it (issue 16, item 3).

It also keeps the webhook secret ``inbound serve --webhook URL`` generates when no
``--secret`` is given: generated once, printed once, and reused at every later start,
so retries queued before a restart are signed with the secret the receiver was given
(issue 16, item 9).
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
from pathlib import Path

from inbound.errors import ConfigError

UMASK = 0o077  # files 0600, directories 0700
CLI_SECRET_FILE = "webhook-secret"  # noqa: S105  (a file name, not a secret)


def restrict_process() -> None:
    """Every file and directory this process creates is its user's alone."""
    os.umask(UMASK)


def check(data_dir: Path) -> None:
    """Create ``data_dir`` (0700) or refuse one that other users can read or enter."""
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = stat.S_IMODE(data_dir.stat().st_mode)
    except OSError as exc:
        raise ConfigError("storage.data_dir", f"{data_dir}: {exc.strerror}") from None
    if mode & 0o007:
        raise ConfigError(
            "storage.data_dir",
            f"{data_dir} is open to other users (mode {mode:04o}); it holds addresses:"
            f" run chmod 700 {data_dir}",
        )


def cli_webhook_secret(data_dir: Path) -> tuple[str, bool]:
    """The ``--webhook`` secret of this data dir and whether it was just created."""
    path = data_dir / CLI_SECRET_FILE
    try:
        return path.read_text(encoding="ascii").strip(), False
    except FileNotFoundError:
        pass
    check(data_dir)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text(encoding="ascii").strip(), False
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secret + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return secret, True
