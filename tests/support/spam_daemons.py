"""The real spam filters, installed when missing and run by the test: rspamd and spamd.

Debian's ``rspamd`` and ``spamassassin`` + ``spamd`` packages (``tests/support/apt.py``
installs them on first use). Neither package's service is used: each daemon runs here in
the foreground as a child process, on 127.0.0.1 and a free port, with a private directory
of its own for configuration and data (removed at the end), and as the package's own
unprivileged user when the suite runs as root (both refuse to or should not run as root).

- rspamd: our own top-level ``rspamd.conf`` (one normal worker, no controller or proxy,
  console log) that includes the package's module configuration; ``DBDIR``, ``RUNDIR``,
  ``LOGDIR`` and ``LOCAL_CONFDIR`` point into the private directory, and its DNS resolver
  is the suite's loopback DNS server (so SPF and DKIM are checked against the test zone,
  and nothing leaves the machine). No redis: the modules that need one stay off.
- spamd: the rules the package ships (``/usr/share/spamassassin``), the package's plugin
  ``.pre`` files copied into a private site directory (no site ``local.cf``), no user
  configuration (``-x``), local tests only (``-L``: no DNS blocklists), one child.

Both are asked whether they are ready with their own protocol (rspamd's ``GET /ping``,
spamd's ``PING``), never with a bare connect, until a deadline.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support import apt
from tests.support.net import free_port

RSPAMD = "/usr/bin/rspamd"
SPAMD = "/usr/sbin/spamd"
RSPAMD_PACKAGES = ["rspamd"]
SPAMD_PACKAGES = ["spamassassin", "spamd"]
RSPAMD_USER = "_rspamd"  # created by Debian's rspamd package
SPAMD_USER = "debian-spamd"  # created by Debian's spamassassin package
START_SECONDS = 180.0  # rspamd compiles its rules on a cold start: ~20 s, longer under load
RSPAMD_TLDS = Path("/usr/share/rspamd/effective_tld_names.dat")
SPAMD_RULES = Path("/usr/share/spamassassin")
SPAMD_SITE = Path("/etc/spamassassin")

# GTUBE (SpamAssassin's and rspamd's standard test string): a filter must call it spam.
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


class Daemon:
    """One daemon process on 127.0.0.1:port with its private directory."""

    name = ""

    def __init__(self) -> None:
        self.port = free_port()
        self.install_seconds = 0.0
        self.start_seconds = 0.0
        self.dir = Path(tempfile.mkdtemp(prefix=f"inbound-{self.name}-"))
        self.log_path = self.dir / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def timings(self) -> str:
        return (
            f"{self.name}: installed in {self.install_seconds:.1f} s,"
            f" ready in {self.start_seconds:.1f} s"
        )

    def log_tail(self, n: int = 30) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])

    def _run_as(self, user: str) -> tuple[int, int] | None:
        """(uid, gid) to drop to when we are root, else None (run as ourselves)."""
        if os.geteuid() != 0:
            return None
        entry = pwd.getpwnam(user)
        for path in [self.dir, *self.dir.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return entry.pw_uid, entry.pw_gid

    def _spawn(self, argv: list[str]) -> None:
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.dir,
                start_new_session=True,  # its children go with it on stop()
            )
        atexit.register(self.stop)  # also when the session ends without its teardown
        deadline = started + START_SECONDS
        while not self._ready():
            failure = None
            if self.proc.poll() is not None:
                failure = f"{self.name} exited with {self.proc.returncode}"
            elif time.monotonic() > deadline:
                failure = f"{self.name} not ready after {START_SECONDS:g} s"
            if failure is not None:
                tail = self.log_tail()
                self.stop()
                raise AssertionError(f"{failure}:\n{tail}")
            time.sleep(0.2)
        self.start_seconds = time.monotonic() - started

    def _ready(self) -> bool:
        raise NotImplementedError

    def _ask(self, request: bytes) -> bytes:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                s.sendall(request)
                s.shutdown(socket.SHUT_WR)
                chunks = []
                while chunk := s.recv(65536):
                    chunks.append(chunk)
                return b"".join(chunks)
        except OSError:
            return b""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Rspamd(Daemon):
    name = "rspamd"

    def __init__(self, dns_address: str) -> None:
        super().__init__()
        self.install_seconds = apt.ensure(RSPAMD, RSPAMD_PACKAGES)
        (self.dir / "local.d").mkdir()
        (self.dir / "override.d").mkdir()
        # The suite's DNS server, and .test as a public suffix: rspamd checks no domain
        # whose suffix it does not know (none of the test zone, otherwise).
        tld = self.dir / "effective_tld_names.dat"
        tld.write_bytes(RSPAMD_TLDS.read_bytes() + b"\n// inbound tests\ntest\n")
        (self.dir / "override.d" / "options.inc").write_text(
            f'url_tld = "{tld}";\n'
            f'dns {{ nameserver = ["{dns_address}"]; timeout = 1s; retransmits = 1; }}\n',
            encoding="utf-8",
        )
        for module in ("spf", "dkim", "dmarc"):  # the test clients are on loopback
            (self.dir / "local.d" / f"{module}.conf").write_text(
                "check_local = true;\ncheck_authed = true;\n", encoding="utf-8"
            )
        (self.dir / "rspamd.conf").write_text(
            f"""
.include "$CONFDIR/common.conf"
options {{
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    .include(try=false; priority=10) "$LOCAL_CONFDIR/override.d/options.inc"
}}
logging {{ type = "console"; level = "error"; }}
worker "normal" {{
    bind_socket = "{self.address}";
    .include "$CONFDIR/worker-normal.inc"
    count = 1;
}}
""",
            encoding="utf-8",
        )
        user = self._run_as(RSPAMD_USER)
        argv = [RSPAMD, "-f", "-c", str(self.dir / "rspamd.conf")]
        if user is not None:
            argv += ["-u", RSPAMD_USER, "-g", RSPAMD_USER]
        for var in ("DBDIR", "RUNDIR", "LOGDIR", "LOCAL_CONFDIR"):
            argv += ["--var", f"{var}={self.dir}"]
        self._spawn(argv)

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def _ready(self) -> bool:
        answer = self._ask(b"GET /ping HTTP/1.0\r\nHost: localhost\r\n\r\n")
        return answer.startswith(b"HTTP/1.") and b" 200 " in answer[:16]


class Spamd(Daemon):
    name = "spamd"

    def __init__(self) -> None:
        super().__init__()
        self.install_seconds = apt.ensure(SPAMD, SPAMD_PACKAGES)
        site, home = self.dir / "site", self.dir / "home"
        site.mkdir()
        home.mkdir()
        for pre in SPAMD_SITE.glob("*.pre"):  # the plugins (Check, Bayes...) to load
            shutil.copy(pre, site / pre.name)
        user = self._run_as(SPAMD_USER)
        argv = [
            SPAMD,
            "--local",
            "--nouser-config",
            f"--listen=127.0.0.1:{self.port}",
            "--allowed-ips=127.0.0.1",
            "--max-children=1",
            "--min-children=1",
            f"--configpath={SPAMD_RULES}",
            f"--siteconfigpath={site}",
            f"--helper-home-dir={home}",
            f"--pidfile={self.dir / 'spamd.pid'}",
            "--syslog=stderr",
        ]
        if user is not None:
            argv += [f"--username={SPAMD_USER}", f"--groupname={SPAMD_USER}"]
        self._spawn(argv)

    def _ready(self) -> bool:
        return self._ask(b"PING SPAMC/1.5\r\n\r\n").startswith(b"SPAMD/1.5 0 PONG")
