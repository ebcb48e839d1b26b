"""Install the Debian packages a test needs, once, when they are missing.

The suite installs what it needs itself (never a skip): ``ensure(binary, packages)``
returns at once when ``binary`` exists, and otherwise runs ``apt-get update`` and
``apt-get install`` (without Recommends unless asked) as root (CI runs as root with Debian
reachable): chromium for tests/test_browser.py, rspamd and spamd for the auth tests.
Two suites on one machine (several worktrees) take turns through a lock file, and apt's
own lock is waited for (``DPkg::Lock::Timeout``) rather than failed on, so an install by
someone else on the machine delays the test instead of breaking it. The tests never use
a service a package sets up: they run the daemons themselves (support/spam_daemons.py).

``ensure`` returns the seconds it spent installing (0.0 when nothing was missing), which
the tests print so the cost of a first run is visible.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

LOCK = Path(tempfile.gettempdir()) / "inbound-tests-apt.lock"
WAIT_FOR_APT_SECONDS = 600
APT_OPTIONS = ["-q", "-o", f"DPkg::Lock::Timeout={WAIT_FOR_APT_SECONDS}"]


def ensure(binary: str, packages: list[str], *, recommends: bool = False) -> float:
    """``binary`` (an absolute path) exists afterwards; AssertionError says why not.

    ``recommends``: install the packages' Recommends too (chromium's fonts, say)."""
    if Path(binary).exists():
        return 0.0
    apt = shutil.which("apt-get")
    assert apt is not None and os.geteuid() == 0, (
        f"needs {binary} (Debian: apt-get install {' '.join(packages)}, as root)"
    )
    started = time.monotonic()
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if Path(binary).exists():  # another suite installed it while we waited
                return time.monotonic() - started
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            _apt([apt, "update", *APT_OPTIONS], env)
            _apt([apt, "install", "-y", "--no-install-recommends", *APT_OPTIONS, *packages], env)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    assert Path(binary).exists(), f"apt-get installed {packages} but {binary} is missing"
    return time.monotonic() - started


def _apt(argv: list[str], env: dict[str, str], tries: int = 3) -> None:
    """apt-get, tried again when another apt holds the package lists (update's own lock)."""
    for attempt in range(tries):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode == 0:
            return
        if "lock" not in done.stderr.lower() or attempt == tries - 1:
            raise AssertionError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
        time.sleep(10)
