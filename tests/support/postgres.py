"""Pytest plugin: a real PostgreSQL server for the suite, started from its binaries.

``initdb`` + ``pg_ctl`` into a temporary directory, listening on 127.0.0.1 and a free
port, started once per session and stopped (and removed) at its end. The database the
service uses belongs to a plain role (``inbound``: LOGIN, no superuser, no CREATEDB),
as DESIGN §10 asks of a production install; only the fixture itself connects as the
superuser, to create a fresh database per test. PostgreSQL refuses to run as root, so
when the suite runs as root (CI does) the server runs as ``nobody``.

Missing binaries are a failure with a clear message, never a skip: the PostgreSQL tests
are part of "the suite passes". Binaries are looked up in ``INBOUND_PG_BIN``, then
``/usr/lib/postgresql/<newest>/bin``, then ``PATH``.

psycopg appears here besides ``inbound/outbox/postgres.py`` on purpose, as boto3 does in
``tests/support/s3.py``: the tests look at the database with their own connection
instead of trusting the adapter under test to report on itself.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.net import free_port

ROLE = "inbound"
ROLE_PASSWORD = "inbound-test-password"
SUPERUSER = "postgres"
_TOOLS = ("initdb", "pg_ctl", "postgres")


def find_bin() -> Path:
    """The folder with initdb, pg_ctl and postgres; RuntimeError naming what is missing."""
    candidates: list[Path] = []
    if env := os.environ.get("INBOUND_PG_BIN"):
        candidates.append(Path(env))
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versions)
    if found := shutil.which("pg_ctl"):
        candidates.append(Path(found).parent)
    for folder in candidates:
        if all((folder / tool).is_file() for tool in _TOOLS):
            return folder
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in INBOUND_PG_BIN,"
        " /usr/lib/postgresql/*/bin or PATH: install them (Debian: apt-get install"
        " postgresql-15); the suite starts its own server and does not skip these tests"
    )


class PgServer:
    """One PostgreSQL cluster in a temp dir; ``stop``/``start`` let a test take it away."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="inbound-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.port = 0
        self._user: str | None = None
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: hand the folder to an unprivileged user.
            self._user = "nobody"
            entry = pwd.getpwnam(self._user)
            self.sockets.mkdir()
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        else:
            self.sockets.mkdir()

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            user=self._user,
            cwd=self.root,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def init(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(ROLE_PASSWORD + "\n")
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",  # a throwaway cluster; the server itself runs with fsync on
        )
        pwfile.unlink()

    def start(self) -> None:
        """Start (again) on the same port; on the first start, pick a free one."""
        for _ in range(3):
            if not self.port:
                self.port = free_port()
            result = self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
                " -c max_connections=200 -c shared_buffers=32MB",
                "start",
                check=False,
            )
            if result.returncode == 0:
                return
            self.port = 0  # the port was taken meanwhile: try another
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {result.stderr.strip()}\n{tail}")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        """A superuser connection over the server's unix socket (trust), autocommit."""
        return psycopg.connect(
            host=str(self.sockets), port=self.port, user=SUPERUSER, dbname=dbname, autocommit=True
        )

    def setup_role(self) -> None:
        with self.admin() as conn:
            conn.execute(
                psycopg.sql.SQL(
                    "CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOCREATEDB NOCREATEROLE"
                ).format(psycopg.sql.Identifier(ROLE), psycopg.sql.Literal(ROLE_PASSWORD))
            )

    def new_database(self) -> str:
        """A fresh, empty database owned by the plain role; its URL for the service."""
        name = f"inbound_{uuid.uuid4().hex[:12]}"
        with self.admin() as conn:
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    psycopg.sql.Identifier(name), psycopg.sql.Identifier(ROLE)
                )
            )
        return self.url(name)

    def url(self, dbname: str) -> str:
        return f"postgresql://{ROLE}:{ROLE_PASSWORD}@127.0.0.1:{self.port}/{dbname}"

    def is_running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the whole session (fails, never skips, without binaries)."""
    try:
        bin_dir = find_bin()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    server = PgServer(bin_dir)
    try:
        server.init()
        server.start()
        server.setup_role()
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def _shared_database(postgres_server: PgServer) -> str:
    return postgres_server.new_database()


@pytest.fixture
def postgres_url(postgres_server: PgServer, _shared_database: str) -> Iterator[str]:
    """A URL for this test alone: a fresh schema, owned by the plain role, in a shared
    database (``options=-c search_path=…`` in the URL, as an operator could write it).

    A schema costs milliseconds where a database costs a copy of its template; the
    test gets the same empty, private namespace either way.
    """
    if not postgres_server.is_running():  # a test that stopped it failed to restart it
        postgres_server.start()
    name = f"t_{uuid.uuid4().hex[:12]}"
    dbname = _shared_database.rsplit("/", 1)[1]
    with postgres_server.admin(dbname) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
                psycopg.sql.Identifier(name), psycopg.sql.Identifier(ROLE)
            )
        )
    yield f"{_shared_database}?options=-csearch_path%3D{name}"
    if postgres_server.is_running():
        with postgres_server.admin(dbname) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP SCHEMA {} CASCADE").format(psycopg.sql.Identifier(name))
            )
