"""``[outbox] url`` / INBOUND_OUTBOX_URL, ``storage.shared``, and the multi-node checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from inbound.config import from_mapping
from inbound.errors import ConfigError

URL = "postgresql://inbound:s3cret-pw@db.internal:5433/inbound"
S3 = {"backend": "s3", "s3": {"bucket": "mail"}}


def _load(raw: dict[str, Any], environ: dict[str, str] | None = None) -> Any:
    return from_mapping(raw, environ or {}, {})


def test_url_from_the_file_or_the_environment_and_it_never_prints_the_password() -> None:
    s = _load({"outbox": {"url": URL, "timeout_seconds": 2.5, "node_id": "mx1"}, "storage": S3})
    assert s.outbox.url is not None and s.outbox.url.reveal() == URL
    assert (s.outbox.timeout_seconds, s.outbox.pool_size, s.outbox.node_id) == (2.5, 10, "mx1")
    assert "s3cret" not in repr(s) and "s3cret" not in str(s.outbox.url)
    assert "db.internal:5433/inbound" in repr(s.outbox.url)
    env = _load({"storage": S3}, {"INBOUND_OUTBOX_URL": URL.replace("5433", "5434")})
    assert env.outbox.url is not None and ":5434/" in env.outbox.url.reveal()
    assert _load({}).outbox.url is None  # the SQLite file stays the default


@pytest.mark.parametrize(
    ("outbox", "key", "words"),
    [
        ({"url": "mysql://db/x"}, "outbox.url", "PostgreSQL URL"),
        ({"url": "postgresql://db.internal"}, "outbox.url", "names no database"),
        ({"url": "postgresql://db:99999/x"}, "outbox.url", "not a valid URL"),
        ({"url": URL, "path": "/var/o.sqlite3"}, "outbox.path", "give one"),
        ({"url": URL, "timeout_seconds": 0}, "outbox.timeout_seconds", ""),
        ({"url": URL, "pool_size": 0}, "outbox.pool_size", ""),
        ({"url": URL, "nodes": 2}, "outbox.nodes", ""),
    ],
)
def test_bad_outbox_keys_are_named(outbox: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load({"outbox": outbox, "storage": S3})
    assert err.value.key == key and words in err.value.problem


def test_a_shared_outbox_with_a_local_store_is_refused_unless_the_store_is_shared() -> None:
    with pytest.raises(ConfigError) as err:
        _load({"outbox": {"url": URL}})
    assert err.value.key == "storage.backend"
    assert "S3" in err.value.problem and "storage.shared" in err.value.problem
    shared = _load({"outbox": {"url": URL}, "storage": {"shared": True}})
    assert shared.storage_shared and shared.storage_backend == "local"
    assert _load({"outbox": {"url": URL}, "storage": S3}).storage_backend == "s3"
    with pytest.raises(ConfigError) as err:
        _load({"storage": {"shared": "yes"}})
    assert err.value.key == "storage.shared"


def test_check_config_refuses_the_multi_node_setup_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(f'[outbox]\nurl = "{URL}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "inbound", "check-config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "storage.backend" in done.stderr
    assert "s3cret" not in done.stderr
