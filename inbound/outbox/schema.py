"""Versioned schema migrations for both outbox backends: numbered SQL files, a version table.

Each backend has its folder of migrations, ``sql/<backend>/NNNN_name.sql``, applied in
order, each in one transaction together with its row in ``schema_migrations`` (version,
name, applied_at). A store's version is the highest row there; a store made by the first
release has no such table and counts as version 0 (its tables are exactly migration
0001 of the SQLite folder, written with ``IF NOT EXISTS``, so nothing of it changes).

A store whose version is higher than the newest file this code ships was migrated by a
newer inbound: ``plan`` raises SchemaTooNew and start-up stops with one line saying so,
rather than running old code on a schema it does not know.

This module reads the files and decides; the backends run the statements (each knows
its own driver and how to take the lock that keeps two nodes from migrating at once).
No maintained migration tool fits both an embedded SQLite file and a shared PostgreSQL
without bringing an ORM along (Alembic needs SQLAlchemy; yoyo-migrations and
sqlite-utils cover one side each), and two folders of plain SQL are easy to review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from inbound.errors import SchemaTooNew

VERSION_TABLE = "schema_migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    version: int
    name: str  # "0002_claims"
    sql: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """What ``migrate`` did: the version now, and the migrations applied by this call."""

    version: int
    applied: tuple[str, ...]


@cache
def migrations(backend: str) -> tuple[Migration, ...]:
    """The migrations of ``backend`` ("sqlite" or "postgres"), in version order."""
    folder = resources.files("inbound.outbox").joinpath("sql", backend)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match is None:
            continue
        found.append(
            Migration(
                version=int(match.group(1)),
                name=entry.name.removesuffix(".sql"),
                sql=entry.read_text(encoding="utf-8"),
            )
        )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"outbox migrations for {backend} are not numbered 1..n: {versions}")
    return tuple(found)


def latest(backend: str) -> int:
    return len(migrations(backend))


def plan(backend: str, current: int) -> list[Migration]:
    """The migrations to apply to a store at ``current``; SchemaTooNew if it is ahead."""
    known = latest(backend)
    if current > known:
        raise SchemaTooNew(
            f"the outbox schema is at version {current}, newer than this inbound knows"
            f" (up to {known}): it was migrated by a newer release; run that release"
        )
    return [m for m in migrations(backend) if m.version > current]


def statements(sql: str) -> list[str]:
    """Split a migration into statements (our files put no ';' inside a statement)."""
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]
